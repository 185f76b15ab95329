import { type MessageAttributeValue, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  createRedactor,
  deliveryDetails,
  deliveryHeadline,
  featuresNotBuilt,
  type JobNotification,
  type JobStatus,
  type Notifier,
  PermanentError,
  type Redactor,
  redactValue,
  ValidationError,
} from '@mvp-pipeline/core';
import { toPipelineAwsError } from '../aws-errors.js';

export interface SnsNotifierSettings {
  /** The topic to publish to (COMPLETION_TOPIC). A `.fifo` topic gets a group id and a deduplication id. */
  topicArn: string;
  /** The statuses announced (default COMPLETED and FAILED); a notification of another status is dropped. */
  statuses?: readonly JobStatus[];
}

export interface SnsNotifierDeps {
  /** By default one from the environment (AWS_REGION, AWS_ENDPOINT_URL_SNS…). */
  client?: SNSClient;
  /** Applied to the message and to error messages; a redactor of the token shapes by default. */
  redact?: Redactor;
}

/** SNS refuses larger messages (body plus attributes). */
export const SNS_MAX_MESSAGE_BYTES = 256 * 1024;

/** What subscribers receive: the notification (the seed's jobId, status, businessName, repoUrl, productionUrl and the rest) and its idempotency key. */
export interface SnsJobMessage extends JobNotification {
  /** `<jobId>:<status>`: one per job and status; consumers of a standard topic deduplicate on it. */
  idempotencyKey: string;
  /** What a completed job delivers, in words (with `delivery`): "a working app. Built: … Not built: …". */
  summary?: string;
}

/**
 * A Notifier that publishes each job's end to an SNS topic.
 *
 * The body is the JSON of an SnsJobMessage (MessageStructure string, so attributes are sent);
 * `status`, `jobId` and `userId` are also message attributes, for subscription filter policies.
 * The job records a sent notification, so a retried job does not announce again; on a FIFO topic
 * SNS also drops a repeat within its five-minute deduplication window (the id is the
 * idempotency key, the group the job).
 *
 * Errors: TransientError (throttling, 5xx, network; the SDK has already retried),
 * PermanentError (missing topic, no permission, invalid message).
 */
export function createSnsNotifier(settings: SnsNotifierSettings, deps: SnsNotifierDeps = {}): Notifier {
  if (!/^arn:[\w-]+:sns:[\w-]+:\d{12}:[\w-]{1,256}(\.fifo)?$/.test(settings.topicArn ?? '')) {
    throw new ValidationError('SNS notifier settings', [
      { path: 'topicArn', message: 'must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)' },
    ]);
  }
  const fifo = settings.topicArn.endsWith('.fifo');
  const statuses = new Set<JobStatus>(settings.statuses ?? ['COMPLETED', 'FAILED']);
  const client = deps.client ?? new SNSClient({});
  const redact = deps.redact ?? createRedactor();

  return {
    specificationVersion: 'v1',
    async notify({ notification, idempotencyKey, signal }) {
      if (!statuses.has(notification.status)) return;
      const body: SnsJobMessage = {
        ...redactValue(notification, redact),
        idempotencyKey,
        ...(notification.delivery ? { summary: redact(summaryOf(notification.delivery)) } : {}),
      };
      const message = JSON.stringify(body);
      const attributes: Record<string, MessageAttributeValue> = {
        status: { DataType: 'String', StringValue: notification.status },
        jobId: { DataType: 'String', StringValue: notification.jobId },
        userId: { DataType: 'String', StringValue: notification.userId },
      };
      const size =
        Buffer.byteLength(message) +
        Object.entries(attributes).reduce(
          (sum, [name, value]) =>
            sum +
            Buffer.byteLength(name) +
            Buffer.byteLength(value.DataType ?? '') +
            Buffer.byteLength(value.StringValue ?? ''),
          0,
        );
      if (size > SNS_MAX_MESSAGE_BYTES) {
        throw new PermanentError(
          `The ${notification.status} notification of job ${notification.jobId} is ${size} bytes; SNS takes at most ${SNS_MAX_MESSAGE_BYTES}`,
        );
      }
      try {
        await client.send(
          new PublishCommand({
            TopicArn: settings.topicArn,
            Message: message,
            Subject: subject(notification),
            MessageAttributes: attributes,
            ...(fifo
              ? { MessageGroupId: notification.jobId, MessageDeduplicationId: dedupId(idempotencyKey) }
              : {}),
          }),
          signal ? { abortSignal: signal } : {},
        );
      } catch (error) {
        throw toPipelineAwsError(error, { operation: `SNS Publish to ${settings.topicArn}`, redact, signal });
      }
    },
  };
}

/** An email subject: ASCII, no line breaks, fewer than 100 characters (SNS refuses anything else). */
function subject(notification: JobNotification): string {
  const name =
    notification.businessName
      .normalize('NFKD')
      .replace(/[^\x20-\x7e]/g, '')
      .trim() || notification.jobId;
  // The qualifier goes before the name, so a long name is what the length limit cuts.
  return `MVP ${notification.status.toLowerCase()}${qualifier(notification)}: ${name}`.slice(
    0,
    SNS_MAX_SUBJECT_LENGTH,
  );
}

/** A landing page or a missing feature is said in the subject, never hidden behind "completed". */
function qualifier(notification: JobNotification): string {
  const { delivery } = notification;
  if (!delivery) return '';
  if (delivery.kind !== 'app') return ' (landing page only)';
  const missing = featuresNotBuilt(delivery);
  return missing === 0 ? '' : ` (${missing} of ${delivery.features.length} features not built)`;
}

function summaryOf(delivery: NonNullable<JobNotification['delivery']>): string {
  const details = deliveryDetails(delivery);
  const headline = deliveryHeadline(delivery);
  return details ? `${headline[0]!.toUpperCase()}${headline.slice(1)}. ${details}` : headline;
}

/** SNS subjects must be under 100 characters. */
const SNS_MAX_SUBJECT_LENGTH = 99;

/** A FIFO deduplication id: at most 128 of the characters SNS allows. */
function dedupId(key: string): string {
  return key.replace(/[^\x21-\x7e]/g, '_').slice(0, 128);
}
