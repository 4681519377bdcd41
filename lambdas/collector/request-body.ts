import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { LIMITS } from '../shared/events';
import { parseUntrustedJson } from '../shared/json-safety';
import { headerValue, type RequestError } from './http';

const gunzipAsync = promisify(gunzip);

/** The parts of an API Gateway proxy event that carry the request body. */
export interface IngestRequest {
  headers: Record<string, string | undefined> | null;
  body: string | null;
  isBase64Encoded: boolean;
}

export type SubmissionResult = { ok: true; items: unknown[] } | { ok: false; error: RequestError };

const fail = (statusCode: RequestError['statusCode'], code: string, message: string): SubmissionResult => ({
  ok: false,
  error: { statusCode, code, message },
});

/**
 * Turns the HTTP request into the list of submitted items, or the reason the whole request is
 * refused (nothing is written then): content type, content encoding, size, JSON safety, shape.
 */
export async function readSubmission(request: IngestRequest): Promise<SubmissionResult> {
  const contentType = headerValue(request.headers, 'content-type');
  if (!isJsonContentType(contentType)) {
    return fail(415, 'unsupported_media_type', `content-type must be application/json, got ${contentType ?? 'none'}`);
  }

  const encoding = (headerValue(request.headers, 'content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    return fail(415, 'unsupported_content_encoding', `content-encoding must be gzip or absent, got ${encoding}`);
  }

  // The API maps every media type to binary, so bodies normally arrive base64-encoded.
  const received = Buffer.from(request.body ?? '', request.isBase64Encoded ? 'base64' : 'utf8');
  let bytes = received;
  if (encoding === 'gzip') {
    try {
      // maxOutputLength stops a gzip bomb before it is inflated in memory.
      bytes = await gunzipAsync(received, { maxOutputLength: LIMITS.maxBodyBytes });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        return tooLarge();
      }
      return fail(400, 'invalid_gzip', 'content-encoding is gzip but the body is not valid gzip data');
    }
  }
  if (bytes.byteLength > LIMITS.maxBodyBytes) return tooLarge();

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail(400, 'invalid_encoding', 'the body is not valid UTF-8');
  }
  if (text.trim() === '') return fail(400, 'invalid_json', 'the body is empty');

  const parsed = parseUntrustedJson(text, { maxDepth: LIMITS.maxDepth });
  if (!parsed.ok) return fail(400, parsed.code, parsed.message);
  return itemsOf(parsed.value);
}

function tooLarge(): SubmissionResult {
  return fail(413, 'payload_too_large', `the decoded body exceeds ${LIMITS.maxBodyBytes} bytes`);
}

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const mediaType = value.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One event object, or `{"events": [...]}` with 1..maxBatchEvents items and nothing else. */
function itemsOf(document: unknown): SubmissionResult {
  if (!isPlainObject(document)) {
    return fail(400, 'invalid_shape', 'the body must be one event object or {"events": [...]}');
  }
  if (!Object.hasOwn(document, 'events')) return { ok: true, items: [document] };

  const { events } = document;
  if (Object.keys(document).length !== 1 || !Array.isArray(events)) {
    return fail(400, 'invalid_shape', 'a batch must be {"events": [...]} with no other top-level keys');
  }
  if (events.length === 0) return fail(400, 'empty_batch', 'the events array is empty');
  if (events.length > LIMITS.maxBatchEvents) {
    return fail(
      400,
      'too_many_events',
      `a batch holds at most ${LIMITS.maxBatchEvents} events, got ${events.length}`,
    );
  }
  return { ok: true, items: events };
}
