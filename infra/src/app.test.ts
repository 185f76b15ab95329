import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApp } from './create-app.js';

describe('createApp', () => {
  const dirs: string[] = [];
  // A stand-in for the runner's built bundle (the Batch FAILED-event Lambda's code asset).
  const bundleDir = mkdtempSync(join(tmpdir(), 'mvp-infra-bundle-'));
  writeFileSync(join(bundleDir, 'mvp.cjs'), 'exports.batchFailureHandler = async () => ({});\n');
  afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('synthesises the cloud assembly offline, environment-agnostic by default', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'mvp-infra-'));
    dirs.push(outdir);
    const { app, stack } = createApp({ outdir, env: {}, context: { runnerBundleDir: bundleDir } });
    const assembly = app.synth();
    expect(assembly.directory).toBe(outdir);
    expect(stack.stackName).toBe('MvpPipelineStack');
    expect(existsSync(join(outdir, 'manifest.json'))).toBe(true);
    const template = JSON.parse(readFileSync(join(outdir, 'MvpPipelineStack.template.json'), 'utf8'));
    const types = new Set(Object.values(template.Resources).map((r) => (r as { Type: string }).Type));
    for (const type of [
      'AWS::Events::EventBus',
      'AWS::Events::Rule',
      'AWS::SQS::Queue',
      'AWS::Batch::JobQueue',
      'AWS::Batch::JobDefinition',
      'AWS::DynamoDB::Table',
      'AWS::SNS::Topic',
    ]) {
      expect(types).toContain(type);
    }
    expect(assembly.getStackByName('MvpPipelineStack').environment).toMatchObject({
      account: 'unknown-account',
      region: 'unknown-region',
    });
  });

  it('takes the stack name from context and the environment from CDK_DEFAULT_*', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'mvp-infra-'));
    dirs.push(outdir);
    const { app, stack } = createApp({
      outdir,
      context: { stackName: 'MvpStaging', tableName: 'staging-jobs', runnerBundleDir: bundleDir },
      env: { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'eu-west-1' },
    });
    const assembly = app.synth();
    expect(stack.stackName).toBe('MvpStaging');
    expect(stack.account).toBe('123456789012');
    expect(stack.region).toBe('eu-west-1');
    expect(stack.settings.tableName).toBe('staging-jobs');
    const artifact = assembly.getStackByName('MvpStaging');
    expect(existsSync(join(outdir, artifact.templateFile))).toBe(true);
    // Nothing to look up: the zones come from Fn::GetAZs, so synthesis needs no AWS account.
    expect(assembly.manifest.missing ?? []).toEqual([]);
    expect(JSON.stringify(artifact.template)).toContain('"Fn::GetAZs"');
  });
});
