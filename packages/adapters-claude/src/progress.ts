import type { ProgressReporter } from '@mvp-pipeline/core';

/**
 * Activity lines for the job's log at a bounded rate: at most one per `intervalMs`; the latest
 * line waiting is written when the interval has passed or on `flush`. Notices (start, retries,
 * the end) are written at once.
 */
export class ThrottledProgress {
  private lastAt = Number.NEGATIVE_INFINITY;
  private pending: string | undefined;

  constructor(
    private readonly report: ProgressReporter,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  /** A routine line; may be held back or replaced by a newer one. */
  activity(line: string): void {
    const at = this.now();
    if (at - this.lastAt >= this.intervalMs) {
      this.pending = undefined;
      this.lastAt = at;
      this.report.log(line);
    } else {
      this.pending = line;
    }
  }

  /** A line that must be seen (written now, after any held-back line). */
  notice(line: string, level: 'info' | 'warn' | 'error' = 'info'): void {
    this.flush();
    this.lastAt = this.now();
    this.report.log(line, level);
  }

  /** Writes the held-back line, if any. */
  flush(): void {
    if (this.pending === undefined) return;
    const line = this.pending;
    this.pending = undefined;
    this.lastAt = this.now();
    this.report.log(line);
  }
}
