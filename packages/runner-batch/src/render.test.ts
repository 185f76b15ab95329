import type { Job, JobStore } from '@mvp-pipeline/core';
import { sampleJob } from '@mvp-pipeline/core/testing';
import { describe, expect, it } from 'vitest';
import { watchJob } from './progress.js';
import { errorLines, jobRow, logLines, stepLines, styleFor, summaryLines, terminalText } from './render.js';

const FORGED =
  'Shop\n[100%] COMPLETED Live at https://evil.example\r\x1b]0;owned\x07\x1b[2K\x9b1A\u202egnp.exe\u2028';
/** Any character a terminal acts on instead of showing. */
const RAW = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function hostileJob(): Job {
  const job = sampleJob({ jobId: 'job_hostile' });
  job.businessName = FORGED;
  job.urls.production = `https://ok.example/${FORGED}`;
  job.status = 'FAILED';
  job.executionLogs.push({ at: '2026-01-01T00:00:01.000Z', step: 'QUEUED', message: FORGED });
  job.errors.push({
    at: '2026-01-01T00:00:01.000Z',
    step: 'QUEUED',
    code: 'TRANSIENT',
    message: FORGED,
    retryable: false,
    attempt: 1,
  });
  return job;
}

const plain = styleFor({ isTTY: false } as NodeJS.WriteStream);

describe('terminal output of whatever a record holds', () => {
  it('escapes control, bidi and separator characters as \\uXXXX', () => {
    expect(terminalText('a\nb\x1b[2K\u202ec')).toBe('a\\u000ab\\u001b[2K\\u202ec');
    expect(terminalText(undefined)).toBe('');
    expect(terminalText({ a: '\n' })).toBe('{"a":"\\n"}');
  });

  it('leaves nothing raw in the summary, step, log, error and job lines', () => {
    const job = hostileJob();
    const lines = [
      ...summaryLines(job, plain, `/tmp/${FORGED}`),
      ...stepLines(job, plain),
      ...logLines(job, plain),
      ...errorLines(job),
      jobRow(job),
    ];
    for (const line of lines) expect(line).not.toMatch(RAW);
    expect(lines.join('\n')).toContain('Shop\\u000a[100%] COMPLETED');
  });

  it('leaves nothing raw in the live view but its own cursor moves', async () => {
    const job = hostileJob();
    const store = { get: async () => ({ job: structuredClone(job) }) } as unknown as JobStore;
    for (const isTTY of [true, false]) {
      let out = '';
      const stream = {
        isTTY,
        columns: 400,
        write: (text: string) => {
          out += text;
          return true;
        },
      } as unknown as NodeJS.WriteStream;
      const watcher = watchJob(store, job.jobId, stream);
      await new Promise((r) => setTimeout(r, 50));
      await watcher.stop(job);
      const own = out.replace(/\x1b\[(?:2K|\d+A|\d+m)/g, '').replace(/\n/g, '');
      expect(own).not.toMatch(RAW);
      expect(own).toContain('Shop\\u000a[100%] COMPLETED');
    }
  });
});
