import { describe, expect, it } from 'vitest';
import { defaultSettings, InfraSettingsError, resolveSettings } from './settings.js';

const fromContext =
  (context: Record<string, unknown>) =>
  (key: string): unknown =>
    context[key];

function problemsOf(context: Record<string, unknown>): readonly string[] {
  try {
    resolveSettings(fromContext(context));
  } catch (e) {
    if (e instanceof InfraSettingsError) return e.problems;
    throw e;
  }
  return [];
}

describe('resolveSettings', () => {
  it('defaults to the seed names', () => {
    const s = resolveSettings(() => undefined);
    expect(s).toMatchObject({
      tableName: 'mvp-development-jobs',
      busName: 'mvp-development',
      topicName: 'mvp-development-completion',
      jobQueueName: 'mvp-development-queue',
      eventSource: 'founderdash.web',
      eventDetailType: 'MVP Development Request',
      jobAttempts: 3,
      natGateways: 0,
    });
    expect(s.alarmTopicArn).toBeUndefined();
    expect(s).toEqual(defaultSettings());
  });

  it('reads JSON-typed context (cdk.json) and string context (-c) alike', () => {
    const a = resolveSettings(fromContext({ jobAttempts: 4, createImageRepository: false }));
    const b = resolveSettings(fromContext({ jobAttempts: '4', createImageRepository: 'false' }));
    expect(a.jobAttempts).toBe(4);
    expect(b.jobAttempts).toBe(4);
    expect(a.createImageRepository).toBe(false);
    expect(b.createImageRepository).toBe(false);
  });

  it('accepts the environment as an object or a JSON string', () => {
    expect(resolveSettings(fromContext({ environment: { TEMPLATE_REPO: 'acme/tpl' } })).environment).toEqual({
      TEMPLATE_REPO: 'acme/tpl',
    });
    expect(resolveSettings(fromContext({ environment: '{"VERCEL_TEAM_ID":"team_1"}' })).environment).toEqual({
      VERCEL_TEAM_ID: 'team_1',
    });
  });

  it('refuses credentials, reserved and stack-managed names in the plain environment, without echoing values', () => {
    const problems = problemsOf({
      environment: {
        GITHUB_TOKEN: 'ghp_secretvalue',
        MY_API_KEY: 'sk-ant-secretvalue',
        DATABASE_URL: 'postgres://u:p@h/db',
        AWS_BATCH_JOB_ID: 'x',
        DYNAMODB_TABLE: 'other',
        'bad-name': 'x',
        GITHUB_OWNER: 42,
      },
    });
    expect(problems).toHaveLength(7);
    expect(problems.join('\n')).not.toMatch(/secretvalue|postgres:/);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('"GITHUB_TOKEN" looks like a credential'),
        expect.stringContaining('"MY_API_KEY" looks like a credential'),
        expect.stringContaining('"DATABASE_URL" looks like a credential'),
        expect.stringContaining('"AWS_BATCH_JOB_ID" uses the AWS_BATCH_ prefix'),
        expect.stringContaining('"DYNAMODB_TABLE" is set by the stack itself'),
        expect.stringContaining('"bad-name" is not an environment variable name'),
        expect.stringContaining('"GITHUB_OWNER" must be a string'),
      ]),
    );
  });

  it('accepts secret names and complete ARNs, and refuses partial ARNs', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:mvp/vercel-Ab12Cd';
    expect(resolveSettings(fromContext({ vercelTokenSecret: arn })).secrets.VERCEL_TOKEN).toBe(arn);
    expect(
      resolveSettings(fromContext({ vercelTokenSecret: 'team/vercel_token' })).secrets.VERCEL_TOKEN,
    ).toBe('team/vercel_token');
    expect(
      problemsOf({ vercelTokenSecret: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:mvp/vercel' }),
    ).toEqual([
      expect.stringMatching(
        /^context "vercelTokenSecret": expected a Secrets Manager secret name or complete ARN/,
      ),
    ]);
  });

  it('checks ranges and names against the services rules', () => {
    expect(problemsOf({ jobAttempts: 0 })).toHaveLength(1);
    expect(problemsOf({ jobAttempts: 2.5 })).toHaveLength(1);
    expect(problemsOf({ targetRetryAttempts: 186 })).toHaveLength(1);
    expect(problemsOf({ targetRetryAttempts: '0' })).toHaveLength(0);
    expect(problemsOf({ targetMaxEventAgeMinutes: 1441 })).toHaveLength(1);
    expect(problemsOf({ jobTimeoutMinutes: 14 * 24 * 60 + 1 })).toHaveLength(1);
    expect(problemsOf({ busName: 'default' })).toHaveLength(1);
    expect(problemsOf({ imageRepositoryName: 'Upper/Case' })).toHaveLength(1);
    expect(problemsOf({ createImageRepository: 'yes' })).toHaveLength(1);
    expect(problemsOf({ alarmTopicArn: 'not-an-arn' })).toHaveLength(1);
    expect(problemsOf({ namePrefix: '9lives' })).toHaveLength(1);
    expect(problemsOf({ eventSource: '' })).toHaveLength(1);
  });

  it('lets overrides win over context', () => {
    const s = resolveSettings(fromContext({ topicName: 'ctx', githubTokenSecret: 'ctx/gh' }), {
      topicName: 'own',
      secrets: { GITHUB_TOKEN: 'own/gh' },
    });
    expect(s.topicName).toBe('own');
    expect(s.secrets.GITHUB_TOKEN).toBe('own/gh');
    expect(s.secrets.VERCEL_TOKEN).toBe('mvp-development/vercel-token');
  });
});
