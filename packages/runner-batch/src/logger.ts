import type { LogFields, Logger, Redactor } from '@mvp-pipeline/core';
import { redactValue } from '@mvp-pipeline/core';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerSettings {
  format: 'text' | 'json';
  /** The lowest level written. */
  level: Level;
  redact: Redactor;
  write?: (line: string) => void;
}

/**
 * Structured logs on stderr: JSON lines for machines (CloudWatch in Batch), short text lines
 * for people. Every message and field goes through the redactor.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const write = settings.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const at = (level: Level) => (message: string, fields?: LogFields) => {
    if (ORDER[level] < ORDER[settings.level]) return;
    const clean = settings.redact(message);
    const extra = fields ? redactValue(fields, settings.redact) : undefined;
    if (settings.format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level, message: clean, ...extra }));
    } else {
      const tail = extra && Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : '';
      write(`${level === 'info' ? '' : `${level}: `}${clean}${tail}`);
    }
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
