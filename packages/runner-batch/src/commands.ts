import { join, relative } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { listQuarantinedRecords } from '@mvp-pipeline/adapters-local';
import {
  cancelJob,
  cleanupJob,
  compareNewestFirst,
  createRedactor,
  deliveryOf,
  getJob,
  type Job,
  listJobs,
  PipelineError,
  type Redactor,
  runJob,
  runWorker,
  submitJob,
} from '@mvp-pipeline/core';
import { runBatchJob } from './batch.js';
import { debugRequested, environmentSecrets, loadConfig } from './config.js';
import { createPipeline, type Pipeline } from './container.js';
import { checkDataDir } from './data-dir.js';
import { EXIT } from './exit-codes.js';
import { watchJob } from './progress.js';
import {
  errorLines,
  jobRow,
  logLines,
  quarantinedRow,
  stepLines,
  styleFor,
  summaryLines,
  terminalText,
} from './render.js';
import { withSecrets } from './secrets.js';
import { onSignals } from './signals.js';
import { missing, UsageError } from './usage-error.js';
import { wholeNumberOption } from './whole-number.js';

const HELP = `mvp — turn a product spec into a live MVP

Usage:
  mvp run --spec FILE [--json] [--template NAME]   submit a job and run it to the end here
  mvp run --user ID --product ID [--json]          the same, for a spec the configured source holds
  mvp submit --spec FILE | --user ID --product ID  queue a job for a worker
  mvp worker [--once] [--concurrency N]            run queued jobs and jobs whose runner died
  mvp status JOB_ID [--json]                       a job's steps, links, usage and errors
  mvp jobs [--user ID] [--limit N] [--json]        jobs, newest first
  mvp cancel JOB_ID                                stop a job
  mvp claim JOB_ID                                 a new one-time owner link for a finished app
  mvp cleanup JOB_ID [--repo]                      remove what a failed or cancelled job made
                                                   (databases, site; its repository with --repo)
  mvp run-batch-job [JOB_ID]                       the container entrypoint (JOB_ID or $JOB_ID)
  mvp serve [--port N] [--host H]                  dashboard, status API and sites, with a worker
  mvp db migrate | mvp db seed FILE…               the PostgreSQL schema and example specs

Exit codes: 0 done · 1 the job failed or was cancelled · 2 bad input · 75 interrupted, retry.
Configuration comes from the environment (MVP_DATA_DIR, MVP_JOB_STORE, …): see the README.
`;

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

function parse<T extends OptionsConfig>(args: string[], options: T) {
  try {
    const config = {
      args,
      options: { ...options, help: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    } as const;
    return parseArgs<{
      args: string[];
      options: T & { help: { type: 'boolean' } };
      allowPositionals: true;
      strict: true;
    }>(config as never);
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^.*?: /, ''));
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') return help();
  switch (command) {
    case 'run':
    case 'submit':
      return submitCommand(command, rest);
    case 'worker':
      return workerCommand(rest);
    case 'status':
      return statusCommand(rest);
    case 'jobs':
      return jobsCommand(rest);
    case 'cancel':
      return cancelCommand(rest);
    case 'claim':
      return claimCommand(rest);
    case 'cleanup':
      return cleanupCommand(rest);
    case 'run-batch-job':
      return runBatchJob(rest);
    case 'serve':
      return (await import('./serve/command.js')).serveCommand(rest);
    case 'db':
      return (await import('./db.js')).dbCommand(rest);
    default:
      throw new UsageError(`unknown command "${command}" (see mvp --help)`);
  }
}

/** The redactor of the pipeline this command opened, for its last error line (it knows the secrets loaded from Secrets Manager too). */
let opened: Redactor | undefined;

async function open(): Promise<Pipeline> {
  const config = loadConfig(await withSecrets(process.env));
  await checkDataDir(config.dataDir);
  // People read the live view; the structured log carries only what needs attention.
  const pipeline = await createPipeline({ config, logLevel: config.logFormat === 'json' ? 'info' : 'error' });
  opened = pipeline.redact;
  return pipeline;
}

async function submitCommand(command: 'run' | 'submit', args: string[]): Promise<number> {
  const { values } = parse(args, {
    spec: { type: 'string' },
    user: { type: 'string' },
    product: { type: 'string' },
    template: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) return help();
  if (!values.spec && !(values.user && values.product)) {
    throw new UsageError(`mvp ${command} needs --spec FILE, or --user ID and --product ID`);
  }
  const pipeline = await open();
  try {
    let request = { userId: values.user, productId: values.product };
    if (values.spec) {
      if (!pipeline.specFiles)
        // The configured SpecSource has no registry (SpecSource.registerSpec): specs live elsewhere.
        throw new UsageError('--spec needs the JSON spec source (MVP_SPEC_SOURCE=json)');
      const spec = await pipeline.specFiles.registerFile(values.spec);
      request = { userId: spec.user.id, productId: spec.product.id };
    }
    const { job } = await submitJob(pipeline.deps, {
      ...request,
      ...(values.template ? { template: values.template } : {}),
    }).catch(missing(`no product ${request.productId} for user ${request.userId}`));
    if (command === 'submit') {
      if (values.json) process.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
      else
        process.stdout.write(
          `Queued ${job.jobId} (${terminalText(job.businessName)}). Run \`mvp worker\` to build it.\n`,
        );
      return EXIT.OK;
    }
    return await runHere(pipeline, job, values.json === true);
  } finally {
    await pipeline.close();
  }
}

/** Runs a job in this process with a live view; Ctrl-C interrupts it, leaving it resumable. */
async function runHere(pipeline: Pipeline, job: Job, json: boolean): Promise<number> {
  const stop = onSignals();
  const watcher = watchJob(pipeline.deps.ports.store, job.jobId);
  // A store or disk that fails mid-job ends the run (exit 75), never leaves the watcher polling.
  const result = await runJob(pipeline.deps, { jobId: job.jobId, signal: stop.signal }).catch(
    async (error: unknown) => {
      stop.dispose();
      await watcher.stop();
      throw error;
    },
  );
  stop.dispose();
  await watcher.stop(result.job);
  const record =
    pipeline.config.jobStore === 'file'
      ? join(pipeline.config.dataDir, 'jobs', `${job.jobId}.json`)
      : undefined;
  if (json) process.stdout.write(`${JSON.stringify(result.job, null, 2)}\n`);
  else {
    const shown = record ? relative(process.cwd(), record) || record : undefined;
    process.stdout.write(`\n${summaryLines(result.job, styleFor(process.stdout), shown).join('\n')}\n`);
  }
  // With --json, stdout is the record alone: the link goes to stderr, still this terminal only.
  if (result.job.status === 'COMPLETED')
    await printOwnerLink(pipeline, result.job, json ? process.stderr : process.stdout);
  if (result.outcome === 'INTERRUPTED') {
    process.stderr.write(`Interrupted. \`mvp worker --once\` resumes ${job.jobId} where it stopped.\n`);
    return EXIT.RETRYABLE;
  }
  return result.job.status === 'COMPLETED' ? EXIT.OK : EXIT.JOB_FAILED;
}

/**
 * A finished app's owner link, shown to the person who ran the job and to nobody else: on this
 * terminal only, never in a log line or the record. Then how to open the app.
 */
async function printOwnerLink(
  pipeline: Pipeline,
  job: Job,
  out: NodeJS.WritableStream = process.stdout,
): Promise<boolean> {
  const { deployer } = pipeline.deps.ports;
  if (!deployer.issueOwnerClaim || deliveryOf(job)?.kind !== 'app') return false;
  const { url } = await deployer.issueOwnerClaim({ jobId: job.jobId });
  const lines = [
    '',
    url
      ? `Become the app's owner (admin): open ${url}\n  The link works once and expires in 72 hours; it is in no record or log (\`mvp claim ${job.jobId}\` makes a new one).`
      : 'The app has an owner already: sign in as them.',
    job.urls.production?.startsWith('http://127.0.0.1')
      ? `The app runs while \`npm run mvp -- serve\` runs: ${job.urls.production}`
      : undefined,
  ].filter((line): line is string => line !== undefined);
  out.write(`${lines.join('\n')}\n`);
  return true;
}

async function claimCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (values.help) return help();
  const jobId = positionals[0];
  if (!jobId) throw new UsageError('mvp claim needs a JOB_ID');
  const pipeline = await open();
  try {
    const job = await getJob(pipeline.deps, { jobId }).catch(missing(`no job ${jobId}`));
    if (job.status !== 'COMPLETED') throw new UsageError(`job ${jobId} is ${job.status}, not COMPLETED`);
    if (!(await printOwnerLink(pipeline, job)))
      throw new UsageError(`job ${jobId} delivered no app with accounts on this deployer`);
    return EXIT.OK;
  } finally {
    await pipeline.close();
  }
}

async function workerCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { once: { type: 'boolean' }, concurrency: { type: 'string' } });
  if (values.help) return help();
  const concurrency = wholeNumberOption('--concurrency', values.concurrency, 2, 1, 64);
  const pipeline = await open();
  const stop = onSignals();
  try {
    const out = process.stderr;
    out.write(
      `Worker started (concurrency ${concurrency}${values.once ? ', once' : ''}); Ctrl-C stops it.\n`,
    );
    const summary = await runWorker(pipeline.deps, {
      concurrency,
      once: values.once === true,
      signal: stop.signal,
      ...(pipeline.localTrigger
        ? { subscribe: (wake: () => void) => pipeline.localTrigger!.subscribe(wake) }
        : {}),
      onResult: (r) => out.write(`${r.job.jobId} ${r.outcome} (${terminalText(r.job.businessName)})\n`),
      onError: (jobId, error) => out.write(`${jobId} could not run: ${messageOf(error)}\n`),
    });
    out.write(`Worker done: ${summary.runs} runs ${JSON.stringify(summary.outcomes)}\n`);
    return stop.signal.aborted ? EXIT.RETRYABLE : EXIT.OK;
  } finally {
    stop.dispose();
    await pipeline.close();
  }
}

async function statusCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (values.help) return help();
  const jobId = positionals[0];
  if (!jobId) throw new UsageError('mvp status needs a JOB_ID');
  const pipeline = await open();
  try {
    const job = await getJob(pipeline.deps, { jobId }).catch(missing(`no job ${jobId}`));
    if (values.json) {
      process.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
      return EXIT.OK;
    }
    const style = styleFor(process.stdout);
    const lines = [
      ...summaryLines(job, style),
      '',
      ...stepLines(job, style),
      '',
      style.bold('Recent log'),
      ...logLines(job, style),
    ];
    if (job.errors.length) lines.push('', style.bold('Errors'), ...errorLines(job));
    process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.OK;
  } finally {
    await pipeline.close();
  }
}

async function jobsCommand(args: string[]): Promise<number> {
  const { values } = parse(args, {
    user: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) return help();
  const pipeline = await open();
  try {
    const users = values.user ? [values.user] : ((await pipeline.specFiles?.users()) ?? []);
    if (users.length === 0)
      throw new UsageError('mvp jobs needs --user ID (no local specs to list users from)');
    const limit = values.limit === undefined ? 20 : Number(values.limit);
    // listJobs validates the limit as given, so its message quotes what was typed.
    const pages = await Promise.all(
      users.map((userId) => listJobs(pipeline.deps, { userId, limit: values.limit ?? limit })),
    );
    const quarantined =
      pipeline.config.jobStore === 'file' ? await listQuarantinedRecords(pipeline.config.dataDir) : [];
    const jobs = pages
      .flatMap((p) => p.jobs)
      .sort(compareNewestFirst)
      .slice(0, limit);
    const shown = (file: string) => relative(process.cwd(), file) || file;
    if (values.json) {
      process.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
      for (const q of quarantined) process.stderr.write(`${quarantinedRow(q, shown(q.file))}\n`);
      return EXIT.OK;
    }
    if (jobs.length === 0 && quarantined.length === 0) process.stdout.write('No jobs yet.\n');
    for (const job of jobs) process.stdout.write(`${jobRow(job)}\n`);
    for (const q of quarantined) process.stdout.write(`${quarantinedRow(q, shown(q.file))}\n`);
    return EXIT.OK;
  } finally {
    await pipeline.close();
  }
}

async function cancelCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (values.help) return help();
  const jobId = positionals[0];
  if (!jobId) throw new UsageError('mvp cancel needs a JOB_ID');
  const pipeline = await open();
  try {
    const { outcome } = await cancelJob(pipeline.deps, { jobId }).catch(missing(`no job ${jobId}`));
    const said = {
      CANCELLED: 'cancelled',
      REQUESTED: 'asked to stop; its runner will end it',
      ALREADY_ENDED: 'had already ended',
    } as const;
    process.stdout.write(`Job ${jobId} ${said[outcome]}.\n`);
    return EXIT.OK;
  } finally {
    await pipeline.close();
  }
}

async function cleanupCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { repo: { type: 'boolean' } });
  if (values.help) return help();
  const jobId = positionals[0];
  if (!jobId || positionals.length > 1) throw new UsageError('mvp cleanup needs one JOB_ID');
  const pipeline = await open();
  try {
    const { removed, left } = await cleanupJob(pipeline.deps, { jobId, repo: values.repo === true });
    const lines = removed.length
      ? [`Removed for job ${jobId}:`, ...removed.map((item) => `  ${item}`)]
      : [`Nothing left to remove for job ${jobId}.`];
    if (left.length) lines.push('Not removed:', ...left.map((item) => `  ${item}`));
    process.stdout.write(`${pipeline.redact(lines.join('\n'))}\n`);
    return EXIT.OK;
  } finally {
    await pipeline.close();
  }
}

function help(): number {
  process.stdout.write(HELP);
  return EXIT.OK;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Prints an error the way a person can act on it: no stack traces for expected failures, no secrets. */
function report(error: unknown): number {
  const redact = opened ?? createRedactor(environmentSecrets());
  const write = (text: string) => process.stderr.write(`${redact(text)}\n`);
  if (PipelineError.isInstance(error)) {
    const where = error.step ? ` (${error.step})` : '';
    write(`mvp: ${error.message}${where}`);
    if (error.code === 'VALIDATION' || error.code === 'CONFIG') return EXIT.PERMANENT;
    // Nothing to run: a job or product that does not exist (no job was created for it).
    if (error.code === 'NOT_FOUND') return EXIT.PERMANENT;
    return error.retryable ? EXIT.RETRYABLE : EXIT.JOB_FAILED;
  }
  write(`mvp: unexpected error: ${messageOf(error)}`);
  if (debugRequested()) write((error as Error).stack ?? '');
  return EXIT.JOB_FAILED;
}

/** Runs one `mvp` command line (the arguments after the script) and returns its exit code. */
export function runCli(argv: string[]): Promise<number> {
  return main(argv).catch(report);
}
