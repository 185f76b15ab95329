import type { Job, RepoRef } from '../../domain/job.js';
import { slugify } from '../../domain/naming.js';
import { type StepContext, type StepResult, short } from './context.js';

/** CREATING_REPO: the template into a fresh workspace, the job's repository found or created, the first push. */
export async function createRepo(ctx: StepContext): Promise<StepResult<'CREATING_REPO'>> {
  const { repos, templates } = ctx.deps.ports;
  const { job, signal } = ctx;
  const spec = ctx.spec();
  const workspace = await ctx.machine.fresh(signal);
  const { ref } = await templates.fetchTemplate({ template: job.template, workspace, signal });
  const { repo, created, provider } = await repos.ensureRepo({
    jobId: job.jobId,
    name: `${slugify(spec.product.name)}-mvp`,
    description: `${spec.product.name}: MVP built by mvp-pipeline job ${job.jobId}`,
    signal,
  });
  await ctx.savePartial({ repo }, (latest) => repoFields(latest, repo, provider));
  ctx.report.log(`${created ? 'Created' : 'Found'} repository ${repo.fullName}`);
  const { commit } = await repos.push({
    repo,
    workspace,
    message: `Start ${spec.product.name} from the ${job.template} template`,
    date: new Date(job.createdAt),
    signal,
  });
  ctx.machine.movedTo(commit);
  return {
    outputs: { repo, commit, template: `${job.template}@${ref}` },
    message: `Pushed the template as ${short(commit)}`,
  };
}

function repoFields(job: Job, repo: RepoRef, provider: string): Partial<Job> {
  return {
    resources: {
      ...job.resources,
      repository: { provider, name: repo.fullName, url: repo.url },
      githubRepo: { name: repo.fullName, url: repo.url, branch: repo.branch },
    },
    urls: { ...job.urls, codeRepository: repo.url },
  };
}
