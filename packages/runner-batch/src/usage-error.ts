import { NotFoundError, PipelineError, ValidationError } from '@mvp-pipeline/core';

/** A bad command line: printed as the message alone, exit 2. */
export class UsageError extends ValidationError {
  constructor(message: string) {
    super('command line', [{ path: '', message }]);
    this.message = message;
  }
}

/**
 * For `.catch`: a NotFoundError becomes one with `message` (what the command line asked for,
 * e.g. "no job job_x"); the CLI exits 2 for it. Anything else passes through.
 */
export function missing(message: string): (error: unknown) => never {
  return (error) => {
    if (PipelineError.isInstance(error) && error.code === 'NOT_FOUND')
      throw new NotFoundError(message, { cause: error });
    throw error;
  };
}
