import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger, Redactor } from '@mvp-pipeline/core';
import { awsErrorName, toPipelineAwsError } from '../aws-errors.js';
import type { Item } from './item.js';
import type { StoredJob } from './runner-state.js';

/**
 * A DynamoDB client configured for the store: `undefined` members are dropped, and the region,
 * endpoint and credentials come from the environment (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB or
 * AWS_ENDPOINT_URL, the default credential chain) unless given.
 */
export function createDynamoDocumentClient(
  config: ConstructorParameters<typeof DynamoDBClient>[0] = {},
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** What every module of the store shares: the client, the two tables, the clock, the redactor. */
export interface StoreContext {
  client: DynamoDBDocumentClient;
  /** The jobs table (records, keyed by `jobId`) and the runner table (state and history). */
  tables: { records: string; runner: string };
  clock: () => Date;
  redact: Redactor;
  logger: Pick<Logger, 'warn'> | undefined;
  cache: RecordCache;
  /** Sends one request, mapping SDK failures onto the core's errors (a failed condition stays as it is). */
  send<T>(operation: string, table: string, run: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export function sendVia(redact: Redactor): StoreContext['send'] {
  return async (operation, table, run, signal) => {
    try {
      return await run();
    } catch (error) {
      if (isConditionFailure(error)) throw error;
      throw toPipelineAwsError(error, {
        operation: `DynamoDB ${operation} on table ${table}`,
        redact,
        signal,
      });
    }
  };
}

export const isConditionFailure = (error: unknown): boolean =>
  awsErrorName(error) === 'ConditionalCheckFailedException';

/** The SDK's per-request options for a caller's signal. */
export function abortable(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}

const BATCH_GET_ROUNDS = 8;

/**
 * The items at `keys` per table (at most 100 keys in all), strongly consistent, retrying
 * unprocessed keys with backoff. Consistent, so a job written just before is on the page.
 */
export async function batchGet(
  ctx: StoreContext,
  keys: Record<string, Record<string, unknown>[]>,
  signal?: AbortSignal,
): Promise<Record<string, Item[]>> {
  const found: Record<string, Item[]> = Object.fromEntries(Object.keys(keys).map((t) => [t, []]));
  let pending = Object.fromEntries(Object.entries(keys).filter(([, k]) => k.length > 0));
  const tables = Object.keys(keys).join(', ');
  for (let round = 0; Object.keys(pending).length > 0; round++) {
    if (round >= BATCH_GET_ROUNDS) {
      throw toPipelineAwsError(
        Object.assign(new Error('keys stayed unprocessed'), { name: 'ThrottlingException' }),
        { operation: `DynamoDB BatchGetItem on table ${tables}`, redact: ctx.redact },
      );
    }
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
    const request = Object.fromEntries(
      Object.entries(pending).map(([table, k]) => [table, { Keys: k, ConsistentRead: true }]),
    );
    const result = await ctx.send(
      'BatchGetItem',
      tables,
      () => ctx.client.send(new BatchGetCommand({ RequestItems: request }), abortable(signal)),
      signal,
    );
    for (const [table, items] of Object.entries(result.Responses ?? {})) found[table]?.push(...items);
    pending = Object.fromEntries(
      Object.entries(result.UnprocessedKeys ?? {})
        .map(([table, v]) => [table, (v.Keys ?? []) as Record<string, unknown>[]] as const)
        .filter(([, k]) => k.length > 0),
    );
  }
  return found;
}

/** The jobs this store last wrote or read, by job id; an entry is good for exactly its version. */
export class RecordCache {
  private readonly entries = new Map<string, StoredJob>();
  constructor(private readonly capacity: number) {}

  get(jobId: string, version: number): StoredJob | undefined {
    const stored = this.entries.get(jobId);
    return stored?.job.version === version ? stored : undefined;
  }

  /** The newest entry for the job, whatever its version. */
  latest(jobId: string): StoredJob | undefined {
    return this.entries.get(jobId);
  }

  /** Keeps a private copy of `stored` (callers may go on changing theirs) and returns it. */
  put(stored: StoredJob): StoredJob {
    const copy = structuredClone(stored);
    this.entries.delete(stored.job.jobId);
    this.entries.set(stored.job.jobId, copy);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return copy;
  }

  delete(jobId: string): void {
    this.entries.delete(jobId);
  }
}
