import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type CrashSwitch,
  createCrashSwitch,
  type Fault,
  withFaults,
} from '@mvp-pipeline/adapters-local/testing';
import {
  type Job,
  type JobStore,
  type PipelineSettings,
  runJob,
  runWorker,
  type WorkStep,
} from '@mvp-pipeline/core';
import {
  type Evidence,
  evidence,
  FAKE_SECRETS,
  filesContaining,
  leakedIn,
  leaseLapsed,
  openPipeline,
  PORT_TOKENS,
  PROOF_ENV,
  type ProofPipeline,
  removeDir,
  SECRET_NEEDLES,
  tempDir,
  type WorkPort,
  within,
} from './harness.js';

export type FaultKind = 'transient' | 'permanent' | 'hang' | 'kill';

/** Where each port is hit: the method faulted, the step it belongs to, and the call a runner is killed after. */
export interface PortPlan {
  method: string;
  /** The step a permanent or hung call fails; undefined where the port works outside any step. */
  step: WorkStep | undefined;
  kill: { method: string; onCall: number; what: string };
}

export const PORT_PLAN: Record<WorkPort, PortPlan> = {
  specs: {
    method: 'getSpec',
    step: 'FETCHING_DATA',
    kill: { method: 'getSpec', onCall: 1, what: 'after reading the spec' },
  },
  templates: {
    method: 'fetchTemplate',
    step: 'CREATING_REPO',
    kill: { method: 'fetchTemplate', onCall: 1, what: 'after copying the template' },
  },
  workspaces: {
    method: 'create',
    step: 'CREATING_REPO',
    kill: { method: 'create', onCall: 1, what: 'after creating the workspace' },
  },
  repos: {
    method: 'ensureRepo',
    step: 'CREATING_REPO',
    kill: { method: 'push', onCall: 2, what: 'after pushing the generated code' },
  },
  generator: {
    method: 'generate',
    step: 'AI_DEVELOPMENT',
    kill: { method: 'generate', onCall: 1, what: 'after generating' },
  },
  builder: {
    method: 'build',
    step: 'BUILDING',
    kill: { method: 'build', onCall: 1, what: 'after building' },
  },
  deployer: {
    method: 'deploy',
    step: 'DEPLOYING',
    kill: { method: 'deploy', onCall: 1, what: 'after deploying' },
  },
  siteChecker: {
    method: 'check',
    step: 'DEPLOYING',
    kill: { method: 'check', onCall: 2, what: 'after checking both URLs' },
  },
  notifier: {
    method: 'notify',
    step: undefined,
    kill: { method: 'notify', onCall: 1, what: 'after notifying' },
  },
  store: {
    method: 'update',
    step: undefined,
    kill: { method: 'update', onCall: 4, what: 'after the write recording the repository' },
  },
};

export interface Cell {
  store: 'file' | 'dynamodb';
  port: WorkPort;
  fault: FaultKind;
}

export interface CellResult {
  cell: Cell;
  /** How the fault was made: in-process wrapper, or a real process killed. */
  mode: string;
  /** The job as it ended, in a few words. */
  outcome: string;
  problems: string[];
  ms: number;
}

/** The deadline of the step a hang cell hangs in: long enough for real work on a loaded machine. */
export const HANG_DEADLINE_MS = 2_000;
const KILL_LEASE_TTL_MS = 1_000;
const KILL_RUNNER = fileURLToPath(new URL('../../src/testing/kill-runner.mjs', import.meta.url));

const FAULTS: Record<Exclude<FaultKind, 'kill'>, Fault> = {
  transient: { kind: 'transient', times: 2 },
  permanent: { kind: 'permanent', message: `refused (token ${FAKE_SECRETS.GITHUB_TOKEN})` },
  hang: { kind: 'hang' },
};

const DONE: Evidence = { repos: 1, commits: 2, deployments: 1, notifications: 1 };

function baseSettings(cell: Cell): Partial<PipelineSettings> {
  // A notification belongs to the end of deployment: a hung notifier is bounded by that deadline.
  const step = PORT_PLAN[cell.port].step ?? (cell.port === 'notifier' ? 'DEPLOYING' : undefined);
  const hungStore = cell.port === 'store' && cell.fault === 'hang';
  return {
    retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 100 },
    // A hung store write blocks lease renewal: the lease must lapse soon for the rescue.
    leaseTtlMs: hungStore ? 1_500 : 5_000,
    flushIntervalMs: 200,
    ...(cell.fault === 'hang' && step ? { stepTimeoutMs: { [step]: HANG_DEADLINE_MS } as never } : {}),
  };
}

/** Runs one cell of the matrix: a job with one port misbehaving, then the checks. */
export async function runCell(cell: Cell, env: Record<string, string> = {}): Promise<CellResult> {
  const started = Date.now();
  const dataDir = await tempDir(`${cell.store}-${cell.port}-${cell.fault}`);
  const problems: string[] = [];
  const settings = baseSettings(cell);
  const healthy = await openPipeline({ dataDir, env, settings });
  let faulty: ProofPipeline | undefined;
  let mode = 'in-process withFaults';
  let outcome = '';
  const notes: string[] = [];
  try {
    const job = await healthy.submit();
    const plan = PORT_PLAN[cell.port];
    let final: Job;
    if (cell.fault === 'kill') {
      mode = 'SIGKILL of a runner process';
      final = await killCell(cell, healthy, job, env, problems, notes);
    } else {
      const wrapped = withFaults(
        healthy.deps.ports[cell.port] as object,
        {
          [plan.method]: FAULTS[cell.fault],
        } as never,
      );
      // A runner that never ends is stopped for good by freezing its store: it writes nothing more.
      const freeze = createCrashSwitch();
      faulty = await openPipeline({
        dataDir,
        env,
        settings,
        configure: (c) => {
          // The wrapped port is the cell's own port type; the token union cannot say which.
          c.rebind(PORT_TOKENS[cell.port] as symbol).toConstantValue(wrapped);
          c.rebind(PORT_TOKENS.store).toConstantValue(
            freeze.guard((cell.port === 'store' ? wrapped : healthy.deps.ports.store) as JobStore),
          );
        },
      });
      final = await faultCell(cell, healthy, faulty, job, problems, freeze);
    }
    outcome = `${final.status}${final.status === 'FAILED' ? ` (${final.errors.at(-1)?.code} at ${final.errors.at(-1)?.step})` : ''}${notes.length ? ` [${notes.filter((n) => n !== 'stale lock').join(', ')}]` : ''}`;
    if (final.status === 'IN_PROGRESS') problems.push('the job is left IN_PROGRESS');
    if (final.lease) problems.push(`a lease is left on the job (${final.lease.owner})`);
    const leaks = [
      ...leakedIn(JSON.stringify(final)),
      ...leakedIn(healthy.logs.join('\n')),
      ...leakedIn((faulty?.logs ?? []).join('\n')),
    ];
    const leakingFiles = await filesContaining(dataDir, SECRET_NEEDLES);
    if (leaks.length || leakingFiles.length)
      problems.push(
        `a secret leaked: ${[...new Set(leaks)].length} values, files ${leakingFiles.join(', ')}`,
      );
  } catch (error) {
    problems.push(`the run threw: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await faulty?.close();
    await healthy.close();
    await removeDir(dataDir);
  }
  return { cell, mode, outcome, problems, ms: Date.now() - started };
}

async function faultCell(
  cell: Cell,
  healthy: ProofPipeline,
  faulty: ProofPipeline,
  job: Job,
  problems: string[],
  freeze: CrashSwitch,
): Promise<Job> {
  const plan = PORT_PLAN[cell.port];
  const { store } = healthy.deps.ports;
  const run = runJob(faulty.deps, { jobId: job.jobId, runnerId: 'faulty' });
  // A hung store write never ends; the lease lapsing is what frees the job.
  const limit =
    cell.port === 'store' && cell.fault === 'hang'
      ? 5_000
      : cell.fault === 'hang'
        ? HANG_DEADLINE_MS * 5 + 15_000
        : 60_000;
  let ended: Awaited<typeof run> | undefined;
  try {
    ended = await within(run, limit, 'the faulty runner');
  } catch (error) {
    // A runner that neither finishes nor gives up holds its job; it counts as a failure unless
    // its lease lapses (the store hang) and the job is rescued below.
    run.catch(() => undefined);
    freeze.crash();
    if (!(cell.port === 'store' && cell.fault !== 'transient')) {
      problems.push(`the runner: ${error instanceof Error ? error.message : String(error)}`);
      return (await store.get({ jobId: job.jobId })).job!;
    }
  }
  const after = (await store.get({ jobId: job.jobId })).job!;
  const seen = await evidence(healthy.dataDir, job.jobId);
  const atMostOnce = (e: Evidence) => {
    for (const key of ['repos', 'deployments', 'notifications'] as const)
      if (e[key] > 1) problems.push(`${key}: ${e[key]} (more than once)`);
    if (e.commits > 2) problems.push(`commits: ${e.commits} (a push repeated)`);
  };
  atMostOnce(seen);

  if (cell.port === 'store' && cell.fault !== 'transient') {
    // The store itself is broken: nothing can be recorded. The runner must let go of the job
    // (exit, or lose its lease) so that a runner on a healthy store finishes it.
    if (ended && after.status !== 'IN_PROGRESS' && after.status !== 'PENDING' && after.status !== 'FAILED')
      problems.push(`a broken store ended the job as ${after.status}`);
    const rescued = await rescue(healthy, job.jobId);
    atMostOnce(await evidence(healthy.dataDir, job.jobId));
    return rescued;
  }

  if (cell.fault === 'transient') {
    if (after.status !== 'COMPLETED')
      problems.push(
        `expected COMPLETED, got ${after.status} (${after.errors.at(-1)?.code}: ${after.errors.at(-1)?.message})`,
      );
    expectEvidence(seen, DONE, problems);
    return after;
  }

  if (cell.port === 'notifier') {
    // The job's outcome stands without its notification; its log says the notification failed.
    if (after.status !== 'COMPLETED') problems.push(`expected COMPLETED, got ${after.status}`);
    const { logs } = await store.readHistory({ jobId: job.jobId });
    if (!logs.some((l) => l.level === 'error' && /COMPLETED notification/.test(l.message)))
      problems.push('the job log does not say the notification failed');
    expectEvidence(seen, { ...DONE, notifications: 0 }, problems);
    return after;
  }

  const code = cell.fault === 'permanent' ? 'PERMANENT' : 'DEADLINE_EXCEEDED';
  const last = after.errors.at(-1);
  if (after.status !== 'FAILED') problems.push(`expected FAILED, got ${after.status}`);
  if (last?.step !== plan.step || last?.code !== code)
    problems.push(`expected a ${code} error at ${plan.step}, got ${last?.code} at ${last?.step}`);
  if (after.currentStep !== plan.step)
    problems.push(`the job stopped at ${after.currentStep}, not ${plan.step}`);
  if (seen.notifications !== 1) problems.push(`the FAILED notification went out ${seen.notifications} times`);
  return after;
}

async function killCell(
  cell: Cell,
  healthy: ProofPipeline,
  job: Job,
  env: Record<string, string>,
  problems: string[],
  notes: string[],
): Promise<Job> {
  const { kill } = PORT_PLAN[cell.port];
  const child = spawn(
    process.execPath,
    [KILL_RUNNER, job.jobId, cell.port, kill.method, String(kill.onCall), String(KILL_LEASE_TTL_MS)],
    {
      env: { ...process.env, MVP_DATA_DIR: healthy.dataDir, ...PROOF_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const reached = await within(
    new Promise<boolean>((resolve) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('KILLPOINT')) resolve(true);
      });
      void closed.then(() => resolve(false));
    }),
    60_000,
    'the runner process reaching its kill point',
  ).catch(() => false);
  child.kill('SIGKILL');
  await closed;
  if (!reached) {
    problems.push(`the runner never reached the kill point (${out.trim()} ${err.trim().slice(0, 300)})`);
    return (await healthy.deps.ports.store.get({ jobId: job.jobId })).job!;
  }
  return rescue(healthy, job.jobId, problems, cell.port === 'notifier' ? 1 : 2, notes);
}

/** A later worker on a healthy pipeline, once the dead runner's lease lapsed: the job must end COMPLETED, every side effect once. */
async function rescue(
  healthy: ProofPipeline,
  jobId: string,
  problems?: string[],
  attempts?: number,
  notes?: string[],
) {
  const { store } = healthy.deps.ports;
  await leaseLapsed(store, jobId);
  const started = Date.now();
  for (;;) {
    const errors: string[] = [];
    await within(
      runWorker(healthy.deps, {
        concurrency: 1,
        once: true,
        pollIntervalMs: 50,
        onError: (_, error) => errors.push(error instanceof Error ? error.message : String(error)),
      }),
      60_000,
      'the rescuing worker',
    );
    // A runner killed inside a file-store write leaves its lock file behind; writers give up on it
    // before it counts as stale (see the stale-lock test in duplicates.test.ts).
    if (errors.some((e) => /locked by another process/.test(e)) && Date.now() - started < 60_000) {
      notes?.push('stale lock');
      continue;
    }
    if (errors.length) problems?.push(`the rescuing worker failed: ${errors.join('; ')}`);
    break;
  }
  if (notes?.includes('stale lock'))
    notes.push(`rescued ${Math.round((Date.now() - started) / 1000)} s late`);
  const final = (await store.get({ jobId })).job!;
  if (problems) {
    if (final.status !== 'COMPLETED')
      problems.push(`expected COMPLETED after the rescue, got ${final.status}`);
    if (attempts !== undefined && final.attempt !== attempts)
      problems.push(`expected ${attempts} attempts, got ${final.attempt}`);
    expectEvidence(await evidence(healthy.dataDir, jobId), DONE, problems);
  }
  return final;
}

function expectEvidence(seen: Evidence, expected: Evidence, problems: string[]): void {
  for (const key of Object.keys(expected) as (keyof Evidence)[])
    if (seen[key] !== expected[key]) problems.push(`${key}: ${seen[key]}, expected ${expected[key]}`);
}

/** The matrix as a table: one row per port, one column per fault, and the tally. */
export function matrixTable(title: string, results: readonly CellResult[]): string {
  const kinds: FaultKind[] = ['transient', 'permanent', 'hang', 'kill'];
  const ports = (Object.keys(PORT_PLAN) as WorkPort[]).filter((p) => results.some((r) => r.cell.port === p));
  const cellText = (port: WorkPort, kind: FaultKind) => {
    const r = results.find((x) => x.cell.port === port && x.cell.fault === kind);
    if (!r) return '—';
    return `${r.problems.length === 0 ? 'pass' : 'FAIL'} ${r.outcome}`.slice(0, 52);
  };
  const rows = [
    ['port', ...kinds],
    ...ports.map((port) => [port, ...kinds.map((kind) => cellText(port, kind))]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  const passed = results.filter((r) => r.problems.length === 0).length;
  const failures = results
    .filter((r) => r.problems.length)
    .map((r) => `  ${r.cell.port} × ${r.cell.fault}: ${r.problems.join('; ')}`);
  const modes = [...new Set(results.map((r) => `${r.cell.fault === 'kill' ? 'kill' : 'others'}: ${r.mode}`))];
  return [
    `${title}: ${passed} of ${results.length} cells passed`,
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...rows.slice(1).map(line),
    `(${modes.join('; ')})`,
    ...(failures.length ? ['Failures:', ...failures] : []),
  ].join('\n');
}
