import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createRedactor,
  deliveryDetails,
  deliveryHeadline,
  type JobNotification,
  type Notifier,
  type Redactor,
} from '@mvp-pipeline/core';
import { errnoCode, fsError } from '../disk/files.js';

export interface ConsoleNotifierSettings {
  /** Where the line goes. Default: standard error, so that `--json` output on stdout stays clean. */
  write?: (line: string) => void;
  /** The process's redactor. Default: one that knows only the token shapes. */
  redact?: Redactor;
}

/** One readable line per notification: the outcome, the product, its links, the job id. */
export function createConsoleNotifier(settings: ConsoleNotifierSettings = {}): Notifier {
  const write = settings.write ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const redact = settings.redact ?? createRedactor();
  return {
    specificationVersion: 'v1',
    async notify({ notification, signal }) {
      signal?.throwIfAborted();
      write(redact(notificationLine(notification)).replace(/\s*[\r\n]+\s*/g, ' '));
    },
  };
}

/** The console line for a notification (exported for callers that print it elsewhere). */
export function notificationLine(n: JobNotification): string {
  const job = `[job ${n.jobId}]`;
  const links = [
    n.productionUrl && `live at ${n.productionUrl}`,
    n.stagingUrl && n.stagingUrl !== n.productionUrl && `staging ${n.stagingUrl}`,
    n.repoUrl && `code at ${n.repoUrl}`,
  ].filter(Boolean);
  switch (n.status) {
    case 'COMPLETED': {
      // What it delivers comes first: a landing page or a missing feature is never hidden behind "ready".
      const as = n.delivery ? ` as ${deliveryHeadline(n.delivery)}` : '';
      const details = n.delivery ? deliveryDetails(n.delivery) : '';
      return `✔ ${n.businessName} is ready${as}${links.length ? `: ${links.join(', ')}` : ''}${details ? `. ${details}` : ''} ${job}`;
    }
    case 'FAILED':
      return n.error
        ? `✖ ${n.businessName} failed at ${n.error.step} (${n.error.code}): ${n.error.message} ${job}`
        : `✖ ${n.businessName} failed at ${n.currentStep} ${job}`;
    case 'CANCELLED':
      return `■ ${n.businessName} was cancelled at ${n.currentStep} ${job}`;
    default:
      return `• ${n.businessName}: ${n.status} at ${n.currentStep} ${job}`;
  }
}

export interface JsonlNotifierSettings {
  /** The file notifications are appended to (its folder is created when missing). */
  path: string;
}

/**
 * Appends one JSON line per notification: `{"idempotencyKey": …, …notification}`. A key already
 * in the file is not written again, so a retried notification appears once.
 * Errors: PermanentError / TransientError (disk full) when the file cannot be written.
 */
export function createJsonlNotifier(settings: JsonlNotifierSettings): Notifier {
  const file = path.resolve(settings.path);
  return {
    specificationVersion: 'v1',
    async notify({ notification, idempotencyKey, signal }) {
      signal?.throwIfAborted();
      try {
        await mkdir(path.dirname(file), { recursive: true });
        if ((await readJsonl(file)).some((line) => line['idempotencyKey'] === idempotencyKey)) return;
        await appendFile(file, `${JSON.stringify({ idempotencyKey, ...notification })}\n`);
      } catch (error) {
        throw fsError(`append the notification to ${file}`, error);
      }
    },
  };
}

/** The JSON objects of a JSONL file, oldest first (a missing file has none; broken lines are skipped). */
export async function readJsonl(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') return '';
    throw error;
  });
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line cut short by a crash: the rest of the file is still good.
    }
  }
  return out;
}
