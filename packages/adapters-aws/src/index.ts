// AWS adapters: the DynamoDB JobStore, the SNS Notifier, the EventBridge JobTrigger, the secrets
// loader and the Secrets Manager store of the MVPs' database passwords.
export { awsErrorName, toPipelineAwsError } from './aws-errors.js';
export {
  type BatchFailureOutcome,
  type BatchJobStateChangeEvent,
  batchFailureReason,
  recordBatchFailure,
} from './batch/batch-failure.js';
export { batchFailureHandler, createBatchFailureHandler } from './batch/lambda.js';
export { createDynamoDocumentClient } from './dynamo/context.js';
export { itemSize } from './dynamo/item.js';
export {
  createDynamoJobStore,
  type DynamoJobStoreDeps,
  type DynamoJobStoreSettings,
} from './dynamo/job-store.js';
export {
  type CreateJobsTableOptions,
  createJobsTable,
  JOBS_TABLE_SCHEMA,
  jobsTableDefinition,
  runnerTableDefinition,
  runnerTableNameFor,
} from './dynamo/table.js';
export {
  createEventBridgeTrigger,
  type EventBridgeTriggerDeps,
  type EventBridgeTriggerSettings,
  type JobEventDetail,
  jobEventDetail,
} from './eventbridge/eventbridge-trigger.js';
export {
  createSecretsManagerPasswordStore,
  type SecretsManagerPasswordStore,
  type SecretsManagerPasswordStoreDeps,
  type SecretsManagerPasswordStoreSettings,
} from './secrets/password-store.js';
export {
  type LoadedSecrets,
  type LoadSecretsOptions,
  loadSecrets,
  SECRET_NAMES,
  type SecretName,
  type SecretSource,
} from './secrets/secrets.js';
export {
  createSnsNotifier,
  SNS_MAX_MESSAGE_BYTES,
  type SnsJobMessage,
  type SnsNotifierDeps,
  type SnsNotifierSettings,
} from './sns/sns-notifier.js';
