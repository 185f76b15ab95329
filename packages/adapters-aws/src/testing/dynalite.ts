import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
// dynalite ships no types: it is a function returning an http.Server.
// @ts-expect-error no declaration file
import dynaliteServer from 'dynalite';
import { createJobsTable } from '../dynamo/table.js';

/** Dummy credentials: dynalite checks that requests are signed, not by whom. */
export const DUMMY_CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };

export interface LocalDynamo {
  endpoint: string;
  /** A document client pointed at this dynalite. */
  client(): DynamoDBDocumentClient;
  /** A fresh jobs table with a unique name. */
  newTable(prefix?: string): Promise<string>;
  close(): Promise<void>;
}

let tableCounter = 0;

/** Starts dynalite (in memory) on a free loopback port. */
export async function startDynalite(): Promise<LocalDynamo> {
  const server = (dynaliteServer as (options: object) => import('node:http').Server)({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: DynamoDBClient[] = [];
  const client = () => {
    const raw = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: DUMMY_CREDENTIALS,
      maxAttempts: 2,
    });
    clients.push(raw);
    return DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  };
  return {
    endpoint,
    client,
    async newTable(prefix = 'jobs') {
      const tableName = `${prefix}-${process.pid}-${++tableCounter}`;
      await createJobsTable({ client: client(), tableName });
      return tableName;
    },
    async close() {
      for (const c of clients) c.destroy();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
