import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the stand-in received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface StandInResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export interface StandIn {
  endpoint: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Dummy credentials and region for the SDK clients pointed at a stand-in. */
export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
} as const;

/** An HTTP server on a free loopback port answering with `handle`. */
export async function startStandIn(handle: (request: RecordedRequest) => StandInResponse): Promise<StandIn> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      let response: StandInResponse;
      try {
        response = handle(request);
      } catch (error) {
        response = { status: 500, body: String(error) };
      }
      res.writeHead(response.status, {
        'x-amzn-requestid': randomUUID(),
        'content-length': Buffer.byteLength(response.body),
        ...response.headers,
      });
      res.end(response.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A failure the next matching request gets instead of success. */
export interface ScriptedError {
  status: number;
  code: string;
  message: string;
}

const isSigned = (headers: IncomingHttpHeaders) =>
  String(headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ');

// ---------------------------------------------------------------- SNS (AWS query protocol)

const SNS_NS = 'http://sns.amazonaws.com/doc/2010-03-31/';
const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A message SNS accepted for delivery. */
export interface SnsPublished {
  messageId: string;
  topicArn: string;
  message: string;
  subject: string | undefined;
  attributes: Record<string, { DataType: string; StringValue?: string }>;
  groupId: string | undefined;
  deduplicationId: string | undefined;
}

export interface SnsStandIn extends StandIn {
  /** Messages delivered to subscribers, oldest first (a FIFO duplicate is accepted but not delivered). */
  published: SnsPublished[];
  /** Failures for the next Publish calls, in order. */
  failNext(...errors: ScriptedError[]): void;
}

/**
 * SNS as the query protocol has it: form-encoded `Action=Publish&Version=2010-03-31&…` POSTs,
 * XML answers (`PublishResponse/PublishResult/MessageId`, errors as
 * `ErrorResponse/Error/{Type,Code,Message}`), NotFound for an unknown topic, InvalidParameter
 * for a missing message or a FIFO topic without a group id, FIFO deduplication by id.
 */
export async function startSnsStandIn(topics: readonly string[]): Promise<SnsStandIn> {
  const published: SnsPublished[] = [];
  const failures: ScriptedError[] = [];
  const seenDedup = new Map<string, string>();
  const error = (e: ScriptedError): StandInResponse => ({
    status: e.status,
    headers: { 'content-type': 'text/xml' },
    body: `<ErrorResponse xmlns="${SNS_NS}"><Error><Type>${e.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  });
  const standIn = await startStandIn((request) => {
    if (!isSigned(request.headers))
      return error({
        status: 403,
        code: 'MissingAuthenticationToken',
        message: 'Request is missing Authentication Token',
      });
    if (!String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded'))
      return error({ status: 400, code: 'InvalidAction', message: 'Expected a form-encoded query request' });
    const form = new URLSearchParams(request.body);
    if (form.get('Action') !== 'Publish' || form.get('Version') !== '2010-03-31')
      return error({
        status: 400,
        code: 'InvalidAction',
        message: `Could not find operation ${form.get('Action')}`,
      });
    const scripted = failures.shift();
    if (scripted) return error(scripted);
    const topicArn = form.get('TopicArn') ?? '';
    if (!topics.includes(topicArn))
      return error({ status: 404, code: 'NotFound', message: 'Topic does not exist' });
    const message = form.get('Message');
    if (!message)
      return error({ status: 400, code: 'InvalidParameter', message: 'Invalid parameter: Empty message' });
    const attributes: SnsPublished['attributes'] = {};
    for (let i = 1; form.has(`MessageAttributes.entry.${i}.Name`); i++) {
      const name = form.get(`MessageAttributes.entry.${i}.Name`) ?? '';
      const dataType = form.get(`MessageAttributes.entry.${i}.Value.DataType`) ?? '';
      const value = form.get(`MessageAttributes.entry.${i}.Value.StringValue`) ?? undefined;
      const known =
        dataType === 'String' || dataType === 'String.Array' || /^(Number|Binary)(\..+)?$/.test(dataType);
      if (!known)
        return error({
          status: 400,
          code: 'ParameterValueInvalid',
          message: `The message attribute '${name}' has an invalid message attribute type`,
        });
      attributes[name] = { DataType: dataType, ...(value !== undefined ? { StringValue: value } : {}) };
    }
    if (Object.keys(attributes).length > 10)
      return error({
        status: 400,
        code: 'InvalidParameterValue',
        message: 'Number of message attributes exceeds the limit of 10',
      });
    const subject = form.get('Subject') ?? undefined;
    // SNS: "Subjects must be ASCII text … and must be less than 100 characters long."
    if (subject !== undefined && (subject.length >= 100 || /[^\x20-\x7e]/.test(subject)))
      return error({ status: 400, code: 'InvalidParameter', message: 'Invalid parameter: Subject' });
    const groupId = form.get('MessageGroupId') ?? undefined;
    const deduplicationId = form.get('MessageDeduplicationId') ?? undefined;
    const fifo = topicArn.endsWith('.fifo');
    if (fifo && !groupId)
      return error({
        status: 400,
        code: 'InvalidParameter',
        message: 'Invalid parameter: The MessageGroupId parameter is required for FIFO topics',
      });
    let messageId: string = randomUUID();
    const dedupKey = fifo && deduplicationId ? `${topicArn} ${deduplicationId}` : undefined;
    const seen = dedupKey ? seenDedup.get(dedupKey) : undefined;
    if (seen) messageId = seen;
    else {
      if (dedupKey) seenDedup.set(dedupKey, messageId);
      published.push({ messageId, topicArn, message, subject, attributes, groupId, deduplicationId });
    }
    return {
      status: 200,
      headers: { 'content-type': 'text/xml' },
      body: `<PublishResponse xmlns="${SNS_NS}"><PublishResult><MessageId>${messageId}</MessageId>${fifo ? `<SequenceNumber>${String(published.length).padStart(20, '0')}</SequenceNumber>` : ''}</PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    };
  });
  return { ...standIn, published, failNext: (...errors) => void failures.push(...errors) };
}

// ---------------------------------------------------------------- JSON 1.1 services

const jsonError = (e: ScriptedError): StandInResponse => ({
  status: e.status,
  headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-ErrorType': e.code },
  body: JSON.stringify({ __type: e.code, message: e.message }),
});
const jsonOk = (body: unknown): StandInResponse => ({
  status: 200,
  headers: { 'content-type': 'application/x-amz-json-1.1' },
  body: JSON.stringify(body),
});

/** A JSON 1.1 request's operation and body, or the error AWS answers a malformed one with. */
function json11(
  request: RecordedRequest,
  prefix: string,
): { operation: string; input: Record<string, unknown> } | StandInResponse {
  if (!isSigned(request.headers))
    return jsonError({
      status: 400,
      code: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
  const target = String(request.headers['x-amz-target'] ?? '');
  if (request.headers['content-type'] !== 'application/x-amz-json-1.1' || !target.startsWith(`${prefix}.`))
    return jsonError({
      status: 400,
      code: 'UnknownOperationException',
      message: `Unknown operation ${target}`,
    });
  try {
    return {
      operation: target.slice(prefix.length + 1),
      input: JSON.parse(request.body) as Record<string, unknown>,
    };
  } catch {
    return jsonError({ status: 400, code: 'SerializationException', message: 'Malformed JSON' });
  }
}

// ---------------------------------------------------------------- EventBridge

/** An event EventBridge accepted. */
export interface PutEvent {
  eventId: string;
  busName: string;
  source: string;
  detailType: string;
  detail: unknown;
}

export interface EventBridgeStandIn extends StandIn {
  events: PutEvent[];
  /** Whole-request failures for the next PutEvents calls (throttling, 5xx), in order. */
  failNext(...errors: ScriptedError[]): void;
  /** Per-entry failures for the next entries (a 200 with FailedEntryCount > 0), in order. */
  failNextEntries(...codes: Array<{ code: string; message: string }>): void;
}

/**
 * EventBridge as JSON 1.1 has it: `X-Amz-Target: AWSEvents.PutEvents`, 1–10 entries with Source,
 * DetailType, Detail (a JSON object) and EventBusName; the answer lists one result per entry in
 * order (`EventId`, or `ErrorCode` + `ErrorMessage`) and `FailedEntryCount`; an unknown bus is a
 * failed entry; whole-request errors carry `__type` and `x-amzn-ErrorType`.
 */
export async function startEventBridgeStandIn(buses: readonly string[]): Promise<EventBridgeStandIn> {
  const events: PutEvent[] = [];
  const failures: ScriptedError[] = [];
  const entryFailures: Array<{ code: string; message: string }> = [];
  const standIn = await startStandIn((request) => {
    const parsed = json11(request, 'AWSEvents');
    if ('status' in parsed) return parsed;
    if (parsed.operation !== 'PutEvents')
      return jsonError({ status: 400, code: 'UnknownOperationException', message: parsed.operation });
    const scripted = failures.shift();
    if (scripted) return jsonError(scripted);
    const entries = parsed.input.Entries as Array<Record<string, unknown>> | undefined;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > 10)
      return jsonError({
        status: 400,
        code: 'ValidationException',
        message: 'Entries must hold 1 to 10 entries',
      });
    let failed = 0;
    const results = entries.map((entry) => {
      const fail = (code: string, message: string) => {
        failed++;
        return { ErrorCode: code, ErrorMessage: message };
      };
      const scriptedEntry = entryFailures.shift();
      if (scriptedEntry) return fail(scriptedEntry.code, scriptedEntry.message);
      const busName = String(entry.EventBusName ?? 'default');
      if (!buses.includes(busName)) return fail('InvalidArgument', `Event bus ${busName} does not exist.`);
      if (!entry.Source || !entry.DetailType)
        return fail('InvalidArgument', 'Parameter(s) Source, DetailType must be specified.');
      let detail: unknown;
      try {
        detail = JSON.parse(String(entry.Detail));
      } catch {
        return fail('MalformedDetail', 'Detail is malformed.');
      }
      if (!detail || typeof detail !== 'object' || Array.isArray(detail))
        return fail('MalformedDetail', 'Detail is malformed.');
      const eventId = randomUUID();
      events.push({
        eventId,
        busName,
        source: String(entry.Source),
        detailType: String(entry.DetailType),
        detail,
      });
      return { EventId: eventId };
    });
    return jsonOk({ FailedEntryCount: failed, Entries: results });
  });
  return {
    ...standIn,
    events,
    failNext: (...errors) => void failures.push(...errors),
    failNextEntries: (...codes) => void entryFailures.push(...codes),
  };
}

// ---------------------------------------------------------------- Secrets Manager

export interface SecretsManagerStandIn extends StandIn {
  /** Failures for the next GetSecretValue calls, in order. */
  failNext(...errors: ScriptedError[]): void;
}

/**
 * Secrets Manager as JSON 1.1 has it: `X-Amz-Target: secretsmanager.GetSecretValue` with a
 * `SecretId` (ARN or name); the answer has ARN, Name, VersionId, SecretString, VersionStages,
 * CreatedDate; an unknown secret is ResourceNotFoundException.
 */
export async function startSecretsManagerStandIn(
  secrets: Record<string, string>,
): Promise<SecretsManagerStandIn> {
  const failures: ScriptedError[] = [];
  const standIn = await startStandIn((request) => {
    const parsed = json11(request, 'secretsmanager');
    if ('status' in parsed) return parsed;
    if (parsed.operation !== 'GetSecretValue')
      return jsonError({ status: 400, code: 'UnknownOperationException', message: parsed.operation });
    const scripted = failures.shift();
    if (scripted) return jsonError(scripted);
    const id = String(parsed.input.SecretId ?? '');
    const value = secrets[id];
    if (value === undefined)
      return jsonError({
        status: 400,
        code: 'ResourceNotFoundException',
        message: "Secrets Manager can't find the specified secret.",
      });
    return jsonOk({
      ARN: id,
      Name: id.split(':').at(-1),
      VersionId: randomUUID(),
      SecretString: value,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: 1767225600,
    });
  });
  return { ...standIn, failNext: (...errors) => void failures.push(...errors) };
}
