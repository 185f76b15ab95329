import type { IdGenerator } from '@mvp-pipeline/core';

/** Ids `<prefix>_1`, `<prefix>_2`, … */
export function createSequentialIds(prefix = 'job'): IdGenerator {
  let job = 0;
  let runner = 0;
  return { jobId: () => `${prefix}_${++job}`, runnerId: () => `runner_${++runner}` };
}
