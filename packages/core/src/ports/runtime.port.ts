/** Time, so tests control it. */
export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Ids, so tests control them. */
export interface IdGenerator {
  jobId(): string;
  runnerId(): string;
}

export type LogFields = Record<string, unknown>;

/** Structured logs. Implementations redact every message and field (see createRedactor). */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}
