import { type Job, type JobStore, type LogEntry, STEP_PROGRESS } from '@mvp-pipeline/core';
import { progressBar, stepLines, styleFor, terminalText } from './render.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Shows a job's progress while it runs, from its record: on a terminal a live step list
 * redrawn in place, elsewhere one plain line per log entry.
 */
export function watchJob(store: JobStore, jobId: string, stream: NodeJS.WriteStream = process.stderr) {
  const style = styleFor(stream);
  const live = stream.isTTY === true;
  let drawn = 0;
  let tick = 0;
  let lastLog: string | undefined;
  let stopped = false;
  let latest: Job | undefined;

  const printNewLogs = (job: Job) => {
    const logs = job.executionLogs;
    const from = lastLog ? logs.findIndex((l) => key(l) === lastLog) + 1 : 0;
    for (const entry of logs.slice(from)) {
      stream.write(
        `[${String(STEP_PROGRESS[entry.step] ?? 0).padStart(3)}%] ${terminalText(entry.step).padEnd(14)} ${terminalText(entry.message)}\n`,
      );
    }
    if (logs.length) lastLog = key(logs.at(-1)!);
  };

  const draw = (job: Job) => {
    const lines = [
      style.bold(`${terminalText(job.businessName)} · ${terminalText(job.jobId)}`),
      ...stepLines(job, style, SPINNER[tick++ % SPINNER.length]),
      `  ${progressBar(job.progress)}`,
      style.dim(`  ${terminalText(job.executionLogs.at(-1)?.message).slice(0, (stream.columns ?? 100) - 4)}`),
    ];
    if (drawn) stream.write(`\x1b[${drawn}A`);
    for (const line of lines) stream.write(`\x1b[2K${line}\n`);
    drawn = lines.length;
  };

  const render = (job: Job) => (live ? draw(job) : printNewLogs(job));

  const loop = (async () => {
    while (!stopped) {
      const { job } = await store.get({ jobId }).catch(() => ({ job: undefined }));
      if (job) {
        latest = job;
        render(job);
      }
      await new Promise((resolve) => setTimeout(resolve, live ? 120 : 250));
    }
  })();

  return {
    /** Stops watching and draws the final state. */
    async stop(final?: Job) {
      stopped = true;
      await loop;
      const job = final ?? latest;
      if (job) render(job);
    },
  };
}

const key = (entry: LogEntry) => `${entry.at}|${entry.step}|${entry.message}`;
