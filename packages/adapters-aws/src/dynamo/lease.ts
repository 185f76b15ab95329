import {
  type Job,
  LeaseLostError,
  type LeaseResult,
  NotFoundError,
  TransientError,
} from '@mvp-pipeline/core';
import type { StoreContext } from './context.js';
import type { Item } from './item.js';
import { writeRecord } from './record-write.js';

const LEASE_RACE_RETRIES = 5;

/** What taking or renewing a lease is asked with (the JobStore port's lease requests). */
interface LeaseRequest {
  jobId: string;
  owner: string;
  now: Date;
  ttlMs: number;
  signal?: AbortSignal;
}

/** How the store turns a written or conflicting record back into a job. */
export interface LeaseReads {
  /** The job for a record item a write returned (ALL_NEW). */
  afterWrite(record: Item, signal?: AbortSignal): Promise<Job | undefined>;
  /** The stored job after a failed condition. */
  afterConflict(jobId: string, error: unknown, signal?: AbortSignal): Promise<Job | undefined>;
}

/**
 * The lease rules, once: taken when there is no lease, or it expired at `now`, or it is already
 * ours; renewed and released only by its owner. Each is one blind conditional write that bumps
 * `version` (the version rule of writeRecord) and stamps `timestamps.updatedAt`.
 */
const RULES = {
  acquire: 'attribute_not_exists(#lease) OR #lease.#expiresAt <= :now OR #lease.#owner = :owner',
  held: '#lease.#owner = :owner',
} as const;

const NAMES = {
  '#lease': 'lease',
  '#owner': 'owner',
  '#expiresAt': 'expiresAt',
  '#timestamps': 'timestamps',
  '#updatedAt': 'updatedAt',
};

export function leaseOperations(ctx: StoreContext, reads: LeaseReads) {
  const write = async (
    operation: string,
    jobId: string,
    change: {
      lease?: { owner: string; expiresAt: string };
      condition: string;
      values: Record<string, unknown>;
    },
    signal?: AbortSignal,
  ): Promise<{ ok: boolean; job: Job | undefined }> => {
    const result = await writeRecord(
      ctx,
      operation,
      jobId,
      {
        sets: [...(change.lease ? ['#lease = :lease'] : []), '#timestamps.#updatedAt = :updatedAt'],
        removes: change.lease ? [] : ['#lease'],
        condition: change.condition,
        names: NAMES,
        values: {
          ...change.values,
          ...(change.lease ? { ':lease': change.lease } : {}),
          ':updatedAt': ctx.clock().toISOString(),
        },
        returnNew: true,
      },
      signal,
    );
    if (result.ok) {
      const job = await reads.afterWrite(result.record as Item, signal);
      if (!job) throw new NotFoundError(`No job with id ${jobId}`);
      return { ok: true, job };
    }
    return { ok: false, job: await reads.afterConflict(jobId, result.error, signal) };
  };

  const leaseValue = (owner: string, now: Date, ttlMs: number) => ({
    owner,
    expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
  });

  return {
    async acquireLease({ jobId, owner, now, ttlMs, signal }: LeaseRequest): Promise<LeaseResult> {
      for (let attempt = 0; ; attempt++) {
        const result = await write(
          'UpdateItem (acquire lease)',
          jobId,
          {
            lease: leaseValue(owner, now, ttlMs),
            condition: RULES.acquire,
            values: { ':now': now.toISOString(), ':owner': owner },
          },
          signal,
        );
        if (!result.job) throw new NotFoundError(`No job with id ${jobId}`);
        if (result.ok) return { acquired: true, job: structuredClone(result.job) };
        const holder = result.job.lease;
        if (holder && holder.owner !== owner && Date.parse(holder.expiresAt) > now.getTime()) {
          return { acquired: false, job: structuredClone(result.job), holder };
        }
        // The holder let go between the failed write and the read that stood in for ALL_OLD.
        if (attempt >= LEASE_RACE_RETRIES) {
          throw new TransientError(`The lease on job ${jobId} kept changing while ${owner} tried to take it`);
        }
      }
    },

    async renewLease({ jobId, owner, now, ttlMs, signal }: LeaseRequest) {
      const result = await write(
        'UpdateItem (renew lease)',
        jobId,
        { lease: leaseValue(owner, now, ttlMs), condition: RULES.held, values: { ':owner': owner } },
        signal,
      );
      if (!result.job) throw new NotFoundError(`No job with id ${jobId}`);
      if (!result.ok) {
        throw new LeaseLostError(
          `Runner ${owner} no longer holds the lease on job ${jobId}${result.job.lease ? ` (${result.job.lease.owner} does)` : ''}`,
          { step: result.job.currentStep },
        );
      }
      return { job: structuredClone(result.job) };
    },

    async releaseLease({ jobId, owner, signal }: { jobId: string; owner: string; signal?: AbortSignal }) {
      const result = await write(
        'UpdateItem (release lease)',
        jobId,
        { condition: RULES.held, values: { ':owner': owner } },
        signal,
      );
      return { job: result.job && structuredClone(result.job) };
    },
  };
}
