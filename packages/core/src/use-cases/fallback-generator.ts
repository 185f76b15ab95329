import { toPipelineError } from '../errors.js';
import type { CodeGenerator } from '../ports/code-generator.port.js';

/**
 * A CodeGenerator that hands the work to `fallback` when `primary` fails for good (budget
 * exhausted, model unavailable, request refused). The result names both, so the job record
 * says the fallback finished the job. Interruptions and cancellations are not failures.
 */
export function withFallbackGenerator(primary: CodeGenerator, fallback: CodeGenerator): CodeGenerator {
  return {
    specificationVersion: 'v1',
    async generate(options) {
      try {
        return await primary.generate(options);
      } catch (thrown) {
        if (options.signal?.aborted) throw thrown;
        const error = toPipelineError(thrown);
        if (error.retryable && error.code !== 'RATE_LIMITED') throw error;
        options.report.log(`${error.message} — finishing with the fallback generator`, 'warn');
        const result = await fallback.generate(options);
        return { ...result, generator: `${result.generator} (fallback after ${error.code.toLowerCase()})` };
      }
    },
  };
}
