import { toPipelineError } from '../errors.js';
import type { CodeGenerator, GenerateResult } from '../ports/code-generator.port.js';

/**
 * A CodeGenerator that hands the work to `fallback` when `primary` fails for good (budget
 * exhausted, model unavailable, request refused). The fallback starts again from the step's
 * commit in a fresh workspace (`restart`), so what ships is the fallback's work alone, never a
 * half-done session. The result names both, so the job record says the fallback finished the
 * job. Interruptions and cancellations are not failures.
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
        const workspace = options.restart ? await options.restart() : options.workspace;
        const { workbench: _primaryBench, ...rest } = options;
        const result = await fallback.generate({ ...rest, workspace });
        return {
          ...result,
          generator: `${result.generator} (fallback after ${error.code.toLowerCase()})`,
          ...(workspace !== options.workspace ? { workspace } : {}),
        };
      }
    },
  };
}

/**
 * A CodeGenerator that develops on a working baseline: `baseline` (the template generator: the
 * app model and the code its recipes make) writes the first version, then `developer` (Claude)
 * carries on in the same workspace. A repair round goes to `developer` alone: the baseline is
 * already in the repository. Per key feature, the developer's account wins where it gives one.
 */
export function onBaseline(baseline: CodeGenerator, developer: CodeGenerator): CodeGenerator {
  return {
    specificationVersion: 'v1',
    async generate(options): Promise<GenerateResult> {
      if (options.repair) return developer.generate(options);
      const base = await baseline.generate(options);
      options.report.log(
        `Baseline by ${base.generator}: ${base.filesChanged.length} files; the developer carries on from it`,
      );
      const developed = await developer.generate(options);
      const features = developed.features ?? base.features;
      return {
        ...developed,
        filesChanged: [...new Set([...base.filesChanged, ...developed.filesChanged])].sort(),
        ...(features ? { features } : {}),
      };
    },
  };
}
