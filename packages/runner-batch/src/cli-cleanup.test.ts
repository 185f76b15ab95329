import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job } from '@mvp-pipeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, runCli } from './testing/harness.js';

let work: string;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('The CLI is not built: run `pnpm build` (npm test does) first');
  work = await mkdtemp(join(tmpdir(), 'mvp-cleanup-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const mvp = (args: string[], dataDir: string) =>
  runCli(args, { env: { MVP_DATA_DIR: dataDir, MVP_TEMPLATE: 'landing' }, cwd: work });

/** Marks the job failed in its record on disk, as a run that failed at DEPLOYING leaves it. */
async function markFailed(dataDir: string, jobId: string): Promise<void> {
  const file = join(dataDir, 'jobs', `${jobId}.json`);
  const job = JSON.parse(await readFile(file, 'utf8')) as Job;
  await writeFile(file, JSON.stringify({ ...job, status: 'FAILED', currentStep: 'DEPLOYING', progress: 85 }));
}

describe('mvp cleanup', () => {
  it('removes what a failed job made (the repository only with --repo), says so, and finds nothing the second time', async () => {
    const dataDir = join(work, 'failed');
    const run = await mvp(['run', '--spec', join(REPO_ROOT, 'examples', 'eventhub.json'), '--json'], dataDir);
    expect(run.code, run.stderr).toBe(0);
    const job = JSON.parse(run.stdout) as Job;
    const page = fileURLToPath(job.urls.production!);
    expect(existsSync(page)).toBe(true);

    // A completed job's MVP is live: not cleaned up.
    const live = await mvp(['cleanup', job.jobId], dataDir);
    expect(live.code).toBe(1);
    expect(live.stderr).toMatch(/completed: its MVP is live/);

    await markFailed(dataDir, job.jobId);
    const first = await mvp(['cleanup', job.jobId], dataDir);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(`^Removed for job ${job.jobId}:\\n  site eventhub\\n  deployment dpl_`),
    );
    expect(first.stdout).toMatch(
      /Not removed:\n {2}repository eventhub-mvp \(kept: add --repo to delete it\)/,
    );
    expect(existsSync(page)).toBe(false);
    expect(await readdir(join(dataDir, 'repos'))).toEqual(['eventhub-mvp.git']);

    const second = await mvp(['cleanup', job.jobId, '--repo'], dataDir);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(`Removed for job ${job.jobId}:\n  repository eventhub-mvp\n`);
    expect(await readdir(join(dataDir, 'repos'))).toEqual([]);
    const third = await mvp(['cleanup', job.jobId, '--repo'], dataDir);
    expect(third.stdout).toBe(`Nothing left to remove for job ${job.jobId}.\n`);

    const status = await mvp(['status', job.jobId, '--json'], dataDir);
    const record = JSON.parse(status.stdout) as Job;
    expect(record.resources.cleanedUp?.removed).toHaveLength(3);
  }, 120_000);

  it('says what is wrong with an unknown job, a running one, or no JOB_ID', async () => {
    const dataDir = join(work, 'errors');
    const unknown = await mvp(['cleanup', 'job_nope'], dataDir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/No job with id job_nope/);
    const submitted = await mvp(['submit', '--spec', join(REPO_ROOT, 'examples', 'eventhub.json')], dataDir);
    const jobId = /job_[A-Za-z0-9_-]+/.exec(submitted.stdout + submitted.stderr)?.[0];
    expect(jobId, submitted.stdout + submitted.stderr).toBeDefined();
    const pending = await mvp(['cleanup', jobId!], dataDir);
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain(`Job ${jobId} is PENDING: cancel it (mvp cancel ${jobId})`);
    const none = await mvp(['cleanup'], dataDir);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/mvp cleanup needs one JOB_ID/);
  });
});
