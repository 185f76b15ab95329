import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './harness.js';
import { runLoad } from './load.js';

// The scaled-down load run (the 500-job run with its figures is bench/load.bench.mjs). It proves
// correctness only: nothing here is timed.
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('The runner is not built: run `pnpm build` (npm test does) first');
});

describe('load: `mvp worker --once --concurrency 8` against a webhook that throttles one call in five', () => {
  it('completes all 40 jobs, loses none and repeats no side effect', { timeout: 300_000 }, async () => {
    const result = await runLoad({ jobs: 40, concurrency: 8 });
    console.log(
      `load (40 jobs): ${result.completed} COMPLETED, ${result.webhookCalls} webhook calls (${result.throttled} answered 429), worker peak RSS ${result.peakRssMiB} MiB, ${result.jobsPerSecond.toFixed(2)} jobs/s`,
    );
    expect(result.workerExitCode).toBe(0);
    expect(result.notCompleted).toEqual([]);
    expect(result.completed).toBe(40);
    expect(result.duplicated).toEqual([]);
    expect(result.missingEffects).toEqual([]);
    expect(result.throttled).toBeGreaterThan(0);
    expect(result.leaks).toEqual([]);
  });
});
