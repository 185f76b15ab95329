import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  applyJobPatch,
  createRedactor,
  isRunnable,
  type Job,
  type JobErrorEntry,
  type JobStore,
  LeaseLostError,
  type LeaseResult,
  type LogEntry,
  type Logger,
  NotFoundError,
  RECENT_ERROR_LIMIT,
  RECENT_LOG_LIMIT,
  type Redactor,
  TransientError,
  ValidationError,
  VersionConflictError,
} from '@mvp-pipeline/core';
import { awsErrorName, toPipelineAwsError } from '../aws-errors.js';
import {
  fromItems,
  hasRunnerState,
  type Item,
  itemSize,
  jobFromRecord,
  recordItem,
  type StatePointer,
  type StoredJob,
  sameRunnerState,
  sameValue,
  stateItem,
  statePointerOf,
  stateSortKey,
  unmarshallItem,
} from './item.js';
import { JOBS_TABLE_SCHEMA } from './table.js';

export interface DynamoJobStoreSettings {
  /** The jobs table (DYNAMODB_TABLE), laid out as JOBS_TABLE_SCHEMA describes. */
  tableName: string;
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
}

export interface DynamoJobStoreDeps {
  /** A document client; by default one built from the environment (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB…). */
  client?: DynamoDBDocumentClient;
  /** Stamps `timestamps.updatedAt`; the wall clock by default. */
  clock?: () => Date;
  /** Applied to every error message; a redactor of the token shapes by default. */
  redact?: Redactor;
  /** Told when a history write fails after its record write succeeded (the record stays the truth). */
  logger?: Pick<Logger, 'warn'>;
}

const {
  partitionKey: PK,
  sortKey: SK,
  recordSortKey: RECORD,
  historySortKeyPrefix: LOG,
  userIndex,
} = JOBS_TABLE_SCHEMA;
/** The shortest a recent message gets when the record is over its budget. */
const SHORT_MESSAGE = 100;
/** History items hold at most this much JSON each (an item stops at 400 KB). */
const HISTORY_CHUNK_BYTES = 64 * 1024;
const LEASE_RACE_RETRIES = 5;
const BATCH_GET_ROUNDS = 8;

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

/**
 * A JobStore on one DynamoDB table.
 *
 * - A job is three kinds of item under its `jobId` (JOBS_TABLE_SCHEMA): the record (`JOB`, the
 *   seed's shape, kept under `recordBytes`), its runner state (checkpoints and usage, compressed,
 *   in one of two slots `JOB#STATE#0|1`) and its history (`LOG#…`). One Query reads the record
 *   and both slots.
 * - `update` is one conditional UpdateItem (`version = expected`, and `status = current` when the
 *   status changes) that sets exactly the attributes the patch changes. When the patch changes
 *   checkpoints or usage, the state goes first into the slot the record does not point at,
 *   conditioned on that slot holding an older version, and the record update then points at it.
 *   A write that fails after its state write leaves the record, and the slot it points at, as
 *   they were. Capping the recent log lines needs the record as it is, and the store knows it
 *   without reading: it remembers the record at the version it last wrote or read, and a record
 *   at a given version never changes. Only a writer that has not seen that version (another
 *   process, a fresh store) reads first.
 * - Conflicts come back with the stored item (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), so
 *   they cost no read on DynamoDB; where the item does not come back (dynalite) the store reads.
 * - The lease is taken, renewed and released by blind conditional writes that bump `version`.
 * - Appended log lines and errors also go to history items (`sk = LOG#<version>#<chunk>`) written
 *   right after the record write; the record keeps only the latest few.
 * - `listByUser` queries `user-jobs-index` newest first and fetches the page's records, then
 *   their runner state, with BatchGetItem; the cursor is the base64url of the page's last index key.
 * - `listRunnable` is a Scan (filtered to records with no live lease and state items, then
 *   `isRunnable`). A Scan reads every item, history included, so its cost grows with the table:
 *   fine for a periodic recovery sweep; a large table wants a sparse index of unfinished jobs.
 */
export function createDynamoJobStore(
  settings: DynamoJobStoreSettings,
  deps: DynamoJobStoreDeps = {},
): JobStore {
  const table = settings.tableName;
  if (!table)
    throw new ValidationError('DynamoDB job store settings', [{ path: 'tableName', message: 'is required' }]);
  const logLimit = limit(settings.recentLogLimit, 3, RECENT_LOG_LIMIT, 'recentLogLimit');
  const errorLimit = limit(settings.recentErrorLimit, 3, RECENT_ERROR_LIMIT, 'recentErrorLimit');
  const messageLength = settings.recentMessageLength ?? 300;
  const recordBytes = settings.recordBytes ?? 1000;
  const client = deps.client ?? createDynamoDocumentClient();
  const clock = deps.clock ?? (() => new Date());
  const redact = deps.redact ?? createRedactor();
  const cache = new RecordCache(settings.cacheSize ?? 500);

  /** Sends one request, mapping SDK failures onto the core's errors. */
  const send = async <T>(operation: string, run: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (awsErrorName(error) === 'ConditionalCheckFailedException') throw error;
      throw toPipelineAwsError(error, {
        operation: `DynamoDB ${operation} on table ${table}`,
        redact,
        signal,
      });
    }
  };

  const key = (jobId: string) => ({ [PK]: jobId, [SK]: RECORD });

  /** The record and both state slots of a job, in one strongly consistent Query. */
  const read = async (jobId: string, signal?: AbortSignal): Promise<StoredJob | undefined> => {
    const { Items = [] } = await send(
      'Query (record and state)',
      () =>
        client.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: '#pk = :job AND begins_with(#sk, :record)',
            ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
            ExpressionAttributeValues: { ':job': jobId, ':record': RECORD },
            ConsistentRead: true,
          }),
          abortable(signal),
        ),
      signal,
    );
    const record = Items.find((i) => i[SK] === RECORD);
    if (!record) {
      cache.delete(jobId);
      return undefined;
    }
    return cache.put(fromItems(record, Items));
  };

  /**
   * The stored job for a record item a write returned (ALL_NEW, ALL_OLD): the runner state comes
   * from the cache when the record points where the cached one does, else from a read.
   */
  const withRunnerState = async (record: Item, signal?: AbortSignal): Promise<StoredJob | undefined> => {
    const jobId = String(record[PK]);
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

  /** The record's copy of history entries: the newest few, messages at most `length` long. */
  const recent = <T extends { message: string }>(
    entries: readonly T[],
    max: number,
    length = messageLength,
  ): T[] =>
    entries
      .slice(-max)
      .map((e) => (e.message.length > length ? { ...e, message: `${e.message.slice(0, length - 1)}…` } : e));

  /**
   * The job with the record's copies of its log lines and errors capped, then cut further while
   * the record is over `recordBytes`: older lines first, then older errors, then long messages.
   */
  const fitRecord = (job: Job, state: StatePointer | undefined): Job => {
    let fitted: Job = {
      ...job,
      executionLogs: recent(job.executionLogs, logLimit),
      errors: recent(job.errors, errorLimit),
    };
    const over = () => itemSize(recordItem(fitted, state)) > recordBytes;
    while (over() && fitted.executionLogs.length > 1) {
      fitted = { ...fitted, executionLogs: fitted.executionLogs.slice(1) };
    }
    while (over() && fitted.errors.length > 1) fitted = { ...fitted, errors: fitted.errors.slice(1) };
    if (over()) {
      fitted = {
        ...fitted,
        executionLogs: recent(fitted.executionLogs, 1, SHORT_MESSAGE),
        errors: recent(fitted.errors, 1, SHORT_MESSAGE),
      };
    }
    return fitted;
  };

  /**
   * Writes `job`'s runner state into `state.slot`, unless that slot already holds this version
   * with other content, or a newer one (another writer got there first: a conflict). The same
   * content again is a retry of this write and goes through. For a new job (`expectedVersion` 0)
   * the slot must not exist, unless no record does either (an earlier create that failed after
   * its state write left it).
   */
  const writeState = async (job: Job, state: StatePointer, expectedVersion: number, signal?: AbortSignal) => {
    const item = stateItem(job, state);
    const put = (condition: 'none' | 'absent' | 'older') =>
      send(
        'PutItem (state)',
        () =>
          client.send(
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
      if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw error;
      const stored = await read(job.jobId, signal);
      if (!stored && expectedVersion === 0) {
        await put('none');
        return;
      }
      if (!stored) throw new NotFoundError(`No job with id ${job.jobId}`);
      throw new VersionConflictError(job.jobId, expectedVersion, stored.job.version);
    }
  };

  const writeHistory = async (
    jobId: string,
    version: number,
    logs: readonly LogEntry[],
    errors: readonly JobErrorEntry[],
  ) => {
    if (logs.length === 0 && errors.length === 0) return;
    const items = historyItems(jobId, version, logs, errors);
    try {
      for (const item of items) {
        await send('PutItem (history)', () => client.send(new PutCommand({ TableName: table, Item: item })));
      }
    } catch (error) {
      deps.logger?.warn(
        `Job ${jobId}: ${logs.length} log lines and ${errors.length} errors of version ${version} are on the record but not in its history: ${redact((error as Error).message)}`,
        { jobId },
      );
    }
  };

  /** A lease write: `update` on the record if `condition` holds, with the stored record returned either way. */
  const leaseWrite = async (
    operation: string,
    jobId: string,
    expression: { set?: string; remove?: string; condition: string; values: Record<string, unknown> },
    signal?: AbortSignal,
  ): Promise<{ ok: true; job: Job } | { ok: false; job: Job | undefined }> => {
    const update = `SET ${expression.set ? `${expression.set}, ` : ''}#version = #version + :one, #timestamps.#updatedAt = :updatedAt${expression.remove ? ` REMOVE ${expression.remove}` : ''}`;
    const condition = `attribute_exists(#pk) AND (${expression.condition})`;
    // DynamoDB refuses names an expression does not use.
    const names = Object.fromEntries(
      Object.entries({
        '#pk': PK,
        '#version': 'version',
        '#timestamps': 'timestamps',
        '#updatedAt': 'updatedAt',
        '#lease': 'lease',
        '#owner': 'owner',
        '#expiresAt': 'expiresAt',
      }).filter(([name]) => `${update} ${condition}`.includes(name)),
    );
    try {
      const { Attributes } = await send(
        operation,
        () =>
          client.send(
            new UpdateCommand({
              TableName: table,
              Key: key(jobId),
              UpdateExpression: update,
              ConditionExpression: condition,
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: {
                ...expression.values,
                ':one': 1,
                ':updatedAt': clock().toISOString(),
              },
              ReturnValues: 'ALL_NEW',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
            abortable(signal),
          ),
        signal,
      );
      const stored = await withRunnerState(Attributes as Item, signal);
      if (!stored) throw new NotFoundError(`No job with id ${jobId}`);
      return { ok: true, job: stored.job };
    } catch (error) {
      if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw error;
      return { ok: false, job: (await currentAfterConflict(jobId, error, signal))?.job };
    }
  };

  const leaseValue = (owner: string, now: Date, ttlMs: number) => ({
    owner,
    expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
  });

  return {
    specificationVersion: 'v1',

    async create({ job, signal }) {
      const state: StatePointer | undefined = hasRunnerState(job)
        ? { slot: 0, version: job.version }
        : undefined;
      const stored = fitRecord(job, state);
      if (state) await writeState(stored, state, 0, signal);
      try {
        await send(
          'PutItem',
          () =>
            client.send(
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
        if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw error;
        const current = await currentAfterConflict(job.jobId, error, signal);
        throw new VersionConflictError(job.jobId, 0, current?.job.version);
      }
      cache.put({ job: stored, state });
      await writeHistory(job.jobId, job.version, job.executionLogs, job.errors);
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
      const applied = applyJobPatch(current.job, patch, clock());
      // New state goes to the slot the record does not point at; the record moves to it below.
      const state: StatePointer | undefined = sameRunnerState(current.job, applied)
        ? current.state
        : { slot: current.state?.slot === 0 ? 1 : 0, version: applied.version };
      const next = fitRecord(
        {
          ...applied,
          executionLogs: [...current.job.executionLogs, ...(patch.appendLogs ?? [])],
          errors: [...current.job.errors, ...(patch.appendErrors ?? [])],
        },
        state,
      );
      if (state && state !== current.state) await writeState(next, state, expectedVersion, signal);
      const before = recordItem(current.job, current.state);
      const after = recordItem(next, state);
      const names: Record<string, string> = { '#version': 'version' };
      const values: Record<string, unknown> = { ':expected': expectedVersion };
      const sets: string[] = [];
      const removes: string[] = [];
      let n = 0;
      for (const attribute of new Set([...Object.keys(before), ...Object.keys(after)])) {
        if (sameValue(before[attribute], after[attribute])) continue;
        const name = attribute === 'version' ? '#version' : `#a${n}`;
        names[name] = attribute;
        if (attribute in after) {
          values[`:v${n}`] = after[attribute];
          sets.push(`${name} = :v${n}`);
        } else {
          removes.push(name);
        }
        n++;
      }
      let condition = '#version = :expected';
      if (next.status !== current.job.status) {
        names['#status'] = 'status';
        values[':fromStatus'] = current.job.status;
        condition += ' AND #status = :fromStatus';
      }
      try {
        await send(
          'UpdateItem',
          () =>
            client.send(
              new UpdateCommand({
                TableName: table,
                Key: key(jobId),
                UpdateExpression: [
                  sets.length ? `SET ${sets.join(', ')}` : '',
                  removes.length ? `REMOVE ${removes.join(', ')}` : '',
                ]
                  .filter(Boolean)
                  .join(' '),
                ConditionExpression: condition,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: values,
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              }),
              abortable(signal),
            ),
          signal,
        );
      } catch (error) {
        if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw error;
        const stored = await currentAfterConflict(jobId, error, signal);
        if (!stored) throw new NotFoundError(`No job with id ${jobId}`);
        throw new VersionConflictError(jobId, expectedVersion, stored.job.version);
      }
      cache.put({ job: next, state });
      await writeHistory(jobId, next.version, patch.appendLogs ?? [], patch.appendErrors ?? []);
      return { job: structuredClone(next) };
    },

    async acquireLease({ jobId, owner, now, ttlMs, signal }) {
      for (let attempt = 0; ; attempt++) {
        const result = await leaseWrite(
          'UpdateItem (acquire lease)',
          jobId,
          {
            set: '#lease = :lease',
            condition: 'attribute_not_exists(#lease) OR #lease.#expiresAt <= :now OR #lease.#owner = :owner',
            values: { ':lease': leaseValue(owner, now, ttlMs), ':now': now.toISOString(), ':owner': owner },
          },
          signal,
        );
        if (!result.job) throw new NotFoundError(`No job with id ${jobId}`);
        if (result.ok) return { acquired: true, job: structuredClone(result.job) } satisfies LeaseResult;
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

    async renewLease({ jobId, owner, now, ttlMs, signal }) {
      const result = await leaseWrite(
        'UpdateItem (renew lease)',
        jobId,
        {
          set: '#lease = :lease',
          condition: '#lease.#owner = :owner',
          values: { ':lease': leaseValue(owner, now, ttlMs), ':owner': owner },
        },
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

    async releaseLease({ jobId, owner, signal }) {
      const result = await leaseWrite(
        'UpdateItem (release lease)',
        jobId,
        { remove: '#lease', condition: '#lease.#owner = :owner', values: { ':owner': owner } },
        signal,
      );
      return { job: result.job && structuredClone(result.job) };
    },

    async listByUser({ userId, limit: pageSize = 20, cursor, signal }) {
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
        throw new ValidationError('job list request', [
          { path: 'limit', message: 'must be an integer from 1 to 100' },
        ]);
      }
      const start = cursor ? decodeCursor(cursor, userId) : undefined;
      const { Items = [] } = await send(
        'Query (user-jobs-index)',
        () =>
          client.send(
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
      const found: Job[] = [];
      const items: Item[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await send(
          'Scan',
          () =>
            client.send(
              new ScanCommand({
                TableName: table,
                // Records with no live lease, and state items (they have no lease).
                FilterExpression:
                  'begins_with(#sk, :record) AND (attribute_not_exists(#lease) OR #lease.#expiresAt <= :now)',
                ExpressionAttributeNames: { '#sk': SK, '#lease': 'lease', '#expiresAt': 'expiresAt' },
                ExpressionAttributeValues: { ':record': RECORD, ':now': now.toISOString() },
                ...(start ? { ExclusiveStartKey: start } : {}),
              }),
              abortable(signal),
            ),
          signal,
        );
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      for (const { job } of joinRecords(items)) if (isRunnable(job, now)) found.push(job);
      found.sort((a, b) =>
        a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.jobId < b.jobId ? -1 : 1,
      );
      return { jobs: found.slice(0, max) };
    },

    async readHistory({ jobId, signal }) {
      const logs: LogEntry[] = [];
      const errors: JobErrorEntry[] = [];
      let exists = false;
      let start: Record<string, unknown> | undefined;
      do {
        // The record (sk JOB) sorts before its history (sk LOG#…): one Query reads both, in order.
        const page = await send(
          'Query (history)',
          () =>
            client.send(
              new QueryCommand({
                TableName: table,
                KeyConditionExpression: '#pk = :job',
                ExpressionAttributeNames: { '#pk': PK },
                ExpressionAttributeValues: { ':job': jobId },
                ConsistentRead: true,
                ...(start ? { ExclusiveStartKey: start } : {}),
              }),
              abortable(signal),
            ),
          signal,
        );
        for (const item of page.Items ?? []) {
          const sk = String(item[SK]);
          if (sk === RECORD) exists = true;
          else if (sk.startsWith(LOG)) {
            logs.push(...((item.logs as LogEntry[] | undefined) ?? []));
            errors.push(...((item.errors as JobErrorEntry[] | undefined) ?? []));
          }
        }
        start = page.LastEvaluatedKey;
      } while (start);
      if (!exists) throw new NotFoundError(`No job with id ${jobId}`);
      return { logs, errors };
    },
  };

  /** The jobs `jobIds`, in that order (jobs deleted meanwhile are left out): records, then their state. */
  async function batchRead(jobIds: string[], signal?: AbortSignal): Promise<Job[]> {
    const records = await batchGet(jobIds.map(key), signal);
    const stateKeys = records.flatMap((record) => {
      const state = statePointerOf(record);
      return state ? [{ [PK]: record[PK], [SK]: stateSortKey(state.slot) }] : [];
    });
    const jobs = joinRecords([...records, ...(stateKeys.length ? await batchGet(stateKeys, signal) : [])]);
    const byId = new Map(jobs.map(({ job }) => [job.jobId, job]));
    return jobIds.flatMap((id) => {
      const job = byId.get(id);
      return job ? [job] : [];
    });
  }

  /** The items at `keys` (at most 100), retrying unprocessed keys with backoff. */
  async function batchGet(keys: Record<string, unknown>[], signal?: AbortSignal): Promise<Item[]> {
    const items: Item[] = [];
    for (let round = 0; keys.length > 0; round++) {
      if (round >= BATCH_GET_ROUNDS) {
        throw toPipelineAwsError(
          Object.assign(new Error('keys stayed unprocessed'), { name: 'ThrottlingException' }),
          {
            operation: `DynamoDB BatchGetItem on table ${table}`,
            redact,
          },
        );
      }
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
      const requestKeys = keys;
      const result = await send(
        'BatchGetItem',
        () =>
          client.send(
            new BatchGetCommand({ RequestItems: { [table]: { Keys: requestKeys } } }),
            abortable(signal),
          ),
        signal,
      );
      items.push(...(result.Responses?.[table] ?? []));
      keys = (result.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    }
    return items;
  }
}

/** The jobs in a set of items: each record with its state items (history items are ignored). */
function joinRecords(items: readonly Item[]): StoredJob[] {
  const byJob = new Map<unknown, Item[]>();
  for (const item of items) byJob.set(item[PK], [...(byJob.get(item[PK]) ?? []), item]);
  return [...byJob.values()].flatMap((jobItems) => {
    const record = jobItems.find((i) => i[SK] === RECORD);
    return record ? [fromItems(record, jobItems)] : [];
  });
}

/** History items for one write: `LOG#<version>#<chunk>`, each at most HISTORY_CHUNK_BYTES of entries. */
function historyItems(
  jobId: string,
  version: number,
  logs: readonly LogEntry[],
  errors: readonly JobErrorEntry[],
): Item[] {
  const entries = [
    ...logs.map((entry) => ({ kind: 'logs' as const, entry })),
    ...errors.map((entry) => ({ kind: 'errors' as const, entry })),
  ];
  const items: Item[] = [];
  let current: { logs: LogEntry[]; errors: JobErrorEntry[] } = { logs: [], errors: [] };
  let size = 0;
  const flush = () => {
    items.push({
      [PK]: jobId,
      [SK]: `${LOG}${String(version).padStart(10, '0')}#${String(items.length).padStart(3, '0')}`,
      logs: current.logs,
      errors: current.errors,
    });
    current = { logs: [], errors: [] };
    size = 0;
  };
  for (const { kind, entry } of entries) {
    const bytes = Buffer.byteLength(JSON.stringify(entry));
    if (size > 0 && size + bytes > HISTORY_CHUNK_BYTES) flush();
    (current[kind] as unknown[]).push(entry);
    size += bytes;
  }
  flush();
  return items;
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

function encodeCursor(indexKey: Record<string, unknown>): string {
  const { partitionKey, sortKey } = userIndex;
  const keyOnly = [PK, SK, partitionKey, sortKey].map((name) => indexKey[name]);
  return Buffer.from(JSON.stringify(keyOnly)).toString('base64url');
}

function decodeCursor(cursor: string, userId: string): Record<string, unknown> {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(parts) &&
      parts.length === 4 &&
      parts.every((p) => typeof p === 'string') &&
      parts[2] === userId
    ) {
      const [jobId, sk, user, createdAt] = parts as string[];
      return { [PK]: jobId, [SK]: sk, [userIndex.partitionKey]: user, [userIndex.sortKey]: createdAt };
    }
  } catch {
    // reported below
  }
  throw new ValidationError('job list request', [
    { path: 'cursor', message: 'is not a cursor this store handed out for this user' },
  ]);
}

/** The jobs this store last wrote or read, by job id; an entry is good for exactly its version. */
class RecordCache {
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

/** The SDK's per-request options for a caller's signal. */
function abortable(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}
