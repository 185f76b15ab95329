// A runner process for the fault matrix's kill cells: runs one job through the built composition
// root (configuration from the environment) with one port wrapped so that its nth call does its
// real work, then the runner prints KILLPOINT and stops answering. The test kills it with SIGKILL
// there, the worst moment: a side effect done, not yet recorded.
//   node kill-runner.mjs JOB_ID PORT METHOD ON_CALL LEASE_TTL_MS
import { createCrashSwitch, withFaults } from '@mvp-pipeline/adapters-local/testing';
import { runJob } from '@mvp-pipeline/core';
import { createPipeline, loadConfig } from '../../dist/index.js';
import { PORT_TOKENS } from '../../dist/testing/harness.js';

const [jobId, port, method, onCall, leaseTtlMs] = process.argv.slice(2);
const config = loadConfig(process.env);
const settings = { leaseTtlMs: Number(leaseTtlMs) };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const healthy = await createPipeline({ config, settings, logger: quiet });
const crash = createCrashSwitch();
const wrapped = withFaults(healthy.deps.ports[port], {
  [method]: { kind: 'crash', crash, onCall: Number(onCall) },
});
const doomed = await createPipeline({
  config,
  settings,
  logger: quiet,
  configure: (container) => container.rebind(PORT_TOKENS[port]).toConstantValue(wrapped),
});
const watch = setInterval(() => {
  if (crash.crashed) {
    clearInterval(watch);
    process.stdout.write('KILLPOINT\n');
  }
}, 10);
const result = await runJob(doomed.deps, { jobId, runnerId: `doomed-${process.pid}` });
clearInterval(watch);
// The kill point was never reached: say how the run ended instead.
process.stdout.write(`ENDED ${result.outcome}\n`);
