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
 * The jobs table's key schema, shared by the store, `createJobsTable` and the infra stack.
 *
 * - Partition key `jobId` (S), sort key `sk` (S). The job record is the item with `sk = "JOB"`
 *   (the fields the status endpoint reads); the runner state (checkpoints and usage, compressed)
 *   is in the items `sk = "JOB#STATE#0"` and `"JOB#STATE#1"`, of which the record names the
 *   current one; the full log and error history are the items `sk = "LOG#<version>#<chunk>"`.
 *   One Query on `begins_with(sk, "JOB")` reads a job; deleting the partition removes everything.
 * - Global secondary index `user-jobs-index`: partition `userId` (S), sort `createdAt` (S,
 *   ISO-8601 UTC), projection KEYS_ONLY. Only records carry `userId`, so history items stay out
 *   of it, and since neither key ever changes after `create`, updating a job never writes the
 *   index (a projection of ALL would bill every job write twice).
 */
export const JOBS_TABLE_SCHEMA = {
  partitionKey: 'jobId',
  sortKey: 'sk',
  recordSortKey: 'JOB',
  stateSortKeyPrefix: 'JOB#STATE#',
  historySortKeyPrefix: 'LOG#',
  userIndex: { name: 'user-jobs-index', partitionKey: 'userId', sortKey: 'createdAt' },
} as const;

/** The CreateTable request for a jobs table named `tableName` (on-demand billing). */
export function jobsTableDefinition(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey, userIndex } = JOBS_TABLE_SCHEMA;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: partitionKey, AttributeType: 'S' },
      { AttributeName: sortKey, AttributeType: 'S' },
      { AttributeName: userIndex.partitionKey, AttributeType: 'S' },
      { AttributeName: userIndex.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
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

export interface CreateJobsTableOptions {
  client: DynamoDBClient | DynamoDBDocumentClient;
  tableName: string;
  /** How long to wait for the table to become ACTIVE (default 60 s). */
  timeoutMs?: number;
}

/**
 * Creates the jobs table and its index (see JOBS_TABLE_SCHEMA) and waits until it is ACTIVE.
 * For local development and tests: production tables come from the infra stack. A table that
 * exists already is left as it is (`created: false`).
 */
export async function createJobsTable(options: CreateJobsTableOptions): Promise<{ created: boolean }> {
  const client = options.client as DynamoDBClient;
  const operation = `DynamoDB CreateTable ${options.tableName}`;
  let created = true;
  try {
    await client.send(new CreateTableCommand(jobsTableDefinition(options.tableName)));
  } catch (error) {
    if (awsErrorName(error) !== 'ResourceInUseException') throw toPipelineAwsError(error, { operation });
    created = false;
  }
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const { Table } = await client
      .send(new DescribeTableCommand({ TableName: options.tableName }))
      .catch((error: unknown) => {
        throw toPipelineAwsError(error, { operation });
      });
    const indexesReady = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesReady) return { created };
    if (Date.now() > deadline) throw new TransientError(`${operation}: the table is not ACTIVE yet`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
