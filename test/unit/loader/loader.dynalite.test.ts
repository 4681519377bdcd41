import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';
import { CreateTableCommand, DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectedAggregates } from '../../../lambdas/shared/aggregates';
import type { EnrichedEvent } from '../../../lambdas/shared/events';
import { loadRecords, type LoaderDeps } from '../../../lambdas/loader/load';
import type { DocumentSender } from '../../../lambdas/loader/store';
import { enrichedEvent, kinesisRecord, sequenceNumber } from './helpers';

// A real (emulated) DynamoDB: proves the condition and update expressions behave as designed,
// including an emulator that returns no item with a failed condition.
// dynalite ships no type declarations; loaded through require to type just what is used here.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: { createTableMs: number }) => Server;
const server = dynalite({ createTableMs: 0 });
let raw: DynamoDBClient;
let dynamo: DynamoDBDocumentClient;
let tableSuffix = 0;
let eventsTable = '';
let aggregatesTable = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  raw = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  dynamo = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
});

afterAll(async () => {
  raw.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(async () => {
  tableSuffix += 1;
  eventsTable = `Events${tableSuffix}`;
  aggregatesTable = `Aggregates${tableSuffix}`;
  await raw.send(
    new CreateTableCommand({
      TableName: eventsTable,
      // As the stack declares it: the ByUser index makes DynamoDB type-check user_id and event_time.
      AttributeDefinitions: [
        { AttributeName: 'event_id', AttributeType: 'S' },
        { AttributeName: 'user_id', AttributeType: 'S' },
        { AttributeName: 'event_time', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'event_id', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'ByUser',
          KeySchema: [
            { AttributeName: 'user_id', KeyType: 'HASH' },
            { AttributeName: 'event_time', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await raw.send(
    new CreateTableCommand({
      TableName: aggregatesTable,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

function deps(client: DocumentSender = dynamo): LoaderDeps {
  return {
    dynamo: client,
    // Every record here is a valid stored event: a dead letter would be a bug, so SQS is unreachable.
    sqs: new SQSClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }),
    eventsTableName: eventsTable,
    aggregatesTableName: aggregatesTable,
    deadLetterQueueUrl: 'http://127.0.0.1:9/DeadLetterQueue',
  };
}

async function scanAll(table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

async function storedAggregates() {
  const items = await scanAll(aggregatesTable);
  return items
    .map((i) => ({ pk: i.pk, sk: i.sk, count: i.count, revenue: i.revenue, units: i.units }))
    .sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
}

/** The invariant: the aggregates equal the sum of the stored events, each counted once. */
async function expectAggregatesMatchStoredEvents(expectedEventIds: Set<string>) {
  const stored = (await scanAll(eventsTable)) as unknown as EnrichedEvent[];
  expect(new Set(stored.map((e) => e.event_id))).toEqual(expectedEventIds);
  expect(stored).toHaveLength(expectedEventIds.size);
  const expected = expectedAggregates(stored).sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
  expect(await storedAggregates()).toEqual(expected);
  const typeCount = expected.filter((a) => a.sk.startsWith('TYPE#')).reduce((sum, a) => sum + a.count, 0);
  expect(typeCount).toBe(expectedEventIds.size);
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
      currency: type === 'page_view' ? undefined : 'USD',
      quantity: type === 'page_view' ? undefined : (i % 3) + 1,
    });
  });
}

function recordsFor(events: readonly EnrichedEvent[], firstSequence = 1, shardId?: string): KinesisStreamRecord[] {
  return events.map((event, i) => kinesisRecord(event, sequenceNumber(firstSequence + i), shardId));
}

/** A client whose writes fail transiently when `failing` says so, as throttling would. */
function flakyClient(failing: (command: unknown) => boolean): DocumentSender {
  return {
    send: ((command: unknown) => {
      if (failing(command)) {
        return Promise.reject(new ProvisionedThroughputExceededException({ message: 'throttled', $metadata: {} }));
      }
      return dynamo.send(command as never);
    }) as DocumentSender['send'],
  };
}

/** What Lambda does with ReportBatchItemFailures: retry from the lowest reported record. */
async function runLikeLambda(records: KinesisStreamRecord[], client: () => DocumentSender) {
  let pending = records;
  for (let attempt = 0; attempt < 10 && pending.length > 0; attempt += 1) {
    const { batchItemFailures } = await loadRecords(pending, deps(client()));
    if (batchItemFailures.length === 0) return attempt + 1;
    const from = pending.findIndex((r) => r.kinesis.sequenceNumber === batchItemFailures[0]!.itemIdentifier);
    expect(from).toBeGreaterThanOrEqual(0);
    pending = pending.slice(from);
  }
  throw new Error('batch never succeeded');
}

describe('loader against DynamoDB (dynalite)', () => {
  it('stores anonymous events (user_id null) without the null attribute the ByUser index would refuse', async () => {
    const anonymous = enrichedEvent({ event_type: 'page_view', user_id: null, product_id: undefined, price: undefined, currency: undefined, quantity: undefined });
    const result = await loadRecords(recordsFor([anonymous]), deps());
    expect(result.batchItemFailures).toEqual([]);
    const [stored] = await scanAll(eventsTable);
    expect(stored).toMatchObject({ event_id: anonymous.event_id, event_type: 'page_view' });
    expect(stored).not.toHaveProperty('user_id');
    await expectAggregatesMatchStoredEvents(new Set([anonymous.event_id]));
  });

  it('counts each stored event once across a rerun, a bisected rerun and a client resend', async () => {
    const events = varietyOfEvents(40);
    const batch = recordsFor(events);
    const ids = new Set(events.map((e) => e.event_id));

    const first = await loadRecords(batch, deps());
    expect(first.batchItemFailures).toEqual([]);
    expect(first.summary).toMatchObject({ stored: 40, duplicates: 0, deadLettered: 0 });
    await expectAggregatesMatchStoredEvents(ids);
    const afterFirst = await storedAggregates();

    // The same batch again (Lambda retry after a timeout): all are earlier attempts of themselves.
    const again = await loadRecords(batch, deps());
    expect(again.summary).toMatchObject({ stored: 0, rewritten: 40, duplicates: 0 });
    // Bisection: each half again.
    await loadRecords(batch.slice(0, 17), deps());
    await loadRecords(batch.slice(17), deps());
    expect(await storedAggregates()).toEqual(afterFirst);

    // A client resend: the same events in new stream records.
    const resent = recordsFor([events[3]!, events[20]!], 100);
    const resend = await loadRecords(resent, deps());
    expect(resend.summary).toMatchObject({ stored: 0, duplicates: 2 });
    expect(await storedAggregates()).toEqual(afterFirst);
    await expectAggregatesMatchStoredEvents(ids);
  });

  it('counts records from another shard even when their sequence numbers are below this shard\'s mark', async () => {
    const events = varietyOfEvents(24);
    await loadRecords(recordsFor(events.slice(0, 12), 1000, 'shardId-000000000000'), deps());
    await loadRecords(recordsFor(events.slice(12), 1, 'shardId-000000000001'), deps());
    await loadRecords(recordsFor(events.slice(12), 1, 'shardId-000000000001'), deps());

    await expectAggregatesMatchStoredEvents(new Set(events.map((e) => e.event_id)));
  });

  it('recovers exactly from transient put failures in the middle of a batch', async () => {
    const events = varietyOfEvents(30);
    const flaky = new Set([events[7]!.event_id, events[19]!.event_id]);
    let failuresLeft = 2;
    const attempts = await runLikeLambda(recordsFor(events), () =>
      flakyClient((command) => {
        const item = (command as { input?: { Item?: { event_id?: string } } }).input?.Item;
        if (failuresLeft > 0 && item?.event_id && flaky.has(item.event_id)) {
          flaky.delete(item.event_id);
          failuresLeft -= 1;
          return true;
        }
        return false;
      }),
    );

    expect(attempts).toBeGreaterThan(1);
    await expectAggregatesMatchStoredEvents(new Set(events.map((e) => e.event_id)));
  });

  it('recovers exactly from aggregate updates that fail after other items were updated', async () => {
    const events = varietyOfEvents(30);
    let updateCalls = 0;
    const attempts = await runLikeLambda(recordsFor(events), () =>
      flakyClient((command) => {
        if (!(command instanceof UpdateCommand)) return false;
        updateCalls += 1;
        return updateCalls % 4 === 0 && updateCalls < 40;
      }),
    );

    expect(attempts).toBeGreaterThan(1);
    await expectAggregatesMatchStoredEvents(new Set(events.map((e) => e.event_id)));
  });
});
