import type http from 'node:http';
import { readBody } from './read-body';

/** How the local endpoint reads JSON requests and writes JSON answers, for every service it serves. */

export function sendJson(res: http.ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a JSON request body; undefined when it is not JSON (the caller answers as the service would). */
export function parseJson(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = raw.length ? JSON.parse(raw.toString('utf8')) : {};
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A JSON-protocol request's body (empty: `{}`), or undefined after answering 400 with the
 * service's SerializationException type when it is not JSON.
 */
export async function readJsonBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  errorType: string,
  contentType: string,
): Promise<Record<string, unknown> | undefined> {
  const raw = await readBody(req);
  try {
    return raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
  } catch {
    sendJson(res, 400, { __type: errorType, message: 'body is not JSON' }, contentType);
    return undefined;
  }
}
