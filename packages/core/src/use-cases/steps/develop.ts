import { type StepContext, type StepResult, short } from './context.js';

/** AI_DEVELOPMENT: the generator works on the job's head (with the build errors of a repair round), then a push. */
export async function develop(ctx: StepContext): Promise<StepResult<'AI_DEVELOPMENT'>> {
  const { generator, repos } = ctx.deps.ports;
  const { job, signal } = ctx;
  const repair = ctx.checkpoints.repair;
  const { workspace, manifest } = await ctx.checkout();
  const generated = await generator.generate({
    jobId: job.jobId,
    spec: ctx.spec(),
    workspace,
    manifest,
    ...(repair ? { repair: { round: repair.round, buildOutput: repair.buildOutput } } : {}),
    report: ctx.report,
    signal,
  });
  const { commit } = await repos.push({
    repo: ctx.repo(),
    workspace,
    message: generated.summary,
    // Derived from the job, not the clock: a retried push of the same files is the same commit.
    date: new Date(Date.parse(job.createdAt) + 1000 * (1 + job.repairRounds)),
    signal,
  });
  ctx.machine.movedTo(commit);
  return {
    outputs: {
      commit,
      generator: generated.generator,
      summary: generated.summary,
      filesChanged: generated.filesChanged.length,
    },
    message: `${generated.generator} changed ${generated.filesChanged.length} files (${short(commit)})`,
  };
}
