/** Counts calls per method, so tests can prove a side effect happened exactly once. */
export class CallLog<M extends string = string> {
  private readonly counts = new Map<M, number>();

  record(method: M): void {
    this.counts.set(method, (this.counts.get(method) ?? 0) + 1);
  }

  count(method: M): number {
    return this.counts.get(method) ?? 0;
  }
}

/** Results a test scripts for the next calls; when the script runs out the fake does its normal work. */
export class Script<T> {
  private readonly queue: T[] = [];

  push(...results: T[]): this {
    this.queue.push(...results);
    return this;
  }

  next(): T | undefined {
    return this.queue.shift();
  }
}
