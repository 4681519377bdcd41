import type { APIGatewayProxyResult } from 'aws-lambda';

/** Every collector response is JSON; CORS headers are added by withCors for allowed origins only. */
export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyResult {
  return {
    statusCode,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
    },
    body: JSON.stringify(body),
    // The API treats every media type as binary; a text body must say it is not base64.
    isBase64Encoded: false,
  };
}

export interface RequestError {
  statusCode: 400 | 413 | 415 | 500 | 503;
  code: string;
  message: string;
}

/**
 * The one shape of every refusal: `{"error": {"code", "message"}}`. When the body parsed, the
 * per-item results go along (`results`), so a producer learns each event's fate and the
 * event_id to resend a `retry` item with.
 */
export function errorResponse(error: RequestError, results?: readonly unknown[]): APIGatewayProxyResult {
  return jsonResponse(error.statusCode, {
    error: { code: error.code, message: error.message },
    ...(results ? { results } : {}),
  });
}

/** API Gateway keeps the client's header spelling; HTTP header names are case-insensitive. */
export function headerValue(
  headers: Record<string, string | undefined> | null | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/**
 * The browser origins allowed to read responses (context `corsAllowedOrigins`, passed as a JSON
 * array in CORS_ALLOWED_ORIGINS). Absent, empty or unreadable: none, so no CORS headers at all.
 */
export function allowedOriginsFromEnv(value: string | undefined): ReadonlySet<string> {
  if (value === undefined || value.trim() === '') return new Set();
  try {
    const parsed: unknown = JSON.parse(value);
    return new Set(Array.isArray(parsed) ? parsed.filter((origin): origin is string => typeof origin === 'string') : []);
  } catch {
    return new Set();
  }
}

/**
 * CORS on a collector response: `Access-Control-Allow-Origin` echoes the request's `Origin` only
 * when it is one of the allowed origins (compared exactly, as browsers send it), never `*`.
 * `Vary: Origin` whenever CORS is configured, since the answer then depends on the Origin header
 * (a cache must not hand one origin's answer to another). No origins configured: no headers.
 */
export function withCors(
  response: APIGatewayProxyResult,
  requestOrigin: string | undefined,
  allowedOrigins: ReadonlySet<string>,
): APIGatewayProxyResult {
  if (allowedOrigins.size === 0) return response;
  const headers: Record<string, string | number | boolean> = { ...response.headers, Vary: 'Origin' };
  if (requestOrigin !== undefined && allowedOrigins.has(requestOrigin)) headers['Access-Control-Allow-Origin'] = requestOrigin;
  return { ...response, headers };
}
