import type { KinesisStreamRecord } from 'aws-lambda';
import type { z } from 'zod';
import type { FieldError } from '../shared/records';
import { enrichedEventSchema, type EnrichedEvent } from '../shared/events';

/** Where a processed-stream record came from: enough to find it again and to order it. */
export interface RecordPosition {
  stream: string;
  shardId: string;
  sequenceNumber: string;
  /** `<shardId>/<sequenceNumber>`: kept on the stored item to recognise a retry of this record. */
  source: string;
}

export type DecodedRecord =
  | { ok: true; position: RecordPosition; event: EnrichedEvent }
  | { ok: false; position: RecordPosition; record: unknown; errors: FieldError[] };

export function positionOf(record: KinesisStreamRecord): RecordPosition {
  const sequenceNumber = record.kinesis.sequenceNumber;
  // eventID is `<shardId>:<sequenceNumber>`.
  const colon = record.eventID.indexOf(':');
  const shardId = colon > 0 ? record.eventID.slice(0, colon) : record.eventID;
  const stream = record.eventSourceARN.slice(record.eventSourceARN.lastIndexOf('/') + 1);
  return {
    stream,
    shardId,
    sequenceNumber,
    source: `${shardId}/${sequenceNumber}`,
  };
}

/** A processed-stream record is an enriched event as JSON; anything else is a permanent failure. */
export function decodeRecord(record: KinesisStreamRecord): DecodedRecord {
  const position = positionOf(record);
  const text = Buffer.from(record.kinesis.data, 'base64').toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      position,
      record: text,
      errors: [{ path: '', code: 'invalid_json', message: `record is not JSON: ${(error as Error).message}` }],
    };
  }
  const result = enrichedEventSchema.safeParse(parsed);
  if (!result.success) {
    return {
      ok: false,
      position,
      record: parsed,
      errors: result.error.issues.flatMap((issue) => fieldErrorsOf(issue)),
    };
  }
  return { ok: true, position, event: result.data };
}

type SchemaIssue = z.core.$ZodIssue;

/** In the validator's terms (contract §3): dotted paths, an unknown field named by its path. */
function fieldErrorsOf(issue: SchemaIssue): FieldError[] {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: path ? `${path}.${key}` : key,
      code: 'unknown_field',
      message: `not a stored event: unknown field ${key}`,
    }));
  }
  const custom = issue.code === 'custom' ? (issue.params as { code?: unknown } | undefined)?.code : undefined;
  const code = typeof custom === 'string' ? custom : issue.code === 'invalid_union' ? 'invalid_type' : issue.code;
  return [{ path, code, message: `not a stored event: ${issue.message}` }];
}
