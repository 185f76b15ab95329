import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Job } from '@mvp-pipeline/core';
import { CLI, leakedIn, openPipeline, PROOF_ENV, removeDir, tempDir } from './harness.js';

/**
 * A webhook receiver standing in for a vendor that throttles: every `every`-th call is answered
 * 429 with `Retry-After: 0`, the others 200. It records each delivery by its Idempotency-Key.
 */
export interface ThrottlingReceiver {
  url: string;
  calls: number;
  throttled: number;
  /** Successful deliveries per Idempotency-Key. */
  delivered: Map<string, number>;
  /** Secrets seen in any request (headers or body). */
  leaks: string[];
  close(): Promise<void>;
}

export async function startThrottlingReceiver(every = 5): Promise<ThrottlingReceiver> {
  const receiver: Omit<ThrottlingReceiver, 'url' | 'close'> = {
    calls: 0,
    throttled: 0,
    delivered: new Map(),
    leaks: [],
  };
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      receiver.calls++;
      receiver.leaks.push(...leakedIn(`${JSON.stringify(request.headers)} ${request.url} ${body}`));
      if (receiver.calls % every === 0) {
        receiver.throttled++;
        response.writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' });
        response.end('{"error":"rate_limited"}');
        return;
      }
      const key = String(request.headers['idempotency-key'] ?? '');
      receiver.delivered.set(key, (receiver.delivered.get(key) ?? 0) + 1);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hooks/mvp`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

export interface LoadOptions {
  jobs: number;
  concurrency: number;
  /** Every n-th webhook call is throttled (429). Default 5. */
  throttleEvery?: number;
}

export interface LoadResult {
  jobs: number;
  completed: number;
  /** Jobs submitted whose record is missing or not COMPLETED. */
  notCompleted: string[];
  /** Jobs with more than one repository, deployment or notification, or a webhook delivered twice. */
  duplicated: string[];
  /** Jobs missing a repository, deployment, notification or webhook delivery. */
  missingEffects: string[];
  webhookCalls: number;
  throttled: number;
  /** Peak resident memory of the worker process (VmHWM), MiB. */
  peakRssMiB: number;
  /** Wall time of `mvp worker --once`, seconds. */
  seconds: number;
  jobsPerSecond: number;
  workerExitCode: number | null;
  /** Secrets found in the worker's output, the data dir's records or the webhook requests. */
  leaks: string[];
}

/**
 * Submits `jobs` jobs into a fresh data dir, then runs them all with one `mvp worker --once
 * --concurrency N` process (the built CLI) whose notifications go to the JSONL file and to a
 * webhook that throttles one call in five. Counts every job's side effects from the adapters'
 * own evidence and samples the worker's peak memory.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const receiver = await startThrottlingReceiver(options.throttleEvery ?? 5);
  const dataDir = await tempDir('load');
  // The load proof runs many jobs: on the static template (app jobs have their own bench).
  const env = { MVP_NOTIFIER: 'jsonl,webhook', MVP_WEBHOOK_URL: receiver.url, MVP_TEMPLATE: 'landing' };
  try {
    const submitter = await openPipeline({ dataDir, env });
    const submitted: Job[] = [];
    try {
      for (let i = 0; i < options.jobs; i++) submitted.push(await submitter.submit());
    } finally {
      await submitter.close();
    }

    const started = performance.now();
    const worker = spawn(
      process.execPath,
      [CLI, 'worker', '--once', '--concurrency', String(options.concurrency)],
      {
        env: { ...process.env, MVP_DATA_DIR: dataDir, ...PROOF_ENV, ...env },
        cwd: dataDir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-200_000);
    };
    worker.stdout.on('data', keep);
    worker.stderr.on('data', keep);
    let peakKiB = 0;
    const sample = async () => {
      const status = await readFile(`/proc/${worker.pid}/status`, 'utf8').catch(() => '');
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peakKiB = Math.max(peakKiB, hwm);
    };
    const sampler = setInterval(() => void sample(), 100);
    const code = await new Promise<number | null>((resolve) => worker.once('close', resolve));
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;

    const reader = await openPipeline({ dataDir, env });
    const records: Array<Job | undefined> = [];
    try {
      for (const job of submitted)
        records.push((await reader.deps.ports.store.get({ jobId: job.jobId })).job);
    } finally {
      await reader.close();
    }
    const effects = await evidenceByJob(dataDir);
    const notCompleted: string[] = [];
    const duplicated: string[] = [];
    const missingEffects: string[] = [];
    for (const [i, job] of submitted.entries()) {
      const record = records[i];
      if (record?.status !== 'COMPLETED') notCompleted.push(`${job.jobId}: ${record?.status ?? 'missing'}`);
      const seen = effects.get(job.jobId) ?? { repos: 0, deployments: 0, notifications: 0 };
      const deliveries = receiver.delivered.get(`${job.jobId}:COMPLETED`) ?? 0;
      const counts = [seen.repos, seen.deployments, seen.notifications, deliveries];
      if (counts.some((n) => n > 1)) duplicated.push(`${job.jobId}: ${counts.join('/')}`);
      if (counts.some((n) => n < 1)) missingEffects.push(`${job.jobId}: ${counts.join('/')}`);
    }
    const jobFiles = join(dataDir, 'jobs');
    const recordText = (
      await Promise.all(
        (await readdir(jobFiles)).map((name) => readFile(join(jobFiles, name), 'utf8').catch(() => '')),
      )
    ).join('\n');
    return {
      jobs: submitted.length,
      completed: submitted.length - notCompleted.length,
      notCompleted,
      duplicated,
      missingEffects,
      webhookCalls: receiver.calls,
      throttled: receiver.throttled,
      peakRssMiB: Math.round(peakKiB / 1024),
      seconds,
      jobsPerSecond: submitted.length / seconds,
      workerExitCode: code,
      leaks: [...new Set([...leakedIn(output), ...leakedIn(recordText), ...receiver.leaks])],
    };
  } finally {
    await receiver.close();
    await removeDir(dataDir);
  }
}

/** Repositories, deployments and notification lines per job, read once for the whole data dir. */
async function evidenceByJob(dataDir: string) {
  const byJob = new Map<string, { repos: number; deployments: number; notifications: number }>();
  const of = (jobId: string) => {
    let entry = byJob.get(jobId);
    if (!entry) {
      entry = { repos: 0, deployments: 0, notifications: 0 };
      byJob.set(jobId, entry);
    }
    return entry;
  };
  const reposDir = join(dataDir, 'repos');
  for (const name of await readdir(reposDir).catch(() => [] as string[])) {
    if (!name.endsWith('.git')) continue;
    const config = await readFile(join(reposDir, name, 'config'), 'utf8').catch(() => '');
    const owner = /^\s*jobId = (\S+)\s*$/m.exec(config)?.[1];
    if (owner) of(owner).repos++;
  }
  const deploymentsDir = join(dataDir, 'deployments');
  for (const name of await readdir(deploymentsDir).catch(() => [] as string[])) {
    if (!/^dpl_.*\.json$/.test(name)) continue;
    const record = JSON.parse(await readFile(join(deploymentsDir, name), 'utf8')) as { jobId?: string };
    if (record.jobId) of(record.jobId).deployments++;
  }
  const lines = (await readFile(join(dataDir, 'notifications.jsonl'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean);
  for (const line of lines) {
    const { jobId } = JSON.parse(line) as { jobId?: string };
    if (jobId) of(jobId).notifications++;
  }
  return byJob;
}
