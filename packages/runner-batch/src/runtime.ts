import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { IdGenerator, Notifier } from '@mvp-pipeline/core';

/** Job ids sort by creation time and carry no meaning beyond it; runner ids say where they run. */
export function createIdGenerator(): IdGenerator {
  return {
    jobId: () => `job_${Date.now().toString(36)}${randomBytes(5).toString('hex')}`,
    runnerId: () => `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
  };
}

/** One Notifier that tells several; a failure of one is reported after the others were told. */
export function fanOutNotifier(notifiers: Notifier[]): Notifier {
  if (notifiers.length === 1) return notifiers[0]!;
  return {
    specificationVersion: 'v1',
    async notify(options) {
      const results = await Promise.allSettled(notifiers.map((n) => n.notify(options)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
