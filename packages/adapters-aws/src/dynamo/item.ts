import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants } from 'node:zlib';
import type { Checkpoints, Job, JobUsage } from '@mvp-pipeline/core';
import { JOBS_TABLE_SCHEMA } from './table.js';

/** A DynamoDB item as the document client reads and writes it. */
export type Item = Record<string, unknown>;

/** The attribute holding the packed runner-only state (see `toItem`). */
export const PACKED_ATTRIBUTE = 'packed';
/** First byte of the packed attribute: the format, so it can change without a migration. */
const PACKED_FORMAT_BROTLI_JSON = 1;

/** The fields of a Job, in the order the record lists them. */
const JOB_FIELDS = [
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
  'checkpoints',
  'usage',
  'repairRounds',
  'cancelRequested',
] as const satisfies readonly (keyof Job)[];

type PlainField = Exclude<(typeof JOB_FIELDS)[number], 'checkpoints' | 'usage' | 'lease'>;

/** Compresses the runner-only part of a record: deterministic for equal input. */
export function pack(value: { checkpoints: Checkpoints; usage: JobUsage }): Uint8Array {
  const body = brotliCompressSync(Buffer.from(JSON.stringify(value)), {
    params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_MODE]: 1 },
  });
  const out = new Uint8Array(body.length + 1);
  out[0] = PACKED_FORMAT_BROTLI_JSON;
  out.set(body, 1);
  return out;
}

export function unpack(bytes: Uint8Array): { checkpoints: Checkpoints; usage: JobUsage } {
  if (bytes[0] !== PACKED_FORMAT_BROTLI_JSON) {
    throw new Error(`Unknown packed state format ${bytes[0]}`);
  }
  return JSON.parse(brotliDecompressSync(bytes.subarray(1)).toString('utf8'));
}

/**
 * The record item of a job. Every field the status endpoint reads (the seed's shape) is a plain
 * attribute, `userId` and `createdAt` are top-level for the index, and a missing lease is a
 * missing attribute. `checkpoints` and `usage`, which only runners read and which make up half
 * of a finished job, travel packed in one binary attribute: an UpdateItem is billed for the
 * whole item, so packing them saves a third of a finished job's size. With `pack: false` they
 * are plain attributes too (readable in the console, at the cost of bigger writes).
 */
export function toItem(job: Job, options: { pack?: boolean } = {}): Item {
  const packing = options.pack ?? true;
  const item: Item = { [JOBS_TABLE_SCHEMA.sortKey]: JOBS_TABLE_SCHEMA.recordSortKey };
  for (const field of JOB_FIELDS) {
    if (packing && (field === 'checkpoints' || field === 'usage')) {
      continue;
    }
    if (field === 'lease') {
      if (job.lease) item.lease = job.lease;
      continue;
    }
    item[field] = job[field];
  }
  if (packing) item[PACKED_ATTRIBUTE] = pack({ checkpoints: job.checkpoints, usage: job.usage });
  return dropUndefined(item);
}

/** The Job in a record item (plain `checkpoints`/`usage` attributes are read too). */
export function fromItem(item: Item): Job {
  const packedValue = item[PACKED_ATTRIBUTE];
  const packed =
    packedValue instanceof Uint8Array
      ? unpack(packedValue)
      : { checkpoints: (item.checkpoints ?? {}) as Checkpoints, usage: item.usage as JobUsage };
  const job = {} as Record<string, unknown>;
  for (const field of JOB_FIELDS) {
    if (field === 'checkpoints' || field === 'usage') job[field] = packed[field];
    else if (field === 'lease') job.lease = item.lease ?? null;
    else job[field] = item[field as PlainField];
  }
  return job as unknown as Job;
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
