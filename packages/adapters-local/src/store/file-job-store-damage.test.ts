import { existsSync } from 'node:fs';
import * as fsPromises from 'node:fs/promises';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, PipelineError } from '@mvp-pipeline/core';
import { sampleJob } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileJobStore, listQuarantinedRecords } from './file-job-store.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'mvp-file-damage-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function recordingLogger() {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push({ level, message, ...(fields ? { fields } : {}) });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

const now = () => new Date();

describe('a corrupt record file', () => {
  it.each([
    ['cut short by a crash', (text: string) => text.slice(0, Math.floor(text.length / 2))],
    ['emptied by a full disk', () => ''],
    ['valid JSON that is not a job', () => '{"hello": "world"}'],
    ['a job under another id', (text: string) => text.replace(/"jobId": "[^"]+"/, '"jobId": "job_other"')],
  ])('%s is moved aside, logged by name, and blocks no other job', async (_, damage) => {
    const { logger, lines } = recordingLogger();
    const store = createFileJobStore({ dataDir, logger });
    const broken = sampleJob({ jobId: 'job_broken', userId: 'user_1' });
    const healthy = sampleJob({ jobId: 'job_healthy', userId: 'user_1' });
    await store.create({ job: broken });
    await store.create({ job: healthy });
    const file = join(dataDir, 'jobs', 'job_broken.json');
    await writeFile(file, damage(await readFile(file, 'utf8')));

    const { jobs } = await store.listRunnable({ now: now() });
    expect(jobs.map((j) => j.jobId)).toEqual(['job_healthy']);
    expect((await store.listByUser({ userId: 'user_1' })).jobs.map((j) => j.jobId)).toEqual(['job_healthy']);
    expect((await store.get({ jobId: 'job_broken' })).job).toBeUndefined();
    expect(existsSync(file)).toBe(false);

    const quarantined = await listQuarantinedRecords(dataDir);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]).toMatchObject({ jobId: 'job_broken' });
    expect(quarantined[0]!.file).toMatch(/jobs\/quarantine\/job_broken\.\d+\.json$/);
    expect(await readFile(quarantined[0]!.file, 'utf8')).toBe(damage(JSON.stringify(broken, null, 2) + '\n'));
    const logged = lines.filter((l) => l.message === 'Quarantined a corrupt job record');
    expect(logged).toHaveLength(1);
    expect(logged[0]!.fields).toMatchObject({ jobId: 'job_broken', file, movedTo: quarantined[0]!.file });

    // The healthy job still takes a lease and updates.
    const lease = await store.acquireLease({ jobId: 'job_healthy', owner: 'r1', now: now(), ttlMs: 60_000 });
    expect(lease.acquired).toBe(true);
  });

  it('does not move a record a writer replaced in the meantime', async () => {
    const store = createFileJobStore({ dataDir });
    const { job } = await store.create({ job: sampleJob({ jobId: 'job_fine' }) });
    expect((await store.get({ jobId: 'job_fine' })).job?.version).toBe(job.version);
    expect(await listQuarantinedRecords(dataDir)).toEqual([]);
  });
});

describe('a history line cut mid-append', () => {
  it('is skipped and counted, and the lines before and after it are read', async () => {
    const { logger, lines } = recordingLogger();
    const store = createFileJobStore({ dataDir, logger });
    const { job } = await store.create({ job: sampleJob({ jobId: 'job_hist' }) });
    const log = (message: string) => ({ at: new Date().toISOString(), step: 'QUEUED' as const, message });
    const first = await store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: { appendLogs: [log('before the crash')] },
    });
    // A crash cut the next append halfway through its line.
    await appendFile(join(dataDir, 'jobs', 'job_hist.history.jsonl'), '{"kind":"log","entry":{"at":"2026-');
    await store.update({
      jobId: job.jobId,
      expectedVersion: first.job.version,
      patch: { appendLogs: [log('after the crash')] },
    });
    const history = await store.readHistory({ jobId: job.jobId });
    const messages = history.logs.map((l) => l.message);
    expect(messages).toContain('before the crash');
    expect(messages).toContain('after the crash');
    expect(history.skippedLines).toBe(1);
    expect(lines.find((l) => l.message === 'Skipped damaged lines of a job history')?.fields).toMatchObject({
      jobId: 'job_hist',
      skippedLines: 1,
    });
  });

  it('reports no skipped lines for an intact history', async () => {
    const store = createFileJobStore({ dataDir });
    const { job } = await store.create({ job: sampleJob({ jobId: 'job_ok' }) });
    expect((await store.readHistory({ jobId: job.jobId })).skippedLines).toBeUndefined();
  });
});

describe('a lock write that fails', () => {
  it('closes its file handle, leaves no lock, and is a transient error', async () => {
    const handles: Array<{ closed: boolean }> = [];
    let failWrites = true;
    const open: typeof fsPromises.open = (async (...args: Parameters<typeof fsPromises.open>) => {
      const handle = await fsPromises.open(...args);
      const tracked = { closed: false };
      handles.push(tracked);
      return new Proxy(handle, {
        get(target, key, receiver) {
          if (key === 'writeFile' && failWrites)
            return async () => {
              throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
            };
          if (key === 'close')
            return async () => {
              tracked.closed = true;
              return target.close();
            };
          const value = Reflect.get(target, key, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    }) as typeof fsPromises.open;
    const store = createFileJobStore({ dataDir, open });
    failWrites = false;
    const { job } = await store.create({ job: sampleJob({ jobId: 'job_lock' }) });
    failWrites = true;

    const error = await store
      .update({ jobId: job.jobId, expectedVersion: job.version, patch: { set: { progress: 5 } } })
      .catch((e: unknown) => e);
    expect(PipelineError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'TRANSIENT', retryable: true });
    expect((error as Error).message).toMatch(/could not lock job job_lock: ENOSPC/);
    expect(handles.length).toBeGreaterThan(1);
    expect(handles.every((h) => h.closed)).toBe(true);
    expect((await readdir(join(dataDir, 'jobs'))).filter((n) => n.endsWith('.lock'))).toEqual([]);

    failWrites = false;
    const updated = await store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: { set: { progress: 5 } },
    });
    expect(updated.job.version).toBe(job.version + 1);
  });
});

describe('a disk that fails under the store', () => {
  it('is a transient error naming what failed, for reads, lists and writes', async () => {
    const store = createFileJobStore({ dataDir, lockTimeoutMs: 200 });
    const { job } = await store.create({ job: sampleJob({ jobId: 'job_disk' }) });
    // The jobs directory is replaced by a file: every path under it fails with ENOTDIR.
    await rm(join(dataDir, 'jobs'), { recursive: true });
    await writeFile(join(dataDir, 'jobs'), 'not a directory');
    for (const call of [
      () => store.get({ jobId: job.jobId }),
      () => store.listRunnable({ now: now() }),
      () => store.update({ jobId: job.jobId, expectedVersion: job.version, patch: { set: { progress: 5 } } }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TRANSIENT', retryable: true });
      expect((error as Error).message).toMatch(/file job store could not .*(ENOTDIR|EEXIST)/);
    }
  });
});
