import {
  createRedactor,
  PermanentError,
  PipelineError,
  type Redactor,
  ValidationError,
} from '@mvp-pipeline/core';

const patternsOnly = createRedactor();

/**
 * Our typed errors pass through; anything else (fs, isomorphic-git) becomes a PermanentError saying
 * what failed, redacted by `redact` (the process's redactor; default: the token shapes only).
 */
export function asPipelineError(
  action: string,
  error: unknown,
  redact: Redactor = patternsOnly,
): PipelineError {
  if (PipelineError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PermanentError(redact(`${action}: ${message}`), { cause: error });
}

/** A job id as it may appear in a directory name or a git config value: no separators, no control characters. */
export function assertJobId(jobId: string): void {
  if (typeof jobId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(jobId)) {
    throw new ValidationError('job id', [
      { path: JSON.stringify(String(jobId)), message: 'must be letters, digits, _ . : - (at most 128)' },
    ]);
  }
}
