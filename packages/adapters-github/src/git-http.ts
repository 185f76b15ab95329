import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';

async function collect(body: AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array | undefined> {
  if (!body) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

async function* iterate(stream: ReadableStream<Uint8Array>): AsyncIterableIterator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value) yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * An isomorphic-git HTTP client on a `fetch` function (the global one by default), so that
 * tests and embedders can route git traffic like the REST calls. Request bodies are buffered
 * (git packs of an MVP are small); responses stream.
 */
export function createFetchGitHttp(fetchFn: typeof fetch = globalThis.fetch): HttpClient {
  return {
    async request(request: GitHttpRequest): Promise<GitHttpResponse> {
      const body = await collect(request.body);
      const response = await fetchFn(request.url, {
        method: request.method ?? 'GET',
        headers: request.headers ?? {},
        ...(body ? { body } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
        redirect: 'follow',
      });
      const headers: Record<string, string> = {};
      response.headers.forEach((value, key) => {
        headers[key] = value;
      });
      return {
        url: response.url || request.url,
        method: request.method ?? 'GET',
        statusCode: response.status,
        statusMessage: response.statusText,
        headers,
        body: response.body ? iterate(response.body) : iterate(new Blob([]).stream()),
      };
    },
  };
}

/** The same client with `signal` applied to every request that has none of its own. */
export function withSignal(http: HttpClient, signal: AbortSignal | undefined): HttpClient {
  if (!signal) return http;
  return { request: (request) => http.request({ ...request, signal: request.signal ?? signal }) };
}
