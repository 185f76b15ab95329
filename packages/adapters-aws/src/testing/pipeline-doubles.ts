import { createHash } from 'node:crypto';
import {
  createRedactor,
  type JobNotification,
  type JobRequest,
  type JobStore,
  PermanentError,
  type PipelineDeps,
  type PipelinePorts,
  pipelineSettings,
  type RepoRef,
  type TemplateManifest,
} from '@mvp-pipeline/core';
import { sampleSpec } from '@mvp-pipeline/core/testing';

/**
 * Minimal stand-ins for every port but the store: they do no I/O and answer with values shaped
 * like production ones (GitHub repository, Vercel deployment, 40-hex commits), so a job run
 * through them writes a record of realistic size.
 */
export function pipelineWith(store: JobStore, options: { failDeploy?: boolean } = {}) {
  let now = Date.UTC(2026, 2, 4, 10, 0, 0);
  const notifications: JobNotification[] = [];
  const triggered: JobRequest[] = [];
  const manifest: TemplateManifest = {
    name: 'landing',
    outputDir: 'dist',
    commands: { build: ['node', 'build.mjs'] },
  };
  const sha = (text: string) => createHash('sha1').update(text).digest('hex');
  const repo = (name: string): RepoRef => ({
    name,
    fullName: `founderdash/${name}`,
    url: `https://github.com/founderdash/${name}`,
    cloneUrl: `https://github.com/founderdash/${name}.git`,
    branch: 'main',
  });
  let head = '';
  const ports: PipelinePorts = {
    store,
    specs: {
      specificationVersion: 'v1',
      getSpec: async ({ userId, productId }) => ({ spec: sampleSpec({ userId, productId }) }),
    },
    templates: {
      specificationVersion: 'v1',
      fetchTemplate: async () => ({ manifest, ref: sha('landing template') }),
      readManifest: async () => ({ manifest }),
    },
    workspaces: {
      specificationVersion: 'v1',
      create: async ({ jobId }) => ({ workspace: { jobId, dir: `/tmp/mvp-work/${jobId}` } }),
      dispose: async () => undefined,
    },
    repos: {
      specificationVersion: 'v1',
      ensureRepo: async ({ name }) => ({ repo: repo(name), created: true, provider: 'github' }),
      push: async ({ message }) => {
        head = sha(`${head}${message}`);
        return { commit: head, pushed: true };
      },
      checkout: async ({ commit }) => ({ commit: commit ?? head }),
    },
    generator: {
      specificationVersion: 'v1',
      generate: async ({ spec, report }) => {
        report.log(`Writing the ${spec.product.name} landing page from the spec`);
        report.usage({ inputTokens: 18_000, outputTokens: 6_500, costUsd: 0.1515 });
        return {
          generator: 'claude:claude-sonnet-4-5',
          summary: `Build ${spec.product.name}: event page with RSVP, waitlist, check-in`,
          filesChanged: ['src/index.html', 'src/styles.css', 'src/app.js'],
        };
      },
    },
    builder: {
      specificationVersion: 'v1',
      build: async ({ workspace, report }) => {
        report.log('npm run build: 14 files, 42 kB');
        return { ok: true, outputDir: `${workspace.dir}/dist`, checks: ['build', 'test', 'index.html'] };
      },
    },
    deployer: {
      specificationVersion: 'v1',
      deploy: async ({ projectName, checkpoint }) => {
        if (options.failDeploy)
          throw new PermanentError('Vercel refused the deployment: project limit reached');
        await checkpoint.save({ deploymentId: 'dpl_4GhJ6kL8mN0pQ2rS4tU6' });
        return {
          provider: 'vercel',
          deploymentId: 'dpl_4GhJ6kL8mN0pQ2rS4tU6',
          stagingUrl: `https://${projectName}-git-main-founderdash.vercel.app`,
          productionUrl: `https://${projectName}.vercel.app`,
          resources: {
            vercel: { projectId: 'prj_8fKx2LmQ9rT3vW5yZ1aB', deploymentId: 'dpl_4GhJ6kL8mN0pQ2rS4tU6' },
          },
        };
      },
    },
    siteChecker: {
      specificationVersion: 'v1',
      check: async () => ({ ok: true, problems: [], checker: 'http' }),
    },
    notifier: {
      specificationVersion: 'v1',
      notify: async ({ notification }) => void notifications.push(notification),
    },
    trigger: {
      specificationVersion: 'v1',
      trigger: async ({ request }) => {
        triggered.push(request);
        return { eventId: `evt-${triggered.length}` };
      },
    },
    clock: {
      // Each reading moves time a second on, so timestamps differ as they would in a real run.
      now: () => {
        now += 1000;
        return new Date(now);
      },
      sleep: async (ms) => {
        now += ms;
      },
    },
    ids: { jobId: () => `job_${now.toString(36)}`, runnerId: () => `runner_${now.toString(36)}` },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  };
  const deps: PipelineDeps = {
    ports,
    settings: pipelineSettings({ random: () => 0.5, redact: createRedactor() }),
  };
  return { deps, notifications, triggered };
}
