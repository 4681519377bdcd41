import { randomUUID } from 'node:crypto';
import { LIMITS } from '../shared/events';
import type { IngestResult } from '../shared/ingest-response';
import { deliverInChunks, type RetryClock, type RetryPolicy } from '../shared/retry';

/**
 * Posts events to the ingest API in batches, resending (with the same event_id) the events the
 * API reports as `retry` (in a 207 or a 503) and whole batches refused with 429 or 5xx or lost to
 * a network error or timeout, with capped backoff. An event without an event_id gets one before
 * its first attempt: a request may have been written even when its answer never arrived, and
 * only a resend under the same event_id is stored once.
 * Used by the Generator function.
 */

export interface SendOptions {
  /** The API stage URL (stack output IngestUrl), with or without a trailing slash. */
  ingestUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
  policy?: RetryPolicy;
  clock?: RetryClock;
  requestTimeoutMs?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Told about each failed request (status or network error), for logging. */
  onError?: (error: unknown, eventCount: number) => void;
}

export interface SendSummary {
  events: number;
  requests: number;
  /** Written to the raw stream. */
  accepted: number;
  /** Accepted although the API's synchronous check found them invalid (they go to the DLQ). */
  acceptedInvalid: number;
  /** Permanently refused per event (too large, not an object), also in a 400 all_rejected. */
  rejected: number;
  /** Whole requests refused for good (400, 403, 413, 415): their events were not written. */
  refused: number;
  /** Still not written when the retries ran out. */
  undelivered: number;
  /** Events that needed more than one attempt. */
  resent: number;
}

export const SEND_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  budgetMs: 30_000,
};

/** `<stage URL>/events`, whether or not the stage URL ends with a slash. */
export function eventsEndpoint(ingestUrl: string): string {
  const base = ingestUrl.endsWith('/') ? ingestUrl : `${ingestUrl}/`;
  return new URL('events', base).toString();
}

export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`ingest API answered ${status}: ${body.slice(0, 300)}`);
    this.name = 'HttpStatusError';
  }
}

/** Throttling and server-side failures: the contract says the client retries the request. */
function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

interface Entry {
  event: Record<string, unknown>;
  bytes: number;
  attempts: number;
  outcome?: 'accepted' | 'rejected' | 'refused';
  valid?: boolean;
}

// Leaves room for the `{"events":[...]}` wrapper under the 1 MiB body limit.
const MAX_REQUEST_BYTES = LIMITS.maxBodyBytes - 1_024;

export async function sendEvents(events: readonly Record<string, unknown>[], options: SendOptions): Promise<SendSummary> {
  const doFetch = options.fetch ?? fetch;
  const url = eventsEndpoint(options.ingestUrl);
  const concurrency = options.concurrency ?? 4;
  let requests = 0;

  const postChunk = async (chunk: Entry[]): Promise<boolean[]> => {
    requests += 1;
    for (const entry of chunk) entry.attempts += 1;
    const response = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': options.apiKey },
      body: JSON.stringify({ events: chunk.map((entry) => entry.event) }),
      signal: AbortSignal.timeout(options.requestTimeoutMs ?? 15_000),
    });
    const text = await response.text();
    // 202/207, and since contract wave 2 also 503 (some retry) and 400 all_rejected: one result
    // per event, each `retry` carrying the event_id to resend with.
    const results = resultsOf(text, chunk.length);
    if (response.status !== 202 && response.status !== 207) {
      const error = new HttpStatusError(response.status, text);
      const perEvent = results && (response.status === 503 || (response.status === 400 && errorCodeOf(text) === 'all_rejected'));
      if (!perEvent) {
        if (isRetryableStatus(response.status)) throw error;
        options.onError?.(error, chunk.length);
        for (const entry of chunk) entry.outcome = 'refused';
        return chunk.map(() => true);
      }
      options.onError?.(error, chunk.length);
    } else if (!results) {
      throw new Error(`ingest API answered ${response.status} without one result per event`);
    }
    return chunk.map((entry, index) => {
      const result = results!.find((r) => r.index === index) ?? results![index]!;
      if (result.status === 'retry') {
        // A resend must carry the event_id the API wrote it under, so it is stored at most once.
        if ((entry.event.event_id === undefined || entry.event.event_id === null) && typeof result.event_id === 'string') {
          entry.event = { ...entry.event, event_id: result.event_id };
        }
        return false;
      }
      entry.outcome = result.status;
      entry.valid = result.valid;
      return true;
    });
  };

  const entries: Entry[] = events.map((given) => {
    const event = withEventId(given);
    return { event, bytes: Buffer.byteLength(JSON.stringify(event), 'utf8') + 1, attempts: 0 };
  });
  // deliverInChunks sends all of its chunks at once: hand it a few at a time.
  const groupSize = concurrency * LIMITS.maxBatchEvents;
  for (let start = 0; start < entries.length; start += groupSize) {
    await deliverInChunks(entries.slice(start, start + groupSize), {
      limits: { maxCount: LIMITS.maxBatchEvents, maxBytes: MAX_REQUEST_BYTES, sizeOf: (entry) => entry.bytes },
      sendChunk: postChunk,
      policy: options.policy ?? SEND_RETRY_POLICY,
      ...(options.clock ? { clock: options.clock } : {}),
      onError: (error, failed) => options.onError?.(error, failed.length),
    });
  }

  return {
    events: entries.length,
    requests,
    accepted: entries.filter((e) => e.outcome === 'accepted').length,
    acceptedInvalid: entries.filter((e) => e.outcome === 'accepted' && e.valid === false).length,
    rejected: entries.filter((e) => e.outcome === 'rejected').length,
    refused: entries.filter((e) => e.outcome === 'refused').length,
    undelivered: entries.filter((e) => e.outcome === undefined).length,
    resent: entries.filter((e) => e.attempts > 1).length,
  };
}

/**
 * The event with an event_id: its own, or a new UUID when it has none (absent or null, which the
 * collector would fill in itself). Assigned before the first attempt, so every resend (after a
 * `retry` result, a 5xx without results or a timeout) carries the same one.
 */
export function withEventId(event: Record<string, unknown>): Record<string, unknown> {
  return event.event_id === undefined || event.event_id === null ? { ...event, event_id: randomUUID() } : event;
}

/** The body's `results` when it holds one well-formed result per event, else undefined. */
function resultsOf(text: string, count: number): IngestResult[] | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const results = (body as { results?: unknown } | null)?.results;
  if (!Array.isArray(results) || results.length !== count) return undefined;
  const wellFormed = results.every(
    (r: Partial<IngestResult> | null) =>
      typeof r === 'object' && r !== null && typeof r.index === 'number' && ['accepted', 'rejected', 'retry'].includes(r.status as string),
  );
  return wellFormed ? (results as IngestResult[]) : undefined;
}

function errorCodeOf(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } } | null)?.error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}
