import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransientError } from '@mvp-pipeline/core';
import { awsErrorName, toPipelineAwsError } from '../aws-errors.js';

/**
 * The job store's two tables, shared by the store, `createJobsTable` and the infra stack.
 *
 * - The jobs table holds the job record, the item keyed by `jobId` alone: FounderDash's
 *   schema, so FounderDash's own `put({ Item: jobRecord })` and `get({ Key: { jobId } })` work on
 *   it unchanged. Global secondary index `user-jobs-index`: partition `userId` (S), sort
 *   `createdAt` (S, ISO-8601 UTC), projection KEYS_ONLY; neither key changes after `create`, so
 *   updating a job never writes the index (a projection of ALL would bill every write twice).
 * - The runner table (by default the jobs table's name + `-runner`) holds what only runners read:
 *   partition `jobId`, sort `sk`; the runner state (checkpoints and usage, compressed) in the items
 *   `sk = "JOB#STATE#0"` and `"JOB#STATE#1"`, of which the record names the current one, and the
 *   full log and error history in the items `sk = "LOG#<version>#<chunk>"`.
 */
export const JOBS_TABLE_SCHEMA = {
  partitionKey: 'jobId',
  userIndex: { name: 'user-jobs-index', partitionKey: 'userId', sortKey: 'createdAt' },
  runner: {
    suffix: '-runner',
    partitionKey: 'jobId',
    sortKey: 'sk',
    stateSortKeyPrefix: 'JOB#STATE#',
    historySortKeyPrefix: 'LOG#',
  },
} as const;

/** The runner table that goes with the jobs table `tableName` when none is named. */
export const runnerTableNameFor = (tableName: string): string =>
  `${tableName}${JOBS_TABLE_SCHEMA.runner.suffix}`;

/** The CreateTable request for a jobs table named `tableName` (on-demand billing). */
export function jobsTableDefinition(tableName: string): CreateTableCommandInput {
  const { partitionKey, userIndex } = JOBS_TABLE_SCHEMA;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: partitionKey, AttributeType: 'S' },
      { AttributeName: userIndex.partitionKey, AttributeType: 'S' },
      { AttributeName: userIndex.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: userIndex.name,
        KeySchema: [
          { AttributeName: userIndex.partitionKey, KeyType: 'HASH' },
          { AttributeName: userIndex.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ],
  };
}

/** The CreateTable request for a runner table named `tableName` (on-demand billing). */
export function runnerTableDefinition(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey } = JOBS_TABLE_SCHEMA.runner;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: partitionKey, AttributeType: 'S' },
      { AttributeName: sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
  };
}

export interface CreateJobsTableOptions {
  client: DynamoDBClient | DynamoDBDocumentClient;
  tableName: string;
  /** The runner table (default: `tableName` + `-runner`). */
  runnerTableName?: string;
  /** How long to wait for the tables to become ACTIVE (default 60 s). */
  timeoutMs?: number;
}

/**
 * Creates the jobs table with its index and the runner table (see JOBS_TABLE_SCHEMA) and waits
 * until both are ACTIVE. For local development and tests: production tables come from the infra
 * stack. A table that exists already is left as it is (`created: false` when neither was new).
 */
export async function createJobsTable(options: CreateJobsTableOptions): Promise<{ created: boolean }> {
  const runner = options.runnerTableName ?? runnerTableNameFor(options.tableName);
  const made = await Promise.all([
    createTable(options, jobsTableDefinition(options.tableName)),
    createTable(options, runnerTableDefinition(runner)),
  ]);
  return { created: made.some(Boolean) };
}

async function createTable(options: CreateJobsTableOptions, definition: CreateTableCommandInput) {
  const client = options.client as DynamoDBClient;
  const name = String(definition.TableName);
  const operation = `DynamoDB CreateTable ${name}`;
  let created = true;
  try {
    await client.send(new CreateTableCommand(definition));
  } catch (error) {
    if (awsErrorName(error) !== 'ResourceInUseException') throw toPipelineAwsError(error, { operation });
    created = false;
  }
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const { Table } = await client
      .send(new DescribeTableCommand({ TableName: name }))
      .catch((error: unknown) => {
        throw toPipelineAwsError(error, { operation });
      });
    const indexesReady = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesReady) return created;
    if (Date.now() > deadline) throw new TransientError(`${operation}: the table is not ACTIVE yet`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
