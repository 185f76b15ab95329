/**
 * The runner's exit codes. The Batch job definition's retry rules (infra) follow them:
 * 75 is retried, everything else is not.
 */
export const EXIT = {
  /** The job completed, or another runner holds it, or it had ended already. */
  OK: 0,
  /** The job ended FAILED or CANCELLED (the record says why). */
  JOB_FAILED: 1,
  /** Bad input (spec, options, configuration) or a permanent failure already recorded: retrying cannot help. */
  PERMANENT: 2,
  /** Interrupted (SIGTERM, Spot) or a transient failure before the job could be recorded: retry. */
  RETRYABLE: 75,
} as const;
