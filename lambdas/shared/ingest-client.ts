import { randomUUID } from 'node:crypto';
import { LIMITS } from './events';
import type { IngestResult } from './ingest-response';
import type { FieldError } from './records';
import { backoffDelay, chunkByLimits, exponentialDelay, systemClock, type RetryClock, type RetryPolicy } from './retry';

/**
 * The one client of the ingest API (contract §1), used by the Generator function and by
 * `pipeline send`. It posts `{"events": [...]}` batches to `{IngestUrl}/events` with the API key,
 * keeps a concurrency (and optionally a rate), and resends with the same event_id, after a
 * backoff, the events the API reports as `retry` (in a 207 or a 503) and whole requests refused
 * with 429 or 5xx, answered without one result per event, or lost to a network error or timeout.
 * A request answered 413 (too large as a whole) is split in halves, each sent the same way, so
 * only an event too large on its own is refused. An event without an event_id gets one before its
 * first attempt: a request may have been written although its answer never arrived, and only a
 * resend under the same event_id is stored once. Fetch only: it ships in the generator's bundle.
 */

export interface IngestClientOptions {
  /** The API stage URL (stack output IngestUrl), with or without a trailing slash. */
  ingestUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
  /** A request without an answer after this long is abandoned and its events resent. */
  requestTimeoutMs?: number;
  /** Events per request, 1 to 500. */
  batchSize?: number;
  /**
   * Also cut requests by serialized size; an event larger than this on its own is not sent
   * (reported to onRequestError, counted undelivered). Without it the API's 413 splits requests.
   */
  maxRequestBytes?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Events per second for the first attempt; 0 or undefined: as fast as the concurrency allows. */
  rate?: number;
  /** Attempts per event (the first included), backoff, and the time budget for new attempts. */
  policy?: RetryPolicy;
  /** Full jitter under the exponential backoff (true), or the exponential delay as it is. */
  jitter?: boolean;
  clock?: RetryClock;
  /**
   * Told about every request that did not end in a 202/207 with results: an IngestHttpError for
   * an answer, the fetch error for a network failure or timeout.
   */
  onRequestError?: (error: unknown, eventCount: number) => void;
  /** Returns an error to stop the whole send with (e.g. a wrong key, an unreachable URL). */
  stopOn?: (error: unknown) => Error | undefined;
  /** Told about events as they are settled (one call per answered request, one at the end for the undelivered). */
  onSettled?: (settled: readonly SentEvent[]) => void;
}

/** What became of one event. */
export type EventOutcome =
  | { status: 'accepted'; valid: boolean; errors: FieldError[] }
  /** Refused for good by a per-event result (too large, not an object). */
  | { status: 'rejected'; errors: FieldError[] }
  /**
   * Its whole request was refused (400, 403, 413 for one event alone, 415, or 400 all_rejected
   * with per-event results in `errors`): not written.
   */
  | { status: 'refused'; httpStatus: number; code: string; message: string; errors: FieldError[] }
  /** Still `retry` (or unsent) when the attempts or the time budget ran out. */
  | { status: 'undelivered' };

export interface SentEvent {
  /** As last sent, with its event_id. */
  event: unknown;
  /** Rounds in which it was sent (a 413 split does not count as another). */
  attempts: number;
  outcome: EventOutcome;
}

export interface IngestSendReport {
  /** In the order given. */
  events: SentEvent[];
  requests: number;
  /** Requests answered 413 that were split in halves and sent again. */
  splitRequests: number;
  /** Time to a read answer, per request. */
  latenciesMs: number[];
}

export const SEND_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  budgetMs: 30_000,
};

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/** Leaves room for the `{"events":[...]}` wrapper under the 1 MiB body limit. */
export const MAX_REQUEST_BYTES = LIMITS.maxBodyBytes - 1_024;

/** Where POST goes: `{IngestUrl}/events`, whether or not IngestUrl ends with a slash. */
export function eventsUrl(ingestUrl: string): string {
  return `${ingestUrl.replace(/\/+$/, '')}/events`;
}

/** An answer other than a 202/207 with one result per event. */
export class IngestHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`ingest API answered ${status}: ${body.slice(0, 300)}`);
    this.name = 'IngestHttpError';
  }

  /** The JSON body, when it is JSON. */
  get payload(): unknown {
    return safeJson(this.body);
  }
}

/**
 * The event with an event_id: its own, or a new UUID when it is an object without one (absent or
 * null, which the collector would fill in itself). Anything else is sent as it is.
 */
export function withEventId<T>(event: T): T {
  if (isObject(event) && (event.event_id === undefined || event.event_id === null)) {
    return { ...event, event_id: randomUUID() } as T;
  }
  return event;
}

interface Entry {
  index: number;
  event: unknown;
  bytes: number;
  attempts: number;
  outcome?: EventOutcome;
}

type Answer =
  | { kind: 'results'; results: IngestResult[] }
  | { kind: 'refused'; status: number; code: string; message: string; results?: IngestResult[] }
  | { kind: 'transient' };

export async function sendToIngest(events: readonly unknown[], options: IngestClientOptions): Promise<IngestSendReport> {
  const batchSize = options.batchSize ?? LIMITS.maxBatchEvents;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > LIMITS.maxBatchEvents) {
    throw new RangeError(`batchSize must be 1 to ${LIMITS.maxBatchEvents}`);
  }
  const doFetch = options.fetch ?? fetch;
  const clock = options.clock ?? systemClock;
  const policy = options.policy ?? SEND_RETRY_POLICY;
  const url = eventsUrl(options.ingestUrl);
  const rate = options.rate && options.rate > 0 ? options.rate : undefined;
  const report: IngestSendReport = { events: [], requests: 0, splitRequests: 0, latenciesMs: [] };

  const entries: Entry[] = events.map((given, index) => {
    const event = withEventId(given);
    return { index, event, bytes: Buffer.byteLength(JSON.stringify(event) ?? 'null', 'utf8') + 1, attempts: 0 };
  });
  const limits = { maxCount: batchSize, maxBytes: options.maxRequestBytes ?? Infinity, sizeOf: (e: Entry) => e.bytes };
  const first = chunkByLimits(entries, limits);
  if (first.oversized.length > 0) {
    options.onRequestError?.(new Error(`${first.oversized.length} events exceed the ${limits.maxBytes}-byte request limit`), first.oversized.length);
  }

  const post = async (batch: Entry[]): Promise<Answer> => {
    report.requests++;
    const startedAt = performance.now();
    let status: number;
    let text: string;
    try {
      const response = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': options.apiKey },
        body: JSON.stringify({ events: batch.map((entry) => entry.event) }),
        signal: AbortSignal.timeout(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
      });
      status = response.status;
      // The timeout can also strike while the body is read.
      text = await response.text();
    } catch (error) {
      const stop = options.stopOn?.(error);
      if (stop) throw stop;
      options.onRequestError?.(error, batch.length);
      return { kind: 'transient' };
    }
    report.latenciesMs.push(performance.now() - startedAt);
    const payload = safeJson(text);
    // 202/207, and also 503 (some retry) and 400 all_rejected: one result per event, each
    // `retry` carrying the event_id to resend with.
    const results = resultsOf(payload, batch.length);
    if ((status === 202 || status === 207) && results) return { kind: 'results', results };
    const error = new IngestHttpError(status, text);
    const stop = options.stopOn?.(error);
    if (stop) throw stop;
    options.onRequestError?.(error, batch.length);
    if (status === 503 && results) return { kind: 'results', results };
    const code = errorCodeOf(payload);
    if (status === 400 && results && code === 'all_rejected') {
      return { kind: 'refused', status, code, message: messageOf(payload) ?? '', results };
    }
    // Throttling, server-side failures, and a 2xx without one result per event: try again.
    if (status === 429 || status >= 500 || (status >= 200 && status < 300)) return { kind: 'transient' };
    return { kind: 'refused', status, code: code ?? `http_${status}`, message: messageOf(payload) ?? text.slice(0, 200) };
  };

  /** One request and what it settled; a 413 is split in halves. Returns the entries to send again. */
  const sendBatch = async (batch: Entry[], again: Entry[]): Promise<void> => {
    const answer = await post(batch);
    if (answer.kind === 'transient') {
      again.push(...batch);
      return;
    }
    if (answer.kind === 'refused') {
      if (answer.status === 413 && batch.length > 1) {
        report.splitRequests++;
        const half = Math.ceil(batch.length / 2);
        await sendBatch(batch.slice(0, half), again);
        await sendBatch(batch.slice(half), again);
        return;
      }
      batch.forEach((entry, position) => {
        const result = answer.results && resultAt(answer.results, position);
        entry.outcome = { status: 'refused', httpStatus: answer.status, code: answer.code, message: answer.message, errors: result?.errors ?? [] };
      });
      options.onSettled?.(batch.map(sentOf));
      return;
    }
    const settled: Entry[] = [];
    batch.forEach((entry, position) => {
      const result = resultAt(answer.results, position);
      if (result.status === 'retry') {
        // A resend must carry the event_id the API wrote it under, so it is stored at most once.
        if (isObject(entry.event) && (entry.event.event_id === undefined || entry.event.event_id === null) && typeof result.event_id === 'string') {
          entry.event = { ...entry.event, event_id: result.event_id };
        }
        again.push(entry);
        return;
      }
      entry.outcome =
        result.status === 'accepted'
          ? { status: 'accepted', valid: result.valid !== false, errors: result.errors ?? [] }
          : { status: 'rejected', errors: result.errors ?? [] };
      settled.push(entry);
    });
    options.onSettled?.(settled.map(sentOf));
  };

  const startedAt = clock.now();
  let scheduledEvents = 0;
  let chunks = first.chunks;
  for (let attempt = 1; chunks.length > 0; attempt++) {
    const again: Entry[] = [];
    let next = 0;
    const worker = async () => {
      for (let batch = chunks[next++]; batch; batch = chunks[next++]) {
        if (rate && attempt === 1) {
          // Each request leaves when the last of its events is due at the given rate.
          scheduledEvents += batch.length;
          const wait = startedAt + (scheduledEvents / rate) * 1000 - clock.now();
          if (wait > 0) await clock.sleep(wait);
        }
        for (const entry of batch) entry.attempts++;
        await sendBatch(batch, again);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
    if (again.length === 0 || attempt >= policy.maxAttempts) break;
    const delay =
      options.jitter === false
        ? exponentialDelay(attempt, policy.baseDelayMs, policy.maxDelayMs)
        : backoffDelay(attempt, policy, clock.random);
    if (clock.now() + delay - startedAt > policy.budgetMs) break;
    await clock.sleep(delay);
    again.sort((a, b) => a.index - b.index);
    chunks = chunkByLimits(again, limits).chunks;
  }

  const undelivered = entries.filter((entry) => entry.outcome === undefined);
  for (const entry of undelivered) entry.outcome = { status: 'undelivered' };
  if (undelivered.length > 0) options.onSettled?.(undelivered.map(sentOf));
  report.events = entries.map(sentOf);
  return report;
}

function sentOf(entry: Entry): SentEvent {
  return { event: entry.event, attempts: entry.attempts, outcome: entry.outcome! };
}

/** The result for the event at `position`: the one with that index, else the one in that place. */
function resultAt(results: IngestResult[], position: number): IngestResult {
  return results.find((r) => r.index === position) ?? results[position]!;
}

/** The body's `results` when it holds one well-formed result per event of the request, else undefined. */
function resultsOf(payload: unknown, count: number): IngestResult[] | undefined {
  if (!isObject(payload) || !Array.isArray(payload.results) || payload.results.length !== count) return undefined;
  const wellFormed = payload.results.every(
    (r: unknown) => isObject(r) && typeof r.index === 'number' && (r.status === 'accepted' || r.status === 'rejected' || r.status === 'retry'),
  );
  return wellFormed ? (payload.results as IngestResult[]) : undefined;
}

function errorCodeOf(payload: unknown): string | undefined {
  return isObject(payload) && isObject(payload.error) && typeof payload.error.code === 'string' ? payload.error.code : undefined;
}

/** `message` (API Gateway's own errors) or `error.message` (the collector's). */
export function messageOf(payload: unknown): string | undefined {
  if (!isObject(payload)) return undefined;
  if (typeof payload.message === 'string') return payload.message;
  if (isObject(payload.error) && typeof payload.error.message === 'string') return payload.error.message;
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
