import { tmpdir } from 'node:os';
import { createRedactor } from '@mvp-pipeline/core';
import { earlyLogFormat, environmentSecrets, loadConfig } from './config.js';
import { createPipeline } from './container.js';
import { createLogger } from './logger.js';

/** The Lambda handler of the infra stack's Batch FAILED-event rule (handler `mvp.batchFailureHandler`). */
export { batchFailureHandler } from '@mvp-pipeline/adapters-aws';
/**
 * The entry of the single-file runner (scripts/build-bundle.mjs → dist/bundle/mvp.cjs). The
 * launcher (launcher.ts, the image's runner.js) loads it and calls these.
 */
export { runCli } from './commands.js';

/**
 * A production configuration's shape: every vendor adapter selected. The values are
 * placeholders; building the composition with them contacts nothing.
 */
const PRODUCTION_SHAPE = {
  MVP_JOB_STORE: 'dynamodb',
  MVP_SPEC_SOURCE: 'postgres',
  MVP_REPO_HOST: 'github',
  MVP_CODE_GENERATOR: 'claude',
  MVP_DEPLOYER: 'vercel',
  MVP_NOTIFIER: 'sns',
  MVP_JOB_TRIGGER: 'eventbridge',
  MVP_BROWSER_CHECK: 'off',
  AWS_REGION: 'us-east-1',
  COMPLETION_TOPIC: 'arn:aws:sns:us-east-1:000000000000:warm-up',
  FOUNDERDASH_DB_URL: 'postgres://warm-up@127.0.0.1:5432/warm-up',
  GITHUB_TOKEN: 'warm-up',
  ANTHROPIC_API_KEY: 'warm-up',
  VERCEL_TOKEN: 'warm-up',
};

/**
 * Builds and closes the composition a Batch job starts with (every vendor adapter, its client
 * constructed), so that the code cache written after it (`node runner.js write-code-cache`, at
 * image build) holds the compiled code of everything a job loads before its first write.
 */
export async function warmUp(): Promise<void> {
  const config = loadConfig(PRODUCTION_SHAPE, tmpdir());
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const pipeline = await createPipeline({ config, logger: silent });
  await pipeline.close();
}

/** A warning from the launcher, in the runner's log format (MVP_LOG_FORMAT). */
export function warn(message: string): void {
  // Before any configuration: the environment's secrets are what the launcher could print.
  createLogger({
    format: earlyLogFormat(),
    level: 'warn',
    redact: createRedactor(environmentSecrets()),
  }).warn(message);
}
