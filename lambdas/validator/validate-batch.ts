import type { KinesisStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { partitionKeyOf } from '../shared/events';
import { deadLetterAttributes } from '../shared/records';
import { deliverInChunks, type RetryClock, type RetryPolicy } from '../shared/retry';
import { routeKinesisRecord, routeRedriveMessage, type Routed } from './route';

export interface StreamEntry {
  data: Uint8Array;
  partitionKey: string;
}

export interface DeadLetterEntry {
  body: string;
  attributes: Record<string, MessageAttributeValue>;
}

export type Destination = 'processed_stream' | 'dead_letter_queue';

export interface ValidatorDeps {
  /** One PutRecords call to the processed stream; one flag per entry. Throws when the call fails. */
  putProcessed: (entries: StreamEntry[]) => Promise<boolean[]>;
  /** One SendMessageBatch call to the DeadLetterQueue; one flag per entry. Throws when the call fails. */
  sendDeadLetters: (entries: DeadLetterEntry[]) => Promise<boolean[]>;
  now: () => Date;
  retry?: { policy?: RetryPolicy; clock?: RetryClock };
  onDeliveryError?: (error: unknown, destination: Destination, entryCount: number) => void;
  onRoutingError?: (error: unknown, itemId: string) => void;
}

/** What was durably handed on, for the metrics. */
export interface ValidatorTally {
  /** Valid events put on the processed stream (redriven ones included). */
  valid: number;
  /** Invalid events dead-lettered as validation_failed. */
  invalid: number;
  /** Records dead-lettered as unparseable or redrive_unparseable. */
  unparseable: number;
  /** Redriven events that were valid this time and went on to the processed stream. */
  redriven: number;
}

export interface BatchOutcome {
  response: SQSBatchResponse;
  tally: ValidatorTally;
}

/** Kinesis PutRecords: 500 records and 5 MiB (data plus partition keys) per request. */
export const PUT_RECORDS_LIMITS = { maxCount: 500, maxBytes: 5 * 1024 * 1024 };
/** SQS SendMessageBatch: 10 messages and 256 KiB (bodies plus attributes) per request. */
export const SEND_MESSAGE_BATCH_LIMITS = { maxCount: 10, maxBytes: 256 * 1024 };

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
        limits: { ...PUT_RECORDS_LIMITS, sizeOf: (entry) => entry.data.byteLength + Buffer.byteLength(entry.partitionKey) },
        sendChunk: deps.putProcessed,
        onError: (error, entries) => deps.onDeliveryError?.(error, 'processed_stream', entries.length),
      },
    ),
    deliverInChunks(
      toDeadLetters.map(({ message }) => ({
        body: JSON.stringify(message),
        attributes: deadLetterAttributes(message) as Record<string, MessageAttributeValue>,
      })),
      {
        ...retry,
        limits: { ...SEND_MESSAGE_BATCH_LIMITS, sizeOf: sqsMessageBytes },
        sendChunk: deps.sendDeadLetters,
        onError: (error, entries) => deps.onDeliveryError?.(error, 'dead_letter_queue', entries.length),
      },
    ),
  ]);

  const tally: ValidatorTally = { valid: 0, invalid: 0, unparseable: 0, redriven: 0 };
  toStream.forEach((item, position) => {
    if (!streamDelivered[position]) return void failed.add(item.itemId);
    tally.valid++;
    if (item.redriven) tally.redriven++;
  });
  toDeadLetters.forEach((item, position) => {
    if (!deadLetterDelivered[position]) return void failed.add(item.itemId);
    tally[item.category]++;
  });

  const batchItemFailures = items
    .filter(({ itemId }) => failed.has(itemId))
    .map(({ itemId }) => ({ itemIdentifier: itemId }));
  return { response: { batchItemFailures }, tally };
}

/** SQS counts the body and every attribute's name, type and value against the size limit. */
function sqsMessageBytes(entry: DeadLetterEntry): number {
  let bytes = Buffer.byteLength(entry.body, 'utf8');
  for (const [name, value] of Object.entries(entry.attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}
