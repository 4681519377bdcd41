import { LIMITS } from '../shared/events';
import { deliverInChunks, type RetryClock, type RetryPolicy } from '../shared/retry';

/**
 * Posts events to the ingest API in batches, resending (with the same event_id) the events the
 * API reports as `retry` and whole batches refused with 429 or 5xx, with capped backoff.
 * Used by the Generator function and by `pipeline send`.
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
  /** Permanently refused per event (too large, not an object). */
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

interface IngestResult {
  index: number;
  event_id?: string;
  status: 'accepted' | 'rejected' | 'retry';
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
    if (response.status !== 202 && response.status !== 207) {
      const error = new HttpStatusError(response.status, text);
      if (isRetryableStatus(response.status)) throw error;
      options.onError?.(error, chunk.length);
      for (const entry of chunk) entry.outcome = 'refused';
      return chunk.map(() => true);
    }
    const results = (JSON.parse(text) as { results?: IngestResult[] }).results;
    if (!Array.isArray(results) || results.length !== chunk.length) {
      throw new Error(`ingest API answered ${response.status} without one result per event`);
    }
    const byIndex = new Map(results.map((r) => [r.index, r]));
    return chunk.map((entry, index) => {
      const result = byIndex.get(index) ?? results[index]!;
      if (result.status === 'retry') {
        // A resend must carry the event_id the API assigned, so it is stored at most once.
        if (entry.event.event_id === undefined && result.event_id) entry.event = { ...entry.event, event_id: result.event_id };
        return false;
      }
      entry.outcome = result.status;
      entry.valid = result.valid;
      return true;
    });
  };

  const entries: Entry[] = events.map((event) => ({
    event,
    bytes: Buffer.byteLength(JSON.stringify(event), 'utf8') + 1,
    attempts: 0,
  }));
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
