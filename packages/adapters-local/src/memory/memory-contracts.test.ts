import {
  builderContract,
  codeGeneratorContract,
  deployerContract,
  type FilesAccess,
  jobStoreContract,
  jobTriggerContract,
  notifierContract,
  repoHostContract,
  siteCheckerContract,
  specSourceContract,
  templateSourceContract,
  workspaceProviderContract,
} from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJsonSpecSource } from '../store/json-spec-source.js';
import { createMemoryJobStore } from '../store/memory-job-store.js';
import {
  createMemoryBuilder,
  createMemoryCodeGenerator,
  createMemoryDeployer,
  createMemoryNotifier,
  createMemoryRepoHost,
  createMemorySiteChecker,
  createMemoryTemplateSource,
  createMemoryTrigger,
  createMemoryWorkspaceProvider,
  MEMORY_TEMPLATE_MANIFEST,
} from './fakes.js';
import { MemoryFiles } from './memory-files.js';

const t = { describe, it, expect, beforeEach, afterEach };

function memoryFilesAccess(files: MemoryFiles): FilesAccess {
  let n = 0;
  return {
    newWorkspace: async (jobId = 'job') => {
      const dir = `/memory/test/${jobId}-${++n}`;
      files.mkdir(dir);
      return { jobId, dir };
    },
    write: async (ws, path, content) => files.write(`${ws.dir}/${path}`, content),
    read: async (ws, path) => files.read(`${ws.dir}/${path}`),
    remove: async (ws, path) => files.remove(`${ws.dir}/${path}`),
    list: async (ws) => files.list(ws.dir),
  };
}

jobStoreContract(t, 'memory', () => ({ store: createMemoryJobStore() }));

specSourceContract(t, 'memory (JSON specs)', () => {
  const source = createJsonSpecSource();
  return { source, seed: async (spec) => void (await source.register(spec)) };
});

workspaceProviderContract(t, 'memory', () => {
  const files = new MemoryFiles();
  return {
    provider: createMemoryWorkspaceProvider(files),
    files: memoryFilesAccess(files),
    exists: async (d) => files.hasDir(d),
  };
});

templateSourceContract(t, 'memory', () => {
  const files = new MemoryFiles();
  return { source: createMemoryTemplateSource(files), files: memoryFilesAccess(files), template: 'landing' };
});

repoHostContract(t, 'memory', () => {
  const files = new MemoryFiles();
  const host = createMemoryRepoHost(files);
  return { host, files: memoryFilesAccess(files), repoCount: async () => host.repos.size };
});

codeGeneratorContract(t, 'memory', () => {
  const files = new MemoryFiles();
  const access = memoryFilesAccess(files);
  return {
    generator: createMemoryCodeGenerator(files),
    files: access,
    prepare: async () => ({ workspace: await access.newWorkspace(), manifest: MEMORY_TEMPLATE_MANIFEST }),
  };
});

builderContract(t, 'memory', () => {
  const files = new MemoryFiles();
  const access = memoryFilesAccess(files);
  return {
    builder: createMemoryBuilder(files),
    files: access,
    buildable: async () => {
      const workspace = await access.newWorkspace();
      await access.write(workspace, 'src/index.html', '<h1>x</h1>');
      return { workspace, manifest: MEMORY_TEMPLATE_MANIFEST };
    },
    breakBuild: async (workspace) => access.remove(workspace, 'src/index.html'),
    outputHas: async (dir, path) => files.read(`${dir}/${path}`) !== undefined,
  };
});

deployerContract(t, 'memory', () => {
  const files = new MemoryFiles();
  const deployer = createMemoryDeployer(files);
  let n = 0;
  return {
    deployer,
    site: async (pages) => {
      const dir = `/memory/build/${++n}`;
      for (const [path, content] of Object.entries(pages)) files.write(`${dir}/${path}`, content);
      return dir;
    },
    readPage: async (url) => files.read(url.replace('memory://', '')),
    deploymentCount: async () => deployer.deploymentCount(),
  };
});

siteCheckerContract(t, 'memory', () => {
  const files = new MemoryFiles();
  let n = 0;
  return {
    checker: createMemorySiteChecker(files),
    serve: async (html) => {
      const path = `/memory/pages/${++n}/index.html`;
      if (html !== undefined) files.write(path, html);
      return `memory://${path}`;
    },
  };
});

notifierContract(
  t,
  'memory',
  () => {
    const notifier = createMemoryNotifier();
    return { notifier, delivered: async () => notifier.sent };
  },
  { deduplicates: true },
);

jobTriggerContract(t, 'memory', () => {
  const trigger = createMemoryTrigger();
  return { trigger, received: async () => trigger.requests };
});

specSourceContract(t, 'JSON specs kept in a directory', async () => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'mvp-specs-'));
  const writer = createJsonSpecSource({ dir });
  // A second instance, as in another process, reads what the first registered.
  return {
    source: createJsonSpecSource({ dir }),
    seed: async (spec) => void (await writer.register(spec)),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});
