import { BuildFailedError } from '../../errors.js';
import type { StepContext, StepResult } from './context.js';

/** BUILDING: builds the head; a failed build sends the job to a repair round while rounds are left. */
export async function build(ctx: StepContext): Promise<StepResult<'BUILDING'>> {
  const commit = ctx.head();
  const result = await buildHead(ctx);
  if (result.ok) {
    return {
      outputs: { commit, outputDir: result.outputDir, checks: result.checks },
      message: `Build passed: ${result.checks.join(', ')}`,
    };
  }
  const { maxRepairRounds } = ctx.deps.settings;
  if (ctx.job.repairRounds >= maxRepairRounds) {
    throw new BuildFailedError(
      `Build failed${maxRepairRounds > 0 ? ` after ${maxRepairRounds} repair rounds` : ''}: ${result.summary}`,
      result.output,
      { step: 'BUILDING' },
    );
  }
  return { repair: { summary: result.summary, output: result.output, commit } };
}

/**
 * Builds the job's head in a workspace at that commit; a passing build's output is kept on this
 * machine (BuildOutputStore) under (job, commit), and `outputDir` says where.
 */
export async function buildHead(ctx: StepContext) {
  const { builder, buildOutputs } = ctx.deps.ports;
  const { workspace, manifest } = await ctx.checkout();
  const result = await builder.build({ workspace, manifest, report: ctx.report, signal: ctx.signal });
  if (!result.ok || !buildOutputs) return result;
  const kept = await buildOutputs.keep({
    jobId: ctx.job.jobId,
    commit: ctx.head(),
    outputDir: result.outputDir,
    signal: ctx.signal,
  });
  return { ...result, outputDir: kept.outputDir };
}
