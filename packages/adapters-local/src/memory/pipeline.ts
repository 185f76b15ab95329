import {
  createRedactor,
  type PipelineDeps,
  type PipelineSettings,
  type ProductSpec,
  pipelineSettings,
} from '@mvp-pipeline/core';
import { createJsonSpecSource } from '../store/json-spec-source.js';
import { createMemoryJobStore } from '../store/memory-job-store.js';
import {
  createMemoryBuilder,
  createMemoryBuildOutputs,
  createMemoryCodeGenerator,
  createMemoryDeployer,
  createMemoryNotifier,
  createMemoryRepoHost,
  createMemorySiteChecker,
  createMemoryTemplateSource,
  createMemoryTrigger,
  createMemoryWorkspaceProvider,
} from './fakes.js';
import { createManualClock } from './manual-clock.js';
import { MemoryFiles } from './memory-files.js';
import { createMemoryLogger } from './memory-logger.js';
import { createSequentialIds } from './sequential-ids.js';

/**
 * Every port as an in-memory fake, wired together over one virtual file tree and a manual
 * clock: a whole pipeline an embedder's test can run without a disk, a network or AWS.
 */
export function createFakePipeline(
  options: { specs?: ProductSpec[]; settings?: Partial<PipelineSettings> } = {},
) {
  const files = new MemoryFiles();
  const clock = createManualClock();
  const fakes = {
    files,
    clock,
    store: createMemoryJobStore({ clock: () => clock.now() }),
    specs: createJsonSpecSource(),
    templates: createMemoryTemplateSource(files),
    workspaces: createMemoryWorkspaceProvider(files),
    repos: createMemoryRepoHost(files),
    generator: createMemoryCodeGenerator(files),
    builder: createMemoryBuilder(files),
    buildOutputs: createMemoryBuildOutputs(files),
    deployer: createMemoryDeployer(files),
    siteChecker: createMemorySiteChecker(files),
    notifier: createMemoryNotifier(),
    trigger: createMemoryTrigger(),
    ids: createSequentialIds(),
    logger: createMemoryLogger(),
  };
  for (const spec of options.specs ?? []) void fakes.specs.register(spec);
  const deps: PipelineDeps = {
    ports: fakes,
    settings: pipelineSettings({ random: () => 0.5, redact: createRedactor(), ...options.settings }),
  };
  return { deps, fakes };
}
