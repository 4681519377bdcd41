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
}

export function isKinesisEvent(event: KinesisStreamEvent | SQSEvent): event is KinesisStreamEvent {
  return event.Records[0]?.eventSource === 'aws:kinesis';
}

/**
 * The validator's use case, per batch:
 * 1. route every record: valid -> enriched event for the processed stream; invalid or
 *    unparseable -> dead-letter message with its reason, errors, record and source;
 * 2. hand all processed events on in as few PutRecords calls as the limits allow and all dead
 *    letters in SendMessageBatch groups, both retrying only failed entries;
 * 3. report as batch item failures exactly the records that were not handed on.
 * Powertools' BatchProcessor calls a handler per record, which would mean one request per
 * record; the per-batch partial response is built here instead.
 */
export async function validateBatch(event: KinesisStreamEvent | SQSEvent, deps: ValidatorDeps): Promise<BatchOutcome> {
  const now = deps.now();
  const failed = new Set<string>();
  const routed: Routed[] = [];

  const items = isKinesisEvent(event)
    ? event.Records.map((record) => ({
        itemId: record.kinesis.sequenceNumber,
        route: () => routeKinesisRecord(record, now),
      }))
    : event.Records.map((record) => ({ itemId: record.messageId, route: () => routeRedriveMessage(record, now) }));
  for (const { itemId, route } of items) {
    try {
      routed.push(route());
    } catch (error) {
      // Unexpected: leave the record with its source, which retries it, rather than lose it.
      deps.onRoutingError?.(error, itemId);
      failed.add(itemId);
    }
  }

  const toStream = routed.filter((item) => item.to === 'processed');
  const toDeadLetters = routed.filter((item) => item.to === 'dead_letter');
  const retry = { policy: deps.retry?.policy, clock: deps.retry?.clock };

  const [streamDelivered, deadLetterDelivered] = await Promise.all([
    deliverInChunks(
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
    ),
    deliverInChunks(
      toDeadLetters.map(({ message }) => ({
        body: sqsSafeJson(message),
        attributes: deadLetterAttributes(message),
      })),
      {
        ...retry,
        limits: SEND_MESSAGE_BATCH_LIMITS,
        sendChunk: deps.sendDeadLetters,
        onError: (error, entries) => deps.onDeliveryError?.(error, 'dead_letter_queue', entries.length),
      },
    ),
  ]);

  const tally: ValidatorTally = { valid: 0, invalid: 0, unparseable: 0, redriven: 0, redriveFailed: 0, replayed: 0 };
  toStream.forEach((item, position) => {
    if (!streamDelivered[position]) return void failed.add(item.itemId);
    if (item.pass === 'replay') tally.replayed++;
    else if (item.pass === 'redrive') tally.redriven++;
    else tally.valid++;
  });
  toDeadLetters.forEach((item, position) => {
    if (!deadLetterDelivered[position]) return void failed.add(item.itemId);
    if (item.category === 'unparseable') tally.unparseable++;
    else if (item.pass === 'replay') tally.replayed++;
    else if (item.pass === 'redrive') tally.redriveFailed++;
    else tally.invalid++;
  });

  const batchItemFailures = items
    .filter(({ itemId }) => failed.has(itemId))
    .map(({ itemId }) => ({ itemIdentifier: itemId }));
  return { response: { batchItemFailures }, tally };
}
