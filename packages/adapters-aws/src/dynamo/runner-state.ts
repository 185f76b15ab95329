import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants } from 'node:zlib';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { type Job, NotFoundError, VersionConflictError } from '@mvp-pipeline/core';
import { abortable, isConditionFailure, type StoreContext } from './context.js';
import type { Item } from './item.js';
import {
  checkRecord,
  DamagedJobError,
  emptyRunnerState,
  jobFromRecord,
  type RunnerState,
  type StatePointer,
  statePointerOf,
} from './record-codec.js';
import { JOBS_TABLE_SCHEMA } from './table.js';

/** A job as stored: its record and where its runner state is (none until it has any). */
export interface StoredJob {
  job: Job;
  state: StatePointer | undefined;
}

/** First byte of a state item's `packed` attribute: the format, so it can change without a migration. */
const PACKED_FORMAT_BROTLI_JSON = 1;
const { partitionKey: PK, sortKey: SK, stateSortKeyPrefix } = JOBS_TABLE_SCHEMA.runner;

const stateOf = (job: Job): RunnerState => ({ checkpoints: job.checkpoints, usage: job.usage });

/** The sort key of a state slot. */
export const stateSortKey = (slot: 0 | 1) => `${stateSortKeyPrefix}${slot}`;

/** The key of a state slot of a job in the runner table. */
export const stateKey = (jobId: string, slot: 0 | 1) => ({ [PK]: jobId, [SK]: stateSortKey(slot) });

/** The keys of both state slots of a job. */
export const stateKeys = (jobId: string) => [stateKey(jobId, 0), stateKey(jobId, 1)];

/** Whether two jobs carry the same runner state. */
export function sameRunnerState(a: Job, b: Job): boolean {
  return JSON.stringify(stateOf(a)) === JSON.stringify(stateOf(b));
}

/** Whether a job has runner state worth storing (a new job has none). */
export function hasRunnerState(job: Job): boolean {
  return JSON.stringify(stateOf(job)) !== JSON.stringify(emptyRunnerState());
}

/** Compresses the runner state: deterministic for equal input. */
export function pack(value: RunnerState): Uint8Array {
  const body = brotliCompressSync(Buffer.from(JSON.stringify(value)), {
    params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_MODE]: 1 },
  });
  const out = new Uint8Array(body.length + 1);
  out[0] = PACKED_FORMAT_BROTLI_JSON;
  out.set(body, 1);
  return out;
}

export function unpack(bytes: Uint8Array): RunnerState {
  if (!(bytes instanceof Uint8Array)) throw new Error('packed is not binary');
  if (bytes[0] !== PACKED_FORMAT_BROTLI_JSON) {
    throw new Error(`Unknown packed state format ${bytes[0]}`);
  }
  const value = JSON.parse(brotliDecompressSync(bytes.subarray(1)).toString('utf8'));
  const isMap = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isMap(value) || !isMap(value.checkpoints) || !isMap(value.usage)) {
    throw new Error('the unpacked state has no checkpoints and usage');
  }
  return value;
}

/** A state item: the job's checkpoints and usage, compressed, for record version `state.version`. */
export function stateItem(job: Job, state: StatePointer): Item {
  return {
    [PK]: job.jobId,
    [SK]: stateSortKey(state.slot),
    version: state.version,
    packed: pack(stateOf(job)),
  };
}

/**
 * The job in a record item and its state items (any of the job's, or none when the record
 * points at none). A record that points at a state item that is missing or was written for
 * another version is a broken invariant: it throws (`StateMismatch`, so a reader can tell it
 * from a read that raced the write of that state item, and read again). A record item lacking
 * what a job needs, or a state item that cannot be unpacked, throws `DamagedJobError`.
 */
export function fromItems(record: Item, stateItems: readonly Item[]): StoredJob {
  checkRecord(record);
  const state = statePointerOf(record);
  if (!state) return { job: jobFromRecord(record, emptyRunnerState()), state };
  const jobId = String(record[PK]);
  const item = `its runner state (${stateSortKey(state.slot)}, version ${state.version})`;
  const found = stateItems.find((i) => i[SK] === stateSortKey(state.slot));
  if (!found || Number(found.version) !== state.version) {
    throw new StateMismatch(
      jobId,
      `Job ${jobId}: ${item} is ${found ? `at version ${String(found.version)}` : 'missing'}`,
    );
  }
  let runner: RunnerState;
  try {
    runner = unpack(found.packed as Uint8Array);
  } catch (error) {
    throw new DamagedJobError(
      jobId,
      `Job ${jobId}: ${item} cannot be unpacked: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return { job: jobFromRecord(record, runner), state };
}

/** A record pointing at runner state that is not there (for that version). */
export class StateMismatch extends DamagedJobError {}

/**
 * Writes `job`'s runner state into `state.slot`, unless that slot already holds this version
 * with other content, or a newer one (another writer got there first: a conflict). The same
 * content again is a retry of this write and goes through. For a new job (`expectedVersion` 0)
 * the slot must not exist, unless no record does either (an earlier create that failed after
 * its state write left it).
 */
export async function writeState(
  ctx: StoreContext,
  job: Job,
  state: StatePointer,
  expectedVersion: number,
  read: (jobId: string) => Promise<StoredJob | undefined>,
  signal?: AbortSignal,
): Promise<void> {
  const item = stateItem(job, state);
  const table = ctx.tables.runner;
  const put = (condition: 'none' | 'absent' | 'older') =>
    ctx.send(
      'PutItem (state)',
      table,
      () =>
        ctx.client.send(
          new PutCommand({
            TableName: table,
            Item: item,
            ...(condition === 'absent' && {
              ConditionExpression: 'attribute_not_exists(#version)',
              ExpressionAttributeNames: { '#version': 'version' },
            }),
            ...(condition === 'older' && {
              ConditionExpression:
                'attribute_not_exists(#version) OR #version < :version OR (#version = :version AND #packed = :packed)',
              ExpressionAttributeNames: { '#version': 'version', '#packed': 'packed' },
              ExpressionAttributeValues: { ':version': state.version, ':packed': item.packed },
            }),
          }),
          abortable(signal),
        ),
      signal,
    );
  try {
    await put(expectedVersion === 0 ? 'absent' : 'older');
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const stored = await read(job.jobId);
    if (!stored && expectedVersion === 0) {
      await put('none');
      return;
    }
    if (!stored) throw new NotFoundError(`No job with id ${job.jobId}`);
    throw new VersionConflictError(job.jobId, expectedVersion, stored.job.version);
  }
}
