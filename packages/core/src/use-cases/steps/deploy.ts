import { siteNameFor, slugify } from '../../domain/naming.js';
import { BuildFailedError, TransientError } from '../../errors.js';
import { buildHead } from './build.js';
import { type StepContext, type StepResult, short } from './context.js';

/** DEPLOYING: publishes the head's build output, and counts it only when its pages name the product. */
export async function deploy(ctx: StepContext): Promise<StepResult<'DEPLOYING'>> {
  const { deployer, siteChecker } = ctx.deps.ports;
  const { job, signal } = ctx;
  const commit = ctx.head();
  const businessName = ctx.checkpoints.FETCHING_DATA?.businessName ?? job.businessName;
  const outputDir = await builtOutput(ctx);
  const { manifest } = await ctx.checkout();
  const deployment = await deployer.deploy({
    jobId: job.jobId,
    commit,
    // The site is the job's: a second founder's "EventHub" must not deploy into the first's.
    siteName: siteNameFor(businessName, job.jobId),
    projectName: slugify(businessName),
    outputDir,
    manifest,
    checkpoint: ctx.checkpoint,
    report: ctx.report,
    signal,
  });
  // The done gate: a deployment counts only when its pages answer with the product. Staging may
  // sit behind the target's login and gets the deployer's headers; production must be public.
  const checks = [{ url: deployment.stagingUrl, headers: deployment.stagingHeaders }];
  if (deployment.productionUrl !== deployment.stagingUrl)
    checks.push({ url: deployment.productionUrl, headers: undefined });
  for (const { url, headers } of checks) {
    const check = await siteChecker.check({
      url,
      expectText: businessName,
      signal,
      ...(headers ? { headers } : {}),
    });
    for (const note of check.notes ?? []) ctx.report.log(note);
    if (!check.ok)
      throw new TransientError(`${url} does not serve the site yet: ${check.problems.join('; ')}`);
    ctx.report.log(`${url} answers (${check.checker} check)`);
  }
  return {
    outputs: {
      deploymentId: deployment.deploymentId,
      commit,
      stagingUrl: deployment.stagingUrl,
      productionUrl: deployment.productionUrl,
    },
    fields: (latest) => ({
      urls: { ...latest.urls, staging: deployment.stagingUrl, production: deployment.productionUrl },
      resources: {
        ...latest.resources,
        ...deployment.resources,
        deployment: {
          provider: deployment.provider,
          id: deployment.deploymentId,
          url: deployment.productionUrl,
        },
      },
    }),
    message: `Live at ${deployment.productionUrl}`,
  };
}

/**
 * The build output of the head commit, derived, never remembered: the one this machine kept for
 * (job, commit), or the one BUILDING wrote into the workspace this runner still holds at that
 * commit; otherwise (a resumed job on a fresh machine) the head is built once more.
 */
async function builtOutput(ctx: StepContext): Promise<string> {
  const commit = ctx.head();
  const built = ctx.checkpoints.BUILDING;
  if (built?.commit === commit) {
    const kept = await ctx.deps.ports.buildOutputs?.find({
      jobId: ctx.job.jobId,
      commit,
      signal: ctx.signal,
    });
    if (kept?.outputDir) return kept.outputDir;
    const held = ctx.machine.current;
    if (held?.commit === commit && built.outputDir.startsWith(`${held.workspace.dir}/`))
      return built.outputDir;
  }
  ctx.report.log(`No build output of ${short(commit)} on this machine: building it again`);
  const result = await buildHead(ctx);
  if (!result.ok)
    throw new BuildFailedError(`Rebuilding ${short(commit)} failed: ${result.summary}`, result.output);
  return result.outputDir;
}
