import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { LIMITS } from '../../lambdas/shared/events';
import type { IngestResult } from '../../lambdas/shared/ingest-response';
import { exponentialDelay } from '../../lambdas/shared/retry';
import { CliError, networkErrorCode } from './errors';
import { percentile } from './format';
import type { Progress } from './progress';


export interface SendSummary {
  events: number;
  requests: number;
  accepted: number;
  valid: number;
  /** Accepted but failing the schema: they flow on to the DeadLetterQueue. */
  invalid: number;
  /** Refused for good by the API (too large, not an object, a refused request). */
  rejected: number;
  /** Still `retry` (or unsent) after every attempt. */
  failed: number;
  /**
   * Of `rejected`: events never written because the API refused their whole request (400, 413,
   * 415, ...), as opposed to a per-event `rejected` result. Any of these fails the command.
   */
  notWritten: number;
  /** `notWritten` by the status code of the refused request. */
  notWrittenByStatus: Record<string, number>;
  /** Requests answered 413 that were split in halves and sent again. */
  splitRequests: number;
  /** Events sent again with the same event_id after a `retry` result or a transient failure. */
  resent: number;
  invalidCodes: Record<string, number>;
  rejectedCodes: Record<string, number>;
  /** Status codes of requests that were not 202/207, with counts. */
  requestErrors: Record<string, number>;
  latencyMs: { p50?: number; p99?: number; max?: number };
  durationSeconds: number;
  eventsPerSecond: number;
}

export interface SendOptions {
  ingestUrl: string;
  apiKey: string;
  /** Events per request, 1 to 500. */
  batchSize: number;
  /** Events per second; 0 or undefined sends as fast as the concurrency allows. */
  rate?: number;
  /** Requests in flight. */
  concurrency: number;
  /** Attempts per event, the first included. */
  maxAttempts: number;
  progress?: Progress;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** A request without an answer after this long is abandoned and its events resent (same event_ids). */
  requestTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Where POST goes: `{IngestUrl}/events`, whether or not IngestUrl ends with a slash. */
export function eventsUrl(ingestUrl: string): string {
  return `${ingestUrl.replace(/\/+$/, '')}/events`;
}

/**
 * Reads events from JSON (an array, `{"events": [...]}` or one object) or JSON Lines.
 * Objects without an event_id get one here, so a resend after a `retry` result reuses it.
 */
export function parseEvents(text: string, source: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new CliError(`${source} holds no events`);
  let events: unknown[];
  try {
    const document = JSON.parse(trimmed) as unknown;
    if (Array.isArray(document)) events = document;
    else if (isObject(document) && Array.isArray(document.events)) events = document.events;
    else events = [document];
  } catch {
    events = [];
    const bad: string[] = [];
    trimmed.split(/\r?\n/).forEach((line, index) => {
      if (line.trim() === '') return;
      try {
        events.push(JSON.parse(line));
      } catch (error) {
        bad.push(`line ${index + 1}: ${(error as Error).message}`);
      }
    });
    if (bad.length > 0) {
      throw new CliError(
        `${source} is neither JSON nor JSON Lines; nothing was sent. ${bad.slice(0, 3).join('; ')}${bad.length > 3 ? ` (and ${bad.length - 3} more)` : ''}`,
      );
    }
  }
  if (events.length === 0) throw new CliError(`${source} holds no events`);
  return events.map(withEventId);
}

export function withEventId(event: unknown): unknown {
  if (isObject(event) && (event.event_id === undefined || event.event_id === null)) {
    return { ...event, event_id: randomUUID() };
  }
  return event;
}

export async function readEventsFrom(file: string): Promise<unknown[]> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return parseEvents(Buffer.concat(chunks).toString('utf8'), 'stdin');
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  return parseEvents(text, file);
}

type Outcome =
  | { kind: 'results'; results: IngestResult[]; statusCode: number }
  /** 400 all_rejected: no event accepted, none retriable; each result says why. */
  | { kind: 'all_rejected'; results: IngestResult[]; label: string }
  | { kind: 'transient'; label: string }
  | { kind: 'refused'; status: number; code: string; message: string; label: string };

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends events in batches, keeps `rate` and `concurrency`, and resends `retry` results (of a 207
 * or a 503) and batches that failed as a whole (429, 5xx without results, network errors,
 * timeouts) with the same event_id and a backoff, up to `maxAttempts` per event. Events without
 * an event_id get one before the first attempt: a request may have been written although its
 * answer was lost, and only a resend under the same event_id is stored once. A 403 stops
 * everything: the key is wrong. A 400 all_rejected counts its events rejected and not written.
 */
export async function sendEvents(events: readonly unknown[], options: SendOptions): Promise<SendSummary> {
  if (options.batchSize < 1 || options.batchSize > LIMITS.maxBatchEvents) {
    throw new CliError(`--batch must be 1 to ${LIMITS.maxBatchEvents}`);
  }
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? sleepFor;
  const url = eventsUrl(options.ingestUrl);
  const summary: SendSummary = {
    events: events.length,
    requests: 0,
    accepted: 0,
    valid: 0,
    invalid: 0,
    rejected: 0,
    failed: 0,
    notWritten: 0,
    notWrittenByStatus: {},
    splitRequests: 0,
    resent: 0,
    invalidCodes: {},
    rejectedCodes: {},
    requestErrors: {},
    latencyMs: {},
    durationSeconds: 0,
    eventsPerSecond: 0,
  };
  const latencies: number[] = [];
  const startedAt = Date.now();
  let scheduledEvents = 0;

  const post = async (batch: readonly unknown[]): Promise<Outcome> => {
    const body = batch.length === 1 ? JSON.stringify(batch[0]) : JSON.stringify({ events: batch });
    const requestStart = performance.now();
    let response: Response;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': options.apiKey },
        body,
        signal: AbortSignal.timeout(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const code = networkErrorCode(error);
      if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH') {
        throw new CliError(`cannot reach ${url} (${code}). Is the local cloud running (npm start), or IngestUrl right?`);
      }
      return { kind: 'transient', label: code ?? 'network error' };
    } finally {
      summary.requests++;
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      // The timeout can also strike while the body is read.
      return { kind: 'transient', label: networkErrorCode(error) ?? 'network error' };
    }
    latencies.push(performance.now() - requestStart);
    const payload = safeJson(text);
    if (response.status === 403) {
      throw new CliError(
        `the ingest API refused the API key (403 ${messageOf(payload) ?? 'Forbidden'}). ` +
          'Check --api-key / PIPELINE_API_KEY, or that the outputs file belongs to this stack.',
      );
    }
    if ((response.status === 202 || response.status === 207) && isObject(payload) && Array.isArray(payload.results)) {
      return { kind: 'results', results: payload.results as IngestResult[], statusCode: response.status };
    }
    const label = String(response.status);
    // A 503 from the collector carries a result per event: the `retry` ones go again under the
    // event_id given back, the `rejected` ones are settled.
    const results = resultsFor(payload, batch.length);
    if (response.status === 503 && results) return { kind: 'results', results, statusCode: response.status };
    if (response.status === 400 && results && errorCodeOf(payload) === 'all_rejected') {
      return { kind: 'all_rejected', results, label };
    }
    if (response.status === 429 || response.status >= 500) return { kind: 'transient', label };
    const error = isObject(payload) && isObject(payload.error) ? payload.error : undefined;
    return {
      kind: 'refused',
      status: response.status,
      label,
      code: typeof error?.code === 'string' ? error.code : `http_${response.status}`,
      message: messageOf(payload) ?? text.slice(0, 200),
    };
  };

  const rateOf = options.rate && options.rate > 0 ? options.rate : undefined;
  let pending = events.map(withEventId);
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > 1) {
      summary.resent += pending.length;
      await sleep(exponentialDelay(attempt - 1, 100, 2_000));
    }
    const batches: unknown[][] = [];
    for (let i = 0; i < pending.length; i += options.batchSize) batches.push(pending.slice(i, i + options.batchSize));
    const again: unknown[] = [];
    let next = 0;
    const worker = async () => {
      for (let batch = batches[next++]; batch; batch = batches[next++]) {
        if (rateOf && attempt === 1) {
          // Each request leaves when the last of its events is due at the given rate.
          scheduledEvents += batch.length;
          const due = startedAt + (scheduledEvents / rateOf) * 1000;
          const wait = due - Date.now();
          if (wait > 0) await sleep(wait);
        }
        await sendBatch(batch, again);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
    if (attempt >= options.maxAttempts) {
      summary.failed += again.length;
      options.progress?.increment(again.length, `${again.length} failed`);
      break;
    }
    pending = again;
  }

  /**
   * One request and its outcome. A 413 (the request is too large as a whole) is split in halves,
   * each sent the same way, so only an event too large on its own is refused.
   */
  async function sendBatch(batch: readonly unknown[], again: unknown[]): Promise<void> {
    const outcome = await post(batch);
    if (outcome.kind === 'transient') {
      summary.requestErrors[outcome.label] = (summary.requestErrors[outcome.label] ?? 0) + 1;
      again.push(...batch);
      return;
    }
    if (outcome.kind === 'all_rejected') {
      summary.requestErrors[outcome.label] = (summary.requestErrors[outcome.label] ?? 0) + 1;
      for (const result of outcome.results) {
        summary.rejected++;
        summary.notWritten++;
        count(summary.notWrittenByStatus, outcome.label);
        const codes = (result.errors ?? []).map((e) => e.code);
        for (const code of codes.length > 0 ? codes : ['all_rejected']) count(summary.rejectedCodes, code);
      }
      options.progress?.increment(outcome.results.length, `${outcome.label} all_rejected`);
      return;
    }
    if (outcome.kind === 'refused') {
      summary.requestErrors[outcome.label] = (summary.requestErrors[outcome.label] ?? 0) + 1;
      if (outcome.status === 413 && batch.length > 1) {
        summary.splitRequests++;
        const half = Math.ceil(batch.length / 2);
        await sendBatch(batch.slice(0, half), again);
        await sendBatch(batch.slice(half), again);
        return;
      }
      summary.rejected += batch.length;
      summary.notWritten += batch.length;
      count(summary.notWrittenByStatus, outcome.label, batch.length);
      count(summary.rejectedCodes, outcome.code, batch.length);
      options.progress?.increment(batch.length, `${outcome.label} ${outcome.message}`.slice(0, 60));
      return;
    }
    if (outcome.statusCode === 503) summary.requestErrors['503'] = (summary.requestErrors['503'] ?? 0) + 1;
    let settled = 0;
    for (const result of outcome.results) {
      const event = batch[result.index];
      if (result.status === 'retry') {
        if (event !== undefined) again.push(withReturnedId(event, result.event_id));
        continue;
      }
      settled++;
      if (result.status === 'rejected') {
        summary.rejected++;
        for (const e of result.errors ?? []) count(summary.rejectedCodes, e.code);
      } else if (result.valid) {
        summary.accepted++;
        summary.valid++;
      } else {
        summary.accepted++;
        summary.invalid++;
        for (const code of new Set((result.errors ?? []).map((e) => e.code))) count(summary.invalidCodes, code);
      }
    }
    options.progress?.increment(settled, `accepted ${summary.accepted}, invalid ${summary.invalid}`);
  }

  const elapsed = (Date.now() - startedAt) / 1000;
  summary.durationSeconds = Math.round(elapsed * 100) / 100;
  summary.eventsPerSecond = elapsed > 0 ? Math.round((summary.events / elapsed) * 10) / 10 : 0;
  summary.latencyMs = {
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    max: round(percentile(latencies, 100)),
  };
  return summary;
}

/** The command fails when events were not written: still `retry`, or refused as a whole request. */
export function sendSucceeded(summary: Pick<SendSummary, 'failed' | 'notWritten'>): boolean {
  return summary.failed === 0 && summary.notWritten === 0;
}

function round(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value * 10) / 10;
}

function count(into: Record<string, number>, key: string, by = 1): void {
  into[key] = (into[key] ?? 0) + by;
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

/** A resend carries the event_id the API wrote the event under (ours when we sent one). */
function withReturnedId(event: unknown, eventId: string | null): unknown {
  if (isObject(event) && (event.event_id === undefined || event.event_id === null) && typeof eventId === 'string') {
    return { ...event, event_id: eventId };
  }
  return event;
}

/** The body's `results` when it holds one well-formed result per event of the batch. */
function resultsFor(payload: unknown, count: number): IngestResult[] | undefined {
  if (!isObject(payload) || !Array.isArray(payload.results) || payload.results.length !== count) return undefined;
  const wellFormed = payload.results.every(
    (r: unknown) => isObject(r) && typeof r.index === 'number' && (r.status === 'accepted' || r.status === 'rejected' || r.status === 'retry'),
  );
  return wellFormed ? (payload.results as IngestResult[]) : undefined;
}

function errorCodeOf(payload: unknown): string | undefined {
  return isObject(payload) && isObject(payload.error) && typeof payload.error.code === 'string' ? payload.error.code : undefined;
}

function messageOf(payload: unknown): string | undefined {
  if (!isObject(payload)) return undefined;
  if (typeof payload.message === 'string') return payload.message;
  if (isObject(payload.error) && typeof payload.error.message === 'string') return payload.error.message;
  return undefined;
}
