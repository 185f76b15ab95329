import type { LogFields, Logger } from '@mvp-pipeline/core';

export interface RecordedLog {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields | undefined;
}

/** A logger that keeps what it was given. */
export function createMemoryLogger(): Logger & { entries: RecordedLog[] } {
  const entries: RecordedLog[] = [];
  const at = (level: RecordedLog['level']) => (message: string, fields?: LogFields) =>
    void entries.push({ level, message, fields });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
