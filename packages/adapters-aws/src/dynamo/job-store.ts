import { PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  applyJobPatch,
  createRedactor,
  isRunnable,
  type Job,
  type JobStore,
  type Logger,
  NotFoundError,
  RECENT_ERROR_LIMIT,
  RECENT_LOG_LIMIT,
  type Redactor,
  ValidationError,
  VersionConflictError,
} from '@mvp-pipeline/core';
import {
  abortable,
  createDynamoDocumentClient,
  isConditionFailure,
  RecordCache,
  type StoreContext,
  sendVia,
} from './context.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { readHistory, writeHistory } from './history.js';
import type { Item } from './item.js';
import { leaseOperations } from './lease.js';
import { createReads } from './reads.js';
import {
  fitRecord,
  type RecordBudget,
  recordChanges,
  recordItem,
  type StatePointer,
} from './record-codec.js';
import { writeRecord } from './record-write.js';
import { hasRunnerState, sameRunnerState, writeState } from './runner-state.js';
import { JOBS_TABLE_SCHEMA, runnerTableNameFor } from './table.js';

export interface DynamoJobStoreSettings {
  /** The jobs table (DYNAMODB_TABLE): the records, keyed by `jobId` (JOBS_TABLE_SCHEMA). */
  tableName: string;
  /** The runner table: runner state and history (default: `tableName` + `-runner`). */
  runnerTableName?: string;
  /** Log lines kept on the record itself (default 3, at most RECENT_LOG_LIMIT); all of them are in the history. */
  recentLogLimit?: number;
  /** Errors kept on the record itself (default 3, at most RECENT_ERROR_LIMIT); all of them are in the history. */
  recentErrorLimit?: number;
  /** Longest message kept on the record's copy of a log line or error (default 300); the history keeps it whole. */
  recentMessageLength?: number;
  /**
   * The record's size budget in bytes (default 1000, so a write costs 1 WCU): when the record
   * would be larger, it keeps fewer recent log lines (at least one), then fewer errors (at least
   * one), then shorter messages. The history keeps everything.
   */
  recordBytes?: number;
  /** How many records the store remembers to write without reading first (default 500). */
  cacheSize?: number;
  /** The template of a job whose record FounderDash wrote without one (default `landing`). */
  defaultTemplate?: string;
}

export interface DynamoJobStoreDeps {
  /** A document client; by default one built from the environment (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB…). */
  client?: StoreContext['client'];
  /** Stamps `timestamps.updatedAt`; the wall clock by default. */
  clock?: () => Date;
  /** Applied to every error message; a redactor of the token shapes by default. */
  redact?: Redactor;
  /**
   * Told when a history write fails after its record write succeeded (the record stays the truth),
   * and of each damaged job a list left out (by `jobId`).
   */
  logger?: Pick<Logger, 'warn'>;
}

const { partitionKey: PK, userIndex } = JOBS_TABLE_SCHEMA;

/**
 * A JobStore on two DynamoDB tables (JOBS_TABLE_SCHEMA). The modules beside this one each hold
 * one concern: the record codec and its byte budget (record-codec), the version rule of every
 * record write (record-write), the runner state's two slots (runner-state), the history
 * (history), the lease rules (lease), the page cursor (cursor), the client, batch reads and the
 * record cache (context). This file puts them together as the port's operations.
 *
 * - The record is the item keyed by `jobId` in the jobs table, in the seed's shape and under
 *   `recordBytes`; a record FounderDash wrote itself (its own shape, no `version`)
 *   is adopted on first read: the missing fields get their defaults in one conditional write.
 * - `update` is one conditional UpdateItem (`version = expected`, and `status = current` when the
 *   status changes) that sets exactly the attributes the patch changes. When the patch changes
 *   checkpoints or usage, the state goes first into the slot the record does not point at, and
 *   the record update then points at it. The store remembers the record at the version it last
 *   wrote or read (a record at a given version never changes), so a runner's writes need no read.
 * - Conflicts come back with the stored item (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), so
 *   they cost no read on DynamoDB; where the item does not come back (dynalite) the store reads.
 * - Reads are one strongly consistent BatchGetItem: the record and both state slots. A job whose
 *   items are damaged fails its `get`; the lists leave it out with a warning.
 * - `listByUser` queries `user-jobs-index` newest first and fetches the page's records, then
 *   their runner state, with strongly consistent BatchGetItem.
 * - `listRunnable` is a Scan of the jobs table filtered to records with no live lease, then
 *   `isRunnable`: fine for a periodic recovery sweep; a large table wants a sparse index.
 */
export function createDynamoJobStore(
  settings: DynamoJobStoreSettings,
  deps: DynamoJobStoreDeps = {},
): JobStore {
  const table = settings.tableName;
  if (!table)
    throw new ValidationError('DynamoDB job store settings', [{ path: 'tableName', message: 'is required' }]);
  const budget: RecordBudget = {
    logLimit: limit(settings.recentLogLimit, 3, RECENT_LOG_LIMIT, 'recentLogLimit'),
    errorLimit: limit(settings.recentErrorLimit, 3, RECENT_ERROR_LIMIT, 'recentErrorLimit'),
    messageLength: settings.recentMessageLength ?? 300,
    recordBytes: settings.recordBytes ?? 1000,
  };
  const template = settings.defaultTemplate ?? 'landing';
  const redact = deps.redact ?? createRedactor();
  const ctx: StoreContext = {
    client: deps.client ?? createDynamoDocumentClient(),
    tables: { records: table, runner: settings.runnerTableName ?? runnerTableNameFor(table) },
    clock: deps.clock ?? (() => new Date()),
    redact,
    logger: deps.logger,
    cache: new RecordCache(settings.cacheSize ?? 500),
    send: sendVia(redact),
  };

  const { cache } = ctx;
  const { read, withRunnerState, currentAfterConflict, batchRead } = createReads(ctx, template);

  const lease = leaseOperations(ctx, {
    afterWrite: async (record, signal) => (await withRunnerState(record, signal))?.job,
    afterConflict: async (jobId, error, signal) => (await currentAfterConflict(jobId, error, signal))?.job,
  });

  return {
    specificationVersion: 'v1',

    async create({ job, signal }) {
      const state: StatePointer | undefined = hasRunnerState(job)
        ? { slot: 0, version: job.version }
        : undefined;
      const stored = fitRecord(budget, job, state);
      if (state) await writeState(ctx, stored, state, 0, (id) => read(id, signal), signal);
      try {
        await ctx.send(
          'PutItem',
          table,
          () =>
            ctx.client.send(
              new PutCommand({
                TableName: table,
                Item: recordItem(stored, state),
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': PK },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              }),
              abortable(signal),
            ),
          signal,
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const current = await currentAfterConflict(job.jobId, error, signal);
        throw new VersionConflictError(job.jobId, 0, current?.job.version);
      }
      cache.put({ job: stored, state });
      await writeHistory(ctx, job.jobId, job.version, job.executionLogs, job.errors);
      return { job: structuredClone(stored) };
    },

    async get({ jobId, signal }) {
      const stored = await read(jobId, signal);
      return { job: stored && structuredClone(stored.job) };
    },

    async update({ jobId, expectedVersion, patch, signal }) {
      let current = cache.get(jobId, expectedVersion);
      if (!current) {
        current = await read(jobId, signal);
        if (!current) throw new NotFoundError(`No job with id ${jobId}`);
        if (current.job.version !== expectedVersion)
          throw new VersionConflictError(jobId, expectedVersion, current.job.version);
      }
      const applied = applyJobPatch(current.job, patch, ctx.clock());
      // New state goes to the slot the record does not point at; the record moves to it below.
      const state: StatePointer | undefined = sameRunnerState(current.job, applied)
        ? current.state
        : { slot: current.state?.slot === 0 ? 1 : 0, version: applied.version };
      const next = fitRecord(
        budget,
        {
          ...applied,
          executionLogs: [...current.job.executionLogs, ...(patch.appendLogs ?? [])],
          errors: [...current.job.errors, ...(patch.appendErrors ?? [])],
        },
        state,
      );
      if (state && state !== current.state) {
        await writeState(ctx, next, state, expectedVersion, (id) => read(id, signal), signal);
      }
      const { names, values, sets, removes } = recordChanges(
        recordItem(current.job, current.state),
        recordItem(next, state),
      );
      let condition: string | undefined;
      if (next.status !== current.job.status) {
        names['#status'] = 'status';
        values[':fromStatus'] = current.job.status;
        condition = '#status = :fromStatus';
      }
      const written = await writeRecord(
        ctx,
        'UpdateItem',
        jobId,
        { sets, removes, names, values, expectedVersion, ...(condition ? { condition } : {}) },
        signal,
      );
      if (!written.ok) {
        const stored = await currentAfterConflict(jobId, written.error, signal);
        if (!stored) throw new NotFoundError(`No job with id ${jobId}`);
        throw new VersionConflictError(jobId, expectedVersion, stored.job.version);
      }
      cache.put({ job: next, state });
      await writeHistory(ctx, jobId, next.version, patch.appendLogs ?? [], patch.appendErrors ?? []);
      return { job: structuredClone(next) };
    },

    acquireLease: lease.acquireLease,
    renewLease: lease.renewLease,
    releaseLease: lease.releaseLease,

    async listByUser({ userId, limit: pageSize = 20, cursor, signal }) {
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
        throw new ValidationError('job list request', [
          { path: 'limit', message: 'must be an integer from 1 to 100' },
        ]);
      }
      const start = cursor ? decodeCursor(cursor, userId) : undefined;
      const { Items = [] } = await ctx.send(
        'Query (user-jobs-index)',
        table,
        () =>
          ctx.client.send(
            new QueryCommand({
              TableName: table,
              IndexName: userIndex.name,
              KeyConditionExpression: '#user = :user',
              ExpressionAttributeNames: { '#user': userIndex.partitionKey },
              ExpressionAttributeValues: { ':user': userId },
              ScanIndexForward: false,
              // One more than a page tells whether another page exists.
              Limit: pageSize + 1,
              ...(start ? { ExclusiveStartKey: start } : {}),
            }),
            abortable(signal),
          ),
        signal,
      );
      const page = Items.slice(0, pageSize);
      const jobs = await batchRead(
        page.map((i) => String(i[PK])),
        signal,
      );
      const last = page.at(-1);
      return Items.length > pageSize && last ? { jobs, nextCursor: encodeCursor(last) } : { jobs };
    },

    async listRunnable({ now, limit: max = 50, signal }) {
      const records: Item[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await ctx.send(
          'Scan',
          table,
          () =>
            ctx.client.send(
              new ScanCommand({
                TableName: table,
                FilterExpression: 'attribute_not_exists(#lease) OR #lease.#expiresAt <= :now',
                ExpressionAttributeNames: { '#lease': 'lease', '#expiresAt': 'expiresAt' },
                ExpressionAttributeValues: { ':now': now.toISOString() },
                ...(start ? { ExclusiveStartKey: start } : {}),
              }),
              abortable(signal),
            ),
          signal,
        );
        records.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      // Runnability reads the notifications sent, which are runner state: read the jobs whole.
      const jobs = await batchRead(
        records.map((r) => String(r[PK])),
        signal,
      );
      const found = jobs.filter((job) => isRunnable(job, now)).sort(compareOldestFirst);
      return { jobs: found.slice(0, max) };
    },

    async readHistory({ jobId, signal }) {
      return readHistory(ctx, jobId, signal);
    },
  };
}

function compareOldestFirst(a: Job, b: Job): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.jobId < b.jobId ? -1 : 1;
}

function limit(value: number | undefined, fallback: number, max: number, name: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new ValidationError('DynamoDB job store settings', [
      { path: name, message: `must be an integer from 1 to ${max}` },
    ]);
  }
  return n;
}
