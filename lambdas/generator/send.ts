import {
  MAX_REQUEST_BYTES,
  SEND_RETRY_POLICY,
  sendToIngest,
  type IngestClientOptions,
} from '../shared/ingest-client';
import type { RetryClock, RetryPolicy } from '../shared/retry';

/**
 * The Generator function's use of the ingest client (lambdas/shared/ingest-client.ts): requests of
 * up to 500 events cut under the 1 MiB body limit, 4 in flight, resends with jittered backoff inside
 * a 30 s budget, and a summary for its log line and metrics.
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
  /** Whole requests refused for good (400, 403, 415, 413 for one event): their events were not written. */
  refused: number;
  /** Still not written when the retries ran out. */
  undelivered: number;
  /** Events that needed more than one attempt. */
  resent: number;
}

export { SEND_RETRY_POLICY };

export async function sendEvents(events: readonly Record<string, unknown>[], options: SendOptions): Promise<SendSummary> {
  const clientOptions: IngestClientOptions = {
    ingestUrl: options.ingestUrl,
    apiKey: options.apiKey,
    maxRequestBytes: MAX_REQUEST_BYTES,
    concurrency: options.concurrency ?? 4,
    policy: options.policy ?? SEND_RETRY_POLICY,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.onError ? { onRequestError: options.onError } : {}),
  };
  const report = await sendToIngest(events, clientOptions);
  const outcomes = report.events.map((e) => e.outcome);
  const allRejected = (o: (typeof outcomes)[number]) => o.status === 'refused' && o.code === 'all_rejected';
  return {
    events: report.events.length,
    requests: report.requests,
    accepted: outcomes.filter((o) => o.status === 'accepted').length,
    acceptedInvalid: outcomes.filter((o) => o.status === 'accepted' && !o.valid).length,
    rejected: outcomes.filter((o) => o.status === 'rejected' || allRejected(o)).length,
    refused: outcomes.filter((o) => o.status === 'refused' && !allRejected(o)).length,
    undelivered: outcomes.filter((o) => o.status === 'undelivered').length,
    resent: report.events.filter((e) => e.attempts > 1).length,
  };
}
