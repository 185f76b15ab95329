import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createDynamoDocumentClient, createJobsTable } from '@mvp-pipeline/adapters-aws';
import { type RunOutcome, runJob, runWorker } from '@mvp-pipeline/core';
// dynalite ships no types: it is a function returning an http.Server.
// @ts-expect-error no declaration file
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  evidence,
  leakedIn,
  openPipeline,
  PROOF_ENV,
  type ProofPipeline,
  removeDir,
  tempDir,
} from './harness.js';

const ONCE = { repos: 1, commits: 2, deployments: 1, notifications: 1 };
const cleanups: Array<() => Promise<void>> = [];

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('The runner is not built: run `pnpm build` (npm test does) first');
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function fresh(env: Record<string, string> = {}) {
  const dataDir = await tempDir('dup');
  const pipeline = await openPipeline({ dataDir, env });
  cleanups.push(async () => {
    await pipeline.close();
    await removeDir(dataDir);
  });
  return pipeline;
}

/** Outcomes of five runners: exactly one did the work; the others changed nothing. */
function expectOneWorker(outcomes: RunOutcome[]) {
  expect(outcomes.filter((o) => o === 'COMPLETED')).toHaveLength(1);
  for (const o of outcomes.filter((o) => o !== 'COMPLETED'))
    expect(['LEASE_HELD', 'ALREADY_ENDED']).toContain(o);
}

async function expectDoneOnce(pipeline: ProofPipeline, jobId: string) {
  const { job } = await pipeline.deps.ports.store.get({ jobId });
  expect(job).toMatchObject({ status: 'COMPLETED', attempt: 1, lease: null });
  expect(job?.executionLogs.filter((l) => /^Attempt \d+ started/.test(l.message)).length).toBeLessThanOrEqual(
    1,
  );
  expect(await evidence(pipeline.dataDir, jobId)).toEqual(ONCE);
}

describe('five runners started at once for one job', () => {
  it('five `mvp run-batch-job` processes on one file store: one does the work', {
    timeout: 120_000,
  }, async () => {
    const pipeline = await fresh();
    const job = await pipeline.submit();
    const runs = await Promise.all(
      [1, 2, 3, 4, 5].map(
        () =>
          new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
            const child = spawn(process.execPath, [CLI, 'run-batch-job', job.jobId], {
              env: {
                ...process.env,
                MVP_DATA_DIR: pipeline.dataDir,
                MVP_LOG_FORMAT: 'json',
                ...PROOF_ENV,
              },
              stdio: ['ignore', 'pipe', 'pipe'],
            });
            let stderr = '';
            child.stderr.on('data', (d) => {
              stderr += d;
            });
            child.on('error', reject);
            child.on('close', (code) => resolve({ code, stderr }));
          }),
      ),
    );
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const outcomes = runs.map((run) => {
      const ended = run.stderr
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { message: string; outcome?: RunOutcome })
        .find((line) => line.message === 'Run ended');
      return ended?.outcome ?? ('?' as RunOutcome);
    });
    expectOneWorker(outcomes);
    await expectDoneOnce(pipeline, job.jobId);
    expect(leakedIn(runs.map((r) => r.stderr).join('\n'))).toEqual([]);
  });

  it('five runJob calls with separate pipelines on one file store: one does the work', async () => {
    const pipeline = await fresh();
    const job = await pipeline.submit();
    const others = await Promise.all([1, 2, 3, 4, 5].map(() => openPipeline({ dataDir: pipeline.dataDir })));
    const results = await Promise.all(
      others.map((p, i) => runJob(p.deps, { jobId: job.jobId, runnerId: `r${i}` })),
    );
    await Promise.all(others.map((p) => p.close()));
    expectOneWorker(results.map((r) => r.outcome));
    await expectDoneOnce(pipeline, job.jobId);
  });

  describe('on the DynamoDB store (dynalite)', () => {
    let server: Server;
    let endpoint: string;
    beforeAll(async () => {
      server = (dynalite as (options: object) => Server)({ createTableMs: 0 });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server?.close(() => resolve()));
    });

    it('five runJob calls with separate pipelines and clients: one does the work', async () => {
      const client = () =>
        createDynamoDocumentClient({
          endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'AKIDPROOFLOCAL', secretAccessKey: 'proof-local-secret' },
        });
      const tableName = 'proof-duplicates';
      await createJobsTable({ client: client(), tableName });
      const { createDynamoJobStore } = await import('@mvp-pipeline/adapters-aws');
      const { TOKENS } = await import('@mvp-pipeline/core');
      const onDynamo = (dataDir: string) =>
        openPipeline({
          dataDir,
          configure: (c) =>
            c
              .rebind(TOKENS.JobStore)
              .toConstantValue(createDynamoJobStore({ tableName }, { client: client() })),
        });
      const dataDir = await tempDir('dup-dynamo');
      cleanups.push(() => removeDir(dataDir));
      const first = await onDynamo(dataDir);
      const job = await first.submit();
      const runners = await Promise.all([1, 2, 3, 4, 5].map(() => onDynamo(dataDir)));
      const results = await Promise.all(
        runners.map((p, i) => runJob(p.deps, { jobId: job.jobId, runnerId: `dynamo-${i}` })),
      );
      expectOneWorker(results.map((r) => r.outcome));
      await expectDoneOnce(first, job.jobId);
      await Promise.all([first, ...runners].map((p) => p.close()));
    });
  });
});

describe('a runner killed inside a file-store write', () => {
  // A SIGKILL can land while a runner holds the per-job lock file of the file store. The next
  // runner must get past that lock; today writers give up (lockTimeoutMs 10 s) before the lock
  // counts as stale (staleLockMs 30 s), so `mvp worker --once` right after a crash cannot resume
  // the job. The fault matrix's kill cells meet this by chance; this test makes it certain.
  it('leaves a lock that does not stop the next runner from finishing the job', {
    timeout: 120_000,
  }, async () => {
    const pipeline = await fresh();
    const job = await pipeline.submit();
    await mkdir(join(pipeline.dataDir, 'jobs'), { recursive: true });
    await writeFile(join(pipeline.dataDir, 'jobs', `${job.jobId}.lock`), '');
    const errors: string[] = [];
    const summary = await runWorker(pipeline.deps, {
      concurrency: 1,
      once: true,
      pollIntervalMs: 50,
      onError: (_, error) => errors.push(String(error)),
    });
    expect(errors).toEqual([]);
    expect(summary.outcomes.COMPLETED).toBe(1);
    await expectDoneOnce(pipeline, job.jobId);
  });
});
