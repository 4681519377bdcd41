import type { KinesisStreamRecord, SQSRecord } from 'aws-lambda';
import { enrichEvent, stripEnrichment, validateEvent, type EnrichedEvent } from '../shared/events';
import {
  DeadLetterMessageSchema,
  RawRecordSchema,
  type DeadLetterMessage,
  type FieldError,
} from '../shared/records';

/**
 * How a record came: first from the collector, again from RedriveQueue, or again through
 * `pipeline replay`. Only first passes count as the pipeline's valid/invalid traffic.
 */
export type Pass = 'first' | 'redrive' | 'replay';

/** Where one incoming record goes: on to the processed stream, or to the DeadLetterQueue. */
export type Routed =
  | { itemId: string; to: 'processed'; event: EnrichedEvent; pass: Pass; requestId?: string }
  | { itemId: string; to: 'dead_letter'; message: DeadLetterMessage; category: 'invalid' | 'unparseable'; pass: Pass };

/** `arn:aws:kinesis:<region>:<account>:stream/<name>` -> `<name>`; SQS ARNs end in the queue name. */
export function resourceNameOf(arn: string): string {
  const afterColon = arn.slice(arn.lastIndexOf(':') + 1);
  return afterColon.startsWith('stream/') ? afterColon.slice('stream/'.length) : afterColon;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dateFrom(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  // Only instants ISO-8601 writes with a four-digit year: the stored event's received_at is one.
  return Number.isNaN(date.getTime()) || !/^\d{4}-/.test(date.toISOString()) ? undefined : date;
}

/** A raw-stream record: an envelope written by the collector (or anything a producer put there). */
export function routeKinesisRecord(record: KinesisStreamRecord, now: Date): Routed {
  const itemId = record.kinesis.sequenceNumber;
  const text = Buffer.from(record.kinesis.data, 'base64').toString('utf8');
  const arrivedAt = new Date(record.kinesis.approximateArrivalTimestamp * 1000);
  const source = {
    stream: resourceNameOf(record.eventSourceARN ?? ''),
    shard_id: record.eventID.split(':', 1)[0],
    sequence_number: record.kinesis.sequenceNumber,
  };

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return unparseable(itemId, text, { ...source, received_at: arrivedAt.toISOString() }, now, {
      path: '',
      code: 'not_json',
      message: 'the stream record is not JSON',
    });
  }
  const envelope = RawRecordSchema.safeParse(parsed);
  if (!envelope.success) {
    return unparseable(itemId, text, { ...source, received_at: arrivedAt.toISOString() }, now, {
      path: '',
      code: 'not_an_envelope',
      message: 'the stream record is JSON but not a raw record ({received_at, request_id, event})',
    });
  }

  const receivedAt = dateFrom(envelope.data.received_at) ?? arrivedAt;
  const pass: Pass = envelope.data.replayed_at === undefined ? 'first' : 'replay';
  const verdict = validateEvent(envelope.data.event, receivedAt);
  if (verdict.ok) {
    const event = enrichEvent(verdict.event, { receivedAt, processedAt: now, originalVersion: verdict.originalVersion });
    return { itemId, to: 'processed', event, pass, requestId: envelope.data.request_id };
  }
  return {
    itemId,
    to: 'dead_letter',
    category: 'invalid',
    pass,
    message: {
      reason: 'validation_failed',
      errors: verdict.errors,
      record: envelope.data.event,
      source: { ...source, request_id: envelope.data.request_id, received_at: receivedAt.toISOString() },
      first_failed_at: now.toISOString(),
      attempts: 1,
    },
  };
}

/**
 * A RedriveQueue message: a dead letter moved back by an operator, its `record` perhaps edited.
 * It is judged again against the time it was first received.
 */
export function routeRedriveMessage(record: SQSRecord, now: Date): Routed {
  const itemId = record.messageId;
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.body);
  } catch {
    parsed = undefined;
  }
  const deadLetter = DeadLetterMessageSchema.safeParse(parsed);
  if (!deadLetter.success) {
    return {
      itemId,
      to: 'dead_letter',
      category: 'unparseable',
      pass: 'redrive',
      message: {
        reason: 'redrive_unparseable',
        errors: [{ path: '', code: 'not_a_dead_letter', message: 'the RedriveQueue message is not a dead-letter message' }],
        record: record.body,
        source: { queue: resourceNameOf(record.eventSourceARN), message_id: record.messageId },
        first_failed_at: now.toISOString(),
        attempts: 1,
      },
    };
  }

  const message = deadLetter.data;
  const candidate = eventFromDeadRecord(message.record);
  const receivedAt = dateFrom(message.source.received_at) ?? dateFrom(candidate.receivedAt) ?? now;
  const verdict = validateEvent(candidate.event, receivedAt);
  if (verdict.ok) {
    const event = enrichEvent(verdict.event, { receivedAt, processedAt: now, originalVersion: verdict.originalVersion });
    return { itemId, to: 'processed', event, pass: 'redrive', requestId: requestIdOf(message.source) };
  }
  return {
    itemId,
    to: 'dead_letter',
    category: 'invalid',
    pass: 'redrive',
    message: {
      ...message,
      reason: 'validation_failed',
      errors: verdict.errors,
      source: { ...message.source, received_at: receivedAt.toISOString() },
      attempts: message.attempts + 1,
    },
  };
}

function requestIdOf(source: DeadLetterMessage['source']): string | undefined {
  const value = (source as Record<string, unknown>).request_id;
  return typeof value === 'string' ? value : undefined;
}

/**
 * The event inside a dead letter's `record`: an enriched event (load_failed) loses its derived
 * fields; raw text (unparseable, perhaps fixed by an operator) is read as a raw record or an event.
 */
function eventFromDeadRecord(record: unknown): { event: unknown; receivedAt?: string } {
  let value = record;
  if (typeof record === 'string') {
    try {
      value = JSON.parse(record);
    } catch {
      return { event: record };
    }
    const envelope = RawRecordSchema.safeParse(value);
    if (envelope.success) return { event: envelope.data.event, receivedAt: envelope.data.received_at };
  }
  if (isRecord(value) && Object.hasOwn(value, 'processed_at')) return stripEnrichment(value);
  return { event: value };
}

function unparseable(
  itemId: string,
  text: string,
  source: DeadLetterMessage['source'],
  now: Date,
  error: FieldError,
): Routed {
  return {
    itemId,
    to: 'dead_letter',
    category: 'unparseable',
    pass: 'first',
    message: {
      reason: 'unparseable',
      errors: [error],
      record: text,
      source,
      first_failed_at: now.toISOString(),
      attempts: 1,
    },
  };
}
