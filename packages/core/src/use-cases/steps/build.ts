import type { JourneyReport } from '../../domain/delivery.js';
import { BuildFailedError, PermanentError } from '../../errors.js';
import type { BuildResult } from '../../ports/builder.port.js';
import type { StepContext, StepResult } from './context.js';

/**
 * BUILDING: builds the head and, for a server app, walks its journeys against a throwaway
 * database; a failed build or journey sends the job to a repair round while rounds are left.
 */
export async function build(ctx: StepContext): Promise<StepResult<'BUILDING'>> {
  const commit = ctx.head();
  const result = await buildHead(ctx, { journeys: true });
  if (result.ok) {
    const { journeys } = result;
    const walked = journeys
      ? `; ${journeys.results.length} journeys passed${journeys.mode === 'http' ? ' (HTTP only: no browser here)' : ' in Chromium'}`
      : '';
    return {
      outputs: {
        commit,
        outputDir: result.outputDir,
        checks: result.checks,
        ...(journeys ? { journeys } : {}),
      },
      message: `Build passed: ${result.checks.join(', ')}${walked}`,
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
  return {
    repair: {
      summary: result.summary,
      output: result.output,
      commit,
      ...(result.journeys ? { journeys: result.journeys } : {}),
    },
  };
}

type CheckedBuild =
  | (BuildResult & { ok: true; journeys?: JourneyReport })
  | (BuildResult & { ok: false; journeys?: JourneyReport });

/**
 * Builds the job's head in a workspace at that commit; a passing build's output is kept on this
 * machine (BuildOutputStore) under (job, commit), and `outputDir` says where. A template with an
 * app model builds against the job's throwaway `check` database (its `migrate` runs there), and
 * with `journeys` the built app is then started and walked before the output counts.
 */
export async function buildHead(
  ctx: StepContext,
  options: { journeys?: boolean } = {},
): Promise<CheckedBuild> {
  const { builder, buildOutputs, databases, appChecker } = ctx.deps.ports;
  const { job, signal, report } = ctx;
  const { workspace, manifest } = await ctx.checkout();
  if (!manifest.model) return keep(ctx, await builder.build({ workspace, manifest, report, signal }));
  if (!databases) {
    throw new PermanentError(
      `The "${manifest.name}" template builds an app with a database, and no DatabaseProvisioner is configured`,
      { step: ctx.step },
    );
  }
  const { connectionUrl, ca } = await databases.provision({ jobId: job.jobId, purpose: 'check', signal });
  const databaseCa = ca ? { databaseCa: ca } : {};
  try {
    const built = await builder.build({
      workspace,
      manifest,
      report,
      signal,
      databaseUrl: connectionUrl,
      ...databaseCa,
    });
    if (!built.ok || !options.journeys || !manifest.start) return keep(ctx, built);
    if (!appChecker) {
      report.log('No app checker is configured: the built app was not started, no journey ran', 'warn');
      return keep(ctx, built);
    }
    const journeys = await appChecker.check({
      workspace,
      manifest,
      databaseUrl: connectionUrl,
      ...databaseCa,
      report,
      signal,
    });
    const failed = journeys.results.filter((r) => !r.ok);
    if (failed.length > 0 || !journeys.ok) {
      const output = failed
        .map((r) => `journey ${r.name} failed: ${r.failure ?? 'no reason given'}`)
        .join('\n');
      return {
        ok: false,
        summary: `${failed.length} of ${journeys.results.length} journeys failed (${failed.map((r) => r.name).join(', ')})`,
        output: output || 'the journey check failed',
        journeys,
      };
    }
    return { ...(await keep(ctx, built)), journeys };
  } finally {
    // The throwaway database holds what the journeys made; nothing else needs it.
    await databases.release({ jobId: job.jobId, purpose: 'check' }).catch((error: unknown) => {
      report.log(
        `Could not remove the check database: ${error instanceof Error ? error.message : String(error)}`,
        'warn',
      );
    });
  }

  async function keep(c: StepContext, result: BuildResult): Promise<CheckedBuild> {
    if (!result.ok || !buildOutputs) return result;
    const kept = await buildOutputs.keep({
      jobId: c.job.jobId,
      commit: c.head(),
      outputDir: result.outputDir,
      signal,
    });
    return { ...result, outputDir: kept.outputDir };
  }
}
