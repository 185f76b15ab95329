/**
 * The runner's exit codes, as the job definition's retry rules read them.
 *
 * The runner (packages/runner-batch) follows this table; the evaluateOnExit rules in the stack
 * retry {@link RUNNER_EXIT_CODES.RETRYABLE} and nothing the runner itself chose to end.
 */
export const RUNNER_EXIT_CODES = {
  /** The job is done, or another runner holds its lease: nothing to retry. */
  DONE: 0,
  /** A permanent failure, already recorded on the job record: Batch must not retry. */
  PERMANENT_FAILURE: 2,
  /** A retryable failure, or SIGTERM after the checkpoint was written: Batch retries (EX_TEMPFAIL). */
  RETRYABLE: 75,
} as const;

/** The command the job definition runs; Batch substitutes `Ref::jobId` from the job parameters. */
export const RUNNER_COMMAND = ['node', 'runner.js', 'run-batch-job', 'Ref::jobId'] as const;
