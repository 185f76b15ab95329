/**
 * A request as any HTTP framework can describe it: Express, a Lambda event, node:http. Header
 * names are lower case. `body` is the raw body (string or bytes, JSON expected) or a value a
 * framework parsed already (Express's `express.json()`).
 */
export interface HttpRequest {
  method: string;
  /** The URL path without the query, e.g. `/api/mvp/status/job_1`. Not yet percent-decoded. */
  path: string;
  /** Query parameters, one value each (the first when repeated). */
  query: Readonly<Record<string, string | undefined>>;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body?: unknown;
  /** Aborts when the client goes away; long answers (event streams) end with it. */
  signal?: AbortSignal;
}

/**
 * An answer any framework can send. `body` is text (JSON, HTML), bytes (a file), or, for an event
 * stream, chunks of text to write as they come; undefined for no body.
 */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body?: string | Uint8Array | AsyncIterable<string>;
}

/** Answers the requests it knows; `undefined` for a path that is not its own, so another handler may answer. */
export type HttpRoute = (request: HttpRequest) => Promise<HttpResponse | undefined>;
