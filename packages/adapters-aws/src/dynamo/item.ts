import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants } from 'node:zlib';
import { emptyJobUsage, type Job, PermanentError } from '@mvp-pipeline/core';
import { JOBS_TABLE_SCHEMA } from './table.js';

/** A DynamoDB item as the document client reads and writes it. */
export type Item = Record<string, unknown>;

/** First byte of a state item's `packed` attribute: the format, so it can change without a migration. */
const PACKED_FORMAT_BROTLI_JSON = 1;

/** The fields of a Job kept on the record item, in the order the record lists them. */
const RECORD_FIELDS = [
  'jobId',
  'userId',
  'productId',
  'businessName',
  'template',
  'status',
  'currentStep',
  'progress',
  'createdAt',
  'timestamps',
  'resources',
  'urls',
  'errors',
  'executionLogs',
  'version',
  'attempt',
  'lease',
  'repairRounds',
  'cancelRequested',
] as const satisfies readonly (keyof Job)[];

type RecordField = (typeof RECORD_FIELDS)[number];

/**
 * Where a job's runner state (`checkpoints` and `usage`) is: one of the two state items beside
 * the record (`sk = JOB#STATE#<slot>`), written for record version `version`.
 */
export interface StatePointer {
  slot: 0 | 1;
  version: number;
}

/** A job as stored: its record and where its runner state is (none until it has any). */
export interface StoredJob {
  job: Job;
  state: StatePointer | undefined;
}

/** The runner-only part of a job. */
type RunnerState = Pick<Job, 'checkpoints' | 'usage'>;

const stateOf = (job: Job): RunnerState => ({ checkpoints: job.checkpoints, usage: job.usage });
const emptyState = (): RunnerState => ({
  checkpoints: {},
  usage: emptyJobUsage(),
});

/** Whether two jobs carry the same runner state. */
export function sameRunnerState(a: Job, b: Job): boolean {
  return JSON.stringify(stateOf(a)) === JSON.stringify(stateOf(b));
}

/** Whether a job has runner state worth storing (a new job has none). */
export function hasRunnerState(job: Job): boolean {
  return JSON.stringify(stateOf(job)) !== JSON.stringify(emptyState());
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
  if (bytes[0] !== PACKED_FORMAT_BROTLI_JSON) {
    throw new Error(`Unknown packed state format ${bytes[0]}`);
  }
  return JSON.parse(brotliDecompressSync(bytes.subarray(1)).toString('utf8'));
}

const { partitionKey: PK, sortKey: SK, recordSortKey, stateSortKeyPrefix } = JOBS_TABLE_SCHEMA;

/** The sort key of a state slot. */
export const stateSortKey = (slot: 0 | 1) => `${stateSortKeyPrefix}${slot}`;

/**
 * The record item of a job: the fields the status endpoint reads (the seed's shape) as plain
 * attributes, `userId` and `createdAt` top-level for the index, and where the runner state is
 * (`stateSlot`, `stateVersion`). The runner state itself is not on the record: an UpdateItem is
 * billed for the whole item, and checkpoints and usage, which only runners read, would double a
 * finished job's record. Defaults are left out (no lease, no repair rounds, no cancel request).
 */
export function recordItem(job: Job, state: StatePointer | undefined): Item {
  const item: Item = { [SK]: recordSortKey };
  for (const field of RECORD_FIELDS) {
    if (field === 'lease' && !job.lease) continue;
    if (field === 'repairRounds' && job.repairRounds === 0) continue;
    if (field === 'cancelRequested' && !job.cancelRequested) continue;
    item[field] = job[field];
  }
  if (state) {
    item.stateSlot = state.slot;
    item.stateVersion = state.version;
  }
  return dropUndefined(item);
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

/** Where a record item says its runner state is. */
export function statePointerOf(record: Item): StatePointer | undefined {
  const { stateSlot, stateVersion } = record;
  return stateSlot === 0 || stateSlot === 1 ? { slot: stateSlot, version: Number(stateVersion) } : undefined;
}

/**
 * The job in a record item and its state items (any of the job's, or none when the record
 * points at none). A record that points at a state item that is missing or was written for
 * another version is a broken invariant: it throws.
 */
export function fromItems(record: Item, stateItems: readonly Item[]): StoredJob {
  const state = statePointerOf(record);
  if (!state) return { job: jobFromRecord(record, emptyState()), state };
  const found = stateItems.find((i) => i[SK] === stateSortKey(state.slot));
  if (!found || Number(found.version) !== state.version) {
    throw new PermanentError(
      `Job ${String(record[PK])}: its runner state (${stateSortKey(state.slot)}, version ${state.version}) is ${found ? `at version ${String(found.version)}` : 'missing'}`,
    );
  }
  return { job: jobFromRecord(record, unpack(found.packed as Uint8Array)), state };
}

/** The job in a record item, with its runner state from elsewhere. */
export function jobFromRecord(record: Item, runner: RunnerState): Job {
  const job = { checkpoints: runner.checkpoints, usage: runner.usage } as Record<string, unknown>;
  for (const field of RECORD_FIELDS) job[field] = record[field as RecordField];
  job.lease = record.lease ?? null;
  job.repairRounds = record.repairRounds ?? 0;
  job.cancelRequested = record.cancelRequested ?? false;
  return job as unknown as Job;
}

/**
 * DynamoDB's size of an item, as it bills writes: attribute names and values in bytes (a
 * number is about one byte per two digits, a map or list adds 3 bytes and 1 per element).
 */
export function itemSize(item: Item): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + valueSize(value),
    0,
  );
}

function valueSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') {
    const digits = String(Math.abs(value))
      .replace(/[.-]|e.*$/g, '')
      .replace(/^0+/, '');
    return 1 + Math.ceil(digits.length / 2);
  }
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + valueSize(v), 0);
  return (
    3 +
    Object.entries(value as object).reduce(
      (sum: number, [name, v]) => sum + 1 + Buffer.byteLength(name) + valueSize(v),
      0,
    )
  );
}

/** Whether two attribute values are the same (values are JSON-like or bytes). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The value without `undefined` members (DynamoDB has no undefined). */
export function dropUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(dropUndefined) as T;
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, dropUndefined(v)]),
    ) as T;
  }
  return value;
}

type AttributeValue =
  | { S: string }
  | { N: string }
  | { B: Uint8Array }
  | { BOOL: boolean }
  | { NULL: true }
  | { L: AttributeValue[] }
  | { M: Record<string, AttributeValue> }
  | { SS: string[] }
  | { NS: string[] };

/**
 * Reads a raw (wire-typed) item, as it rides on a ConditionalCheckFailedException: the
 * document client does not unmarshall those.
 */
export function unmarshallItem(raw: Record<string, unknown>): Item {
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, unmarshallValue(v as AttributeValue)]));
}

function unmarshallValue(value: AttributeValue): unknown {
  if ('S' in value) return value.S;
  if ('N' in value) return Number(value.N);
  if ('B' in value) return value.B;
  if ('BOOL' in value) return value.BOOL;
  if ('NULL' in value) return null;
  if ('L' in value) return value.L.map(unmarshallValue);
  if ('M' in value) return unmarshallItem(value.M);
  if ('SS' in value) return new Set(value.SS);
  if ('NS' in value) return new Set(value.NS.map(Number));
  return undefined;
}
