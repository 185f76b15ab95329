import { ValidationError } from '@mvp-pipeline/core';

/** A bad command line: printed as the message alone, exit 2. */
export class UsageError extends ValidationError {
  constructor(message: string) {
    super('command line', [{ path: '', message }]);
    this.message = message;
  }
}
