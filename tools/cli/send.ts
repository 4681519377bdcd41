import { readFile } from 'node:fs/promises';
import { LIMITS } from '../../lambdas/shared/events';
import { eventsUrl, IngestHttpError, messageOf, sendToIngest, withEventId, type SentEvent } from '../../lambdas/shared/ingest-client';
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

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends events with the ingest client (lambdas/shared/ingest-client.ts) at `rate` and
 * `concurrency`, resending `retry` results (of a 207 or a 503) and batches that failed as a whole
 * (429, 5xx without results, network errors, timeouts) with the same event_id and a backoff (no
 * jitter, no time budget), up to `maxAttempts` per event; a 413 splits the request in halves.
 * A 403 stops everything: the key is wrong; so does an URL that cannot be reached. A 400
 * all_rejected counts its events rejected and not written.
 */
export async function sendEvents(events: readonly unknown[], options: SendOptions): Promise<SendSummary> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > LIMITS.maxBatchEvents) {
    throw new CliError(`--batch must be 1 to ${LIMITS.maxBatchEvents}`);
  }
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
  const startedAt = Date.now();

  const tally = (settled: readonly SentEvent[]): void => {
    let detail = '';
    for (const { outcome } of settled) {
      if (outcome.status === 'accepted') {
        summary.accepted++;
        if (outcome.valid) summary.valid++;
        else {
          summary.invalid++;
          for (const code of new Set(outcome.errors.map((e) => e.code))) count(summary.invalidCodes, code);
        }
        detail = `accepted ${summary.accepted}, invalid ${summary.invalid}`;
      } else if (outcome.status === 'rejected') {
        summary.rejected++;
        for (const e of outcome.errors) count(summary.rejectedCodes, e.code);
        detail = `accepted ${summary.accepted}, invalid ${summary.invalid}`;
      } else if (outcome.status === 'refused') {
        summary.rejected++;
        summary.notWritten++;
        count(summary.notWrittenByStatus, String(outcome.httpStatus));
        const codes = outcome.errors.map((e) => e.code);
        for (const code of codes.length > 0 ? codes : [outcome.code]) count(summary.rejectedCodes, code);
        detail = `${outcome.httpStatus} ${outcome.code === 'all_rejected' ? 'all_rejected' : outcome.message}`.slice(0, 60);
      } else {
        summary.failed++;
        detail = `${settled.length} failed`;
      }
    }
    options.progress?.increment(settled.length, detail || `accepted ${summary.accepted}, invalid ${summary.invalid}`);
  };

  const sleep = options.sleep ?? sleepFor;
  const report = await sendToIngest(events, {
    ingestUrl: options.ingestUrl,
    apiKey: options.apiKey,
    batchSize: options.batchSize,
    concurrency: options.concurrency,
    rate: options.rate ?? 0,
    policy: { maxAttempts: options.maxAttempts, baseDelayMs: 100, maxDelayMs: 2_000, budgetMs: Infinity },
    jitter: false,
    clock: { now: () => Date.now(), sleep, random: Math.random },
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    onRequestError: (error) => {
      const label = error instanceof IngestHttpError ? String(error.status) : (networkErrorCode(error) ?? 'network error');
      count(summary.requestErrors, label);
    },
    stopOn: (error) => {
      if (error instanceof IngestHttpError) {
        if (error.status !== 403) return undefined;
        return new CliError(
          `the ingest API refused the API key (403 ${messageOf(error.payload) ?? 'Forbidden'}). ` +
            'Check --api-key / PIPELINE_API_KEY, or that the outputs file belongs to this stack.',
        );
      }
      const code = networkErrorCode(error);
      if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH') {
        return new CliError(`cannot reach ${url} (${code}). Is the local cloud running (npm start), or IngestUrl right?`);
      }
      return undefined;
    },
    onSettled: tally,
  });

  summary.requests = report.requests;
  summary.splitRequests = report.splitRequests;
  summary.resent = report.events.reduce((sum, e) => sum + Math.max(0, e.attempts - 1), 0);
  const elapsed = (Date.now() - startedAt) / 1000;
  summary.durationSeconds = Math.round(elapsed * 100) / 100;
  summary.eventsPerSecond = elapsed > 0 ? Math.round((summary.events / elapsed) * 10) / 10 : 0;
  summary.latencyMs = {
    p50: round(percentile(report.latenciesMs, 50)),
    p99: round(percentile(report.latenciesMs, 99)),
    max: round(percentile(report.latenciesMs, 100)),
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
