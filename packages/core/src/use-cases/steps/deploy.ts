import type { JourneyReport } from '../../domain/delivery.js';
import { siteNameFor, slugify } from '../../domain/naming.js';
import { BuildFailedError, TransientError } from '../../errors.js';
import type { DeployResult } from '../../ports/deployer.port.js';
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
  const journeys = await liveJourneys(ctx, deployment);
  return {
    outputs: {
      deploymentId: deployment.deploymentId,
      commit,
      stagingUrl: deployment.stagingUrl,
      productionUrl: deployment.productionUrl,
      ...(journeys ? { journeys } : {}),
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
 * A server app's journeys where it is live: a throwaway member's walk on staging (with the
 * deployer's headers), a read-only look at production (and only that where both are one URL). A failure is transient: a deployment
 * whose journeys passed on the check database and fail live is the target's environment.
 */
async function liveJourneys(
  ctx: StepContext,
  deployment: DeployResult,
): Promise<{ staging: JourneyReport; production: JourneyReport } | undefined> {
  const { appChecker } = ctx.deps.ports;
  const { workspace, manifest } = await ctx.checkout();
  if (!manifest.model || !manifest.start || !appChecker?.checkDeployed) return undefined;
  const walk = async (url: string, readOnly: boolean, headers?: Readonly<Record<string, string>>) => {
    const report = await appChecker.checkDeployed!({
      url,
      readOnly,
      workspace,
      manifest,
      report: ctx.report,
      signal: ctx.signal,
      ...(headers ? { headers } : {}),
    });
    const failed = report.results.filter((r) => !r.ok);
    if (failed.length > 0 || !report.ok) {
      throw new TransientError(
        `${url}: ${failed.length} of ${report.results.length} live journeys failed: ${failed.map((r) => `${r.name}: ${r.failure ?? 'no reason given'}`).join('; ')}`,
      );
    }
    ctx.report.log(`${url}: ${report.results.length} live journeys passed${readOnly ? ' (read-only)' : ''}`);
    return report;
  };
  // One URL for both (a local host, or Vercel's preview-only target) is production: look only.
  const shared = deployment.productionUrl === deployment.stagingUrl;
  const staging = await walk(deployment.stagingUrl, shared, deployment.stagingHeaders);
  const production = shared ? staging : await walk(deployment.productionUrl, true);
  return { staging, production };
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
