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

/** A secret as the stand-in keeps it. */
export interface StoredSecret {
  arn: string;
  name: string;
  value: string;
  description: string | undefined;
  tags: Array<{ Key: string; Value: string }>;
  /** Set once DeleteSecret scheduled it (with a recovery window); gone at once when forced. */
  deletionDate: number | undefined;
}

export interface SecretsManagerStandIn extends StandIn {
  /** Failures for the next calls (any operation), in order. */
  failNext(...errors: ScriptedError[]): void;
  /** The secrets it holds now, by name (scheduled deletions included). */
  stored(): ReadonlyMap<string, StoredSecret>;
}

const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const ACCOUNT_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:';

/**
 * Secrets Manager as JSON 1.1 has it (`X-Amz-Target: secretsmanager.<Operation>`), the calls the
 * pipeline makes:
 * - GetSecretValue: `SecretId` (ARN or name) → ARN, Name, VersionId, SecretString,
 *   VersionStages, CreatedDate; ResourceNotFoundException for an unknown secret,
 *   InvalidRequestException for one scheduled for deletion.
 * - CreateSecret: `Name` (1–512 of A-Za-z0-9/_+=.@-), `SecretString`, optional Description,
 *   Tags, KmsKeyId → ARN (the name and a 6-character suffix), Name, VersionId;
 *   ResourceExistsException when the name is taken (the same ClientRequestToken with the same
 *   value answers as the first call did), InvalidRequestException while a secret of that name is
 *   scheduled for deletion, InvalidParameterException for a bad name or no value.
 * - DeleteSecret: `SecretId`; `ForceDeleteWithoutRecovery` removes it now, otherwise it is
 *   scheduled (`RecoveryWindowInDays` 7–30, default 30); both at once is
 *   InvalidParameterException; unknown is ResourceNotFoundException → ARN, Name, DeletionDate.
 * Every request must be signed. `secrets` are there from the start, keyed by ARN.
 */
export async function startSecretsManagerStandIn(
  secrets: Record<string, string> = {},
): Promise<SecretsManagerStandIn> {
  const failures: ScriptedError[] = [];
  const byName = new Map<string, StoredSecret & { versionId: string; token: string | undefined }>();
  for (const [arn, value] of Object.entries(secrets)) {
    const name = arn.split(':').at(-1) ?? arn;
    byName.set(name, {
      arn,
      name,
      value,
      description: undefined,
      tags: [],
      deletionDate: undefined,
      versionId: randomUUID(),
      token: undefined,
    });
  }
  const find = (id: string) => byName.get(id) ?? [...byName.values()].find((s) => s.arn === id);
  const notFound = () =>
    jsonError({
      status: 400,
      code: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
    });
  const invalidParameter = (message: string) =>
    jsonError({ status: 400, code: 'InvalidParameterException', message });
  const standIn = await startStandIn((request) => {
    const parsed = json11(request, 'secretsmanager');
    if ('status' in parsed) return parsed;
    const scripted = failures.shift();
    if (scripted) return jsonError(scripted);
    const input = parsed.input;
    switch (parsed.operation) {
      case 'GetSecretValue': {
        const secret = find(String(input.SecretId ?? ''));
        if (!secret) return notFound();
        if (secret.deletionDate !== undefined)
          return jsonError({
            status: 400,
            code: 'InvalidRequestException',
            message: "You can't perform this operation on the secret because it was marked for deletion.",
          });
        return jsonOk({
          ARN: secret.arn,
          Name: secret.name,
          VersionId: secret.versionId,
          SecretString: secret.value,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: 1767225600,
        });
      }
      case 'CreateSecret': {
        const name = String(input.Name ?? '');
        if (!SECRET_NAME.test(name))
          return invalidParameter(
            'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
          );
        if (typeof input.SecretString !== 'string' || input.SecretString === '')
          return invalidParameter('You must provide either SecretString or SecretBinary.');
        const token = typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : undefined;
        const existing = byName.get(name);
        if (existing?.deletionDate !== undefined)
          return jsonError({
            status: 400,
            code: 'InvalidRequestException',
            message: `You can't create this secret because a secret with this name is already scheduled for deletion.`,
          });
        if (
          existing &&
          token !== undefined &&
          existing.token === token &&
          existing.value === input.SecretString
        )
          return jsonOk({ ARN: existing.arn, Name: existing.name, VersionId: existing.versionId });
        if (existing)
          return jsonError({
            status: 400,
            code: 'ResourceExistsException',
            message: `The operation failed because the secret ${name} already exists.`,
          });
        const suffix = randomUUID().replace(/-/g, '').slice(0, 6);
        const secret = {
          arn: `${ACCOUNT_ARN}${name}-${suffix}`,
          name,
          value: input.SecretString,
          description: typeof input.Description === 'string' ? input.Description : undefined,
          tags: Array.isArray(input.Tags) ? (input.Tags as StoredSecret['tags']) : [],
          deletionDate: undefined,
          versionId: token ?? randomUUID(),
          token,
        };
        byName.set(name, secret);
        return jsonOk({ ARN: secret.arn, Name: name, VersionId: secret.versionId });
      }
      case 'DeleteSecret': {
        const secret = find(String(input.SecretId ?? ''));
        const force = input.ForceDeleteWithoutRecovery === true;
        if (force && input.RecoveryWindowInDays !== undefined)
          return invalidParameter(
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
          );
        if (!secret) return notFound();
        const days = Number(input.RecoveryWindowInDays ?? 30);
        if (!force && (!Number.isInteger(days) || days < 7 || days > 30))
          return invalidParameter('RecoveryWindowInDays must be between 7 and 30 days.');
        const deletionDate = Math.floor(Date.now() / 1000) + (force ? 0 : days * 86_400);
        if (force) byName.delete(secret.name);
        else secret.deletionDate = deletionDate;
        return jsonOk({ ARN: secret.arn, Name: secret.name, DeletionDate: deletionDate });
      }
      default:
        return jsonError({ status: 400, code: 'UnknownOperationException', message: parsed.operation });
    }
  });
  return {
    ...standIn,
    failNext: (...errors) => void failures.push(...errors),
    stored: () =>
      new Map([...byName].map(([name, { versionId: _v, token: _t, ...secret }]) => [name, secret])),
  };
}
