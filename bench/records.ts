import { randomUUID } from 'node:crypto';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { createTrafficGenerator } from '../lambdas/generator/traffic';
import { enrichEvent, validateEvent, type EnrichedEvent } from '../lambdas/shared/events';
import type { RawRecord } from '../lambdas/shared/records';

/** Realistic inputs for the benchmarks: generator traffic in the formats each stage reads. */

export const SHARD = 'shardId-000000000000';
const RAW_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/EcommercePipeline-local-RawStream';
const PROCESSED_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/EcommercePipeline-local-ProcessedStream';

let sequence = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n;

/** One Kinesis record as an event source mapping delivers it (data base64). */
export function kinesisRecord(data: string, streamArn: string, arrivedAt: Date): KinesisStreamRecord {
  const sequenceNumber = String(sequence++);
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: 'p',
      sequenceNumber,
      data: Buffer.from(data, 'utf8').toString('base64'),
      approximateArrivalTimestamp: arrivedAt.getTime() / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${SHARD}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/bench',
    awsRegion: 'us-east-1',
    eventSourceARN: streamArn,
  };
}

/** Generator events as producers send them (event_id set, as the generator and `pipeline send` do). */
export function trafficEvents(count: number, options: { seed: number; invalidShare: number }): Array<{ event: Record<string, unknown>; intendedValid: boolean }> {
  return createTrafficGenerator({ seed: options.seed, invalidShare: options.invalidShare })
    .batch(count)
    .map((g) => ({ event: { ...g.event, event_id: typeof g.event.event_id === 'string' ? g.event.event_id : randomUUID() }, intendedValid: g.intendedValid }));
}

/** A raw-stream batch: generator traffic wrapped in the collector's envelope, as the validator reads it. */
export function rawStreamBatch(size: number, seed: number, invalidShare = 0.02): KinesisStreamEvent {
  const receivedAt = new Date();
  const records = trafficEvents(size, { seed, invalidShare }).map(({ event }) => {
    const envelope: RawRecord = { received_at: receivedAt.toISOString(), request_id: randomUUID(), event };
    return kinesisRecord(JSON.stringify(envelope), RAW_ARN, receivedAt);
  });
  return { Records: records };
}

/** Stored (enriched) events from valid generator traffic, through the real validation and enrichment. */
export function enrichedEvents(count: number, seed: number): EnrichedEvent[] {
  const out: EnrichedEvent[] = [];
  const receivedAt = new Date();
  let s = seed;
  while (out.length < count) {
    for (const { event } of trafficEvents(count - out.length, { seed: s++, invalidShare: 0 })) {
      const verdict = validateEvent(event, receivedAt);
      if (!verdict.ok) continue;
      out.push(enrichEvent(verdict.event, { receivedAt, processedAt: new Date(), originalVersion: verdict.originalVersion }));
    }
  }
  return out;
}

/** A processed-stream batch (enriched events as JSON), as the loader reads it. */
export function processedStreamRecords(events: readonly EnrichedEvent[]): KinesisStreamRecord[] {
  const now = new Date();
  return events.map((event) => kinesisRecord(JSON.stringify(event), PROCESSED_ARN, now));
}
