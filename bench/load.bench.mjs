// Load and overhead.
// 1. Core overhead: submitJob + runJob over the in-memory fakes (no disk, no network, no
//    processes), so what is left is the core's own bookkeeping per job: state machine,
//    conditional writes, leases, logs. Goal: at most 5 ms per job.
// 2. The worker under load: 500 jobs submitted into a fresh data dir, then run by one
//    `mvp worker --once --concurrency 8` process (the built CLI, embedded adapters: git repos,
//    real builds, static deploys) whose notifications also go to a webhook stand-in that answers
//    429 (Retry-After: 0) to every fifth call. Every job's side effects are counted from the
//    adapters' own evidence (bare repos, deployment records, notifications.jsonl, webhook
//    deliveries by Idempotency-Key). A 50-job run first gives the memory baseline.
//    LOAD_JOBS overrides the 500.
const core = await import(new URL('../packages/core/dist/index.js', import.meta.url));
const coreTesting = await import(new URL('../packages/core/dist/testing/index.js', import.meta.url));
const local = await import(new URL('../packages/adapters-local/dist/index.js', import.meta.url));
const { runLoad } = await import(new URL('../packages/runner-batch/dist/testing/load.js', import.meta.url));

const JOBS = Number(process.env.LOAD_JOBS ?? 500);
const CONCURRENCY = 8;

async function coreOverhead() {
  const spec = coreTesting.sampleSpec({ userId: 'user_1', productId: 'product_1' });
  const { deps } = local.createFakePipeline({ specs: [spec] });
  const one = async () => {
    const { job } = await core.submitJob(deps, { userId: 'user_1', productId: 'product_1' });
    const result = await core.runJob(deps, { jobId: job.jobId });
    if (result.outcome !== 'COMPLETED') throw new Error(`a fake job ended ${result.outcome}`);
  };
  for (let i = 0; i < 50; i++) await one(); // warm up the JIT
  const rounds = 500;
  const start = performance.now();
  for (let i = 0; i < rounds; i++) await one();
  return (performance.now() - start) / rounds;
}

export async function run() {
  const overhead = await coreOverhead();
  const baseline = await runLoad({ jobs: 50, concurrency: CONCURRENCY });
  const load = await runLoad({ jobs: JOBS, concurrency: CONCURRENCY });
  const growth = load.peakRssMiB / baseline.peakRssMiB;
  return [
    {
      name: 'core overhead per job (runJob over in-memory fakes)',
      value: overhead,
      unit: 'ms',
      goal: '≤ 5',
      pass: overhead <= 5,
    },
    {
      name: `worker: jobs COMPLETED of ${load.jobs} (concurrency ${CONCURRENCY}, 1 in 5 webhook calls 429)`,
      value: load.completed,
      unit: 'jobs',
      goal: `${load.jobs}`,
      pass: load.completed === load.jobs && load.workerExitCode === 0,
    },
    {
      name: 'worker: jobs lost or left unfinished',
      value: load.notCompleted.length,
      unit: 'jobs',
      goal: '0',
      pass: load.notCompleted.length === 0,
    },
    {
      name: 'worker: jobs with a side effect done twice',
      value: load.duplicated.length,
      unit: 'jobs',
      goal: '0 (repo, deployment, notification, webhook delivery)',
      pass: load.duplicated.length === 0 && load.missingEffects.length === 0,
    },
    {
      name: 'worker: webhook calls answered 429 and retried',
      value: load.throttled,
      unit: 'calls',
      goal: `> 0 (of ${load.webhookCalls})`,
      pass: load.throttled > 0,
    },
    {
      name: 'worker: peak RSS of the worker process',
      value: load.peakRssMiB,
      unit: 'MiB',
      goal: '≤ 256',
      pass: load.peakRssMiB <= 256,
    },
    {
      name: `worker: peak RSS growth from 50 to ${load.jobs} jobs`,
      value: growth,
      unit: '×',
      goal: `≤ 1.5 (50 jobs: ${baseline.peakRssMiB} MiB)`,
      pass: growth <= 1.5,
    },
    {
      name: 'worker: throughput',
      value: load.jobsPerSecond,
      unit: 'jobs/s',
      goal: `≥ 2 on 2 cores (${load.seconds.toFixed(0)} s for ${load.jobs} jobs)`,
      pass: load.jobsPerSecond >= 2,
    },
    {
      name: 'worker: secrets found in output, records or webhook requests',
      value: load.leaks.length,
      unit: 'values',
      goal: '0',
      pass: load.leaks.length === 0,
    },
  ];
}
