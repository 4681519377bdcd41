import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { KinesisStreamRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { expectedAggregates } from '../../../lambdas/shared/aggregates';
import type { EnrichedEvent } from '../../../lambdas/shared/events';
import { DeadLetterMessageSchema } from '../../../lambdas/shared/records';
import { loadRecords, planWrites, type LoaderDeps } from '../../../lambdas/loader/load';
import { enrichedEvent, kinesisRecord, sequenceNumber, SHARD } from './helpers';
import { MemoryEventStore } from './memory-store';

const sqs = new SQSClient({ region: 'us-east-1' });
const sqsMock = mockClient(sqs);
const noSleep = { now: () => 0, sleep: async () => {}, random: () => 0 };

function deps(store: MemoryEventStore, overrides: Partial<LoaderDeps> = {}): LoaderDeps {
  return {
    store,
    sqs,
    deadLetterQueueUrl: 'https://sqs.local/DeadLetterQueue',
    now: () => new Date('2026-11-22T10:05:00.000Z'),
    retryClock: noSleep,
    ...overrides,
  };
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({
    Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })),
    Failed: [],
  }));
});

const categories = ['books', 'toys', 'garden'];
function varietyOfEvents(count: number, hour = '08'): EnrichedEvent[] {
  return Array.from({ length: count }, (_, i) =>
    enrichedEvent({
      event_type: ['page_view', 'add_to_cart', 'purchase', 'purchase'][i % 4],
      event_time: `2026-11-22T${hour}:${String(i % 60).padStart(2, '0')}:00.000Z`,
      category: categories[i % 3],
      product_id: `SKU-${i % 7}`,
      price: 5 + (i % 3) * 0.25,
      currency: i % 5 === 0 ? 'EUR' : 'USD',
      quantity: 1 + (i % 2),
    }),
  );
}

function recordsOf(events: EnrichedEvent[], firstSequence = 1): KinesisStreamRecord[] {
  return events.map((e, i) => kinesisRecord(e, sequenceNumber(firstSequence + i)));
}

/**
 * Lambda's Kinesis retry loop: invoke, then retry from the lowest reported record, up to
 * 1 + MaximumRetryAttempts (5) invocations; returns the records it gave up on (the range it would
 * name in StreamFailureQueue).
 */
async function asLambdaWould(records: KinesisStreamRecord[], d: LoaderDeps): Promise<KinesisStreamRecord[]> {
  let batch = records;
  for (let invocation = 0; invocation < 6 && batch.length > 0; invocation += 1) {
    const { batchItemFailures } = await loadRecords(batch, d);
    if (batchItemFailures.length === 0) return [];
    const from = batch.findIndex((r) => r.kinesis.sequenceNumber === batchItemFailures[0]!.itemIdentifier);
    batch = batch.slice(from);
  }
  return batch;
}

/** The conservation check at the loader's level: stored once, aggregates equal to the stored events. */
function expectConserved(store: MemoryEventStore, expectedIds: Set<string>) {
  const stored = store.storedEvents();
  expect(new Set(stored.map((e) => e.event_id))).toEqual(expectedIds);
  expect(store.aggregateValues()).toEqual(expectedAggregates(stored));
}

describe('loadRecords: each event stored and counted once', () => {
  it('stores a batch and its aggregates in a few writes, revenue per currency in minor units', async () => {
    const store = new MemoryEventStore();
    const events = varietyOfEvents(100);
    const { batchItemFailures, summary } = await loadRecords(recordsOf(events), deps(store));
    expect(batchItemFailures).toEqual([]);
    expect(summary).toMatchObject({ records: 100, stored: 100, duplicates: 0, retried: 0 });
    expect(summary.writes).toBeLessThanOrEqual(5);
    expectConserved(store, new Set(events.map((e) => e.event_id)));
    const purchases = store.aggregateValues().find((a) => a.sk === 'TYPE#purchase')!;
    expect(Object.keys(purchases.revenue).sort()).toEqual(['EUR', 'USD']);
    expect(Number.isInteger(purchases.revenue.USD)).toBe(true);
  });

  it('a resend (same event_id, another record) is a duplicate and counts nothing, even in the same batch', async () => {
    const store = new MemoryEventStore();
    const [a, b] = varietyOfEvents(2);
    const { summary } = await loadRecords(recordsOf([a!, b!, a!, a!]), deps(store));
    expect(summary).toMatchObject({ stored: 2, duplicates: 2 });
    expectConserved(store, new Set([a!.event_id, b!.event_id]));
    const again = await loadRecords(recordsOf([b!], 50), deps(store));
    expect(again.summary).toMatchObject({ stored: 0, duplicates: 1 });
    expectConserved(store, new Set([a!.event_id, b!.event_id]));
  });

  it('hole 1: writes throttled until Lambda gives up, then the range replayed: every stored event is counted once', async () => {
    const store = new MemoryEventStore(30); // several writes per batch
    const events = varietyOfEvents(40);
    let failing = true;
    let writesSeen = 0;
    // The first write succeeds, then every write is throttled: stored and unstored events mix.
    store.failBefore = () => failing && writesSeen++ > 0;
    const givenUp = await asLambdaWould(recordsOf(events), deps(store, { retryPolicy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 10 } }));
    expect(givenUp.length).toBeGreaterThan(0);
    expect(store.events.size).toBeGreaterThan(0);
    failing = false;
    // `pipeline replay` puts the given-up range back: the same events with new sequence numbers.
    const replayed = givenUp.map((r, i) => kinesisRecord(JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString()), sequenceNumber(1000 + i)));
    expect(await asLambdaWould(replayed, deps(store))).toEqual([]);
    expectConserved(store, new Set(events.map((e) => e.event_id)));
  });

  it('a write that commits but whose answer is lost is recognised on retry (rewritten) and not counted again', async () => {
    const store = new MemoryEventStore(20);
    const events = varietyOfEvents(30);
    let lost = 1;
    store.failAfter = () => lost-- > 0;
    const givenUp = await asLambdaWould(recordsOf(events), deps(store, { retryPolicy: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 1 } }));
    expect(givenUp).toEqual([]);
    expectConserved(store, new Set(events.map((e) => e.event_id)));
  });

  it('a transient failure hands back the failed write first record and everything after it, and counts them only once stored', async () => {
    const store = new MemoryEventStore(20);
    const events = varietyOfEvents(30);
    let call = 0;
    store.failBefore = () => ++call >= 2;
    const records = recordsOf(events);
    const { batchItemFailures, summary } = await loadRecords(records, deps(store, { retryPolicy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 10 } }));
    const firstFailed = records.findIndex((r) => r.kinesis.sequenceNumber === batchItemFailures[0]!.itemIdentifier);
    expect(firstFailed).toBe(summary.stored);
    expect(batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.slice(firstFailed).map((r) => r.kinesis.sequenceNumber));
    expect(store.events.size).toBe(firstFailed);
    expect(store.aggregateValues()).toEqual(expectedAggregates(store.storedEvents()));
  });

  it('an item the sink refuses goes to the DeadLetterQueue as load_failed; its neighbours are stored', async () => {
    const store = new MemoryEventStore();
    const events = varietyOfEvents(10);
    store.refuse.add(events[4]!.event_id);
    const errors: unknown[] = [];
    const { batchItemFailures, summary } = await loadRecords(recordsOf(events), deps(store, { log: { warn: () => {}, error: (...m: unknown[]) => void errors.push(m) } }));
    expect(batchItemFailures).toEqual([]);
    expect(summary).toMatchObject({ stored: 9, deadLettered: 1 });
    expectConserved(store, new Set(events.filter((_, i) => i !== 4).map((e) => e.event_id)));
    const sent = sqsMock.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(sent).toHaveLength(1);
    const message = DeadLetterMessageSchema.parse(JSON.parse(sent[0]!.MessageBody!));
    expect(message).toMatchObject({ reason: 'load_failed', errors: [{ code: 'item_rejected' }] });
    expect(errors).toHaveLength(1);
  });

  it('a record that is not a stored event is dead-lettered at once; one not sent is retried with what follows', async () => {
    const store = new MemoryEventStore();
    const [a, b] = varietyOfEvents(2);
    const records = [kinesisRecord(a!, sequenceNumber(1)), kinesisRecord('not json', sequenceNumber(2)), kinesisRecord(b!, sequenceNumber(3))];
    sqsMock.reset();
    sqsMock.on(SendMessageBatchCommand).rejects(Object.assign(new Error('down'), { name: 'InternalError' }));
    const { batchItemFailures, summary } = await loadRecords(records, deps(store));
    expect(batchItemFailures.map((f) => f.itemIdentifier)).toEqual([sequenceNumber(2), sequenceNumber(3)]);
    expect(summary).toMatchObject({ deadLettered: 0, retried: 2 });
    // b was stored (and counted) already: its retry is recognised, not counted again.
    sqsMock.reset();
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({
      Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })),
      Failed: [],
    }));
    const retry = await loadRecords(records.slice(1), deps(store));
    expect(retry.summary).toMatchObject({ rewritten: 1, stored: 0 });
    expectConserved(store, new Set([a!.event_id, b!.event_id]));
  });
});

describe('planWrites', () => {
  it('keeps each write within the item limit, in record order, each event_id once per write', () => {
    const candidates = varietyOfEvents(60).map((event, index) => ({ event, source: `${SHARD}/${index}`, index, aggregateKeys: [`k${index % 9}`, `c${index % 3}`] }));
    candidates.push({ ...candidates[0]!, index: 60 });
    const groups = planWrites(candidates, 25);
    expect(groups.flat().map((c) => c.index)).toEqual(candidates.map((c) => c.index));
    for (const group of groups) {
      const keys = new Set(group.flatMap((c) => c.aggregateKeys));
      expect(group.length + keys.size).toBeLessThanOrEqual(25);
      expect(new Set(group.map((c) => c.event.event_id)).size).toBe(group.length);
    }
  });
});
