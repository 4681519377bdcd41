import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadRecords, type LoaderDeps } from '../../../lambdas/loader/load';
import { enrichedEvent, kinesisRecord, sequenceNumber } from './helpers';
import { MemoryEventStore } from './memory-store';

const sqs = new SQSClient({ region: 'us-east-1' });
const sqsMock = mockClient(sqs);
const noSleep = { now: () => 0, sleep: async () => {}, random: () => 0 };
const STORED_AT = new Date('2026-11-22T10:05:00.000Z');

const deps = (store: MemoryEventStore, overrides: Partial<LoaderDeps> = {}): LoaderDeps => ({
  store,
  sqs,
  deadLetterQueueUrl: 'https://sqs.local/DeadLetterQueue',
  now: () => STORED_AT,
  retryClock: noSleep,
  ...overrides,
});

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({
    Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })),
    Failed: [],
  }));
});

describe('loader data quality: lag from event_time to stored', () => {
  it('is the average and maximum over the events this batch stored', async () => {
    const events = [
      enrichedEvent({ event_time: '2026-11-22T10:04:50.000Z' }), // 10 s
      enrichedEvent({ event_time: '2026-11-22T10:04:30.000Z' }), // 30 s
    ];
    const result = await loadRecords(events.map((e, i) => kinesisRecord(e, sequenceNumber(i))), deps(new MemoryEventStore()));
    expect(result.summary.stored).toBe(2);
    expect(result.storeLag).toEqual({ averageSeconds: 20, maxSeconds: 30 });
  });

  it('leaves duplicates and refused events out, and is absent when nothing was stored', async () => {
    const store = new MemoryEventStore();
    const event = enrichedEvent({ event_time: '2026-11-22T10:04:00.000Z' });
    await loadRecords([kinesisRecord(event, sequenceNumber(1))], deps(store));
    const again = await loadRecords([kinesisRecord(event, sequenceNumber(2))], deps(store));
    expect(again.summary.duplicates).toBe(1);
    expect(again.storeLag).toBeUndefined();
  });

  it('logs a permanent failure at ERROR with the event_id, for the end-to-end query', async () => {
    const store = new MemoryEventStore();
    const event = enrichedEvent({ event_time: '2026-11-22T10:04:00.000Z' });
    store.refuse.add(event.event_id);
    const errors: unknown[][] = [];
    const { summary } = await loadRecords(
      [kinesisRecord(event, sequenceNumber(1))],
      deps(store, { log: { warn: () => {}, error: (...m: unknown[]) => void errors.push(m) } }),
    );
    expect(summary.deadLettered).toBe(1);
    expect(errors).toEqual([
      ['Record could not be stored: sent to the DeadLetterQueue', expect.objectContaining({ reason: 'load_failed', event_id: event.event_id })],
    ]);
  });
});
