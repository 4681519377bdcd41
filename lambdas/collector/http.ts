import type { APIGatewayProxyResult } from 'aws-lambda';

/** Every collector response is JSON and readable by browser producers on any origin. */
export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyResult {
  return {
    statusCode,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Access-Control-Allow-Origin': '*',
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
