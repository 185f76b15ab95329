import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, PORT_TOKENS, type WorkPort } from './harness.js';
import { type CellResult, type FaultKind, matrixTable, runCell } from './matrix.js';

// The whole embedded pipeline (file store, git repos, process builder, static deployer, JSONL
// notifier) with one fault at one port per cell. Kill cells kill a real runner process.
const PORTS = Object.keys(PORT_TOKENS) as WorkPort[];
const KINDS: FaultKind[] = ['transient', 'permanent', 'hang', 'kill'];
const results: CellResult[] = [];

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('The runner is not built: run `pnpm build` (npm test does) first');
});
afterAll(() => {
  console.log(`\n${matrixTable('Fault matrix, embedded pipeline on the file store', results)}\n`);
});

describe.concurrent('fault matrix: file store', () => {
  for (const port of PORTS) {
    for (const fault of KINDS) {
      it(`${port} × ${fault}`, async () => {
        const result = await runCell({ store: 'file', port, fault });
        results.push(result);
        expect(result.problems, result.outcome).toEqual([]);
      });
    }
  }
});
