import {
  aiCostLine,
  aiCostOf,
  aiCostPartLine,
  assertNever,
  deliveryOf,
  type FeatureOutcome,
  type Job,
  type JourneyResult,
  STEP_LABELS,
  STEPS,
  type Step,
} from '@mvp-pipeline/core';

// What a terminal would act on rather than show: C0 and C1 controls (ESC, CSI, CR, LF…), DEL,
// bidirectional-text controls and Unicode line separators.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Record text as a terminal may print it: every control and bidi character shown as `\uXXXX`,
 * whatever the record holds (a record is data another process or a person may have written).
 * Anything that is not a string is shown as its JSON, or not at all.
 */
export function terminalText(value: unknown): string {
  const text =
    typeof value === 'string' ? value : value === undefined || value === null ? '' : safeJson(value);
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(value);
  }
}

const useColor = (stream: NodeJS.WriteStream) => stream.isTTY && !process.env.NO_COLOR;

export interface Style {
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

export function styleFor(stream: NodeJS.WriteStream): Style {
  const on = useColor(stream);
  const wrap = (code: number, reset: number) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[${reset}m` : s);
  return {
    green: wrap(32, 39),
    red: wrap(31, 39),
    yellow: wrap(33, 39),
    dim: wrap(2, 22),
    bold: wrap(1, 22),
  };
}

/** Where a step stands for a job: done, running, failed, or still to come. */
function stepState(job: Job, step: Step): 'done' | 'current' | 'failed' | 'todo' {
  const at = STEPS.indexOf(job.currentStep);
  const index = STEPS.indexOf(step);
  if (job.status === 'COMPLETED' || index < at) return 'done';
  if (index > at) return 'todo';
  if (job.status === 'FAILED' || job.status === 'CANCELLED') return 'failed';
  return step === 'QUEUED' && job.status === 'PENDING'
    ? 'current'
    : step === 'COMPLETED'
      ? 'done'
      : 'current';
}

/** The step list with marks and timings: the live view and `mvp status` share it. */
export function stepLines(job: Job, style: Style, spinner = '…'): string[] {
  return STEPS.filter((s) => s !== 'COMPLETED').map((step) => {
    const state = stepState(job, step);
    const label = STEP_LABELS[step];
    const seconds =
      step !== 'QUEUED' ? job.usage.byStep[step as keyof Job['usage']['byStep']]?.seconds : undefined;
    const time = seconds !== undefined ? style.dim(` ${seconds.toFixed(1)}s`) : '';
    switch (state) {
      case 'done':
        return `  ${style.green('✓')} ${label}${time}`;
      case 'current':
        return `  ${style.yellow(spinner)} ${style.bold(label)}`;
      case 'failed':
        return `  ${style.red('✗')} ${label} ${style.red(job.status === 'CANCELLED' ? '(cancelled)' : '(failed)')}`;
      case 'todo':
        return `  ${style.dim(`· ${label}`)}`;
      default:
        return assertNever(state, 'step state');
    }
  });
}

export function progressBar(progress: number, width = 24): string {
  const filled = Math.round((progress / 100) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(progress).padStart(3)}%`;
}

/** What a person needs after a run or on `mvp status`: outcome, links, cost, what went wrong. */
export function summaryLines(job: Job, style: Style, recordPath?: string): string[] {
  const lines: string[] = [];
  const seconds =
    job.timestamps.startedAt && job.timestamps.completedAt
      ? ` in ${((Date.parse(job.timestamps.completedAt) - Date.parse(job.timestamps.startedAt)) / 1000).toFixed(1)}s`
      : '';
  const mark =
    job.status === 'COMPLETED'
      ? style.green('✓')
      : job.status === 'FAILED'
        ? style.red('✗')
        : style.yellow('•');
  lines.push(
    `${mark} ${style.bold(terminalText(job.businessName))} ${terminalText(job.status)}${seconds} ${style.dim(`(${terminalText(job.jobId)})`)}`,
  );
  const row = (name: string, value: unknown) => {
    if (value) lines.push(`  ${name.padEnd(12)} ${terminalText(value)}`);
  };
  row('Site', job.urls.production);
  if (job.urls.staging !== job.urls.production) row('Staging', job.urls.staging);
  row('Repository', job.urls.codeRepository);
  row('Job record', recordPath);
  lines.push(...aiCostLines(job));
  const generator = job.checkpoints.AI_DEVELOPMENT?.generator;
  row('Generator', generator);
  lines.push(...deliveryLines(job, style));
  const lastError = job.errors.at(-1);
  if (job.status === 'FAILED' && lastError)
    lines.push(
      `  ${'Error'.padEnd(12)} ${style.red(`${terminalText(lastError.step)}: ${terminalText(lastError.message)}`)}`,
    );
  return lines;
}

/**
 * The job's AI cost: the one line (total, tokens, cache share, each step and round) and, when it
 * took more than one round, a line per round with its tokens and cache share. Nothing when the
 * job used no AI.
 */
export function aiCostLines(job: Job): string[] {
  const line = aiCostLine(job.usage);
  if (!line) return [];
  const parts = aiCostOf(job.usage)?.parts ?? [];
  return [
    `  ${terminalText(line)}`,
    ...(parts.length > 1 ? parts.map((part) => `    ${terminalText(aiCostPartLine(part))}`) : []),
  ];
}

/** How long a journey's failure may run on one line before it is cut. */
const FAILURE_CHARS = 160;

/** One line of untrusted text: whitespace runs collapsed, cut at `max` characters, controls shown. */
export function shortText(value: unknown, max = FAILURE_CHARS): string {
  const text = (typeof value === 'string' ? value : terminalText(value)).replace(/\s+/g, ' ').trim();
  const chars = [...text];
  return terminalText(chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text);
}

/** What built a feature, in words; a feature nothing built says so. */
function builtByText(feature: FeatureOutcome): string | undefined {
  switch (feature.builtBy) {
    case 'recipe':
      return `built by recipe ${terminalText(feature.recipe ?? '?')}`;
    case 'model':
      return 'built from the app model';
    case 'ai':
      return 'built by AI';
    default:
      // null (nothing built it), or a value from something newer or a damaged record: never built.
      return undefined;
  }
}

/**
 * What the job delivers (`mvp run`'s summary and `mvp status`): a working app or a landing page
 * only, each key feature built (and by what) or not built, and the journey results. Nothing for
 * records written before deliveries were recorded.
 */
export function deliveryLines(job: Job, style: Style): string[] {
  const delivery = deliveryOf(job);
  if (!delivery) return [];
  // Only a completed job delivers; a failed or running one shows what it was building.
  const verb =
    job.status === 'COMPLETED'
      ? 'Delivers'
      : job.status === 'FAILED' || job.status === 'CANCELLED'
        ? 'Was to deliver (not delivered)'
        : 'Will deliver';
  const lines = [
    `  ${verb}: ${delivery.kind === 'app' ? 'a working app' : delivery.kind === 'landing-page-only' ? 'landing page only' : terminalText(delivery.kind)}`,
  ];
  const features = Array.isArray(delivery.features) ? delivery.features : [];
  for (const feature of features) {
    const how = builtByText(feature);
    const name = shortText(feature.feature, 120);
    lines.push(
      how
        ? `    ${style.green('✓')} ${name} ${style.dim(`(${how})`)}`
        : `    ${style.red('✗')} ${name} ${style.red('(not built)')}`,
    );
  }
  const missing = features.filter((f) => !builtByText(f)).length;
  if (missing > 0 && delivery.kind === 'app') {
    lines.push(`    ${style.yellow(`${missing} of ${features.length} key features not built`)}`);
  }
  const journeys = delivery.journeys;
  if (journeys) {
    const results: JourneyResult[] = Array.isArray(journeys.results) ? journeys.results : [];
    const passed = results.filter((r) => r.ok === true).length;
    const mode =
      journeys.mode === 'browser'
        ? 'in a browser'
        : journeys.mode === 'http'
          ? 'over HTTP'
          : terminalText(journeys.mode);
    const tally = `${passed} of ${results.length} ok`;
    lines.push(`  Journeys (${mode}): ${passed === results.length ? style.green(tally) : style.red(tally)}`);
    for (const result of results) {
      const name = shortText(result.name, 80);
      lines.push(
        result.ok === true
          ? `    ${style.green('✓')} ${name}`
          : `    ${style.red('✗')} ${name} ${style.red(`failed: ${shortText(result.failure ?? 'no reason recorded')}`)}`,
      );
    }
  }
  return lines;
}

/** The last log lines of a job (`mvp status`). */
export function logLines(job: Job, style: Style, count = 8): string[] {
  return job.executionLogs
    .slice(-count)
    .map(
      (l) =>
        `  ${style.dim(terminalText(l.at).slice(11, 19))} ${terminalText(l.step).padEnd(14)} ${terminalText(l.message)}`,
    );
}

/** The last errors of a job (`mvp status`). */
export function errorLines(job: Job, count = 5): string[] {
  return job.errors
    .slice(-count)
    .map(
      (e) =>
        `  ${terminalText(e.step)} ${terminalText(e.code)}${e.retryable ? ' (retried)' : ''}: ${terminalText(e.message)}`,
    );
}

/** One line of `mvp jobs`. */
export function jobRow(job: Job): string {
  const label = STEP_LABELS[job.currentStep] ?? terminalText(job.currentStep);
  return `${terminalText(job.jobId)}  ${terminalText(job.status).padEnd(11)} ${String(Number(job.progress) || 0).padStart(3)}%  ${label.padEnd(24)} ${terminalText(job.businessName)}  ${terminalText(job.createdAt)}`;
}

/** One line of `mvp jobs` for a record found corrupt and moved aside. */
export function quarantinedRow(
  record: { jobId: string; file: string; at: string },
  shownFile = record.file,
): string {
  return `${terminalText(record.jobId)}  ${'QUARANTINED'.padEnd(11)} the record was unreadable; moved aside at ${record.at} to ${terminalText(shownFile)}`;
}
