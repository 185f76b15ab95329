import { describe, expect, it } from 'vitest';
import { ConfigErrors, loadConfig } from './config.js';
import { createPipeline } from './container.js';

const errorsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env, '/srv');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigErrors);
    return (error as ConfigErrors).message;
  }
  throw new Error('expected a configuration error');
};

describe('loadConfig', () => {
  it('runs the embedded defaults when nothing is set', () => {
    const config = loadConfig({}, '/srv');
    expect(config).toMatchObject({
      dataDir: '/srv/.mvp',
      jobStore: 'file',
      specSource: 'json',
      repoHost: 'local',
      codeGenerator: 'template',
      deployer: 'static',
      notifiers: ['jsonl'],
      jobTrigger: 'in-process',
      template: 'app',
      leaseTtlMs: 60_000,
    });
  });

  it('asks for what a selected vendor needs, one line per variable', () => {
    const message = errorsOf({
      MVP_JOB_STORE: 'dynamodb',
      MVP_REPO_HOST: 'github',
      MVP_CODE_GENERATOR: 'claude',
      MVP_DEPLOYER: 'vercel',
      MVP_SPEC_SOURCE: 'postgres',
      MVP_NOTIFIER: 'sns,webhook',
    });
    for (const variable of [
      'AWS_REGION',
      'GITHUB_TOKEN',
      'ANTHROPIC_API_KEY',
      'VERCEL_TOKEN',
      'FOUNDERDASH_DB_URL',
      'COMPLETION_TOPIC',
      'MVP_WEBHOOK_URL',
    ]) {
      expect(message).toMatch(new RegExp(`^  ${variable}: is required when`, 'm'));
    }
    expect(message.split('\n').filter((l) => l.includes('AWS_REGION'))).toHaveLength(1);
  });

  it('names malformed values without echoing them', () => {
    const message = errorsOf({
      MVP_NOTIFIER: 'carrier-pigeon',
      MVP_LEASE_TTL_MS: '-5',
      MVP_WEBHOOK_URL: 'ftp://user:hunter2@host',
      MVP_TEMPLATE: '../etc',
      MVP_AI_MAX_COST_USD: 'lots',
    });
    expect(message).toMatch(/MVP_NOTIFIER: must be a comma-separated list/);
    expect(message).toMatch(/MVP_LEASE_TTL_MS: must be a whole number from 1000/);
    expect(message).toMatch(/MVP_WEBHOOK_URL: must be an http\(s\) URL/);
    expect(message).toMatch(/MVP_TEMPLATE: must be a template name/);
    expect(message).toMatch(/MVP_AI_MAX_COST_USD: must be a positive number/);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('carrier-pigeon');
  });
});

describe('Claude settings', () => {
  it('reads MVP_AI_PRICES, MVP_AI_THINKING and MVP_AI_EFFORT', () => {
    const config = loadConfig(
      {
        ANTHROPIC_MODEL: 'claude-future-9',
        MVP_AI_PRICES: '{"input":3,"output":15,"cacheWrite":3.75,"cacheRead":0.3}',
        MVP_AI_THINKING: '8000',
      },
      '/srv',
    );
    expect(config.anthropic).toMatchObject({
      model: 'claude-future-9',
      prices: { inputPerMTok: 3, outputPerMTok: 15, cacheWritePerMTok: 3.75, cacheReadPerMTok: 0.3 },
      thinking: 8_000,
    });
    expect(loadConfig({}, '/srv').anthropic).toMatchObject({ prices: undefined, thinking: undefined });
    expect(
      loadConfig({ MVP_AI_THINKING: 'adaptive', MVP_AI_EFFORT: 'medium' }, '/srv').anthropic,
    ).toMatchObject({
      thinking: 'adaptive',
      effort: 'medium',
    });
    expect(loadConfig({ MVP_AI_THINKING: 'off' }, '/srv').anthropic.thinking).toBeUndefined();
  });

  it('names a malformed MVP_AI_PRICES or thinking budget', () => {
    for (const prices of [
      '3',
      '{"input":3}',
      '{"input":3,"output":15,"cacheWrite":3.75,"cacheRead":-1}',
      '{"input":3,"output":15,"cacheWrite":3.75,"cacheRead":0.3,"extra":1}',
      '{nope',
    ]) {
      expect(errorsOf({ MVP_AI_PRICES: prices }), prices).toMatch(
        /MVP_AI_PRICES: must be JSON of USD per million tokens/,
      );
    }
    for (const thinking of ['500', 'lots', 'enabled'])
      expect(errorsOf({ MVP_AI_THINKING: thinking })).toMatch(
        /MVP_AI_THINKING: must be off, adaptive, or a manual/,
      );
    expect(errorsOf({ MVP_AI_EFFORT: 'extreme' })).toMatch(/MVP_AI_EFFORT/);
  });

  it('fails at startup for a model with neither built-in nor configured prices, and runs it with MVP_AI_PRICES', async () => {
    const env = {
      MVP_JOB_STORE: 'memory',
      MVP_CODE_GENERATOR: 'claude',
      ANTHROPIC_API_KEY: 'sk-ant-test',
      ANTHROPIC_MODEL: 'claude-future-9',
    };
    await expect(createPipeline({ config: loadConfig(env, '/tmp/mvp-config-test') })).rejects.toThrow(
      /ANTHROPIC_MODEL: .*claude-future-9.*MVP_AI_PRICES/,
    );
    const pipeline = await createPipeline({
      config: loadConfig(
        { ...env, MVP_AI_PRICES: '{"input":3,"output":15,"cacheWrite":3.75,"cacheRead":0.3}' },
        '/tmp/mvp-config-test',
      ),
    });
    expect(pipeline.deps.ports.generator).toBeDefined();
    await pipeline.close();
  });
});

describe('createPipeline', () => {
  it('builds every port from the configuration and lets an embedder rebind one', async () => {
    const { TOKENS } = await import('@mvp-pipeline/core');
    const mine = { specificationVersion: 'v1' as const, notify: async () => undefined };
    const pipeline = await createPipeline({
      config: loadConfig({ MVP_JOB_STORE: 'memory' }, '/tmp/mvp-config-test'),
      configure: (container) => container.rebind(TOKENS.Notifier).toConstantValue(mine),
    });
    expect(pipeline.deps.ports.notifier).toBe(mine);
    for (const port of Object.values(pipeline.deps.ports)) expect(port).toBeDefined();
    expect(pipeline.deps.settings.leaseTtlMs).toBe(60_000);
    await pipeline.close();
  });
});
