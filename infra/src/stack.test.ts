import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, aws_iam as iam } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNNER_EXIT_CODES } from './exit-codes.js';
import { attemptTimeoutMinutes, InfraSettingsError, STEP_BUDGET_MINUTES } from './settings.js';
import { MvpPipelineStack } from './stack.js';

type Resource = { Type: string; Properties: Record<string, unknown> };

/** A stand-in for the runner's built bundle folder (the FAILED-event Lambda's code asset). */
const bundleDir = mkdtempSync(join(tmpdir(), 'mvp-infra-bundle-'));
writeFileSync(join(bundleDir, 'mvp.cjs'), 'exports.batchFailureHandler = async () => ({});\n');
afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));

/** Synthesises one stack with the given context (what `-c key=value` or cdk.json would give). */
function synth(context: Record<string, unknown> = {}): { stack: MvpPipelineStack; template: Template } {
  const app = new App({ context: { runnerBundleDir: bundleDir, ...context } });
  const stack = new MvpPipelineStack(app, 'TestStack');
  return { stack, template: Template.fromStack(stack) };
}

/** The job-request rule (on the custom bus; the Batch FAILED rule is on the default bus). */
const JOB_REQUEST_RULE = { EventBusName: Match.anyValue() };
/** The jobs table (the runner table is `<name>-runner`). */
const JOBS_TABLE = { TableName: 'mvp-development-jobs' };

function only(template: Template, type: string, props: Record<string, unknown> = {}): [string, Resource] {
  const found = Object.entries(template.findResources(type, { Properties: props }));
  expect(found, `exactly one ${type}`).toHaveLength(1);
  return found[0] as [string, Resource];
}

function logicalId(template: Template, type: string, props: Record<string, unknown>): string {
  return only(template, type, props)[0];
}

/** All policy statements attached (inline policies) to the role with this logical id. */
function statementsOfRole(template: Template, roleId: string): Record<string, unknown>[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) },
  });
  return Object.values(policies)
    .flatMap((p) => (p as Resource).Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] })
    .flatMap((doc) => doc.Statement);
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

/** Batch's evaluateOnExit matching: the first rule whose set conditions all match wins; none → RETRY. */
function batchDecision(
  rules: { Action: string; OnExitCode?: string; OnReason?: string; OnStatusReason?: string }[],
  exit: { exitCode?: number; reason?: string; statusReason?: string },
): string {
  const glob = (pattern: string | undefined, value: string | undefined) => {
    if (pattern === undefined) return true;
    if (value === undefined) return false;
    return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
  };
  for (const rule of rules) {
    if (
      glob(rule.OnExitCode, exit.exitCode === undefined ? undefined : String(exit.exitCode)) &&
      glob(rule.OnReason, exit.reason) &&
      glob(rule.OnStatusReason, exit.statusReason)
    ) {
      return rule.Action;
    }
  }
  return 'RETRY';
}

describe('MvpPipelineStack with default settings', () => {
  let stack: MvpPipelineStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synth());
  });

  describe('EventBridge', () => {
    it('creates the mvp-development bus', () => {
      template.resourceCountIs('AWS::Events::EventBus', 1);
      template.hasResourceProperties('AWS::Events::EventBus', { Name: 'mvp-development' });
    });

    it('matches Source founderdash.web / DetailType MVP Development Request with a jobId, on that bus', () => {
      const busId = logicalId(template, 'AWS::Events::EventBus', { Name: 'mvp-development' });
      const [, rule] = only(template, 'AWS::Events::Rule', JOB_REQUEST_RULE);
      expect(rule.Properties['EventBusName']).toEqual({ Ref: busId });
      expect(rule.Properties['EventPattern']).toEqual({
        source: ['founderdash.web'],
        'detail-type': ['MVP Development Request'],
        detail: { jobId: [{ exists: true }] },
      });
      expect(rule.Properties['State']).toBe('ENABLED');
    });

    it('targets the Batch job queue and passes only the job id as the jobId job parameter', () => {
      const queueId = logicalId(template, 'AWS::Batch::JobQueue', {});
      const jobDefId = logicalId(template, 'AWS::Batch::JobDefinition', {});
      const [, rule] = only(template, 'AWS::Events::Rule', JOB_REQUEST_RULE);
      const targets = rule.Properties['Targets'] as Record<string, unknown>[];
      expect(targets).toHaveLength(1);
      const target = targets[0]!;
      expect(target['Arn']).toEqual({ 'Fn::GetAtt': [queueId, 'JobQueueArn'] });
      expect(target['InputTransformer']).toEqual({
        InputPathsMap: { 'detail-jobId': '$.detail.jobId' },
        InputTemplate: '{"Parameters":{"jobId":<detail-jobId>}}',
      });
      expect(target['Input']).toBeUndefined();
      expect(target['InputPath']).toBeUndefined();
      expect(target['BatchParameters']).toEqual({
        JobDefinition: { Ref: jobDefId },
        JobName: 'mvp-development-job',
      });
    });

    it('sets no RetryStrategy on the target, which would override the job definition rules', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        Targets: [Match.objectLike({ BatchParameters: Match.objectLike({ RetryStrategy: Match.absent() }) })],
      });
      const [, rule] = only(template, 'AWS::Events::Rule', JOB_REQUEST_RULE);
      const target = (rule.Properties['Targets'] as Record<string, unknown>[])[0]!;
      expect(Object.keys(target['BatchParameters'] as object)).not.toContain('RetryStrategy');
      expect(Object.keys(target['BatchParameters'] as object)).not.toContain('ArrayProperties');
    });

    it('retries delivery with an explicit retry policy and dead-letters to the SQS queue', () => {
      const dlqId = logicalId(template, 'AWS::SQS::Queue', {});
      template.hasResourceProperties('AWS::Events::Rule', {
        Targets: [
          Match.objectLike({
            RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 7200 },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
          }),
        ],
      });
    });

    it('gives the target a role that may only submit this job definition to this queue', () => {
      const [, rule] = only(template, 'AWS::Events::Rule', JOB_REQUEST_RULE);
      const roleArn = (rule.Properties['Targets'] as Record<string, unknown>[])[0]!['RoleArn'] as {
        'Fn::GetAtt': [string, string];
      };
      const roleId = roleArn['Fn::GetAtt'][0];
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'events.amazonaws.com' } })],
        },
      });
      const queueId = logicalId(template, 'AWS::Batch::JobQueue', {});
      const jobDefId = logicalId(template, 'AWS::Batch::JobDefinition', {});
      expect(statementsOfRole(template, roleId)).toEqual([
        {
          Action: 'batch:SubmitJob',
          Effect: 'Allow',
          Resource: [{ Ref: jobDefId }, { 'Fn::GetAtt': [queueId, 'JobQueueArn'] }],
        },
      ]);
    });
  });

  describe('dead-letter queue', () => {
    it('is a standard, encrypted queue that keeps messages 14 days', () => {
      const [, queue] = only(template, 'AWS::SQS::Queue');
      expect(queue.Properties).toMatchObject({
        QueueName: 'mvp-development-trigger-dlq',
        MessageRetentionPeriod: 14 * 24 * 3600,
        SqsManagedSseEnabled: true,
      });
      expect(queue.Properties['FifoQueue']).toBeUndefined();
    });

    it('lets only EventBridge, for this rule, send to it, and refuses non-TLS access', () => {
      const dlqId = logicalId(template, 'AWS::SQS::Queue', {});
      const ruleId = logicalId(template, 'AWS::Events::Rule', JOB_REQUEST_RULE);
      const [, policy] = only(template, 'AWS::SQS::QueuePolicy');
      expect(policy.Properties['Queues']).toEqual([{ Ref: dlqId }]);
      const statements = (policy.Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] })
        .Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Action: 'sqs:SendMessage',
          Principal: { Service: 'events.amazonaws.com' },
          Resource: { 'Fn::GetAtt': [dlqId, 'Arn'] },
          Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
        }),
      );
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
      const allows = statements.filter((s) => s['Effect'] === 'Allow');
      // This rule's, and the Batch FAILED rule's (its Lambda target shares the DLQ).
      expect(allows).toHaveLength(2);
      const failureRuleId = logicalId(template, 'AWS::Events::Rule', {
        Name: 'mvp-development-batch-job-failed',
      });
      expect(allows.map((a) => (a['Condition'] as { ArnEquals: Record<string, unknown> }).ArnEquals)).toEqual(
        [
          { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } },
          { 'aws:SourceArn': { 'Fn::GetAtt': [failureRuleId, 'Arn'] } },
        ],
      );
    });
  });

  describe('Batch', () => {
    it('has a Fargate Spot and an on-demand Fargate compute environment in the VPC', () => {
      template.resourceCountIs('AWS::Batch::ComputeEnvironment', 2);
      for (const [type, name] of [
        ['FARGATE_SPOT', 'mvp-development-fargate-spot'],
        ['FARGATE', 'mvp-development-fargate'],
      ] as const) {
        template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
          Type: 'managed',
          State: 'ENABLED',
          ComputeEnvironmentName: name,
          ComputeResources: Match.objectLike({
            Type: type,
            MaxvCpus: 16,
            Subnets: Match.anyValue(),
            SecurityGroupIds: Match.anyValue(),
          }),
        });
      }
    });

    it('orders Spot first and on-demand as the fallback in the job queue', () => {
      const spotId = logicalId(template, 'AWS::Batch::ComputeEnvironment', {
        ComputeResources: Match.objectLike({ Type: 'FARGATE_SPOT' }),
      });
      const onDemandId = logicalId(template, 'AWS::Batch::ComputeEnvironment', {
        ComputeResources: Match.objectLike({ Type: 'FARGATE' }),
      });
      const [, queue] = only(template, 'AWS::Batch::JobQueue');
      expect(queue.Properties['JobQueueName']).toBe('mvp-development-queue');
      expect(queue.Properties['State']).toBe('ENABLED');
      expect(queue.Properties['ComputeEnvironmentOrder']).toEqual([
        { ComputeEnvironment: { 'Fn::GetAtt': [spotId, 'ComputeEnvironmentArn'] }, Order: 1 },
        { ComputeEnvironment: { 'Fn::GetAtt': [onDemandId, 'ComputeEnvironmentArn'] }, Order: 2 },
      ]);
    });

    it('runs the jobs in a plain VPC with public subnets, a public IP and an outbound-only security group', () => {
      template.resourceCountIs('AWS::EC2::VPC', 1);
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
      const [, sg] = only(template, 'AWS::EC2::SecurityGroup');
      expect(sg.Properties['SecurityGroupIngress']).toBeUndefined();
      expect(sg.Properties['SecurityGroupEgress']).toEqual([
        expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: '-1' }),
      ]);
      template.hasResourceProperties('AWS::Batch::JobDefinition', {
        ContainerProperties: Match.objectLike({ NetworkConfiguration: { AssignPublicIp: 'ENABLED' } }),
      });
    });

    it('defines a Fargate job with 2 vCPU, 4096 MiB and the runner command taking Ref::jobId', () => {
      const [, jobDef] = only(template, 'AWS::Batch::JobDefinition');
      expect(jobDef.Properties['JobDefinitionName']).toBe('mvp-development-runner');
      expect(jobDef.Properties['Type']).toBe('container');
      expect(jobDef.Properties['PlatformCapabilities']).toEqual(['FARGATE']);
      const container = jobDef.Properties['ContainerProperties'] as Record<string, unknown>;
      expect(container['ResourceRequirements']).toEqual(
        expect.arrayContaining([
          { Type: 'VCPU', Value: '2' },
          { Type: 'MEMORY', Value: '4096' },
        ]),
      );
      expect(container['ResourceRequirements']).toHaveLength(2);
      expect(container['Command']).toEqual(['node', 'runner.js', 'run-batch-job', 'Ref::jobId']);
    });

    it('takes the image from the ECR repository at the configured tag', () => {
      const repoId = logicalId(template, 'AWS::ECR::Repository', { RepositoryName: 'mvp-pipeline-runner' });
      template.hasResourceProperties('AWS::ECR::Repository', {
        ImageScanningConfiguration: { ScanOnPush: true },
        LifecyclePolicy: Match.objectLike({
          LifecyclePolicyText: Match.stringLikeRegexp('"countNumber":20'),
        }),
      });
      const [, jobDef] = only(template, 'AWS::Batch::JobDefinition');
      const image = JSON.stringify(
        (jobDef.Properties['ContainerProperties'] as Record<string, unknown>)['Image'],
      );
      expect(image).toContain('.dkr.ecr.');
      expect(image).toContain(`{"Ref":"${repoId}"}`);
      expect(image).toContain('":v0.1.0"');
    });

    it('times an attempt out and retries by the evaluateOnExit rules: platform failures and exit 75 only', () => {
      const [, jobDef] = only(template, 'AWS::Batch::JobDefinition');
      // Derived from the step budgets: 1 + 5 + (45 + 15) × 3 + 30 + 5 minutes.
      expect(jobDef.Properties['Timeout']).toEqual({ AttemptDurationSeconds: 221 * 60 });
      expect(jobDef.Properties['RetryStrategy']).toEqual({
        Attempts: 3,
        EvaluateOnExit: [
          { Action: 'RETRY', OnStatusReason: 'Your Spot Task was interrupted*' },
          { Action: 'RETRY', OnStatusReason: 'Task failed to start*' },
          { Action: 'RETRY', OnReason: 'CannotPullContainerError*' },
          { Action: 'RETRY', OnExitCode: '75' },
          { Action: 'EXIT', OnReason: '*' },
        ],
      });
    });

    it('retries and exits on the documented runner exit codes and platform failures', () => {
      const [, jobDef] = only(template, 'AWS::Batch::JobDefinition');
      const rules = (jobDef.Properties['RetryStrategy'] as { EvaluateOnExit: never[] }).EvaluateOnExit;
      const exited = 'Essential container in task exited';
      expect(batchDecision(rules, { exitCode: RUNNER_EXIT_CODES.RETRYABLE, reason: exited })).toBe('RETRY');
      expect(batchDecision(rules, { exitCode: RUNNER_EXIT_CODES.PERMANENT_FAILURE, reason: exited })).toBe(
        'EXIT',
      );
      expect(batchDecision(rules, { exitCode: 1, reason: exited })).toBe('EXIT');
      expect(batchDecision(rules, { exitCode: 137, reason: exited })).toBe('EXIT');
      expect(batchDecision(rules, { exitCode: 750, reason: exited })).toBe('EXIT');
      // SIGTERM on Spot: the runner checkpoints and exits 75, or is killed; either way the status reason retries.
      const spot = 'Your Spot Task was interrupted.';
      expect(batchDecision(rules, { exitCode: 137, reason: exited, statusReason: spot })).toBe('RETRY');
      expect(batchDecision(rules, { exitCode: 75, reason: exited, statusReason: spot })).toBe('RETRY');
      expect(
        batchDecision(rules, { statusReason: 'Task failed to start', reason: 'ResourceInitializationError' }),
      ).toBe('RETRY');
      expect(
        batchDecision(rules, { reason: 'CannotPullContainerError: pull image manifest has been retried' }),
      ).toBe('RETRY');
    });

    it('passes references to the four secrets, never their values, readable by the job role only', () => {
      const [, jobDef] = only(template, 'AWS::Batch::JobDefinition');
      const container = jobDef.Properties['ContainerProperties'] as Record<string, unknown>;
      // No value is injected: the runner reads them from Secrets Manager into memory.
      expect(container['Secrets']).toBeUndefined();
      const env = Object.fromEntries(
        (container['Environment'] as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]),
      );
      for (const name of ['ANTHROPIC_API_KEY', 'FOUNDERDASH_DB_URL', 'GITHUB_TOKEN', 'VERCEL_TOKEN']) {
        expect(env[name]).toBeUndefined();
      }
      expect(env['GITHUB_TOKEN_SECRET_ARN']).toBe('mvp-development/github-token');
      expect(env['ANTHROPIC_API_KEY_SECRET_ARN']).toBe('mvp-development/anthropic-api-key');
      expect(env['VERCEL_TOKEN_SECRET_ARN']).toBe('mvp-development/vercel-token');
      expect(env['FOUNDERDASH_DB_URL_SECRET_ARN']).toBe('mvp-development/founderdash-db-url');

      const jobRoleId = (container['JobRoleArn'] as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      const jobStatements = statementsOfRole(template, jobRoleId);
      for (const name of ['github-token', 'anthropic-api-key', 'vercel-token', 'founderdash-db-url']) {
        expect(jobStatements).toContainEqual(
          expect.objectContaining({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: {
              'Fn::Join': ['', expect.arrayContaining([`:secret:mvp-development/${name}-??????`])],
            },
          }),
        );
      }
      const execRoleId = (container['ExecutionRoleArn'] as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      const execActions = statementsOfRole(template, execRoleId).flatMap((s) => asArray(s['Action']));
      expect(execActions.some((a) => String(a).startsWith('secretsmanager:'))).toBe(false);
    });

    it('passes the plain environment the runner reads', () => {
      const tableId = logicalId(template, 'AWS::DynamoDB::Table', JOBS_TABLE);
      const topicId = logicalId(template, 'AWS::SNS::Topic', { TopicName: 'mvp-development-completion' });
      const [, jobDef] = only(template, 'AWS::Batch::JobDefinition');
      const env = (
        jobDef.Properties['ContainerProperties'] as { Environment: { Name: string; Value: unknown }[] }
      ).Environment;
      expect(Object.fromEntries(env.map((e) => [e.Name, e.Value]))).toEqual({
        MVP_SPEC_SOURCE: 'postgres',
        MVP_REPO_HOST: 'github',
        MVP_CODE_GENERATOR: 'claude',
        MVP_DEPLOYER: 'vercel',
        MVP_LOG_FORMAT: 'json',
        DYNAMODB_TABLE: { Ref: tableId },
        COMPLETION_TOPIC: { Ref: topicId },
        AWS_REGION: { Ref: 'AWS::Region' },
        // No EVENTBRIDGE_BUS_NAME: the runner never puts events (it was set and never read).
        MVP_JOB_STORE: 'dynamodb',
        MVP_NOTIFIER: 'sns',
        ANTHROPIC_API_KEY_SECRET_ARN: 'mvp-development/anthropic-api-key',
        FOUNDERDASH_DB_URL_SECRET_ARN: 'mvp-development/founderdash-db-url',
        GITHUB_TOKEN_SECRET_ARN: 'mvp-development/github-token',
        VERCEL_TOKEN_SECRET_ARN: 'mvp-development/vercel-token',
      });
    });

    it('logs to its own log group with a retention, through awslogs', () => {
      const [logGroupId, logGroup] = only(template, 'AWS::Logs::LogGroup');
      expect(logGroup.Properties).toMatchObject({
        LogGroupName: '/aws/batch/mvp-development-runner',
        RetentionInDays: 30,
      });
      template.hasResourceProperties('AWS::Batch::JobDefinition', {
        ContainerProperties: Match.objectLike({
          LogConfiguration: {
            LogDriver: 'awslogs',
            Options: {
              'awslogs-group': { Ref: logGroupId },
              'awslogs-stream-prefix': 'runner',
              'awslogs-region': { Ref: 'AWS::Region' },
            },
          },
        }),
      });
    });
  });

  describe('DynamoDB', () => {
    // The key schema of the DynamoDB job store (packages/adapters-aws JOBS_TABLE_SCHEMA).
    it('is on-demand, with point-in-time recovery and KMS encryption, keyed jobId (records) and jobId/sk (runner)', () => {
      const [, table] = only(template, 'AWS::DynamoDB::Table', JOBS_TABLE);
      expect(table.Properties).toMatchObject({
        TableName: 'mvp-development-jobs',
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      });
      expect(table.Properties['ProvisionedThroughput']).toBeUndefined();
      const [, runner] = only(template, 'AWS::DynamoDB::Table', { TableName: 'mvp-development-jobs-runner' });
      expect(runner.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        KeySchema: [
          { AttributeName: 'jobId', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      });
      expect(runner.Properties['GlobalSecondaryIndexes']).toBeUndefined();
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    });

    it('has the user-jobs-index GSI on userId (S) / createdAt (S), projecting keys only', () => {
      const [, table] = only(template, 'AWS::DynamoDB::Table', JOBS_TABLE);
      expect(table.Properties['GlobalSecondaryIndexes']).toEqual([
        {
          IndexName: 'user-jobs-index',
          KeySchema: [
            { AttributeName: 'userId', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ]);
      expect(table.Properties['AttributeDefinitions']).toEqual(
        expect.arrayContaining([
          { AttributeName: 'jobId', AttributeType: 'S' },
          { AttributeName: 'userId', AttributeType: 'S' },
          { AttributeName: 'createdAt', AttributeType: 'S' },
        ]),
      );
    });
  });

  describe('SNS', () => {
    it('creates the completion topic, TLS only', () => {
      const [topicId] = only(template, 'AWS::SNS::Topic', { TopicName: 'mvp-development-completion' });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: topicId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });
  });

  describe('IAM', () => {
    it('gives the job role table read/write and topic publish, and nothing with a wildcard', () => {
      const tableId = logicalId(template, 'AWS::DynamoDB::Table', JOBS_TABLE);
      const topicId = logicalId(template, 'AWS::SNS::Topic', { TopicName: 'mvp-development-completion' });
      const roleId = stack.getLogicalId(stack.jobRole.node.defaultChild as iam.CfnRole);
      const [, role] = only(template, 'AWS::IAM::Role', {
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: 'ecs-tasks.amazonaws.com' } })],
        }),
        Description: Match.stringLikeRegexp('runner'),
      });
      expect(role.Properties['ManagedPolicyArns']).toBeUndefined();
      expect(role.Properties['Policies']).toBeUndefined();

      const statements = statementsOfRole(template, roleId);
      const actions = statements.flatMap((s) => asArray(s['Action']).map(String));
      for (const action of actions) expect(action).not.toContain('*');
      for (const s of statements) {
        expect(s['Effect']).toBe('Allow');
        for (const r of asArray(s['Resource'])) expect(r).not.toBe('*');
      }
      expect(actions.sort()).toEqual(
        [
          'dynamodb:BatchGetItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
          'sns:Publish',
          // The four secrets, which the runner reads itself.
          ...Array.from({ length: 4 }, () => [
            'secretsmanager:DescribeSecret',
            'secretsmanager:GetSecretValue',
          ]).flat(),
          // The MVPs' database passwords, under their own prefix.
          'secretsmanager:CreateSecret',
          'secretsmanager:DeleteSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:TagResource',
        ].sort(),
      );
      const passwords = statements.find((s) => asArray(s['Action']).includes('secretsmanager:CreateSecret'))!;
      expect(JSON.stringify(passwords['Resource'])).toMatch(/:secret:mvp\/databases\/\*/);
      for (const broad of [
        'dynamodb:Scan',
        'dynamodb:DeleteItem',
        'dynamodb:DeleteTable',
        'dynamodb:GetRecords',
      ]) {
        expect(actions).not.toContain(broad);
      }
      expect(actions).not.toContain('events:PutEvents');
      const dynamo = statements.find((s) => asArray(s['Action']).includes('dynamodb:PutItem'))!;
      const runnerId = logicalId(template, 'AWS::DynamoDB::Table', {
        TableName: 'mvp-development-jobs-runner',
      });
      expect(dynamo['Resource']).toEqual([
        { 'Fn::GetAtt': [tableId, 'Arn'] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, '/index/*']] },
        { 'Fn::GetAtt': [runnerId, 'Arn'] },
      ]);
      const publish = statements.find((s) => s['Action'] === 'sns:Publish')!;
      expect(publish['Resource']).toEqual({ Ref: topicId });
    });

    it('exports a managed policy for the web app: PutEvents on the bus, job records read/write', () => {
      const busId = logicalId(template, 'AWS::Events::EventBus', {});
      const tableId = logicalId(template, 'AWS::DynamoDB::Table', JOBS_TABLE);
      const [, policy] = only(template, 'AWS::IAM::ManagedPolicy');
      expect(policy.Properties['ManagedPolicyName']).toBe('mvp-development-submitter');
      expect((policy.Properties['PolicyDocument'] as { Statement: unknown[] }).Statement).toEqual([
        { Action: 'events:PutEvents', Effect: 'Allow', Resource: { 'Fn::GetAtt': [busId, 'Arn'] } },
        {
          Action: [
            'dynamodb:GetItem',
            'dynamodb:BatchGetItem',
            'dynamodb:Query',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
          ],
          Effect: 'Allow',
          Resource: [
            { 'Fn::GetAtt': [tableId, 'Arn'] },
            { 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, '/index/user-jobs-index']] },
            {
              'Fn::GetAtt': [
                logicalId(template, 'AWS::DynamoDB::Table', { TableName: 'mvp-development-jobs-runner' }),
                'Arn',
              ],
            },
          ],
        },
      ]);
      template.hasOutput('SubmitterPolicyArn', { Value: Match.anyValue() });
    });

    it('grantSubmit gives another principal the same rights', () => {
      const app = new App({ context: { runnerBundleDir: bundleDir } });
      const s = new MvpPipelineStack(app, 'GrantStack');
      const webRole = new iam.Role(s, 'WebAppRole', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      });
      const grant = s.grantSubmit(webRole);
      expect(grant.success).toBe(true);
      const t = Template.fromStack(s);
      const roleId = s.getLogicalId(webRole.node.defaultChild as iam.CfnRole);
      const actions = statementsOfRole(t, roleId).flatMap((st) => asArray(st['Action']).map(String));
      expect(actions.sort()).toEqual(
        [
          'events:PutEvents',
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:Query',
        ].sort(),
      );
    });
  });

  describe('alarms', () => {
    it('alarms on failed invocations of the rule, on the custom bus', () => {
      const busId = logicalId(template, 'AWS::Events::EventBus', {});
      const ruleId = logicalId(template, 'AWS::Events::Rule', JOB_REQUEST_RULE);
      const [, alarm] = only(template, 'AWS::CloudWatch::Alarm', { MetricName: 'FailedInvocations' });
      expect(alarm.Properties).toMatchObject({
        AlarmName: 'mvp-development-trigger-failed-invocations',
        Namespace: 'AWS/Events',
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(alarm.Properties['Dimensions']).toEqual([
        { Name: 'EventBusName', Value: { Ref: busId } },
        { Name: 'RuleName', Value: { Ref: ruleId } },
      ]);
      // Every alarm has an action: without alarmTopicArn, the stack's own alarm topic.
      const alarmTopicId = logicalId(template, 'AWS::SNS::Topic', { TopicName: 'mvp-development-alarms' });
      expect(alarm.Properties['AlarmActions']).toEqual([{ Ref: alarmTopicId }]);
    });

    it('alarms as soon as a message is visible in the DLQ', () => {
      const dlqId = logicalId(template, 'AWS::SQS::Queue', {});
      const [, alarm] = only(template, 'AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
      });
      expect(alarm.Properties).toMatchObject({
        AlarmName: 'mvp-development-trigger-dlq-messages',
        Namespace: 'AWS/SQS',
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      });
    });
  });

  it('outputs what the runner and the web app are configured with', () => {
    for (const name of [
      'JobTableName',
      'EventBusName',
      'EventBusArn',
      'CompletionTopicArn',
      'JobQueueArn',
      'JobDefinitionArn',
      'TriggerDeadLetterQueueUrl',
      'RunnerRepositoryUri',
    ]) {
      template.hasOutput(name, { Value: Match.anyValue() });
    }
  });
});

describe('MvpPipelineStack with context overrides', () => {
  it('takes every name from context', () => {
    const { template } = synth({
      namePrefix: 'acme',
      tableName: 'acme-table',
      busName: 'acme-bus',
      topicName: 'acme-done',
      jobQueueName: 'acme-q',
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'acme-table' });
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'acme-bus' });
    template.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'acme-done' });
    template.hasResourceProperties('AWS::Batch::JobQueue', { JobQueueName: 'acme-q' });
    template.hasResourceProperties('AWS::Batch::JobDefinition', { JobDefinitionName: 'acme-runner' });
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      ComputeEnvironmentName: 'acme-fargate-spot',
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'acme-job-request',
      Targets: [Match.objectLike({ BatchParameters: Match.objectLike({ JobName: 'acme-job' }) })],
    });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'acme-trigger-dlq' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/batch/acme-runner' });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', { ManagedPolicyName: 'acme-submitter' });
    // The prefix also names the default secrets.
    const jobDef = JSON.stringify(template.findResources('AWS::Batch::JobDefinition'));
    expect(jobDef).toContain('acme/github-token');
  });

  it('derives the seed names from a prefix alone', () => {
    const { template } = synth({ namePrefix: 'staging-mvp' });
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'staging-mvp-jobs' });
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'staging-mvp' });
    template.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'staging-mvp-completion' });
    template.hasResourceProperties('AWS::Batch::JobQueue', { JobQueueName: 'staging-mvp-queue' });
  });

  it('reads numbers and booleans given as strings (cdk -c key=value) for the job and the trigger', () => {
    const { template } = synth({
      jobAttempts: '5',
      jobTimeoutMinutes: '45',
      logRetentionDays: '90',
      maxvCpus: '64',
      targetRetryAttempts: '3',
      targetMaxEventAgeMinutes: '30',
      eventSource: 'acme.web',
      eventDetailType: 'Build Request',
    });
    template.hasResourceProperties('AWS::Batch::JobDefinition', {
      Timeout: { AttemptDurationSeconds: 45 * 60 },
      RetryStrategy: Match.objectLike({ Attempts: 5 }),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      ComputeResources: Match.objectLike({ MaxvCpus: 64 }),
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['acme.web'],
        'detail-type': ['Build Request'],
        detail: { jobId: [{ exists: true }] },
      },
      Targets: [
        Match.objectLike({
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 1800 },
          BatchParameters: Match.objectLike({ RetryStrategy: Match.absent() }),
        }),
      ],
    });
  });

  it('uses an existing ECR repository and tag, and secrets by complete ARN', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/anthropic-AbC123';
    const { template } = synth({
      createImageRepository: 'false',
      imageRepositoryName: 'team/runner',
      imageTag: 'v1.2.3',
      anthropicApiKeySecret: arn,
      githubTokenSecret: 'prod/github',
    });
    template.resourceCountIs('AWS::ECR::Repository', 0);
    const [, jobDef] = only(template, 'AWS::Batch::JobDefinition');
    const container = jobDef.Properties['ContainerProperties'] as Record<string, unknown>;
    const image = JSON.stringify(container['Image']);
    expect(image).toContain('/team/runner:v1.2.3');
    const env = Object.fromEntries(
      (container['Environment'] as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]),
    );
    expect(env['ANTHROPIC_API_KEY_SECRET_ARN']).toBe(arn);
    expect(JSON.stringify(env['GITHUB_TOKEN_SECRET_ARN'])).toContain('prod/github');
    const jobRoleId = (container['JobRoleArn'] as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    expect(statementsOfRole(template, jobRoleId)).toContainEqual(
      expect.objectContaining({
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: arn,
      }),
    );
  });

  it('runs the jobs in private subnets behind NAT when natGateways is set', () => {
    const { template } = synth({ natGateways: 1 });
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.hasResourceProperties('AWS::Batch::JobDefinition', {
      ContainerProperties: Match.objectLike({ NetworkConfiguration: { AssignPublicIp: 'DISABLED' } }),
    });
    const privateSubnets = Object.keys(
      template.findResources('AWS::EC2::Subnet', {
        Properties: { MapPublicIpOnLaunch: false },
      }),
    );
    expect(privateSubnets).toHaveLength(2);
    const [, spot] = only(template, 'AWS::Batch::ComputeEnvironment', {
      ComputeResources: Match.objectLike({ Type: 'FARGATE_SPOT' }),
    });
    const subnets = (spot.Properties['ComputeResources'] as { Subnets: { Ref: string }[] }).Subnets;
    expect(subnets.map((s) => s.Ref).sort()).toEqual(privateSubnets.sort());
  });

  it('adds extra plain environment and sends alarms to a topic when configured', () => {
    const alarmTopicArn = 'arn:aws:sns:eu-west-1:123456789012:ops-alarms';
    const { template } = synth({
      environment: JSON.stringify({ MVP_CODE_GENERATOR: 'template', GITHUB_OWNER: 'acme' }),
      alarmTopicArn,
    });
    const [, jobDef] = only(template, 'AWS::Batch::JobDefinition');
    const env = (
      jobDef.Properties['ContainerProperties'] as { Environment: { Name: string; Value: unknown }[] }
    ).Environment;
    expect(env).toEqual(
      expect.arrayContaining([
        { Name: 'MVP_CODE_GENERATOR', Value: 'template' },
        { Name: 'GITHUB_OWNER', Value: 'acme' },
        { Name: 'MVP_JOB_STORE', Value: 'dynamodb' },
      ]),
    );
    expect(env.filter((e) => e.Name === 'MVP_CODE_GENERATOR')).toHaveLength(1);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[];
    expect(alarms).toHaveLength(3); // the trigger's two and the Batch FAILED events
    for (const alarm of alarms) expect(alarm.Properties['AlarmActions']).toEqual([alarmTopicArn]);
    template.resourceCountIs('AWS::SNS::Topic', 1); // the completion topic only
  });

  it('lets props win over context', () => {
    const app = new App({ context: { tableName: 'from-context', runnerBundleDir: bundleDir } });
    const stack = new MvpPipelineStack(app, 'PropsStack', { settings: { tableName: 'from-props' } });
    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'from-props' });
    expect(stack.settings.tableName).toBe('from-props');
  });

  it('refuses invalid context with one line per problem', () => {
    let error: unknown;
    try {
      synth({ tableName: 'x', jobAttempts: '11', logRetentionDays: 31 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InfraSettingsError);
    const { problems, message } = error as InfraSettingsError;
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^context "tableName": expected 3–255 .* got "x"$/),
        expect.stringMatching(/^context "jobAttempts": expected an integer from 1 to 10, got "11"$/),
        expect.stringMatching(/^"logRetentionDays": 31 is not a CloudWatch Logs retention/),
      ]),
    );
    expect(message.split('\n')).toHaveLength(4);
  });
});

describe('Batch failures the runner did not record', () => {
  it('sends aws.batch FAILED events of this queue to a Lambda from the runner bundle', () => {
    const { stack, template } = synth();
    const queueId = stack.getLogicalId(stack.jobQueue.node.defaultChild as CfnElement);
    const [, rule] = only(template, 'AWS::Events::Rule', { Name: 'mvp-development-batch-job-failed' });
    expect(rule.Properties['EventBusName']).toBeUndefined(); // aws.batch events arrive on the default bus
    expect(rule.Properties['EventPattern']).toEqual({
      source: ['aws.batch'],
      'detail-type': ['Batch Job State Change'],
      detail: { status: ['FAILED'], jobQueue: [{ 'Fn::GetAtt': [queueId, 'JobQueueArn'] }] },
    });
    const [fnId, fn] = only(template, 'AWS::Lambda::Function', {
      FunctionName: 'mvp-development-batch-failure',
    });
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Handler: 'mvp.batchFailureHandler',
      Environment: {
        Variables: { DYNAMODB_TABLE: { Ref: logicalId(template, 'AWS::DynamoDB::Table', JOBS_TABLE) } },
      },
    });
    expect(rule.Properties['Targets']).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', {}), 'Arn'] } },
      }),
    ]);
    const roleId = (fn.Properties['Role'] as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const actions = statementsOfRole(template, roleId).flatMap((st) => asArray(st['Action']).map(String));
    expect(actions).toContain('dynamodb:UpdateItem');
    expect(actions).not.toContain('dynamodb:Scan');
  });

  it('alarms on those events, to the stack’s own alarm topic by default', () => {
    const { template } = synth();
    const ruleId = logicalId(template, 'AWS::Events::Rule', { Name: 'mvp-development-batch-job-failed' });
    const [, alarm] = only(template, 'AWS::CloudWatch::Alarm', {
      AlarmName: 'mvp-development-batch-job-failed',
    });
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/Events',
      MetricName: 'TriggeredRules',
      Dimensions: [{ Name: 'RuleName', Value: { Ref: ruleId } }],
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
    const topicId = logicalId(template, 'AWS::SNS::Topic', { TopicName: 'mvp-development-alarms' });
    expect(alarm.Properties['AlarmActions']).toEqual([{ Ref: topicId }]);
    template.hasOutput('AlarmTopicArn', { Value: { Ref: topicId } });
  });

  it('refuses to synthesise without the runner bundle, naming how to build it', () => {
    expect(() => synth({ runnerBundleDir: join(bundleDir, 'missing') })).toThrow(/build:bundle/);
  });
});

describe('the attempt timeout', () => {
  it('is the sum of the step budgets, the AI and build steps once per repair round, plus the overhead', () => {
    const b = STEP_BUDGET_MINUTES;
    const expected =
      b.FETCHING_DATA + b.CREATING_REPO + (b.AI_DEVELOPMENT + b.BUILDING) * 3 + b.DEPLOYING + 5;
    expect(attemptTimeoutMinutes()).toBe(expected);
    const { template } = synth();
    const [, jobDef] = only(template, 'AWS::Batch::JobDefinition');
    const seconds = (jobDef.Properties['Timeout'] as { AttemptDurationSeconds: number })
      .AttemptDurationSeconds;
    expect(seconds).toBe(expected * 60);
    // The steps' own deadlines of the worst run (every repair round used) fire before Batch's.
    const worstRunMinutes =
      b.FETCHING_DATA + b.CREATING_REPO + (b.AI_DEVELOPMENT + b.BUILDING) * 3 + b.DEPLOYING;
    expect(seconds).toBeGreaterThan(worstRunMinutes * 60);
    expect(attemptTimeoutMinutes({ ...b, AI_DEVELOPMENT: 90 }, 0)).toBe(1 + 5 + 90 + 15 + 30 + 5);
  });

  it('pins the step budgets to the core’s defaults', async () => {
    const core = await import('../../packages/core/src/use-cases/deps.js');
    const minutes = Object.fromEntries(
      Object.entries(core.DEFAULT_SETTINGS.stepTimeoutMs).map(([step, ms]) => [
        step,
        (ms as number) / 60_000,
      ]),
    );
    expect(minutes).toEqual(STEP_BUDGET_MINUTES);
    expect(core.DEFAULT_SETTINGS.maxRepairRounds).toBe(2);
  });
});

describe('image and network options', () => {
  it('refuses the mutable tag latest, and the repository refuses re-pushed tags', () => {
    expect(() => synth({ imageTag: 'latest' })).toThrow(/immutable tag/);
    synth().template.hasResourceProperties('AWS::ECR::Repository', { ImageTagMutability: 'IMMUTABLE' });
  });

  it('has no NAT and no Elastic IP by default', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::EIP', 0);
    expect(Object.keys(template.findOutputs('NatPublicIps'))).toEqual([]);
  });

  it('runs jobs behind a NAT gateway with an Elastic IP of its own when natElasticIps is set', () => {
    const { template } = synth({ natElasticIps: 'true' });
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    const eips = Object.entries(template.findResources('AWS::EC2::EIP'));
    expect(eips).toHaveLength(1);
    const [eipId] = eips[0]!;
    template.hasResourceProperties('AWS::EC2::NatGateway', {
      AllocationId: { 'Fn::GetAtt': [eipId, 'AllocationId'] },
    });
    template.hasOutput('NatPublicIps', {
      Value: { 'Fn::GetAtt': [eipId, 'PublicIp'] }, // one address; several are joined with commas
    });
    template.hasResourceProperties('AWS::Batch::JobDefinition', {
      ContainerProperties: Match.objectLike({ NetworkConfiguration: { AssignPublicIp: 'DISABLED' } }),
    });
  });
});
