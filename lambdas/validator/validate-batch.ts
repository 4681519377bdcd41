import type { KinesisStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { partitionKeyOf } from '../shared/events';
import { deadLetterAttributes } from '../shared/records';
import {
  PUT_RECORDS_LIMITS,
  SEND_MESSAGE_BATCH_LIMITS,
  sqsSafeJson,
  type MessageEntry,
  type StreamEntry,
} from '../shared/delivery';
import { boundedErrorCode, type ValidationErrorCode } from '../shared/metric-names';
import { deliverInChunks, type RetryClock, type RetryPolicy } from '../shared/retry';
import { routeKinesisRecord, routeRedriveMessage, type Routed } from './route';

export type Destination = 'processed_stream' | 'dead_letter_queue';

export interface ValidatorDeps {
  /** One PutRecords call to the processed stream; one flag per entry. Throws when the call fails. */
  putProcessed: (entries: StreamEntry[]) => Promise<boolean[]>;
  /** One SendMessageBatch call to the DeadLetterQueue; one flag per entry. Throws when the call fails. */
  sendDeadLetters: (entries: MessageEntry[]) => Promise<boolean[]>;
  now: () => Date;
  retry?: { policy?: RetryPolicy; clock?: RetryClock };
  onDeliveryError?: (error: unknown, destination: Destination, entryCount: number) => void;
  onRoutingError?: (error: unknown, itemId: string) => void;
  /** Each record handed on (called after delivery, for records that count): the correlation log. */
  onHandedOn?: (entry: HandedOn) => void;
}

/** One record's journey through the validator, keyed for Logs Insights by event_id and request_id. */
export interface HandedOn {
  event_id?: string;
  request_id?: string;
  to: Destination;
  pass: 'first' | 'redrive' | 'replay';
  reason?: string;
  error_codes?: string[];
}

/**
 * Data quality per batch (seed 002's batch metrics): records in, and for first-pass records the
 * errors by code, counting each record once per code it has (so a code's count over the records
 * judged is the share of records with that error). Codes outside the known set count as `other`.
 */
export interface BatchQuality {
  records: number;
  errorCodes: Partial<Record<ValidationErrorCode, number>>;
}

/**
 * What was durably handed on, for the metrics. First-pass records (from the collector) are
 * counted apart from redriven and replayed ones, so valid + invalid + unparseable can be set
 * against what the collector accepted.
 */
export interface ValidatorTally {
  /** First-pass valid events put on the processed stream. */
  valid: number;
  /** First-pass invalid events dead-lettered as validation_failed. */
  invalid: number;
  /** Records dead-lettered as unparseable or redrive_unparseable. */
  unparseable: number;
  /** Redriven events that were valid this time and went on to the processed stream. */
  redriven: number;
  /** Redriven events still invalid, back in the DeadLetterQueue. */
  redriveFailed: number;
  /** Replayed records handed on (valid to the stream, invalid to the DeadLetterQueue). */
  replayed: number;
}

export interface BatchOutcome {
  response: SQSBatchResponse;
  tally: ValidatorTally;
  quality: BatchQuality;
}

export function isKinesisEvent(event: KinesisStreamEvent | SQSEvent): event is KinesisStreamEvent {
  return event.Records[0]?.eventSource === 'aws:kinesis';
}

/**
 * The validator's use case, per batch:
 * 1. route every record: valid -> enriched event for the processed stream; invalid or
 *    unparseable -> dead-letter message with its reason, errors, record and source;
 * 2. hand the processed events on in as few PutRecords calls as the limits allow, retrying only
 *    failed entries;
 * 3. for a Kinesis batch (one shard, in order), Lambda retries from the lowest reported record
 *    and everything after it: so the batch is cut at the first record not handed on, dead
 *    letters are sent and records counted only before the cut, and the cut and everything after
 *    it are reported. A retry then judges, dead-letters and counts those records for the first
 *    time (valid ones put again are absorbed by the loader, which stores each event_id once).
 *    For RedriveQueue (SQS, unordered) each message stands alone: exactly the messages not
 *    handed on are reported.
 * Powertools' BatchProcessor calls a handler per record, which would mean one request per
 * record; the per-batch partial response is built here instead.
 */
export async function validateBatch(event: KinesisStreamEvent | SQSEvent, deps: ValidatorDeps): Promise<BatchOutcome> {
  const now = deps.now();
  const ordered = isKinesisEvent(event);
  const items = ordered
    ? event.Records.map((record) => ({
        itemId: record.kinesis.sequenceNumber,
        route: () => routeKinesisRecord(record, now),
      }))
    : event.Records.map((record) => ({ itemId: record.messageId, route: () => routeRedriveMessage(record, now) }));

  /** Items not handed on, by position in the batch. */
  const failed = new Set<number>();
  const routed: Array<Routed & { position: number }> = [];
  items.forEach(({ itemId, route }, position) => {
    try {
      routed.push({ ...route(), position });
    } catch (error) {
      // Unexpected: leave the record with its source, which retries it, rather than lose it.
      deps.onRoutingError?.(error, itemId);
      failed.add(position);
    }
  });
  /** Ordered batches: the first position that is not handed on, and nothing from it on counts. */
  const cut = () => (ordered ? Math.min(items.length, ...failed) : items.length);
  const counts = (position: number) => (ordered ? position < cut() : !failed.has(position));

  const retry = { policy: deps.retry?.policy, clock: deps.retry?.clock };
  const toStream = routed.filter((item) => item.to === 'processed');
  const streamDelivered = await deliverInChunks(
    toStream.map(({ event: enriched }) => ({
      data: Buffer.from(JSON.stringify(enriched), 'utf8'),
      partitionKey: partitionKeyOf(enriched),
    })),
    {
      ...retry,
      limits: PUT_RECORDS_LIMITS,
      sendChunk: deps.putProcessed,
      onError: (error, entries) => deps.onDeliveryError?.(error, 'processed_stream', entries.length),
    },
  );
  toStream.forEach((item, index) => {
    if (!streamDelivered[index]) failed.add(item.position);
  });

  // Dead letters only for records before the cut: the others are judged again on the retry.
  const toDeadLetters = routed.filter((item) => item.to === 'dead_letter' && counts(item.position));
  const deadLetterDelivered = await deliverInChunks(
    toDeadLetters.map((item) => {
      const { message } = item as Extract<Routed, { to: 'dead_letter' }>;
      return { body: sqsSafeJson(message), attributes: deadLetterAttributes(message) };
    }),
    {
      ...retry,
      limits: SEND_MESSAGE_BATCH_LIMITS,
      sendChunk: deps.sendDeadLetters,
      onError: (error, entries) => deps.onDeliveryError?.(error, 'dead_letter_queue', entries.length),
    },
  );
  toDeadLetters.forEach((item, index) => {
    if (!deadLetterDelivered[index]) failed.add(item.position);
  });

  const tally: ValidatorTally = { valid: 0, invalid: 0, unparseable: 0, redriven: 0, redriveFailed: 0, replayed: 0 };
  for (const item of routed) {
    if (!counts(item.position)) continue;
    if (item.to === 'processed') {
      if (item.pass === 'replay') tally.replayed++;
      else if (item.pass === 'redrive') tally.redriven++;
      else tally.valid++;
    } else if (item.category === 'unparseable') tally.unparseable++;
    else if (item.pass === 'replay') tally.replayed++;
    else if (item.pass === 'redrive') tally.redriveFailed++;
    else tally.invalid++;
  }

  const quality: BatchQuality = { records: items.length, errorCodes: {} };
  for (const item of routed) {
    if (!counts(item.position)) continue;
    if (item.to === 'processed') {
      deps.onHandedOn?.({ event_id: item.event.event_id, request_id: item.requestId, to: 'processed_stream', pass: item.pass });
      continue;
    }
    const codes = [...new Set(item.message.errors.map((error) => boundedErrorCode(error.code)))];
    if (item.pass === 'first') {
      for (const code of codes) quality.errorCodes[code] = (quality.errorCodes[code] ?? 0) + 1;
    }
    const record = item.message.record;
    const eventId = typeof record === 'object' && record !== null && typeof (record as Record<string, unknown>).event_id === 'string'
      ? ((record as Record<string, unknown>).event_id as string)
      : undefined;
    const requestId = (item.message.source as Record<string, unknown>).request_id;
    deps.onHandedOn?.({
      event_id: eventId,
      request_id: typeof requestId === 'string' ? requestId : undefined,
      to: 'dead_letter_queue',
      pass: item.pass,
      reason: item.message.reason,
      error_codes: codes,
    });
  }

  const batchItemFailures = items
    .filter((_, position) => !counts(position))
    .map(({ itemId }) => ({ itemIdentifier: itemId }));
  return { response: { batchItemFailures }, tally, quality };
}
