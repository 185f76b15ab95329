import { json } from './status-api.js';
import type { HttpRoute } from './types.js';

/** The parts of an API Gateway proxy event (HTTP API payload 2.0, or REST API 1.0) that are read. */
export interface ApiGatewayEvent {
  /** 2.0 */
  rawPath?: string;
  requestContext?: { http?: { method?: string } };
  /** 1.0 */
  httpMethod?: string;
  path?: string;
  headers?: Record<string, string | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}

export interface ApiGatewayResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

/**
 * Mounts a route as a Lambda handler behind API Gateway (either payload version). Header names
 * are lower-cased; a base64 body is decoded. Streamed answers are not possible here: mount the
 * status API without `events`.
 */
export function toLambdaHandler(route: HttpRoute) {
  return async (event: ApiGatewayEvent): Promise<ApiGatewayResult> => {
    const method = event.requestContext?.http?.method ?? event.httpMethod ?? 'GET';
    const path = event.rawPath ?? event.path ?? '/';
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(event.headers ?? {})) {
      if (value !== undefined) headers[name.toLowerCase()] = value;
    }
    const query: Record<string, string> = {};
    for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
      if (value !== undefined) query[name] = value;
    }
    const body =
      event.body === undefined || event.body === null
        ? undefined
        : event.isBase64Encoded
          ? Buffer.from(event.body, 'base64')
          : event.body;
    const response =
      (await route({
        method,
        path,
        query,
        headers,
        ...(body !== undefined ? { body } : {}),
      })) ?? json(404, { error: `No endpoint ${method} ${path}` });
    if (
      response.body !== undefined &&
      typeof response.body !== 'string' &&
      !(response.body instanceof Uint8Array)
    ) {
      return {
        statusCode: 500,
        headers: {},
        body: '{"error":"Streams cannot be answered from Lambda"}',
        isBase64Encoded: false,
      };
    }
    const binary = response.body instanceof Uint8Array;
    return {
      statusCode: response.status,
      headers: response.headers,
      body: binary
        ? Buffer.from(response.body as Uint8Array).toString('base64')
        : ((response.body as string | undefined) ?? ''),
      isBase64Encoded: binary,
    };
  };
}
