import type { FeatureOutcome } from '../../domain/app-model.js';
import { deriveAppModel } from '../../domain/app-recipes.js';
import { type Delivery, landingPageOnly } from '../../domain/delivery.js';
import type { ProductSpec } from '../../domain/spec.js';
import type { TemplateManifest } from '../../domain/template.js';
import { PermanentError } from '../../errors.js';
import { type StepContext, type StepResult, short } from './context.js';

/** AI_DEVELOPMENT: the generator works on the job's head (with the build errors of a repair round), then a push. */
export async function develop(ctx: StepContext): Promise<StepResult<'AI_DEVELOPMENT'>> {
  const { generator, repos, workspaces } = ctx.deps.ports;
  const { job, signal } = ctx;
  const repair = ctx.checkpoints.repair;
  const { workspace, manifest } = await ctx.checkout();
  const guarded = manifest.protectedFiles ?? [];
  const before =
    guarded.length && workspaces.digest ? await workspaces.digest({ workspace, paths: guarded }) : undefined;
  const spec = ctx.spec();
  const generated = await generator.generate({
    jobId: job.jobId,
    spec,
    workspace,
    manifest,
    ...(repair ? { repair: { round: repair.round, buildOutput: repair.buildOutput } } : {}),
    report: ctx.report,
    signal,
  });
  if (before && workspaces.digest) {
    const after = await workspaces.digest({ workspace, paths: guarded });
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
