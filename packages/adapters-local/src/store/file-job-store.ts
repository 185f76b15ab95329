import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  type Job,
  type JobErrorEntry,
  type JobStore,
  type LogEntry,
  TransientError,
} from '@mvp-pipeline/core';
import { createRecordJobStore, type RecordBackend } from './record-job-store.js';

export interface FileJobStoreSettings {
  /** The data dir; records live in `<dataDir>/jobs/<jobId>.json`. */
  dataDir: string;
  /** How long a writer waits for another process's lock before giving up (transient). */
  lockTimeoutMs?: number;
  /**
   * A lock older than this is left over from a killed process and is broken (a lock covers one
   * small read-modify-write). A lock whose holder (same host) is gone is broken at once.
   */
  staleLockMs?: number;
}

// Job ids become file names: anything else is simply not a job here.
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/**
 * One JSON file per job, written atomically (temp file + rename). The version check runs under
 * a per-job lock file created with O_EXCL, so it holds across processes, not only within one.
 * The full log history is a JSON-lines file beside the record.
 */
export function createFileJobStore(settings: FileJobStoreSettings): JobStore {
  const dir = join(settings.dataDir, 'jobs');
  const lockTimeoutMs = settings.lockTimeoutMs ?? 10_000;
  const staleLockMs = settings.staleLockMs ?? 2_000;
  const recordPath = (jobId: string) => join(dir, `${jobId}.json`);
  const historyPath = (jobId: string) => join(dir, `${jobId}.history.jsonl`);

  const readRecord = async (jobId: string): Promise<Job | undefined> => {
    if (!SAFE_ID.test(jobId)) return undefined;
    try {
      return JSON.parse(await readFile(recordPath(jobId), 'utf8')) as Job;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };

  // Workers list every record on each poll: unchanged files (same mtime and size) are not parsed again.
  const parsed = new Map<string, { stamp: string; job: Job }>();
  const listed = async (jobId: string): Promise<Job | undefined> => {
    const info = await stat(recordPath(jobId)).catch(() => undefined);
    if (!info) return undefined;
    const stamp = `${info.mtimeMs}:${info.size}`;
    const cached = parsed.get(jobId);
    if (cached?.stamp === stamp) return structuredClone(cached.job);
    const job = await readRecord(jobId);
    if (job) parsed.set(jobId, { stamp, job: structuredClone(job) });
    return job;
  };

  const withLock = async <T>(jobId: string, work: () => Promise<T>): Promise<T> => {
    const lock = join(dir, `${jobId}.lock`);
    const deadline = Date.now() + lockTimeoutMs;
    for (;;) {
      try {
        const handle = await open(lock, 'wx');
        await handle.writeFile(`${hostname()} ${process.pid}`);
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const age = await stat(lock).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > staleLockMs || (await holderIsGone(lock))) {
          await rm(lock, { force: true });
          continue;
        }
        if (Date.now() > deadline) throw new TransientError(`Job ${jobId} is locked by another process`);
        await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 10));
      }
    }
    try {
      return await work();
    } finally {
      await rm(lock, { force: true });
    }
  };

  const backend: RecordBackend = {
    read: readRecord,
    async swap(jobId, expectedVersion, next, history) {
      if (!SAFE_ID.test(jobId)) throw new TransientError(`Refusing to store job id ${JSON.stringify(jobId)}`);
      await mkdir(dir, { recursive: true });
      return withLock(jobId, async () => {
        if ((await readRecord(jobId))?.version !== expectedVersion) return false;
        const lines = [
          ...history.logs.map((entry) => JSON.stringify({ kind: 'log', entry })),
          ...history.errors.map((entry) => JSON.stringify({ kind: 'error', entry })),
        ];
        if (lines.length) await appendFile(historyPath(jobId), `${lines.join('\n')}\n`);
        const temp = join(dir, `.${jobId}.${randomBytes(4).toString('hex')}.tmp`);
        await writeFile(temp, `${JSON.stringify(next, null, 2)}\n`);
        await rename(temp, recordPath(jobId));
        return true;
      });
    },
    async list() {
      const names = await readdir(dir).catch(() => [] as string[]);
      const jobs = await Promise.all(
        names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => listed(n.slice(0, -5))),
      );
      return jobs.filter((job): job is Job => job !== undefined);
    },
    async readHistory(jobId) {
      const text = await readFile(historyPath(jobId), 'utf8').catch(() => '');
      const logs: LogEntry[] = [];
      const errors: JobErrorEntry[] = [];
      for (const line of text.split('\n')) {
        if (!line) continue;
        const item = JSON.parse(line) as
          | { kind: 'log'; entry: LogEntry }
          | { kind: 'error'; entry: JobErrorEntry };
        if (item.kind === 'log') logs.push(item.entry);
        else errors.push(item.entry);
      }
      return { logs, errors };
    },
  };
  return createRecordJobStore(backend);
}

/** Whether the lock was taken by a process of this host that no longer exists. */
async function holderIsGone(lock: string): Promise<boolean> {
  const [host, pid] = (await readFile(lock, 'utf8').catch(() => '')).split(' ');
  if (host !== hostname() || !pid || !/^\d+$/.test(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
