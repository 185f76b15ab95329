import type { NoProgressReason } from './errors.js';

/** When the no-progress breaker trips. */
export interface BreakerSettings {
  /** The same command failing with the same error this many times stops the session. Default 3. */
  sameErrorLimit: number;
  /** This many turns in a row that change no file stop the session. Default 8. */
  idleTurnLimit: number;
  /** The same tool call (name and input) this many times with no file changed in between stops it. Default 3. */
  repeatLimit: number;
}

export const DEFAULT_BREAKER: BreakerSettings = { sameErrorLimit: 3, idleTurnLimit: 8, repeatLimit: 3 };

/** Why the breaker tripped, in words a person can act on. */
export interface Trip {
  reason: NoProgressReason;
  message: string;
}

/**
 * Watches a session for the loops that burn money without progress: the same error coming
 * back, turns that change nothing, the same call repeated. Each method returns a Trip when the
 * session must stop, undefined otherwise.
 */
export class NoProgressBreaker {
  private readonly errors = new Map<string, number>();
  private readonly calls = new Map<string, number>();
  private idleTurns = 0;

  constructor(private readonly settings: BreakerSettings) {}

  /** A tool call about to run. Counts repeats since the last change of a file. */
  call(name: string, input: unknown): Trip | undefined {
    const key = `${name} ${stableJson(input)}`;
    const count = (this.calls.get(key) ?? 0) + 1;
    this.calls.set(key, count);
    if (count >= this.settings.repeatLimit) {
      return {
        reason: 'repeated-call',
        message: `the model made the same call ${count} times without changing a file (${name} ${clip(stableJson(input), 120)})`,
      };
    }
    return undefined;
  }

  /** A file changed: repeated calls may now see something new. */
  changed(): void {
    this.calls.clear();
  }

  /** A command finished. Failures with the same error signature are counted; a success clears them. */
  command(name: string, failed: boolean, output: string): Trip | undefined {
    if (!failed) {
      for (const key of [...this.errors.keys()]) if (key.startsWith(`${name}\n`)) this.errors.delete(key);
      return undefined;
    }
    const signature = errorSignature(output);
    const key = `${name}\n${signature}`;
    const count = (this.errors.get(key) ?? 0) + 1;
    this.errors.set(key, count);
    if (count >= this.settings.sameErrorLimit) {
      const line = signature.split('\n')[0] ?? '';
      return {
        reason: 'same-error',
        message: `${name} failed ${count} times with the same error${line ? `: ${clip(line, 200)}` : ''}`,
      };
    }
    return undefined;
  }

  /** The build errors a repair round starts from count as the first sighting of that error. */
  seedBuildError(output: string): void {
    const key = `build\n${errorSignature(output)}`;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }

  /** A turn ended; `changed` says whether it changed any file. */
  turn(changed: boolean): Trip | undefined {
    this.idleTurns = changed ? 0 : this.idleTurns + 1;
    if (this.idleTurns >= this.settings.idleTurnLimit) {
      return { reason: 'idle-turns', message: `${this.idleTurns} turns in a row changed no file` };
    }
    return undefined;
  }
}

/**
 * The part of a failing command's output that names the error, without what changes from run to
 * run (timings, colours, temporary paths, hex ids), so that "the same error again" is recognised.
 */
export function errorSignature(output: string): string {
  const lines = output
    .replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')
    .split(/\r?\n/)
    .map((line) =>
      line
        .replace(/\b\d+(\.\d+)?\s?(ms|s|sec|seconds)\b/gi, '#')
        .replace(/\/tmp\/[^\s:'")]+/g, '<tmp>')
        .replace(/\b[0-9a-f]{8,}\b/gi, '<id>')
        .trim(),
    )
    .filter(Boolean);
  const errors = lines.filter((line) => /error|failed|cannot|unexpected|not found|exception/i.test(line));
  const chosen = errors.length > 0 ? errors : lines.slice(-5);
  return [...new Set(chosen)].slice(0, 20).join('\n');
}

function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
