import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  ArnFormat,
  Aws,
  aws_batch as batch,
  CfnOutput,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cloudwatchActions,
  Duration,
  aws_dynamodb as dynamodb,
  aws_ec2 as ec2,
  aws_ecr as ecr,
  aws_ecs as ecs,
  aws_events as events,
  Fn,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  Size,
  Stack,
  type StackProps,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
  aws_sqs as sqs,
  Tags,
  aws_events_targets as targets,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { RUNNER_COMMAND, RUNNER_EXIT_CODES } from './exit-codes.js';
import {
  type InfraSettings,
  type InfraSettingsOverrides,
  resolveSettings,
  SECRET_ENV_NAMES,
  type SecretEnvName,
} from './settings.js';

/** vCPUs of one runner task. */
export const JOB_VCPUS = 2;
/** Memory of one runner task, in MiB. */
export const JOB_MEMORY_MIB = 4096;
/** The GSI the job store queries a user's jobs with (`userId` S, `createdAt` S, keys only). */
export const USER_JOBS_INDEX = 'user-jobs-index';
/**
 * The job store's tables, as the DynamoDB job store (packages/adapters-aws, JOBS_TABLE_SCHEMA)
 * writes them: the jobs table keyed by `jobId` alone (the record, FounderDash's schema,
 * so FounderDash's own put and get work on it), and the runner table (`<jobs table>-runner`),
 * partition `jobId`, sort `sk` (`JOB#STATE#0|1` for the runner state, `LOG#…` for the history).
 * The stack cannot import the adapter, so a test pins these values.
 */
export const TABLE_KEYS = {
  partitionKey: 'jobId',
  runnerSortKey: 'sk',
  runnerTableSuffix: '-runner',
} as const;

/** The Lambda handler of the Batch FAILED-event rule, in the runner's bundle (mvp.cjs). */
export const FAILURE_HANDLER = 'mvp.batchFailureHandler';

/**
 * The evaluateOnExit rules of the runner's job definition, in match order (Batch allows 5).
 * Retry what the platform broke or what the runner says is retryable; exit on anything else, so an
 * application failure never burns model tokens on a blind retry.
 */
export const RETRY_RULES: readonly {
  readonly action: 'RETRY' | 'EXIT';
  readonly onStatusReason?: string;
  readonly onReason?: string;
  readonly onExitCode?: string;
}[] = [
  { action: 'RETRY', onStatusReason: 'Your Spot Task was interrupted*' },
  { action: 'RETRY', onStatusReason: 'Task failed to start*' },
  { action: 'RETRY', onReason: 'CannotPullContainerError*' },
  { action: 'RETRY', onExitCode: String(RUNNER_EXIT_CODES.RETRYABLE) },
  { action: 'EXIT', onReason: '*' },
];

/**
 * DynamoDB actions of the job store, for the runner and for the submitting web app alike: reads by
 * key, Query on the table and its index, BatchGetItem for a page of a user's jobs, conditional
 * Put/UpdateItem. No Scan (only the local worker's recovery sweep scans), no deletes, no streams,
 * no table administration.
 */
export const JOB_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
] as const;

/**
 * The runner's adapter choices in production (runner-batch config names), which the injected secrets
 * are for. The `environment` setting overrides any of them.
 */
export const RUNNER_ENVIRONMENT_DEFAULTS = {
  MVP_SPEC_SOURCE: 'postgres',
  MVP_REPO_HOST: 'github',
  MVP_CODE_GENERATOR: 'claude',
  MVP_DEPLOYER: 'vercel',
  MVP_LOG_FORMAT: 'json',
} as const;

/** Props of {@link MvpPipelineStack}. */
export interface MvpPipelineStackProps extends StackProps {
  /** Settings that win over CDK context; unset ones come from context, then the defaults. */
  readonly settings?: InfraSettingsOverrides;
}

/**
 * The production path: an EventBridge rule on the `mvp-development` bus submits each job request to a
 * Batch job queue (Fargate Spot, then on-demand Fargate); the runner container reads and writes the
 * DynamoDB job table, publishes to the SNS completion topic, and gets its credentials from Secrets
 * Manager. Names come from {@link InfraSettings}.
 */
export class MvpPipelineStack extends Stack {
  /** The resolved settings this stack was built from. */
  readonly settings: InfraSettings;
  /** The job records. */
  readonly table: dynamodb.Table;
  /** The runner state and history of the jobs. */
  readonly runnerTable: dynamodb.Table;
  /** Marks a job FAILED when its Batch job ended FAILED without the runner ending it. */
  readonly batchFailureRule: events.Rule;
  /** The function behind {@link batchFailureRule}. */
  readonly batchFailureHandler: lambda.Function;
  /** Alarm: Batch jobs ended FAILED. */
  readonly batchFailuresAlarm: cloudwatch.Alarm;
  /** Where the alarms go: the `alarmTopicArn` topic, or one this stack creates. */
  readonly alarmTopic: sns.ITopic;
  /** The bus job requests arrive on. */
  readonly bus: events.EventBus;
  /** The rule that turns a job request into a Batch job. */
  readonly rule: events.Rule;
  /** Events EventBridge could not submit, after its retries. */
  readonly deadLetterQueue: sqs.Queue;
  /** Completion notifications. */
  readonly topic: sns.Topic;
  /** The network the jobs run in. */
  readonly vpc: ec2.IVpc;
  /** Fargate Spot, the job queue's first choice. */
  readonly spotComputeEnvironment: batch.FargateComputeEnvironment;
  /** On-demand Fargate, the fallback. */
  readonly onDemandComputeEnvironment: batch.FargateComputeEnvironment;
  /** The queue the rule submits to. */
  readonly jobQueue: batch.JobQueue;
  /** The runner's job definition. */
  readonly jobDefinition: batch.EcsJobDefinition;
  /** The role the runner's code runs as (table, topic): never wildcard actions. */
  readonly jobRole: iam.Role;
  /** The runner's logs. */
  readonly logGroup: logs.LogGroup;
  /** Where the runner image lives. */
  readonly imageRepository: ecr.IRepository;
  /** Attach to the web app's role: put job requests on the bus and read/write job records. */
  readonly submitterPolicy: iam.ManagedPolicy;
  /** Alarm: EventBridge failed to invoke the target. */
  readonly failedInvocationsAlarm: cloudwatch.Alarm;
  /** Alarm: events are waiting in the dead-letter queue. */
  readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: MvpPipelineStackProps = {}) {
    super(scope, id, props);
    const s = resolveSettings((key) => this.node.tryGetContext(key), props.settings);
    this.settings = s;
    const prefix = s.namePrefix;
    Tags.of(this).add('project', 'mvp-pipeline');

    // Job records. GSI keys are top-level attributes: DynamoDB cannot index nested paths. The index
    // projects keys only: its keys never change after creation, so job updates never write it.
    this.table = new dynamodb.Table(this, 'JobTable', {
      tableName: s.tableName,
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // What only runners read, kept off the record so every record write stays at 1 WCU.
    this.runnerTable = new dynamodb.Table(this, 'RunnerTable', {
      tableName: `${s.tableName}${TABLE_KEYS.runnerTableSuffix}`,
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.runnerSortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: USER_JOBS_INDEX,
      partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'createdAt', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });

    this.topic = new sns.Topic(this, 'CompletionTopic', {
      topicName: s.topicName,
      displayName: 'MVP development completion',
      enforceSSL: true,
    });

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: s.busName });

    // Network: no lookups, so the stack synthesises without an AWS account. Without NAT gateways the
    // tasks get a public IP in public subnets (outbound only: the security group admits nothing in).
    const natGateways = s.natElasticIps ? Math.max(1, s.natGateways) : s.natGateways;
    const usePrivateSubnets = natGateways > 0;
    // Elastic IPs of our own: the NAT gateways' addresses stay put across deployments, to allow-list.
    const elasticIps = s.natElasticIps
      ? Array.from(
          { length: natGateways },
          (_, i) => new ec2.CfnEIP(this, `NatElasticIp${i + 1}`, { domain: 'vpc' }),
        )
      : [];
    // aws-cdk-lib's own types trip exactOptionalPropertyTypes (Vpc.vpnGatewayId), hence the cast.
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      vpcName: `${prefix}-vpc`,
      maxAzs: 2,
      natGateways,
      ...(elasticIps.length > 0
        ? {
            natGatewayProvider: ec2.NatProvider.gateway({
              eipAllocationIds: elasticIps.map((e) => e.attrAllocationId),
            }),
          }
        : {}),
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: usePrivateSubnets
        ? [
            { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
            { name: 'jobs', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
          ]
        : [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
      gatewayEndpoints: { DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
    }) as ec2.IVpc;
    const jobSubnets: ec2.SubnetSelection = {
      subnetType: usePrivateSubnets ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PUBLIC,
    };
    const securityGroup = new ec2.SecurityGroup(this, 'JobSecurityGroup', {
      vpc: this.vpc,
      description: 'MVP pipeline runner tasks: outbound only (git, vendor APIs, database)',
      allowAllOutbound: true,
    });

    const computeEnvironment = (id: string, spot: boolean) =>
      new batch.FargateComputeEnvironment(this, id, {
        computeEnvironmentName: `${prefix}-fargate${spot ? '-spot' : ''}`,
        vpc: this.vpc,
        vpcSubnets: jobSubnets,
        securityGroups: [securityGroup],
        spot,
        maxvCpus: s.maxvCpus,
      });
    this.spotComputeEnvironment = computeEnvironment('SpotComputeEnvironment', true);
    this.onDemandComputeEnvironment = computeEnvironment('OnDemandComputeEnvironment', false);

    this.jobQueue = new batch.JobQueue(this, 'JobQueue', {
      jobQueueName: s.jobQueueName,
      priority: 1,
      computeEnvironments: [
        { computeEnvironment: this.spotComputeEnvironment, order: 1 },
        { computeEnvironment: this.onDemandComputeEnvironment, order: 2 },
      ],
    });

    this.logGroup = new logs.LogGroup(this, 'RunnerLogGroup', {
      logGroupName: `/aws/batch/${prefix}-runner`,
      retention: s.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.imageRepository = s.createImageRepository
      ? new ecr.Repository(this, 'RunnerRepository', {
          repositoryName: s.imageRepositoryName,
          imageScanOnPush: true,
          // A tag names one image for good: a job definition never runs another one than it was given.
          imageTagMutability: ecr.TagMutability.IMMUTABLE,
          lifecycleRules: [{ description: 'Keep the last 20 images', maxImageCount: 20 }],
          removalPolicy: RemovalPolicy.RETAIN,
        })
      : ecr.Repository.fromRepositoryName(this, 'RunnerRepository', s.imageRepositoryName);

    // The runner's code runs as this role (it reads the secrets); the execution role (ECR pull, logs) is separate.
    this.jobRole = new iam.Role(this, 'JobRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'MVP pipeline runner: job table read/write, completion topic publish',
    });
    this.grantJobTables(this.jobRole, '/index/*');
    this.topic.grantPublish(this.jobRole);

    // Secrets reach the runner as references, not values: it reads them from Secrets Manager into
    // memory at start (runner-batch secrets.ts), so no process of the task, nor the commands it
    // runs, finds them in an environment. Only the job role (the runner's code) may read them.
    const secretReferences = {} as Record<`${SecretEnvName}_SECRET_ARN`, string>;
    for (const name of SECRET_ENV_NAMES) {
      importSecret(this, name, s.secrets[name]).grantRead(this.jobRole);
      secretReferences[`${name}_SECRET_ARN`] = s.secrets[name];
    }
    // The MVPs' database passwords (MVP_SECRET_STORE=secrets-manager): the runner makes and removes
    // them under their own prefix only, never the operator's secrets above.
    const passwordPrefix = s.environment['MVP_SECRET_PREFIX'] ?? 'mvp/databases/';
    this.jobRole.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'secretsmanager:CreateSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:DeleteSecret',
          'secretsmanager:TagResource',
        ],
        resources: [
          Stack.of(this).formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: `${passwordPrefix}*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );

    const container = new batch.EcsFargateContainerDefinition(this, 'RunnerContainer', {
      image: ecs.ContainerImage.fromEcrRepository(this.imageRepository, s.imageTag),
      cpu: JOB_VCPUS,
      memory: Size.mebibytes(JOB_MEMORY_MIB),
      command: [...RUNNER_COMMAND],
      environment: {
        ...RUNNER_ENVIRONMENT_DEFAULTS,
        ...s.environment,
        DYNAMODB_TABLE: this.table.tableName,
        COMPLETION_TOPIC: this.topic.topicArn,
        AWS_REGION: Aws.REGION,
        MVP_JOB_STORE: 'dynamodb',
        MVP_NOTIFIER: 'sns',
        ...secretReferences,
      },
      jobRole: this.jobRole,
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'runner' }),
      assignPublicIp: !usePrivateSubnets,
      fargatePlatformVersion: ecs.FargatePlatformVersion.LATEST,
    });

    this.jobDefinition = new batch.EcsJobDefinition(this, 'RunnerJobDefinition', {
      jobDefinitionName: `${prefix}-runner`,
      container,
      timeout: Duration.minutes(s.jobTimeoutMinutes),
      retryAttempts: s.jobAttempts,
      retryStrategies: RETRY_RULES.map((rule) =>
        batch.RetryStrategy.of(
          rule.action === 'RETRY' ? batch.Action.RETRY : batch.Action.EXIT,
          batch.Reason.custom({
            ...(rule.onStatusReason === undefined ? {} : { onStatusReason: rule.onStatusReason }),
            ...(rule.onReason === undefined ? {} : { onReason: rule.onReason }),
            ...(rule.onExitCode === undefined ? {} : { onExitCode: rule.onExitCode }),
          }),
        ),
      ),
      propagateTags: true,
    });

    this.deadLetterQueue = new sqs.Queue(this, 'TriggerDeadLetterQueue', {
      queueName: `${prefix}-trigger-dlq`,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    this.rule = new events.Rule(this, 'JobRequestRule', {
      ruleName: `${prefix}-job-request`,
      description: 'Submits each MVP development request to the Batch job queue',
      eventBus: this.bus,
      eventPattern: {
        source: [s.eventSource],
        detailType: [s.eventDetailType],
        detail: { jobId: events.Match.exists() },
      },
    });
    // No `attempts` here: a target RetryStrategy would override the job definition's evaluateOnExit rules.
    // The target also adds the DLQ's queue policy (sqs:SendMessage from events.amazonaws.com, this rule only).
    this.rule.addTarget(
      new targets.BatchJob(
        this.jobQueue.jobQueueArn,
        this.jobQueue,
        this.jobDefinition.jobDefinitionArn,
        this.jobDefinition,
        {
          jobName: `${prefix}-job`,
          // Ids only: the runner reads everything else from the job record.
          event: events.RuleTargetInput.fromObject({
            Parameters: { jobId: events.EventField.fromPath('$.detail.jobId') },
          }),
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: s.targetRetryAttempts,
          maxEventAge: Duration.minutes(s.targetMaxEventAgeMinutes),
        },
      ),
    );

    // Metrics of a rule on a custom bus carry both dimensions; EventBridge only sends non-zero values.
    this.failedInvocationsAlarm = eventsAlarm(
      this,
      'TriggerFailedInvocationsAlarm',
      `${prefix}-trigger-failed-invocations`,
      'EventBridge could not submit MVP jobs to Batch (see the trigger DLQ).',
      'FailedInvocations',
      { EventBusName: this.bus.eventBusName, RuleName: this.rule.ruleName },
    );
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'TriggerDeadLetterAlarm', {
      alarmName: `${prefix}-trigger-dlq-messages`,
      alarmDescription: 'MVP job requests are waiting in the trigger dead-letter queue.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // A Batch job that times out, exits 75 on its last attempt or never starts leaves its record
    // as the runner last wrote it: this rule's function marks it FAILED with the Batch reason.
    // A Lambda from the runner's own bundle: the same store code as the runner, in a function
    // that starts in a second and costs nothing while idle (a Batch job would queue behind the
    // very capacity that may have failed, and take a minute to start).
    if (!existsSync(join(s.runnerBundleDir, 'mvp.cjs'))) {
      throw new Error(
        `The runner bundle is not built (${join(s.runnerBundleDir, 'mvp.cjs')} is missing): run \`pnpm --filter @mvp-pipeline/runner-batch build:bundle\` or set runnerBundleDir`,
      );
    }
    this.batchFailureHandler = new lambda.Function(this, 'BatchFailureHandler', {
      functionName: `${prefix}-batch-failure`,
      description: 'Marks an MVP job FAILED when its Batch job ended FAILED without the runner ending it',
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: FAILURE_HANDLER,
      code: lambda.Code.fromAsset(s.runnerBundleDir, { exclude: ['templates', 'migrations', '*.cache'] }),
      memorySize: 256,
      timeout: Duration.seconds(30),
      environment: { DYNAMODB_TABLE: this.table.tableName, NODE_OPTIONS: '--enable-source-maps' },
    });
    this.grantJobTables(this.batchFailureHandler, '/index/*');
    // aws.batch events arrive on the account's default bus.
    this.batchFailureRule = new events.Rule(this, 'BatchFailureRule', {
      ruleName: `${prefix}-batch-job-failed`,
      description: 'Marks MVP jobs FAILED when their Batch job ended FAILED',
      eventPattern: {
        source: ['aws.batch'],
        detailType: ['Batch Job State Change'],
        detail: { status: ['FAILED'], jobQueue: [this.jobQueue.jobQueueArn] },
      },
    });
    this.batchFailureRule.addTarget(
      new targets.LambdaFunction(this.batchFailureHandler, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: s.targetRetryAttempts,
        maxEventAge: Duration.minutes(s.targetMaxEventAgeMinutes),
      }),
    );
    this.batchFailuresAlarm = eventsAlarm(
      this,
      'BatchFailuresAlarm',
      `${prefix}-batch-job-failed`,
      'Batch jobs of the MVP pipeline ended FAILED (timeout, last attempt, start failure).',
      'TriggeredRules',
      { RuleName: this.batchFailureRule.ruleName },
    );

    // Every alarm has an action: the given topic, or one of our own to subscribe to.
    this.alarmTopic =
      s.alarmTopicArn !== undefined
        ? sns.Topic.fromTopicArn(this, 'AlarmTopic', s.alarmTopicArn)
        : new sns.Topic(this, 'AlarmTopic', {
            topicName: `${prefix}-alarms`,
            displayName: 'MVP pipeline alarms',
            enforceSSL: true,
          });
    for (const alarm of [this.failedInvocationsAlarm, this.deadLetterAlarm, this.batchFailuresAlarm]) {
      alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.alarmTopic));
    }

    this.submitterPolicy = new iam.ManagedPolicy(this, 'SubmitterPolicy', {
      managedPolicyName: `${prefix}-submitter`,
      description: 'For the web app: put MVP job requests on the bus, read and write job records',
      statements: [
        new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] }),
        new iam.PolicyStatement({
          actions: [...JOB_TABLE_ACTIONS],
          resources: [
            this.table.tableArn,
            `${this.table.tableArn}/index/${USER_JOBS_INDEX}`,
            this.runnerTable.tableArn,
          ],
        }),
      ],
    });

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('JobTableName', this.table.tableName, 'DYNAMODB_TABLE');
    output(
      'RunnerTableName',
      this.runnerTable.tableName,
      'The runner state and history (DYNAMODB_TABLE + -runner)',
    );
    output('AlarmTopicArn', this.alarmTopic.topicArn, 'Subscribe here to the alarms');
    if (elasticIps.length > 0) {
      output(
        'NatPublicIps',
        Fn.join(
          ',',
          elasticIps.map((e) => e.attrPublicIp),
        ),
        "The jobs' outbound addresses: allow-list them at the database",
      );
    }
    output('EventBusName', this.bus.eventBusName, 'EVENTBRIDGE_BUS_NAME');
    output('EventBusArn', this.bus.eventBusArn, 'The bus job requests go to');
    output('CompletionTopicArn', this.topic.topicArn, 'COMPLETION_TOPIC');
    output('JobQueueArn', this.jobQueue.jobQueueArn, 'The Batch job queue');
    output('JobDefinitionArn', this.jobDefinition.jobDefinitionArn, 'The runner job definition');
    output(
      'TriggerDeadLetterQueueUrl',
      this.deadLetterQueue.queueUrl,
      'Job requests EventBridge could not submit',
    );
    output('SubmitterPolicyArn', this.submitterPolicy.managedPolicyArn, 'Attach to the web app role');
    output('RunnerRepositoryUri', this.imageRepository.repositoryUri, 'Push the runner image here');
  }

  /**
   * The first two zones of the region, resolved by CloudFormation at deploy time (Fn::GetAZs), so that
   * synthesis never looks them up, even when the stack has a concrete account and region.
   */
  override get availabilityZones(): string[] {
    return [0, 1].map((i) => Fn.select(i, Fn.getAzs()));
  }

  /**
   * Grants what the submitting web app needs (same as {@link submitterPolicy}) to `grantee`:
   * events:PutEvents on the bus, and the {@link JOB_TABLE_ACTIONS} on the table and its index.
   */
  grantSubmit(grantee: iam.IGrantable): iam.Grant {
    return this.bus
      .grantPutEventsTo(grantee)
      .combine(this.grantJobTables(grantee, `/index/${USER_JOBS_INDEX}`));
  }

  /** The {@link JOB_TABLE_ACTIONS} on the jobs table, its index (`indexPath`) and the runner table, in one statement. */
  private grantJobTables(grantee: iam.IGrantable, indexPath: string): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...JOB_TABLE_ACTIONS],
      resourceArns: [this.table.tableArn, `${this.table.tableArn}${indexPath}`, this.runnerTable.tableArn],
    });
  }
}

/** An alarm on an `AWS/Events` sum (≥ 1 in 5 minutes; no data is not breaching: EventBridge sends only non-zero values). */
function eventsAlarm(
  scope: Construct,
  id: string,
  alarmName: string,
  alarmDescription: string,
  metricName: string,
  dimensionsMap: Record<string, string>,
): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, id, {
    alarmName,
    alarmDescription,
    metric: new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName,
      dimensionsMap,
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
    }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

/** A secret by name or complete ARN; for a name the grant covers Secrets Manager's random suffix. */
function importSecret(scope: Construct, envName: SecretEnvName, ref: string): secretsmanager.ISecret {
  const id = `Secret${envName}`;
  return ref.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, ref)
    : secretsmanager.Secret.fromSecretNameV2(scope, id, ref);
}
