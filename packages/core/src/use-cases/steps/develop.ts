import type { FeatureOutcome } from '../../domain/app-model.js';
import { deriveAppModel } from '../../domain/app-recipes.js';
import { type Delivery, landingPageOnly } from '../../domain/delivery.js';
import type { ProductSpec } from '../../domain/spec.js';
import { protectingRule, type TemplateManifest } from '../../domain/template.js';
import { PermanentError } from '../../errors.js';
import type { GenerateResult } from '../../ports/code-generator.port.js';
import type { Workspace } from '../../ports/workspace.port.js';
import { openWorkbench } from '../app-workbench.js';
import { type StepContext, type StepResult, short } from './context.js';

/** AI_DEVELOPMENT: the generator works on the job's head (with the build errors of a repair round), then a push. */
export async function develop(ctx: StepContext): Promise<StepResult<'AI_DEVELOPMENT'>> {
  const { generator, repos, workspaces } = ctx.deps.ports;
  const { job, signal } = ctx;
  const repair = ctx.checkpoints.repair;
  const checkedOut = await ctx.checkout();
  const { manifest } = checkedOut;
  const guarded = manifest.protectedFiles ?? [];
  const digest = (workspace: Workspace, paths: readonly string[]) =>
    guarded.length && workspaces.digest ? workspaces.digest({ workspace, paths }) : undefined;
  const before = await digest(checkedOut.workspace, guarded);
  const bench = openWorkbench({
    ports: ctx.deps.ports,
    jobId: job.jobId,
    workspace: checkedOut.workspace,
    manifest,
    report: ctx.report,
    // The pipeline's own change to a protected file (a dependency added through the workbench).
    approve: async (paths) => {
      const covered = paths.filter((path) => protectingRule(guarded, path) !== undefined);
      const now = before && covered.length ? await digest(checkedOut.workspace, covered) : undefined;
      if (!before || !now) return;
      for (const path of covered) {
        if (now[path] === undefined) delete before[path];
        else before[path] = now[path];
      }
    },
  });
  const spec = ctx.spec();
  let generated: GenerateResult;
  try {
    generated = await generator.generate({
      jobId: job.jobId,
      spec,
      workspace: checkedOut.workspace,
      manifest,
      ...(repair ? { repair: { round: repair.round, buildOutput: repair.buildOutput } } : {}),
      ...(bench ? { workbench: bench.workbench } : {}),
      // The same commit in a new directory: what a fallback builds on when it gives up on the work.
      restart: async () => {
        await ctx.machine.dispose();
        const fresh = (await ctx.checkout()).workspace;
        // Approvals were for the old directory's files; the fresh one is the commit as it was.
        if (before) for (const path of Object.keys(before)) delete before[path];
        if (before) Object.assign(before, await digest(fresh, guarded));
        return fresh;
      },
      report: ctx.report,
      signal,
    });
  } finally {
    await bench?.close();
  }
  const workspace = generated.workspace ?? checkedOut.workspace;
  const after = before ? await digest(workspace, guarded) : undefined;
  if (before && after) {
    const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .filter((file) => before[file] !== after[file])
      .sort();
    if (changed.length > 0) {
      throw new PermanentError(
        `${generated.generator} changed files the "${manifest.name}" template protects: ${changed.join(', ')}`,
        { step: 'AI_DEVELOPMENT' },
      );
    }
  }
  const delivery = deliveryFor(spec, manifest, generated.features);
  const missing = delivery.features.filter((f) => f.builtBy === null).map((f) => f.feature);
  if (delivery.kind === 'landing-page-only')
    ctx.report.log(
      `Landing page only: the "${manifest.name}" template has no app model, so no key feature runs`,
    );
  else if (missing.length > 0) ctx.report.log(`Not built: ${missing.join('; ')}`, 'warn');
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
      delivery,
    },
    message: `${generated.generator} changed ${generated.filesChanged.length} files (${short(commit)})`,
  };
}

/**
 * What the commit delivers: on a template with an app model, per key feature what built it (the
 * recipes' or the spec's model, unless the generator says it built more); otherwise a landing
 * page where no feature runs.
 */
function deliveryFor(
  spec: ProductSpec,
  manifest: TemplateManifest,
  reported: FeatureOutcome[] | undefined,
): Delivery {
  if (!manifest.model) return landingPageOnly(spec.specifications?.keyFeatures ?? []);
  return { kind: 'app', features: reported ?? deriveAppModel(spec).features };
}
