import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobStoreContract, sampleJob } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileJobStore } from './file-job-store.js';

const t = { describe, it, expect, beforeEach, afterEach };

jobStoreContract(t, 'file', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mvp-file-store-'));
  return {
    store: createFileJobStore({ dataDir }),
    dispose: () => rm(dataDir, { recursive: true, force: true }),
  };
});

describe('file JobStore across processes', () => {
  it('gives the lease to exactly one of several processes racing for it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mvp-file-race-'));
    try {
      const store = createFileJobStore({ dataDir });
      const { job } = await store.create({ job: sampleJob() });
      // Plain Node children cannot load TypeScript: they use the build (`pnpm test` builds first).
      const built = new URL('../../dist/store/file-job-store.js', import.meta.url);
      if (!existsSync(built)) throw new Error('packages/adapters-local is not built: run `pnpm build` first');
      const script = `
        const { createFileJobStore } = await import(process.argv[1]);
        const store = createFileJobStore({ dataDir: process.argv[2] });
        const r = await store.acquireLease({ jobId: process.argv[3], owner: process.argv[4], now: new Date(), ttlMs: 60000 });
        process.stdout.write(r.acquired ? 'won' : 'lost');`;
      const results = await Promise.all(
        ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map(
          (owner) =>
            new Promise<string>((resolve, reject) => {
              const child = spawn(process.execPath, [
                '--input-type=module',
                '-e',
                script,
                built.href,
                dataDir,
                job.jobId,
                owner,
              ]);
              let out = '';
              child.stdout.on('data', (d) => {
                out += d;
              });
              child.on('error', reject);
              child.on('close', () => resolve(out));
            }),
        ),
      );
      expect(results.filter((r) => r === 'won')).toHaveLength(1);
      expect(results.filter((r) => r === 'lost')).toHaveLength(5);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('treats a job id that is not a file name as not found', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mvp-file-ids-'));
    try {
      const store = createFileJobStore({ dataDir });
      for (const id of ['../../etc/passwd', '/etc/passwd', 'a/b', '', '.hidden']) {
        expect((await store.get({ jobId: id })).job).toBeUndefined();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
