import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@mvp-pipeline/core';
import { loadConfig } from '../config.js';
import { type CreatePipelineOptions, createPipeline, type Pipeline } from '../container.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A pipeline on the embedded defaults in a fresh data folder, for tests; `dispose` removes it. */
export async function testPipeline(
  options: {
    env?: Record<string, string>;
    configure?: CreatePipelineOptions['configure'];
    siteBaseUrl?: string;
  } = {},
): Promise<{ pipeline: Pipeline; dataDir: string; dispose(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mvp-serve-'));
  const config = loadConfig(
    { MVP_DATA_DIR: dataDir, MVP_NOTIFIER: 'none', MVP_TEMPLATE: 'landing', ...options.env },
    dataDir,
  );
  const pipeline = await createPipeline({
    config: options.siteBaseUrl ? { ...config, siteBaseUrl: options.siteBaseUrl } : config,
    logger: quiet,
    settings: { flushIntervalMs: 50 },
    ...(options.configure ? { configure: options.configure } : {}),
  });
  return {
    pipeline,
    dataDir,
    async dispose() {
      await pipeline.close();
      await rm(dataDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}
