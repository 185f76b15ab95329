import type { Job } from '@mvp-pipeline/core';
import { batchGet, type StoreContext } from './context.js';
import { type Item, unmarshallItem } from './item.js';
import {
  adoptionDefaults,
  DamagedJobError,
  isUnadoptedRecord,
  jobFromRecord,
  statePointerOf,
} from './record-codec.js';
import { recordKey, writeRecord } from './record-write.js';
import { fromItems, StateMismatch, type StoredJob, stateKey, stateKeys } from './runner-state.js';
import { JOBS_TABLE_SCHEMA } from './table.js';

const PK = JOBS_TABLE_SCHEMA.partitionKey;
/** How often a read that found the record pointing at state it could not see reads again. */
const STATE_RACE_REREADS = 2;
/** Jobs per BatchGetItem of a page (a request takes at most 100 keys). */
const BATCH_JOBS = 50;

/**
 * How the store reads jobs: the record and both state slots in one strongly consistent
 * BatchGetItem, records FounderDash wrote itself adopted on the way, and what a write or a failed
 * condition returned completed from the cache.
 */
export function createReads(ctx: StoreContext, template: string) {
  const { cache } = ctx;
  /** The record and both state slots of a job, in one strongly consistent BatchGetItem. */
  const read = async (jobId: string, signal?: AbortSignal): Promise<StoredJob | undefined> => {
    for (let round = 0; ; round++) {
      const found = await batchGet(
        ctx,
        { [ctx.tables.records]: [recordKey(jobId)], [ctx.tables.runner]: stateKeys(jobId) },
        signal,
      );
      const record = found[ctx.tables.records]?.[0];
      if (!record) {
        cache.delete(jobId);
        return undefined;
      }
      if (isUnadoptedRecord(record)) {
        await adopt(record, signal);
        continue;
      }
      try {
        return cache.put(fromItems(record, found[ctx.tables.runner] ?? []));
      } catch (error) {
        // The record and the state slots are read side by side: a read can see the record
        // pointing at a state item written just before it, and the slot from just before that.
        if (!(error instanceof StateMismatch) || round >= STATE_RACE_REREADS) throw error;
      }
    }
  };

  /** Gives a document-shaped record its defaults and version 1: one conditional write. */
  const adopt = async (record: Item, signal?: AbortSignal) => {
    const defaults = adoptionDefaults(record, template, ctx.clock());
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = Object.entries(defaults)
      .filter(([name]) => name !== 'version')
      .map(([name, value], n) => {
        names[`#d${n}`] = name;
        values[`:d${n}`] = value;
        return `#d${n} = :d${n}`;
      });
    // Lost to another adopter: the next read finds the record adopted.
    await writeRecord(
      ctx,
      'UpdateItem (adopt record)',
      String(record[PK]),
      { sets, names, values, adopting: true },
      signal,
    );
  };

  /**
   * The stored job for a record item a write returned (ALL_NEW, ALL_OLD): the runner state comes
   * from the cache when the record points where the cached one does, else from a read.
   */
  const withRunnerState = async (record: Item, signal?: AbortSignal): Promise<StoredJob | undefined> => {
    const jobId = String(record[PK]);
    if (isUnadoptedRecord(record)) return read(jobId, signal);
    const pointer = statePointerOf(record);
    const known = cache.latest(jobId);
    if (known && JSON.stringify(known.state) === JSON.stringify(pointer)) {
      return cache.put({ job: jobFromRecord(record, known.job), state: pointer });
    }
    return read(jobId, signal);
  };

  /** The stored job after a failed condition: from the exception (DynamoDB) or a read (dynalite). */
  const currentAfterConflict = async (jobId: string, error: unknown, signal?: AbortSignal) => {
    const raw = (error as { Item?: Record<string, unknown> }).Item;
    if (raw && Object.keys(raw).length > 0) return withRunnerState(unmarshallItem(raw), signal);
    return read(jobId, signal);
  };

  /**
   * The jobs `jobIds`, in that order (jobs deleted meanwhile are left out, and so are damaged
   * ones, each named in a warning): their records, then their state items, each a strongly
   * consistent BatchGetItem per 50 jobs.
   */
  async function batchRead(jobIds: string[], signal?: AbortSignal): Promise<Job[]> {
    const byId = new Map<string, Job>();
    const runner = ctx.tables.runner;
    for (let i = 0; i < jobIds.length; i += BATCH_JOBS) {
      const chunk = jobIds.slice(i, i + BATCH_JOBS);
      const records =
        (await batchGet(ctx, { [ctx.tables.records]: chunk.map(recordKey) }, signal))[ctx.tables.records] ??
        [];
      const keys = records.flatMap((record) => {
        const pointer = isUnadoptedRecord(record) ? undefined : statePointerOf(record);
        return pointer ? [stateKey(String(record[PK]), pointer.slot)] : [];
      });
      const states = keys.length ? ((await batchGet(ctx, { [runner]: keys }, signal))[runner] ?? []) : [];
      for (const record of records) {
        const jobId = String(record[PK]);
        const decode = async (): Promise<StoredJob | undefined> => {
          if (isUnadoptedRecord(record)) return read(jobId, signal);
          try {
            return cache.put(
              fromItems(
                record,
                states.filter((s) => s[PK] === jobId),
              ),
            );
          } catch (error) {
            if (!(error instanceof StateMismatch)) throw error;
            return read(jobId, signal); // a state write raced this read
          }
        };
        let stored: StoredJob | undefined;
        try {
          stored = await decode();
        } catch (error) {
          // One damaged job must not hide the others: it is left out and named; a `get` of it
          // still fails with the error naming the item. A failing store still fails the list.
          if (!(error instanceof DamagedJobError)) throw error;
          ctx.logger?.warn('Left a damaged job out of the list', {
            jobId: error.jobId,
            reason: ctx.redact(error.message),
          });
        }
        if (stored) byId.set(jobId, stored.job);
      }
    }
    return jobIds.flatMap((id) => {
      const job = byId.get(id);
      return job ? [structuredClone(job)] : [];
    });
  }
  return { read, withRunnerState, currentAfterConflict, batchRead };
}
