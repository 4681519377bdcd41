import { DynamoDBClient, GetItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { aggregateFromItem, expectedAggregates, mergeWriteShards } from '../../../lambdas/shared/aggregates';
import type { EnrichedEvent } from '../../../lambdas/shared/events';
import { loadRecords, type LoaderDeps } from '../../../lambdas/loader/load';
import { DynamoDbEventStore } from '../../../lambdas/loader/store';
import { leanDynamoClient } from '../../../lambdas/shared/aws-dynamodb';
import { startAwsEndpoint, type AwsEndpoint } from '../../../tools/local-cloud/endpoint';
import { scanAll as scanTable } from '../../harness/conservation';
import { createAggregatesTable, createEventsTable } from '../../fixtures/tables';
import { enrichedEvent, kinesisRecord, sequenceNumber } from './helpers';

// The DynamoDB adapter against emulated DynamoDB through the local endpoint (dynalite, with the
// endpoint's TransactWriteItems and its faults), through the real SDK clients.
let endpoint: AwsEndpoint;
let raw: DynamoDBClient;
let dynamo: DynamoDBDocumentClient;
let sqs: SQSClient;
let queueUrl = '';
let tableSuffix = 0;
let eventsTable = '';
let aggregatesTable = '';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const fastRetries = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, budgetMs: 1_000 };

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0, region: 'us-east-1', accountId: '000000000000' });
  // The loader's own client (its TransactWriteItems body written by TransactJsonProtocol).
  raw = leanDynamoClient({ endpoint: endpoint.url, region: 'us-east-1', credentials });
  dynamo = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  sqs = new SQSClient({ endpoint: endpoint.url, region: 'us-east-1', credentials });
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'DeadLetterQueue' }))).QueueUrl!;
});

afterAll(async () => {
  raw.destroy();
  sqs.destroy();
  await endpoint.close();
});

beforeEach(async () => {
  endpoint.faults.clear();
  tableSuffix += 1;
  eventsTable = `Events${tableSuffix}`;
  aggregatesTable = `Aggregates${tableSuffix}`;
  await createEventsTable(raw, eventsTable);
  await createAggregatesTable(raw, aggregatesTable);
});

function deps(client: Pick<DynamoDBClient, 'send'> = raw, aggregateWriteShards = 1): LoaderDeps {
  return {
    aggregateWriteShards,
    store: new DynamoDbEventStore(client, eventsTable, aggregatesTable),
    sqs,
    deadLetterQueueUrl: queueUrl,
    retryPolicy: fastRetries,
  };
}

const scanAll = (table: string) => scanTable(dynamo, table);

async function storedAggregates() {
  return mergeWriteShards((await scanAll(aggregatesTable)).map(aggregateFromItem)).sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
}

/** The invariant: each expected event stored once, the aggregates equal to the stored events. */
async function expectConserved(expectedEventIds: Set<string>) {
  endpoint.faults.clear();
  const stored = (await scanAll(eventsTable)) as unknown as EnrichedEvent[];
  expect(stored).toHaveLength(expectedEventIds.size);
  expect(new Set(stored.map((e) => e.event_id))).toEqual(expectedEventIds);
  const expected = expectedAggregates(stored).sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
  expect(await storedAggregates()).toEqual(expected);
}

const categories = ['books', 'toys', 'garden'];
const types = ['page_view', 'add_to_cart', 'purchase', 'purchase'] as const;

function varietyOfEvents(count: number): EnrichedEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const type = types[i % types.length]!;
    const minute = String(i % 60).padStart(2, '0');
    return enrichedEvent({
      event_type: type,
      // Two UTC hours, so the events spread over two partitions of aggregates.
      event_time: i % 2 === 0 ? `2026-11-22T08:${minute}:00.000Z` : `2026-11-22T09:${minute}:30+00:00`,
      category: categories[i % categories.length],
      product_id: `SKU-${i % 5}`,
      price: type === 'page_view' ? undefined : Number((1.1 + i * 0.37).toFixed(2)),
      currency: type === 'page_view' ? undefined : i % 4 === 3 ? 'EUR' : 'USD',
      quantity: type === 'page_view' ? undefined : (i % 3) + 1,
    });
  });
}

function recordsFor(events: readonly EnrichedEvent[], firstSequence = 1, shardId?: string): KinesisStreamRecord[] {
  return events.map((event, i) => kinesisRecord(event, sequenceNumber(firstSequence + i), shardId));
}

/** Lambda with ReportBatchItemFailures: retry from the lowest reported record, give up after 1 + 5 invocations. */
async function runLikeLambda(records: KinesisStreamRecord[], d: () => LoaderDeps = deps): Promise<KinesisStreamRecord[]> {
  let pending = records;
  for (let invocation = 0; invocation < 6 && pending.length > 0; invocation += 1) {
    const { batchItemFailures } = await loadRecords(pending, d());
    if (batchItemFailures.length === 0) return [];
    const from = pending.findIndex((r) => r.kinesis.sequenceNumber === batchItemFailures[0]!.itemIdentifier);
    expect(from).toBeGreaterThanOrEqual(0);
    pending = pending.slice(from);
  }
  return pending;
}

describe('loader against DynamoDB (local endpoint)', () => {
  it('stores anonymous events (user_id null) without the null attribute the ByUser index would refuse', async () => {
    const anonymous = enrichedEvent({ event_type: 'page_view', user_id: null, product_id: undefined, price: undefined, currency: undefined, quantity: undefined });
    const result = await loadRecords(recordsFor([anonymous]), deps());
    expect(result.batchItemFailures).toEqual([]);
    const [stored] = await scanAll(eventsTable);
    expect(stored).toMatchObject({ event_id: anonymous.event_id, event_type: 'page_view' });
    expect(stored).not.toHaveProperty('user_id');
    await expectConserved(new Set([anonymous.event_id]));
  });

  it('counts each stored event once across a rerun, a bisected rerun and a client resend, in a few transactions', async () => {
    const events = varietyOfEvents(100);
    const batch = recordsFor(events);
    const ids = new Set(events.map((e) => e.event_id));

    const first = await loadRecords(batch, deps());
    expect(first.batchItemFailures).toEqual([]);
    expect(first.summary).toMatchObject({ stored: 100, duplicates: 0, deadLettered: 0 });
    expect(first.summary.writes).toBeLessThanOrEqual(4);
    await expectConserved(ids);
    const afterFirst = await storedAggregates();

    // The same batch again (Lambda retry after a timeout): all are earlier attempts of themselves.
    const again = await loadRecords(batch, deps());
    expect(again.summary).toMatchObject({ stored: 0, rewritten: 100, duplicates: 0 });
    await loadRecords(batch.slice(0, 17), deps());
    await loadRecords(batch.slice(17), deps());
    expect(await storedAggregates()).toEqual(afterFirst);

    // A client resend: the same events in new stream records, also from another shard.
    const resend = await loadRecords(recordsFor([events[3]!, events[20]!], 500, 'shardId-000000000001'), deps());
    expect(resend.summary).toMatchObject({ stored: 0, duplicates: 2 });
    expect(await storedAggregates()).toEqual(afterFirst);
  });

  it('tells a rerun from a resend by the _source DynamoDB returns with the failed condition, without reading the item', async () => {
    const events = varietyOfEvents(6);
    expect((await loadRecords(recordsFor(events), deps())).summary.stored).toBe(6);
    const sent: string[] = [];
    const counting = { send: ((command: { constructor: { name: string } }) => (sent.push(command.constructor.name), raw.send(command as never))) as DynamoDBClient['send'] };
    const rerun = await loadRecords(recordsFor(events), deps(counting));
    const resend = await loadRecords(recordsFor(events.slice(0, 2), 100, 'shardId-000000000001'), deps(counting));
    expect(rerun.summary).toMatchObject({ stored: 0, rewritten: 6, duplicates: 0 });
    expect(resend.summary).toMatchObject({ stored: 0, rewritten: 0, duplicates: 2 });
    expect(sent).not.toContain(GetItemCommand.name);
    await expectConserved(new Set(events.map((e) => e.event_id)));
  });

  it('reads who stored an event with GetItem when the cancellation reasons carry no item', async () => {
    const events = varietyOfEvents(6);
    expect((await loadRecords(recordsFor(events), deps())).summary.stored).toBe(6);
    // As an emulator that ignores ReturnValuesOnConditionCheckFailure answers.
    const sent: string[] = [];
    const withoutItems = {
      send: (async (command: { constructor: { name: string } }) => {
        sent.push(command.constructor.name);
        try {
          return await raw.send(command as never);
        } catch (error) {
          for (const reason of (error as { CancellationReasons?: Array<{ Item?: unknown }> }).CancellationReasons ?? []) delete reason.Item;
          throw error;
        }
      }) as DynamoDBClient['send'],
    };
    const mixed = [...recordsFor(events.slice(0, 3)), ...recordsFor(events.slice(3), 200, 'shardId-000000000001')];
    const { summary } = await loadRecords(mixed, deps(withoutItems));
    expect(summary).toMatchObject({ stored: 0, rewritten: 3, duplicates: 3 });
    expect(sent.filter((name) => name === GetItemCommand.name)).toHaveLength(6);
    expect(sent).toContain(TransactWriteItemsCommand.name);
    await expectConserved(new Set(events.map((e) => e.event_id)));
  });

  it('hole 1: throttled writes until Lambda gives up, then the range replayed: every stored event counted once', async () => {
    const events = varietyOfEvents(120);
    // The first transaction commits, then DynamoDB throttles every request (the endpoint's fault).
    let writes = 0;
    const throttledAfterFirstWrite = {
      send: ((command: unknown) => {
        if (writes++ === 1) endpoint.faults.apply({ dynamodb: { throttle: 1 } });
        return raw.send(command as never);
      }) as DynamoDBClient['send'],
    };
    const givenUp = await runLikeLambda(recordsFor(events), () => deps(throttledAfterFirstWrite));
    expect(endpoint.faults.state().injected['dynamodb.throttle']).toBeGreaterThan(0);
    endpoint.faults.clear();
    expect(givenUp.length).toBeGreaterThan(0);
    expect((await scanAll(eventsTable)).length).toBeGreaterThan(0);
    // `pipeline replay` puts the given-up range back through the validator: new sequence numbers.
    const replayed = givenUp.map((r, i) => kinesisRecord(JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString()), sequenceNumber(5000 + i)));
    expect(await runLikeLambda(replayed)).toEqual([]);
    await expectConserved(new Set(events.map((e) => e.event_id)));
  });

  it('stays exact under ordinary throttling and a short outage', async () => {
    const events = varietyOfEvents(150);
    endpoint.faults.apply({ seed: 3, dynamodb: { throttle: 0.1, unavailableForSeconds: 0.3 } });
    expect(await runLikeLambda(recordsFor(events))).toEqual([]);
    await expectConserved(new Set(events.map((e) => e.event_id)));
  });

  it('a record that cannot be stored goes to the DeadLetterQueue as load_failed; its neighbours are stored', async () => {
    const events = varietyOfEvents(8);
    // Not storable: a number DynamoDB cannot represent (the validator refuses these before they get here).
    const refused = { ...events[5]!, price: 5e-324 } as EnrichedEvent;
    const batch = recordsFor([...events.slice(0, 5), refused, ...events.slice(6)]);
    const { batchItemFailures, summary } = await loadRecords(batch, deps());
    expect(batchItemFailures).toEqual([]);
    expect(summary).toMatchObject({ stored: 7, deadLettered: 1 });
    await expectConserved(new Set(events.filter((_, i) => i !== 5).map((e) => e.event_id)));
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }));
    const bodies = (received.Messages ?? []).map((m) => JSON.parse(m.Body!));
    expect(bodies.filter((b) => b.record?.event_id === refused.event_id)).toMatchObject([{ reason: 'load_failed', errors: [{ path: 'price' }] }]);
  });

  it('with write shards, each Kinesis shard adds to its own part of an item, and the parts add up exactly', async () => {
    const events = varietyOfEvents(90);
    const shards = ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002'];
    for (const [i, shardId] of shards.entries()) {
      const { summary } = await loadRecords(recordsFor(events.slice(i * 30, i * 30 + 30), 1, shardId), deps(raw, 8));
      expect(summary.stored).toBe(30);
    }
    // A resend from another shard counts nothing, whichever part it would have added to.
    await loadRecords(recordsFor(events.slice(0, 5), 100, 'shardId-000000000009'), deps(raw, 8));
    const items = await scanAll(aggregatesTable);
    const parts = new Set(items.map((item) => /^W(\d+)#/.exec(String(item.sk))?.[1]));
    expect(parts.has(undefined)).toBe(false);
    expect(parts.size).toBeGreaterThan(1);
    await expectConserved(new Set(events.map((e) => e.event_id)));
  });
});
