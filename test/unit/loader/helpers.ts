import type { KinesisStreamRecord } from 'aws-lambda';
import fc from 'fast-check';
import { enrichEvent, validateEvent, type EnrichedEvent } from '../../../lambdas/shared/events';
import { SAMPLE_RECEIVED_AT, sampleEventV3 } from '../../fixtures/events';
import { validEvent } from '../fuzz/arbitraries';

export const STREAM_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/ProcessedStream';
export const SHARD = 'shardId-000000000000';

/** A stored (enriched) event built from the v3 sample, through the real validation and enrichment. */
export function enrichedEvent(overrides: Record<string, unknown> = {}): EnrichedEvent {
  const result = validateEvent(sampleEventV3(overrides), SAMPLE_RECEIVED_AT);
  if (!result.ok) throw new Error(`sample is not valid: ${JSON.stringify(result.errors)}`);
  return enrichEvent(result.event, {
    receivedAt: SAMPLE_RECEIVED_AT,
    processedAt: new Date(SAMPLE_RECEIVED_AT.getTime() + 1_000),
    originalVersion: result.originalVersion,
  });
}

/** A processed-stream record as Lambda delivers it; a string payload is sent as is (not JSON-encoded). */
export function kinesisRecord(payload: unknown, sequenceNumber: string, shardId = SHARD): KinesisStreamRecord {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return {
    awsRegion: 'us-east-1',
    eventID: `${shardId}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    eventSource: 'aws:kinesis',
    eventSourceARN: STREAM_ARN,
    eventVersion: '1.0',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/loader',
    kinesis: {
      approximateArrivalTimestamp: SAMPLE_RECEIVED_AT.getTime() / 1000,
      data: Buffer.from(text, 'utf8').toString('base64'),
      kinesisSchemaVersion: '1.0',
      partitionKey: 'p',
      sequenceNumber,
    },
  };
}

/** Realistic 56-digit Kinesis sequence numbers, increasing with n. */
export function sequenceNumber(n: number): string {
  return `4959${String(n).padStart(52, '0')}`;
}

/** Generated stored events: any valid v1, v2 or v3 event (the fuzz arbitraries), validated and enriched. */
export const generatedEnrichedEvent: fc.Arbitrary<EnrichedEvent> = validEvent(SAMPLE_RECEIVED_AT)
  .map((event) => {
    const verdict = validateEvent(event, SAMPLE_RECEIVED_AT);
    if (!verdict.ok) return undefined;
    return enrichEvent(verdict.event, {
      receivedAt: SAMPLE_RECEIVED_AT,
      processedAt: new Date(SAMPLE_RECEIVED_AT.getTime() + 1_000),
      originalVersion: verdict.originalVersion,
    });
  })
  .filter((event): event is EnrichedEvent => event !== undefined);
