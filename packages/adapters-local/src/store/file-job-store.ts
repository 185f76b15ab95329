import { randomBytes } from 'node:crypto';
import * as fsPromises from 'node:fs/promises';
import { appendFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  isJobStatus,
  isStep,
  type Job,
  type JobErrorEntry,
  type JobStore,
  type LogEntry,
  type Logger,
  PipelineError,
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
  /** Told about quarantined records and skipped history lines. */
  logger?: Logger;
  /** The file-open call (tests make a lock write fail through it). Default node:fs/promises. */
  open?: typeof fsPromises.open;
}

/** A record file that could not be read as a job, moved aside so that it blocks nothing. */
export interface QuarantinedRecord {
  jobId: string;
  /** Where it is now. */
  file: string;
  /** When it was moved aside (ISO time). */
  at: string;
}

/** Where corrupt records go: `<dataDir>/jobs/quarantine/<jobId>.<ms since epoch>.json`. */
export const quarantineDir = (dataDir: string) => join(dataDir, 'jobs', 'quarantine');

/** The records of a data dir that were found corrupt and moved aside, newest first. */
export async function listQuarantinedRecords(dataDir: string): Promise<QuarantinedRecord[]> {
  const dir = quarantineDir(dataDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .map((name) => /^(.+)\.(\d+)\.json$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ jobId: m[1]!, file: join(dir, m[0]), at: new Date(Number(m[2])).toISOString() }))
    .sort((a, b) => (a.at < b.at ? 1 : -1));
}

// Job ids become file names: anything else is simply not a job here.
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/**
 * One JSON file per job, written atomically (temp file + rename). The version check runs under
 * a per-job lock file created with O_EXCL, so it holds across processes, not only within one.
 * The full log history is a JSON-lines file beside the record.
 *
 * Damage is contained: a record file that is not a job (cut short by a crash or a full disk,
 * edited by hand) is moved to `jobs/quarantine/` and logged, and the store carries on as if the
 * job did not exist; a history line cut mid-append is skipped and counted (`skippedLines`). A
 * failure of the disk itself is a TransientError naming the data dir.
 */
export function createFileJobStore(settings: FileJobStoreSettings): JobStore {
  const dir = join(settings.dataDir, 'jobs');
  const lockTimeoutMs = settings.lockTimeoutMs ?? 10_000;
  const staleLockMs = settings.staleLockMs ?? 2_000;
  const openFile = settings.open ?? fsPromises.open;
  const recordPath = (jobId: string) => join(dir, `${jobId}.json`);
  const historyPath = (jobId: string) => join(dir, `${jobId}.history.jsonl`);

  /** The text of a record file; undefined when there is none. */
  const readText = async (jobId: string): Promise<string | undefined> => {
    try {
      return await readFile(recordPath(jobId), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw diskFailure(error, `read the record of job ${jobId}`);
    }
  };

  /** Moves a corrupt record aside (the caller holds the job's lock). */
  const quarantine = async (jobId: string, reason: string) => {
    const target = join(quarantineDir(settings.dataDir), `${jobId}.${Date.now()}.json`);
    try {
      await mkdir(quarantineDir(settings.dataDir), { recursive: true });
      await rename(recordPath(jobId), target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw diskFailure(error, `move the corrupt record of job ${jobId} aside`);
    }
    parsed.delete(jobId);
    settings.logger?.error('Quarantined a corrupt job record', {
      jobId,
      file: recordPath(jobId),
      movedTo: target,
      reason,
    });
  };

  const readRecord = async (jobId: string, locked = false): Promise<Job | undefined> => {
    if (!SAFE_ID.test(jobId)) return undefined;
    const text = await readText(jobId);
    if (text === undefined) return undefined;
    const job = decodeRecord(text, jobId);
    if (typeof job !== 'string') return job;
    // Records are replaced by rename, so a reader never sees half a write of ours: this file is
    // damaged. Check again under the lock (a writer may just have replaced it), then move it aside.
    const again = async () => {
      const now = await readText(jobId);
      if (now === undefined) return undefined;
      const decoded = decodeRecord(now, jobId);
      if (typeof decoded !== 'string') return decoded;
      await quarantine(jobId, decoded);
      return undefined;
    };
    return locked ? again() : withLock(jobId, again);
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
        const handle = await openFile(lock, 'wx');
        let written = false;
        try {
          await handle.writeFile(`${hostname()} ${process.pid}`);
          written = true;
        } finally {
          // A failed write (a full disk) closes the handle and leaves no lock behind.
          await handle.close().catch(() => undefined);
          if (!written) await rm(lock, { force: true }).catch(() => undefined);
        }
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw diskFailure(error, `lock job ${jobId}`);
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
      await mkdir(dir, { recursive: true }).catch((error) => {
        throw diskFailure(error, 'create the jobs directory');
      });
      return withLock(jobId, async () => {
        if ((await readRecord(jobId, true))?.version !== expectedVersion) return false;
        const lines = [
          ...history.logs.map((entry) => JSON.stringify({ kind: 'log', entry })),
          ...history.errors.map((entry) => JSON.stringify({ kind: 'error', entry })),
        ];
        const temp = join(dir, `.${jobId}.${randomBytes(4).toString('hex')}.tmp`);
        try {
          if (lines.length) {
            // A line cut short by a crash must not swallow the first line appended after it.
            const cut = await endsMidLine(historyPath(jobId));
            await appendFile(historyPath(jobId), `${cut ? '\n' : ''}${lines.join('\n')}\n`);
          }
          await writeFile(temp, `${JSON.stringify(next, null, 2)}\n`);
          await rename(temp, recordPath(jobId));
        } catch (error) {
          await rm(temp, { force: true }).catch(() => undefined);
          throw diskFailure(error, `write the record of job ${jobId}`);
        }
        return true;
      });
    },
    async list() {
      const names = await readdir(dir).catch((error) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [] as string[];
        throw diskFailure(error, 'list the jobs');
      });
      const jobs = await Promise.all(
        names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => listed(n.slice(0, -5))),
      );
      return jobs.filter((job): job is Job => job !== undefined);
    },
    async readHistory(jobId) {
      const text = await readFile(historyPath(jobId), 'utf8').catch((error) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
        throw diskFailure(error, `read the history of job ${jobId}`);
      });
      const logs: LogEntry[] = [];
      const errors: JobErrorEntry[] = [];
      let skippedLines = 0;
      for (const line of text.split('\n')) {
        if (!line) continue;
        const item = parseHistoryLine(line);
        if (item?.kind === 'log') logs.push(item.entry);
        else if (item?.kind === 'error') errors.push(item.entry);
        else skippedLines++;
      }
      if (skippedLines === 0) return { logs, errors };
      settings.logger?.warn('Skipped damaged lines of a job history', {
        jobId,
        file: historyPath(jobId),
        skippedLines,
      });
      return { logs, errors, skippedLines };
    },
  };
  return createRecordJobStore(backend);
}

/** The job a record file holds, or why it holds none. */
function decodeRecord(text: string, jobId: string): Job | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not valid JSON (${(error as Error).message})`;
  }
  const job = value as Partial<Job> | null;
  if (!job || typeof job !== 'object' || Array.isArray(job)) return 'not a JSON object';
  if (job.jobId !== jobId) return 'its jobId does not match its file name';
  if (typeof job.version !== 'number' || !Number.isInteger(job.version)) return 'no whole-number version';
  if (!isJobStatus(job.status) || !isStep(job.currentStep)) return 'no known status and step';
  if (typeof job.userId !== 'string' || typeof job.createdAt !== 'string') return 'no userId and createdAt';
  if (!Array.isArray(job.executionLogs) || !Array.isArray(job.errors)) return 'no log and error lists';
  return job as Job;
}

function parseHistoryLine(
  line: string,
): { kind: 'log'; entry: LogEntry } | { kind: 'error'; entry: JobErrorEntry } | undefined {
  try {
    const item = JSON.parse(line) as { kind?: unknown; entry?: unknown } | null;
    if (!item || typeof item !== 'object' || !item.entry || typeof item.entry !== 'object') return undefined;
    if (item.kind === 'log') return { kind: 'log', entry: item.entry as LogEntry };
    if (item.kind === 'error') return { kind: 'error', entry: item.entry as JobErrorEntry };
  } catch {
    // a line cut short: skipped and counted
  }
  return undefined;
}

/** Whether a history file ends without its last newline (an append was cut short). */
async function endsMidLine(path: string): Promise<boolean> {
  let handle: fsPromises.FileHandle | undefined;
  try {
    handle = await fsPromises.open(path, 'r');
    const { size } = await handle.stat();
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  } finally {
    await handle?.close();
  }
}

/**
 * A failure of the disk under the store, naming what failed. Always transient, unlike
 * `fsError`'s split: a store that cannot be read or written is an outage of the store (the
 * directory replaced, a mount gone, permissions changed), and the job must stay resumable for
 * when it is back (`mvp run` exits 75, a worker polls again), not be failed by a runner that
 * cannot record the failure anyway.
 */
function diskFailure(error: unknown, what: string): PipelineError {
  if (PipelineError.isInstance(error)) return error;
  const code = (error as NodeJS.ErrnoException).code;
  return new TransientError(
    `The file job store could not ${what}: ${code ?? (error as Error).message}${(error as NodeJS.ErrnoException).path ? ` (${(error as NodeJS.ErrnoException).path})` : ''}`,
    { cause: error },
  );
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
