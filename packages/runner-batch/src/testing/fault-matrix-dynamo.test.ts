import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDynamoDocumentClient, createJobsTable } from '@mvp-pipeline/adapters-aws';
// dynalite ships no types: it is a function returning an http.Server.
// @ts-expect-error no declaration file
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './harness.js';
import { type Cell, type CellResult, matrixTable, runCell } from './matrix.js';

// The same pipeline on the DynamoDB JobStore (dynalite over the wire, through the real SDK, in
// this process and in the killed runner processes). The subset: every fault at the store itself,
// and the cells where the store's conditional writes and lease decide whether work is repeated.
const CELLS: Array<Omit<Cell, 'store'>> = [
  { port: 'store', fault: 'transient' },
  { port: 'store', fault: 'permanent' },
  { port: 'store', fault: 'hang' },
  { port: 'store', fault: 'kill' },
  { port: 'generator', fault: 'transient' },
  { port: 'generator', fault: 'permanent' },
  { port: 'generator', fault: 'hang' },
  { port: 'repos', fault: 'kill' },
  { port: 'builder', fault: 'kill' },
  { port: 'deployer', fault: 'kill' },
  { port: 'siteChecker', fault: 'transient' },
  { port: 'notifier', fault: 'kill' },
];

const AWS_ENV = ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'];
const saved = Object.fromEntries(AWS_ENV.map((name) => [name, process.env[name]]));
let server: Server;
let endpoint: string;
let tables = 0;
const results: CellResult[] = [];

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('The runner is not built: run `pnpm build` (npm test does) first');
  server = (dynalite as (options: object) => Server)({ createTableMs: 0, deleteTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The runner's DynamoDB client reads its endpoint and credentials from the environment, as in production.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDPROOFLOCAL',
    AWS_SECRET_ACCESS_KEY: 'proof-local-secret',
    AWS_REGION: 'us-east-1',
  });
});
afterAll(async () => {
  console.log(
    `\n${matrixTable('Fault matrix, embedded pipeline on the DynamoDB store (dynalite)', results)}\n`,
  );
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

/** A table of its own per cell: a rescuing worker scans the whole table. */
async function newTable(): Promise<string> {
  const tableName = `proof-jobs-${++tables}`;
  const client = createDynamoDocumentClient({ endpoint, region: 'us-east-1' });
  await createJobsTable({ client, tableName });
  client.destroy();
  return tableName;
}

describe.concurrent('fault matrix: DynamoDB store', () => {
  for (const { port, fault } of CELLS) {
    it(`${port} × ${fault}`, async () => {
      const tableName = await newTable();
      const result = await runCell(
        { store: 'dynamodb', port, fault },
        { MVP_JOB_STORE: 'dynamodb', AWS_REGION: 'us-east-1', DYNAMODB_TABLE: tableName },
      );
      results.push(result);
      expect(result.problems, result.outcome).toEqual([]);
    });
  }
});
