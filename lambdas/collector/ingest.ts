import type { APIGatewayProxyResult } from 'aws-lambda';
import { LIMITS, partitionKeyOf, validateEvent } from '../shared/events';
import type { IngestResult } from '../shared/ingest-response';
import type { FieldError, RawRecord } from '../shared/records';
import { PUT_RECORDS_LIMITS, type StreamEntry } from '../shared/delivery';
import { deliverInChunks, type RetryClock, type RetryPolicy } from '../shared/retry';
import { errorResponse, jsonResponse } from './http';
import { readSubmission, type IngestRequest } from './request-body';

export interface CollectorDeps {
  /** One PutRecords call; one flag per entry (true = acknowledged). Throws when the call fails. */
  putRecords: (entries: StreamEntry[]) => Promise<boolean[]>;
  now: () => Date;
  uuid: () => string;
  retry?: { policy?: RetryPolicy; clock?: RetryClock };
  onDeliveryError?: (error: unknown, entryCount: number) => void;
}

export interface IngestTally {
  received: number;
  accepted: number;
  rejected: number;
  retry: number;
  invalid: number;
}

export interface IngestOutcome {
  response: APIGatewayProxyResult;
  /** Absent when the request was refused as a whole. */
  tally?: IngestTally;
  /** Per item, when the request was read (for the correlation log). */
  results?: IngestResult[];
}

export interface IngestContext {
  requestId: string;
}

/**
 * The collector's use case:
 * 1. read the body (type, encoding, size, JSON safety, shape) or refuse the whole request;
 * 2. per item: refuse non-objects and oversized events, fill in event_id, take the schema verdict;
 * 3. write every kept item to the raw stream as a raw record, retrying only failed entries;
 * 4. answer with the truth per item and a status that summarises it (responseFor).
 */
export async function ingest(
  request: IngestRequest,
  context: IngestContext,
  deps: CollectorDeps,
): Promise<IngestOutcome> {
  const submission = await readSubmission(request);
  if (!submission.ok) return { response: errorResponse(submission.error) };

  const receivedAt = deps.now();
  const results: IngestResult[] = [];
  const pending: Array<{ result: IngestResult; entry: StreamEntry }> = [];

  submission.items.forEach((item, index) => {
    const candidate = withEventId(item, deps.uuid);
    const refusal = refusalOf(candidate);
    if (refusal) {
      results.push({ index, event_id: eventIdOf(item), status: 'rejected', valid: false, errors: [refusal] });
      return;
    }
    const event = candidate as Record<string, unknown>;
    const verdict = validateEvent(event, receivedAt);
    const result: IngestResult = {
      index,
      event_id: eventIdOf(event),
      status: 'retry',
      valid: verdict.ok,
      errors: verdict.ok ? [] : verdict.errors,
    };
    results.push(result);
    const record: RawRecord = { received_at: receivedAt.toISOString(), request_id: context.requestId, event };
    pending.push({
      result,
      entry: { data: Buffer.from(JSON.stringify(record), 'utf8'), partitionKey: partitionKeyOf(event) },
    });
  });

  const delivered = await deliverInChunks(
    pending.map(({ entry }) => entry),
    {
      limits: PUT_RECORDS_LIMITS,
      sendChunk: deps.putRecords,
      policy: deps.retry?.policy,
      clock: deps.retry?.clock,
      onError: (error, entries) => deps.onDeliveryError?.(error, entries.length),
    },
  );
  pending.forEach(({ result }, position) => {
    if (delivered[position]) result.status = 'accepted';
  });

  const tally = tallyOf(results);
  return { tally, results, response: responseFor(tally, results) };
}

/**
 * The status that summarises the results (contract §1). Every answer that may have written an
 * event (202, 207, 503) carries the results with their event_ids, assigned ones included: a 503
 * can follow a write that timed out on our side while Kinesis kept it, so the producer must
 * resend under the same event_id for the event to be stored once.
 * - 202: every event accepted; 207: some accepted, some not;
 * - 503: none accepted and some can be retried (transient; the rest, if any, rejected);
 * - 400 all_rejected: none accepted and none can be retried; nothing was written.
 */
function responseFor(tally: IngestTally, results: readonly IngestResult[]): APIGatewayProxyResult {
  if (tally.accepted === tally.received) {
    return jsonResponse(202, { accepted: tally.accepted, invalid: tally.invalid, results });
  }
  if (tally.accepted > 0) {
    return jsonResponse(207, { accepted: tally.accepted, invalid: tally.invalid, results });
  }
  if (tally.retry > 0) {
    return errorResponse(
      {
        statusCode: 503,
        code: 'unavailable',
        message: 'no event could be written; resend the retry results with the event_ids given here',
      },
      results,
    );
  }
  return errorResponse(
    {
      statusCode: 400,
      code: 'all_rejected',
      message: 'no event was accepted and none can be retried; see each result for why',
    },
    results,
  );
}

/** The event as it will be written: with the event_id the collector assigns when it is absent. */
function withEventId(item: unknown, uuid: () => string): unknown {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
  const event = item as Record<string, unknown>;
  return event.event_id === undefined || event.event_id === null ? { ...event, event_id: uuid() } : event;
}

function refusalOf(item: unknown): FieldError | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return { path: '', code: 'not_an_object', message: 'an event must be a JSON object' };
  }
  // Measured as it will be written (event_id included), the size the validator checks too.
  const bytes = Buffer.byteLength(JSON.stringify(item), 'utf8');
  if (bytes > LIMITS.maxEventBytes) {
    return {
      path: '',
      code: 'too_large',
      message: `the event is ${bytes} bytes serialised; at most ${LIMITS.maxEventBytes} are allowed`,
    };
  }
  return undefined;
}

function eventIdOf(item: unknown): string | null {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return null;
  const id = (item as Record<string, unknown>).event_id;
  if (id === undefined || id === null) return null;
  return typeof id === 'string' ? id : JSON.stringify(id);
}

function tallyOf(results: readonly IngestResult[]): IngestTally {
  const tally: IngestTally = { received: results.length, accepted: 0, rejected: 0, retry: 0, invalid: 0 };
  for (const result of results) {
    tally[result.status === 'accepted' ? 'accepted' : result.status === 'rejected' ? 'rejected' : 'retry']++;
    if (result.status === 'accepted' && !result.valid) tally.invalid++;
  }
  return tally;
}
