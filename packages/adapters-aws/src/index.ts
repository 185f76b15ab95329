// AWS adapters: the DynamoDB JobStore, the SNS Notifier, the EventBridge JobTrigger and the secrets loader.
export { awsErrorName, toPipelineAwsError } from './aws-errors.js';
export {
  createDynamoDocumentClient,
  createDynamoJobStore,
  type DynamoJobStoreDeps,
  type DynamoJobStoreSettings,
} from './dynamo/job-store.js';
export {
  type CreateJobsTableOptions,
  createJobsTable,
  JOBS_TABLE_SCHEMA,
  jobsTableDefinition,
} from './dynamo/table.js';
