import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type JobErrorEntry, type LogEntry, NotFoundError } from '@mvp-pipeline/core';
import { abortable, type StoreContext } from './context.js';
import type { Item } from './item.js';
import { JOBS_TABLE_SCHEMA } from './table.js';

const { partitionKey: PK, sortKey: SK, historySortKeyPrefix: LOG } = JOBS_TABLE_SCHEMA.runner;
/** History items hold at most this much JSON each (an item stops at 400 KB). */
const HISTORY_CHUNK_BYTES = 64 * 1024;

/** History items for one write: `LOG#<version>#<chunk>`, each at most HISTORY_CHUNK_BYTES of entries. */
export function historyItems(
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

/**
 * Writes the lines and errors of record version `version` to the history, right after the
 * record write. If that fails, the record stays the truth and the store warns.
 */
export async function writeHistory(
  ctx: StoreContext,
  jobId: string,
  version: number,
  logs: readonly LogEntry[],
  errors: readonly JobErrorEntry[],
): Promise<void> {
  if (logs.length === 0 && errors.length === 0) return;
  const table = ctx.tables.runner;
  try {
    for (const item of historyItems(jobId, version, logs, errors)) {
      await ctx.send('PutItem (history)', table, () =>
        ctx.client.send(new PutCommand({ TableName: table, Item: item })),
      );
    }
  } catch (error) {
    ctx.logger?.warn(
      `Job ${jobId}: ${logs.length} log lines and ${errors.length} errors of version ${version} are on the record but not in its history: ${ctx.redact((error as Error).message)}`,
      { jobId },
    );
  }
}

/** Every log line and error of a job, oldest first. */
export async function readHistory(
  ctx: StoreContext,
  jobId: string,
  signal?: AbortSignal,
): Promise<{ logs: LogEntry[]; errors: JobErrorEntry[] }> {
  const { records, runner } = ctx.tables;
  const exists = ctx
    .send(
      'GetItem (record exists)',
      records,
      () =>
        ctx.client.send(
          new GetCommand({
            TableName: records,
            Key: { [JOBS_TABLE_SCHEMA.partitionKey]: jobId },
            ProjectionExpression: '#pk',
            ExpressionAttributeNames: { '#pk': JOBS_TABLE_SCHEMA.partitionKey },
            ConsistentRead: true,
          }),
          abortable(signal),
        ),
      signal,
    )
    .then(({ Item }) => Item !== undefined);
  const logs: LogEntry[] = [];
  const errors: JobErrorEntry[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ctx.send(
      'Query (history)',
      runner,
      () =>
        ctx.client.send(
          new QueryCommand({
            TableName: runner,
            KeyConditionExpression: '#pk = :job AND begins_with(#sk, :log)',
            ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
            ExpressionAttributeValues: { ':job': jobId, ':log': LOG },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
          abortable(signal),
        ),
      signal,
    );
    for (const item of page.Items ?? []) {
      logs.push(...((item.logs as LogEntry[] | undefined) ?? []));
      errors.push(...((item.errors as JobErrorEntry[] | undefined) ?? []));
    }
    start = page.LastEvaluatedKey;
  } while (start);
  if (!(await exists)) throw new NotFoundError(`No job with id ${jobId}`);
  return { logs, errors };
}
