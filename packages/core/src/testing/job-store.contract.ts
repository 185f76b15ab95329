import { RECENT_LOG_LIMIT } from '../domain/job.js';
import { CancelledError } from '../errors.js';
import type { JobStore } from '../ports/job-store.port.js';
import { settle } from './faults.js';
import { sampleJob } from './fixtures.js';
import { type Harness, rejectionCode, type TestApi, withHarness } from './test-api.js';

export interface JobStoreHarness extends Harness {
  store: JobStore;
}

const T0 = new Date(Date.UTC(2026, 0, 1));
const later = (ms: number) => new Date(T0.getTime() + ms);

/** The behaviour every JobStore must show. */
export function jobStoreContract(
  t: TestApi,
  name: string,
  create: () => Promise<JobStoreHarness> | JobStoreHarness,
): void {
  const { describe, it, expect } = t;
  describe(`JobStore contract: ${name}`, () => {
    withHarness(t, create, (use) => {
      it('creates a record and reads it back unchanged', async () => {
        const { store } = use();
        const job = sampleJob();
        await store.create({ job });
        expect((await store.get({ jobId: job.jobId })).job).toEqual(job);
        expect((await store.get({ jobId: 'no-such-job' })).job).toBeUndefined();
      });

      it('refuses to create a job id twice', async () => {
        const { store } = use();
        const job = sampleJob();
        await store.create({ job });
        expect(await rejectionCode(store.create({ job }))).toBe('VERSION_CONFLICT');
      });

      it('applies an update at the expected version and bumps the version', async () => {
        const { store } = use();
        const job = sampleJob();
        await store.create({ job });
        const { job: next } = await store.update({
          jobId: job.jobId,
          expectedVersion: job.version,
          patch: {
            set: {
              status: 'IN_PROGRESS',
              currentStep: 'FETCHING_DATA',
              urls: { staging: 'https://s.example' },
            },
            appendLogs: [{ at: T0.toISOString(), step: 'FETCHING_DATA', level: 'info', message: 'hello' }],
          },
        });
        expect(next.version).toBe(job.version + 1);
        expect(next.status).toBe('IN_PROGRESS');
        expect(next.progress).toBe(10);
        expect(next.urls.staging).toBe('https://s.example');
        expect(next.executionLogs.map((l) => l.message)).toEqual(['hello']);
        expect((await store.get({ jobId: job.jobId })).job).toEqual(next);
      });

      it('rejects a stale version and changes nothing', async () => {
        const { store } = use();
        const job = sampleJob();
        await store.create({ job });
        await store.update({
          jobId: job.jobId,
          expectedVersion: job.version,
          patch: { set: { attempt: 1 } },
        });
        const stale = store.update({
          jobId: job.jobId,
          expectedVersion: job.version,
          patch: { set: { attempt: 9 } },
        });
        expect(await rejectionCode(stale)).toBe('VERSION_CONFLICT');
        expect((await store.get({ jobId: job.jobId })).job?.attempt).toBe(1);
      });

      it('lets exactly one of several concurrent updates at the same version win', async () => {
        const { store } = use();
        const job = sampleJob();
        await store.create({ job });
        const results = await Promise.allSettled(
          [1, 2, 3, 4, 5].map((attempt) =>
            store.update({ jobId: job.jobId, expectedVersion: job.version, patch: { set: { attempt } } }),
          ),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((await store.get({ jobId: job.jobId })).job?.version).toBe(job.version + 1);
      });

      it('answers NOT_FOUND for an update of an unknown job', async () => {
        const { store } = use();
        expect(await rejectionCode(store.update({ jobId: 'nope', expectedVersion: 1, patch: {} }))).toBe(
          'NOT_FOUND',
        );
      });

      it('keeps the latest log lines on the record and the whole history beside it', async () => {
        const { store } = use();
        let { job } = await store.create({ job: sampleJob() });
        const total = RECENT_LOG_LIMIT + 5;
        for (let i = 0; i < total; i++) {
          ({ job } = await store.update({
            jobId: job.jobId,
            expectedVersion: job.version,
            patch: {
              appendLogs: [
                { at: later(i).toISOString(), step: 'QUEUED', level: 'info', message: `line ${i}` },
              ],
              ...(i === 3
                ? {
                    appendErrors: [
                      {
                        at: later(i).toISOString(),
                        step: 'QUEUED',
                        code: 'TRANSIENT',
                        message: 'e',
                        retryable: true,
                        attempt: 1,
                      },
                    ],
                  }
                : {}),
            },
          }));
        }
        expect(job.executionLogs.length).toBeLessThanOrEqual(RECENT_LOG_LIMIT);
        expect(job.executionLogs.at(-1)?.message).toBe(`line ${total - 1}`);
        const history = await store.readHistory({ jobId: job.jobId });
        expect(history.logs.map((l) => l.message)).toEqual(
          Array.from({ length: total }, (_, i) => `line ${i}`),
        );
        expect(history.errors).toHaveLength(1);
      });

      it('gives the lease to one owner at a time until it expires', async () => {
        const { store } = use();
        const { job } = await store.create({ job: sampleJob() });
        const first = await store.acquireLease({ jobId: job.jobId, owner: 'a', now: T0, ttlMs: 1000 });
        expect(first.acquired).toBe(true);
        const second = await store.acquireLease({
          jobId: job.jobId,
          owner: 'b',
          now: later(500),
          ttlMs: 1000,
        });
        expect(second.acquired).toBe(false);
        if (!second.acquired) expect(second.holder.owner).toBe('a');
        expect(
          (await store.acquireLease({ jobId: job.jobId, owner: 'a', now: later(600), ttlMs: 1000 })).acquired,
        ).toBe(true);
        const afterExpiry = await store.acquireLease({
          jobId: job.jobId,
          owner: 'b',
          now: later(5000),
          ttlMs: 1000,
        });
        expect(afterExpiry.acquired).toBe(true);
        expect(afterExpiry.job.lease?.owner).toBe('b');
      });

      it('lets exactly one of several concurrent lease takers win', async () => {
        const { store } = use();
        const { job } = await store.create({ job: sampleJob() });
        const results = await Promise.all(
          ['a', 'b', 'c', 'd', 'e'].map((owner) =>
            store.acquireLease({ jobId: job.jobId, owner, now: T0, ttlMs: 60_000 }),
          ),
        );
        expect(results.filter((r) => r.acquired)).toHaveLength(1);
      });

      it('renews only for the holder and releases only for the holder', async () => {
        const { store } = use();
        const { job } = await store.create({ job: sampleJob() });
        await store.acquireLease({ jobId: job.jobId, owner: 'a', now: T0, ttlMs: 1000 });
        const renewed = await store.renewLease({
          jobId: job.jobId,
          owner: 'a',
          now: later(900),
          ttlMs: 1000,
        });
        expect(renewed.job.lease?.expiresAt).toBe(later(1900).toISOString());
        expect(
          await rejectionCode(
            store.renewLease({ jobId: job.jobId, owner: 'b', now: later(900), ttlMs: 1000 }),
          ),
        ).toBe('LEASE_LOST');
        await store.releaseLease({ jobId: job.jobId, owner: 'b' });
        expect((await store.get({ jobId: job.jobId })).job?.lease?.owner).toBe('a');
        await store.releaseLease({ jobId: job.jobId, owner: 'a' });
        expect((await store.get({ jobId: job.jobId })).job?.lease).toBeNull();
        expect(
          (await store.acquireLease({ jobId: job.jobId, owner: 'b', now: later(901), ttlMs: 1000 })).acquired,
        ).toBe(true);
      });

      it('lists a user’s jobs newest first, a page at a time, and no one else’s', async () => {
        const { store } = use();
        const ids: string[] = [];
        for (let i = 0; i < 7; i++) {
          const job = sampleJob({ userId: 'lister', createdAt: later(i * 1000) });
          ids.push(job.jobId);
          await store.create({ job });
        }
        await store.create({ job: sampleJob({ userId: 'someone-else' }) });
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 10; page++) {
          const result = await store.listByUser({
            userId: 'lister',
            limit: 3,
            ...(cursor ? { cursor } : {}),
          });
          expect(result.jobs.length).toBeLessThanOrEqual(3);
          seen.push(...result.jobs.map((j) => j.jobId));
          cursor = result.nextCursor;
          if (!cursor) break;
        }
        expect(seen).toEqual([...ids].reverse());
      });

      it('lists runnable jobs: queued, orphaned, and ended without notification', async () => {
        const { store } = use();
        const queued = (await store.create({ job: sampleJob({ createdAt: later(1) }) })).job;
        const running = (await store.create({ job: sampleJob({ createdAt: later(2) }) })).job;
        const orphan = (await store.create({ job: sampleJob({ createdAt: later(3) }) })).job;
        const done = (await store.create({ job: sampleJob({ createdAt: later(4) }) })).job;
        const unannounced = (await store.create({ job: sampleJob({ createdAt: later(5) }) })).job;
        const now = later(10_000);
        for (const [job, expires] of [
          [running, later(60_000)],
          [orphan, later(5_000)],
        ] as const) {
          await store.update({
            jobId: job.jobId,
            expectedVersion: job.version,
            patch: {
              set: {
                status: 'IN_PROGRESS',
                currentStep: 'BUILDING',
                lease: { owner: 'x', expiresAt: expires.toISOString() },
              },
            },
          });
        }
        await store.update({
          jobId: done.jobId,
          expectedVersion: done.version,
          patch: {
            set: { status: 'COMPLETED', currentStep: 'COMPLETED', checkpoints: { notified: ['COMPLETED'] } },
          },
        });
        await store.update({
          jobId: unannounced.jobId,
          expectedVersion: unannounced.version,
          patch: { set: { status: 'FAILED', currentStep: 'BUILDING' } },
        });
        const { jobs } = await store.listRunnable({ now, limit: 50 });
        const runnable = jobs.map((j) => j.jobId);
        expect(runnable).toEqual(expect.arrayContaining([queued.jobId, orphan.jobId, unannounced.jobId]));
        expect(runnable).not.toContain(running.jobId);
        expect(runnable).not.toContain(done.jobId);
      });

      it('rejects with the signal’s reason when aborted, and writes nothing', async () => {
        const { store } = use();
        const controller = new AbortController();
        const reason = new CancelledError('Cancelled by the contract suite');
        controller.abort(reason);
        const job = sampleJob();
        const created = await settle(store.create({ job, signal: controller.signal }));
        expect(
          created.kind === 'resolved' ? 'resolved' : created.error,
          'create with an aborted signal must reject with signal.reason',
        ).toBe(reason);
        expect(
          (await store.get({ jobId: job.jobId })).job,
          'nothing may be written after the signal aborted',
        ).toBe(undefined);
        await store.create({ job });
        const updated = await settle(
          store.update({
            jobId: job.jobId,
            expectedVersion: job.version,
            patch: { set: { status: 'IN_PROGRESS' } },
            signal: controller.signal,
          }),
        );
        expect(
          updated.kind === 'resolved' ? 'resolved' : updated.error,
          'update with an aborted signal must reject with signal.reason',
        ).toBe(reason);
        expect((await store.get({ jobId: job.jobId })).job?.version).toBe(job.version);
      });
    });
  });
}
