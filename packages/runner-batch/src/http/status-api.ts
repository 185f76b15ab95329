import {
  type FieldIssue,
  getJob,
  idSchema,
  listJobs,
  type PipelineDeps,
  PipelineError,
  submitJob,
  submitJobInputSchema,
  toFieldIssues,
  ValidationError,
} from '@mvp-pipeline/core';
import { type JobEventsOptions, jobEvents } from './job-events.js';
import type { HttpRequest, HttpResponse, HttpRoute } from './types.js';

export interface StatusApiOptions {
  /** What the use cases need: `pipeline.deps` from `createPipeline`, or your own ports. */
  deps: PipelineDeps;
  /**
   * Registers a spec sent as `{spec}` and returns whose it is (the JSON spec source's `register`).
   * Without it, only `{userId, productId}` submissions are accepted.
   */
  registerSpec?: (spec: unknown) => Promise<{ user: { id: string }; product: { id: string } }>;
  /** Where the endpoints live. Default `/api/mvp`. */
  basePath?: string;
  /** The largest request body accepted, in bytes (413 beyond). Default 256 KiB. */
  maxBodyBytes?: number;
  /**
   * Serves `GET <base>/jobs/:jobId/events`, a Server-Sent Events stream of the job's updates.
   * Off by default: it holds a connection open, which a Lambda cannot.
   */
  events?: boolean | Omit<JobEventsOptions, 'signal'>;
}

/** The status API: `route` answers only its own paths; `handle` answers every request (404 for others). */
export interface StatusApi {
  route: HttpRoute;
  handle(request: HttpRequest): Promise<HttpResponse>;
}

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

/**
 * The web app's endpoints, framework-neutral (mount them with `toNodeListener` in node:http or
 * Express, or `toLambdaHandler` behind API Gateway):
 * - `POST <base>/deploy` with `{userId, productId, template?}`, or `{spec, template?}` when
 *   `registerSpec` is given → 202 `{success, jobId, status, currentStep, progress, businessName, statusUrl}`
 *   (submitJob: the request and the spec are validated, the trigger carries ids only);
 * - `GET <base>/status/:jobId` → 200 the job record;
 * - `GET <base>/jobs?userId=&limit=&cursor=` → 200 `{jobs, nextCursor?}`, newest first;
 * - `GET <base>/jobs/:jobId/events` → the job's updates as Server-Sent Events (when `events` is on).
 * Errors are JSON `{error, issues?}`: 400 invalid input (each issue names its field), 404 unknown
 * job or endpoint, 405 wrong method (with Allow), 413 body too large, 415 body not JSON, 503 the
 * queue could not be reached (try again), 500 anything else (details go to the log, not the client).
 * Messages pass through the pipeline's redactor.
 */
export function createStatusApi(options: StatusApiOptions): StatusApi {
  const { deps } = options;
  const base = (options.basePath ?? '/api/mvp').replace(/\/+$/, '');
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const events = options.events === true ? {} : options.events || undefined;
  const redact = deps.settings.redact;
  const { logger } = deps.ports;

  const deploy = async (request: HttpRequest): Promise<HttpResponse> => {
    const body = readJsonBody(request, maxBodyBytes);
    if (body instanceof HttpProblem) return body.response();
    const { userId, productId, template } = await submissionOf(body, options.registerSpec);
    const { job } = await submitJob(deps, {
      userId,
      productId,
      ...(template !== undefined ? { template } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    return json(202, {
      success: true,
      jobId: job.jobId,
      status: job.status,
      currentStep: job.currentStep,
      progress: job.progress,
      businessName: job.businessName,
      statusUrl: `${base}/status/${encodeURIComponent(job.jobId)}`,
      ...(events ? { eventsUrl: `${base}/jobs/${encodeURIComponent(job.jobId)}/events` } : {}),
    });
  };

  const stream = async (request: HttpRequest, jobId: string): Promise<HttpResponse> => {
    const job = await getJob(deps, { jobId });
    return {
      status: 200,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      },
      body: jobEvents(deps.ports.store, job, {
        ...events,
        ...(request.signal ? { signal: request.signal } : {}),
      }),
    };
  };

  const route: HttpRoute = async (request) => {
    if (request.path !== base && !request.path.startsWith(`${base}/`)) return undefined;
    const method = request.method.toUpperCase();
    const reading = method === 'GET' || method === 'HEAD';
    try {
      const segments = pathSegments(request.path.slice(base.length));
      const [first, id, last, ...extra] = segments;
      if (first === 'deploy' && segments.length === 1) {
        return method === 'POST' ? await deploy(request) : methodNotAllowed('POST');
      }
      if (first === 'status' && id !== undefined && segments.length === 2) {
        if (!reading) return methodNotAllowed('GET, HEAD');
        return json(200, await getJob(deps, { jobId: validJobId(id) }));
      }
      if (first === 'jobs' && segments.length === 1) {
        if (!reading) return methodNotAllowed('GET, HEAD');
        const { userId, limit, cursor } = request.query;
        const page = await listJobs(deps, {
          userId: userId ?? '',
          ...(limit !== undefined ? { limit } : {}),
          ...(cursor !== undefined ? { cursor } : {}),
        });
        return json(200, page);
      }
      if (events && first === 'jobs' && id !== undefined && last === 'events' && extra.length === 0) {
        if (!reading) return methodNotAllowed('GET, HEAD');
        return await stream(request, validJobId(id));
      }
      return json(404, { error: `No endpoint ${method} ${request.path}` });
    } catch (error) {
      return errorResponse(error, redact, (message, fields) => logger.error(message, fields));
    }
  };

  return {
    route,
    async handle(request) {
      return (await route(request)) ?? json(404, { error: `No endpoint ${request.method} ${request.path}` });
    },
  };
}

interface Submission {
  userId: string;
  productId: string;
  template: unknown;
}

async function submissionOf(
  body: unknown,
  registerSpec: StatusApiOptions['registerSpec'],
): Promise<Submission> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('deploy request', [{ path: '', message: 'must be a JSON object' }]);
  }
  const fields = body as Record<string, unknown>;
  if (!('spec' in fields)) {
    const { userId, productId, template, ...rest } = fields;
    const parsed = submitJobInputSchema.safeParse({ userId, productId, template }, { reportInput: true });
    const issues = [
      ...(parsed.success ? [] : toFieldIssues(parsed.error.issues)),
      ...Object.keys(rest).map((key) => ({ path: key, message: 'is not a field of a deploy request' })),
    ];
    if (issues.length) throw new ValidationError('deploy request', issues);
    return fields as unknown as Submission;
  }
  const { spec, template, ...rest } = fields;
  const issues: FieldIssue[] = Object.keys(rest).map((key) => ({
    path: key,
    message: 'is not allowed with spec (the spec names its user and product)',
  }));
  if (!registerSpec) {
    issues.push({ path: 'spec', message: 'cannot be submitted here: send userId and productId' });
  }
  if (issues.length) throw new ValidationError('deploy request', issues);
  try {
    const registered = await registerSpec!(spec);
    return { userId: registered.user.id, productId: registered.product.id, template };
  } catch (error) {
    if (!PipelineError.isInstance(error) || error.code !== 'VALIDATION') throw error;
    throw new ValidationError(
      'deploy request',
      (error as ValidationError).issues.map((issue) => ({
        ...issue,
        path: issue.path ? `spec.${issue.path}` : 'spec',
      })),
    );
  }
}

function validJobId(raw: string): string {
  const parsed = idSchema.safeParse(raw);
  if (!parsed.success || parsed.data !== raw) {
    throw new ValidationError('job id', [
      { path: 'jobId', message: 'must be a job id (letters, digits, and _ . : @ -)' },
    ]);
  }
  return raw;
}

/** The path's segments, percent-decoded; a malformed escape is a 400. */
function pathSegments(rest: string): string[] {
  const parts = rest.split('/').filter((s) => s.length > 0);
  try {
    return parts.map((s) => decodeURIComponent(s));
  } catch {
    throw new ValidationError('request path', [{ path: '', message: 'has a malformed percent escape' }]);
  }
}

/** A reply decided before any use case runs (size, content type, syntax). */
class HttpProblem {
  constructor(
    readonly status: number,
    readonly body: { error: string; issues?: FieldIssue[] },
  ) {}
  response(): HttpResponse {
    return json(this.status, this.body);
  }
}

/** The request's JSON body: parsed here when raw, as is when a framework parsed it already. */
function readJsonBody(request: HttpRequest, maxBodyBytes: number): unknown {
  const { body } = request;
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) return body;
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (size > maxBodyBytes) {
    return new HttpProblem(413, { error: `The request body is larger than ${maxBodyBytes} bytes` });
  }
  const type = header(request, 'content-type') ?? '';
  if (size > 0 && !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    return new HttpProblem(415, { error: 'Send the request body as JSON (content-type: application/json)' });
  }
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    return new HttpProblem(400, {
      error: 'Invalid request body: it is not valid JSON',
      issues: [{ path: '', message: `is not valid JSON (${(error as Error).message})` }],
    });
  }
}

/** A header's value (the first, when repeated). */
export function header(request: HttpRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** A JSON answer that is never cached or sniffed as something else. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    },
    body: JSON.stringify(body),
  };
}

function methodNotAllowed(allow: string): HttpResponse {
  return json(405, { error: `Use ${allow} here` }, { allow });
}

/**
 * An error as the client should see it: validation and not-found in words, a retryable failure
 * as 503, anything else as a bare 500 whose details go to `log` only. Messages are redacted.
 */
export function errorResponse(
  error: unknown,
  redact: (text: string) => string,
  log: (message: string, fields?: Record<string, unknown>) => void,
): HttpResponse {
  if (PipelineError.isInstance(error)) {
    if (error.code === 'VALIDATION') {
      const issues = (error as ValidationError).issues.map((i) => ({
        path: i.path,
        message: redact(i.message),
      }));
      return json(400, { error: redact(error.message), issues });
    }
    if (error.code === 'NOT_FOUND') return json(404, { error: redact(error.message) });
    if (error.retryable) {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 5000) / 1000));
      return json(503, { error: redact(error.message) }, { 'retry-after': String(seconds) });
    }
  }
  log('Request failed', { error: redact(error instanceof Error ? error.message : String(error)) });
  return json(500, { error: 'Internal error: the server log has the details' });
}
