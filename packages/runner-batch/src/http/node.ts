import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_MAX_BODY_BYTES, json } from './status-api.js';
import type { HttpRequest, HttpResponse, HttpRoute } from './types.js';

export interface NodeListenerOptions {
  /** The largest request body read, in bytes (413 beyond). Default 256 KiB. */
  maxBodyBytes?: number;
  /** Reports a failure to write an answer (the client is gone by then). */
  onError?: (error: unknown) => void;
}

/** What Express adds to node's request: the body a parser already read, and the path before mounting. */
type MaybeExpressRequest = IncomingMessage & { body?: unknown; originalUrl?: string };

/**
 * Mounts a route on node:http (`createServer(toNodeListener(api.route))`) or in Express
 * (`app.use(toNodeListener(api.route))`: paths it does not know go to `next`, and a body parsed
 * by `express.json()` is used as is). Bodies are read up to `maxBodyBytes`; an event stream is
 * written as it comes and stopped when the client goes away.
 */
export function toNodeListener(route: HttpRoute, options: NodeListenerOptions = {}) {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return (req: MaybeExpressRequest, res: ServerResponse, next?: (error?: unknown) => void): void => {
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const respond = async () => {
      const body = await readBody(req, maxBodyBytes);
      if (body === TOO_LARGE) {
        // Stop reading: the rest of an oversized body is not wanted.
        return send(
          req,
          res,
          json(
            413,
            { error: `The request body is larger than ${maxBodyBytes} bytes` },
            { connection: 'close' },
          ),
          gone.signal,
        );
      }
      const url = new URL(req.originalUrl ?? req.url ?? '/', 'http://localhost');
      const query: Record<string, string> = {};
      for (const [key, value] of url.searchParams) if (!(key in query)) query[key] = value;
      const request: HttpRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query,
        headers: req.headers,
        signal: gone.signal,
        ...(body !== undefined ? { body } : {}),
      };
      const response = await route(request);
      if (!response) {
        if (next) return next();
        return send(
          req,
          res,
          json(404, { error: `No endpoint ${request.method} ${request.path}` }),
          gone.signal,
        );
      }
      return send(req, res, response, gone.signal);
    };
    respond().catch((error) => {
      options.onError?.(error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(res.headersSent ? undefined : JSON.stringify({ error: 'Internal error' }));
    });
  };
}

const TOO_LARGE = Symbol('too large');

async function readBody(req: MaybeExpressRequest, max: number): Promise<unknown> {
  if (req.body !== undefined) return req.body;
  const method = (req.method ?? 'GET').toUpperCase();
  if (method === 'GET' || method === 'HEAD') return undefined;
  if (Number(req.headers['content-length'] ?? 0) > max) return TOO_LARGE;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return TOO_LARGE;
    chunks.push(chunk);
  }
  return chunks.length ? Buffer.concat(chunks).toString('utf8') : undefined;
}

/** Writes a response; a streamed body is written chunk by chunk until it ends or the client leaves. */
export async function send(
  req: IncomingMessage,
  res: ServerResponse,
  response: HttpResponse,
  signal: AbortSignal,
): Promise<void> {
  const { body } = response;
  const head = (req.method ?? 'GET').toUpperCase() === 'HEAD';
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) {
    const bytes = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(response.status, {
      ...response.headers,
      ...(bytes ? { 'content-length': String(bytes.byteLength) } : {}),
    });
    res.end(head ? undefined : bytes);
    return;
  }
  res.writeHead(response.status, response.headers);
  res.flushHeaders();
  if (head) {
    res.end();
    return;
  }
  const iterator = body[Symbol.asyncIterator]();
  try {
    while (!signal.aborted) {
      const { done, value } = await iterator.next();
      if (done || signal.aborted) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      }
    }
  } finally {
    await iterator.return?.();
    res.end();
  }
}
