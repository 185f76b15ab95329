import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { MvpPipelineStack } from './stack.js';

/** Where `node infra/dist/app.js` writes the cloud assembly when CDK_OUTDIR is not set: infra/cdk.out. */
export const DEFAULT_OUTDIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'cdk.out');

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  /** Cloud assembly directory; default CDK_OUTDIR (set by the CDK CLI), else {@link DEFAULT_OUTDIR}. */
  readonly outdir?: string;
  /** Context values, on top of CDK_CONTEXT_JSON (which `new App()` reads by itself). */
  readonly context?: Record<string, unknown>;
  /** Environment to read CDK_OUTDIR / CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION from; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Builds the CDK app with one {@link MvpPipelineStack}. The stack's id is `MvpPipelineStack`, its
 * CloudFormation name the `stackName` context value (same default). Synthesis needs no network and no
 * AWS account: without CDK_DEFAULT_ACCOUNT/REGION the stack is environment-agnostic.
 */
export function createApp(options: CreateAppOptions = {}): { app: App; stack: MvpPipelineStack } {
  const env = options.env ?? process.env;
  const app = new App({
    outdir: options.outdir ?? env['CDK_OUTDIR'] ?? DEFAULT_OUTDIR,
    ...(options.context === undefined ? {} : { context: options.context }),
  });
  const stackName = app.node.tryGetContext('stackName');
  const account = env['CDK_DEFAULT_ACCOUNT'];
  const region = env['CDK_DEFAULT_REGION'];
  const stack = new MvpPipelineStack(app, 'MvpPipelineStack', {
    stackName: typeof stackName === 'string' && stackName !== '' ? stackName : 'MvpPipelineStack',
    description:
      'mvp-pipeline: EventBridge → AWS Batch (Fargate) runner, DynamoDB job table, SNS completion topic',
    ...(account !== undefined || region !== undefined
      ? {
          env: { ...(account === undefined ? {} : { account }), ...(region === undefined ? {} : { region }) },
        }
      : {}),
  });
  return { app, stack };
}
