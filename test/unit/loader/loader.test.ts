import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { paddedSequenceNumber } from '../../../lambdas/shared/aggregates';
import { DeadLetterMessageSchema } from '../../../lambdas/shared/records';
import { loadRecords, type LoaderDeps } from '../../../lambdas/loader/load';
import { enrichedEvent, kinesisRecord, sequenceNumber, SHARD } from './helpers';

const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const sqs = new SQSClient({ region: 'us-east-1' });
const dynamoMock = mockClient(dynamo);
const sqsMock = mockClient(sqs);

const noSleep = { now: () => 0, sleep: async () => {}, random: () => 0 };

function deps(overrides: Partial<LoaderDeps> = {}): LoaderDeps {
  return {
    dynamo,
    sqs,
    eventsTableName: 'Events',
    aggregatesTableName: 'Aggregates',
    deadLetterQueueUrl: 'https://sqs.local/DeadLetterQueue',
    now: () => new Date('2026-11-22T10:05:00.000Z'),
    retryClock: noSleep,
    ...overrides,
  };
}

function conditionFailed(item?: Record<string, unknown>) {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, ...(item ? { Item: item as never } : {}) });
}

function throttled() {
  return new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
}

function updates(): UpdateCommandInput[] {
  return dynamoMock.commandCalls(UpdateCommand).map((call) => call.args[0].input);
}

function updateFor(sk: string): UpdateCommandInput {
  const found = updates().filter((u) => (u.Key as { sk: string }).sk === sk);
  expect(found).toHaveLength(1);
  return found[0]!;
}

beforeEach(() => {
  dynamoMock.reset();
  sqsMock.reset();
  dynamoMock.on(PutCommand).resolves({});
  dynamoMock.on(UpdateCommand).resolves({});
  // SQS confirms each sent entry by Id; only confirmed entries count as delivered.
  sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({
    Successful: input.Entries.map(({ Id }) => ({ Id, MessageId: `m-${Id}`, MD5OfMessageBody: '' })),
    Failed: [],
  }));
});

describe('storing events', () => {
  it('puts each event once with its source and a new-event_id condition', async () => {
    const event = enrichedEvent();
    const result = await loadRecords([kinesisRecord(event, sequenceNumber(1))], deps());

    const puts = dynamoMock.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({
      TableName: 'Events',
      ConditionExpression: 'attribute_not_exists(event_id)',
      Item: { ...event, _source: `${SHARD}/${sequenceNumber(1)}` },
    });
    expect(result.batchItemFailures).toEqual([]);
    expect(result.summary).toMatchObject({ stored: 1, duplicates: 0, rewritten: 0 });
  });

  it('counts an event another record stored as a duplicate, not in the aggregates', async () => {
    const event = enrichedEvent();
    dynamoMock.on(PutCommand).rejects(conditionFailed({ _source: { S: `${SHARD}/${sequenceNumber(0)}` } }));

    const result = await loadRecords([kinesisRecord(event, sequenceNumber(1))], deps());

    expect(result.summary).toMatchObject({ stored: 0, duplicates: 1 });
    expect(updates()).toEqual([]);
    expect(result.batchItemFailures).toEqual([]);
  });

  it('counts an event an earlier attempt of the same record stored as newly stored', async () => {
    const event = enrichedEvent();
    dynamoMock.on(PutCommand).rejects(conditionFailed({ _source: { S: `${SHARD}/${sequenceNumber(1)}` } }));

    const result = await loadRecords([kinesisRecord(event, sequenceNumber(1))], deps());

    expect(result.summary).toMatchObject({ stored: 0, rewritten: 1, duplicates: 0 });
    expect(updates().map((u) => (u.Key as { sk: string }).sk).sort()).toEqual([
      'CATEGORY#books',
      'PRODUCT#SKU-1001',
      'TYPE#purchase',
    ]);
  });

  it('reads the existing item when the failed condition returns none', async () => {
    const event = enrichedEvent();
    dynamoMock.on(PutCommand).rejects(conditionFailed());
    dynamoMock.on(GetCommand, { TableName: 'Events' }).resolves({ Item: { _source: `${SHARD}/${sequenceNumber(1)}` } });

    const result = await loadRecords([kinesisRecord(event, sequenceNumber(1))], deps());

    const gets = dynamoMock.commandCalls(GetCommand).map((c) => c.args[0].input);
    expect(gets).toEqual([expect.objectContaining({ TableName: 'Events', Key: { event_id: event.event_id }, ConsistentRead: true })]);
    expect(result.summary).toMatchObject({ rewritten: 1, duplicates: 0 });
  });

  it('runs the puts of a batch concurrently, within the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    dynamoMock.on(PutCommand).callsFake(async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return {};
    });
    const records = Array.from({ length: 40 }, (_, i) => kinesisRecord(enrichedEvent(), sequenceNumber(i + 1)));

    await loadRecords(records, deps({ concurrency: 8 }));

    expect(dynamoMock.commandCalls(PutCommand)).toHaveLength(40);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(8);
  });
});

describe('aggregates', () => {
  it('applies one update per aggregate item with the sums and the high-water mark', async () => {
    const records = [
      kinesisRecord(enrichedEvent({ price: 10.1, quantity: 1 }), sequenceNumber(1)),
      kinesisRecord(enrichedEvent({ price: 0.2, quantity: 3 }), sequenceNumber(2)),
      kinesisRecord(
        enrichedEvent({ event_type: 'page_view', category: 'toys', product_id: 'SKU-7', price: undefined, currency: undefined, quantity: undefined }),
        sequenceNumber(3),
      ),
    ];

    await loadRecords(records, deps());

    // purchase, books, SKU-1001 (two events each) + page_view, toys, SKU-7
    expect(updates()).toHaveLength(6);
    const product = updateFor('PRODUCT#SKU-1001');
    expect(product.Key).toEqual({ pk: 'HOUR#2026-11-22T09', sk: 'PRODUCT#SKU-1001' });
    expect(product.ExpressionAttributeValues).toMatchObject({
      ':count': 2,
      ':revenue': 10.7,
      ':units': 4,
      ':maxSeq': paddedSequenceNumber(sequenceNumber(2)),
      ':minSeq': paddedSequenceNumber(sequenceNumber(1)),
    });
    expect(product.ExpressionAttributeNames).toMatchObject({ '#mark': `hwm_${SHARD}` });
    expect(product.ConditionExpression).toBe('attribute_not_exists(#mark) OR #mark < :minSeq');
    expect(updateFor('CATEGORY#toys').ExpressionAttributeValues).toMatchObject({ ':count': 1, ':revenue': 0, ':units': 0 });
    expect(updateFor('TYPE#page_view').ExpressionAttributeValues).toMatchObject({
      ':maxSeq': paddedSequenceNumber(sequenceNumber(3)),
    });
  });

  it('when the mark is already past some records, counts only the records above it', async () => {
    const records = [1, 2, 3].map((n) => kinesisRecord(enrichedEvent({ price: n, quantity: 1 }), sequenceNumber(n)));
    const mark = paddedSequenceNumber(sequenceNumber(2));
    dynamoMock
      .on(UpdateCommand, { ConditionExpression: 'attribute_not_exists(#mark) OR #mark < :minSeq' })
      .rejects(conditionFailed());
    dynamoMock.on(GetCommand, { TableName: 'Aggregates' }).resolves({ Item: { [`hwm_${SHARD}`]: mark } });

    const result = await loadRecords(records, deps());

    const retried = updates().filter((u) => u.ConditionExpression === '#mark = :knownMark');
    expect(retried).toHaveLength(3);
    for (const update of retried) {
      expect(update.ExpressionAttributeValues).toMatchObject({
        ':count': 1,
        ':revenue': 3,
        ':units': 1,
        ':knownMark': mark,
        ':maxSeq': paddedSequenceNumber(sequenceNumber(3)),
      });
    }
    expect(result.batchItemFailures).toEqual([]);
  });

  it('skips the update when every contribution is at or below the mark', async () => {
    dynamoMock.on(UpdateCommand).rejects(conditionFailed());
    dynamoMock.on(GetCommand, { TableName: 'Aggregates' }).resolves({
      Item: { [`hwm_${SHARD}`]: paddedSequenceNumber(sequenceNumber(9)) },
    });

    const result = await loadRecords([kinesisRecord(enrichedEvent(), sequenceNumber(5))], deps());

    expect(updates()).toHaveLength(3); // the three first attempts, no retry
    expect(result.batchItemFailures).toEqual([]);
  });
});

describe('failures', () => {
  it('sends records that are not stored events to the DeadLetterQueue as load_failed', async () => {
    const invalid = { ...enrichedEvent(), price: -1, coupon: 'X' };
    const rejected = enrichedEvent();
    dynamoMock
      .on(PutCommand, { Item: { event_id: rejected.event_id } as never })
      .rejects(Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException' }));
    const records = [
      kinesisRecord('not json {', sequenceNumber(1)),
      kinesisRecord(invalid, sequenceNumber(2)),
      kinesisRecord(rejected, sequenceNumber(3)),
      kinesisRecord(enrichedEvent(), sequenceNumber(4)),
    ];

    const result = await loadRecords(records, deps());

    expect(result.batchItemFailures).toEqual([]);
    expect(result.summary).toMatchObject({ stored: 1, deadLettered: 3 });
    const entries = sqsMock.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(entries).toHaveLength(3);
    const bodies = entries.map((e) => DeadLetterMessageSchema.parse(JSON.parse(e.MessageBody!)));
    for (const body of bodies) {
      expect(body.reason).toBe('load_failed');
      expect(body.attempts).toBe(1);
      expect(body.first_failed_at).toBe('2026-11-22T10:05:00.000Z');
      expect(body.source).toMatchObject({ stream: 'ProcessedStream', shard_id: SHARD });
      expect(body.errors.length).toBeGreaterThan(0);
    }
    expect(bodies.map((b) => b.source.sequence_number)).toEqual([1, 2, 3].map(sequenceNumber));
    expect(bodies[0]!.record).toBe('not json {');
    expect(bodies[0]!.errors[0]).toMatchObject({ path: '', code: 'invalid_json' });
    expect(bodies[1]!.record).toEqual(invalid);
    expect(bodies[1]!.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'price', code: 'too_small' }),
        expect.objectContaining({ path: 'coupon', code: 'unknown_field' }),
      ]),
    );
    expect(bodies[1]!.source.received_at).toBe(invalid.received_at);
    expect(bodies[2]!.record).toEqual(rejected);
    expect(bodies[2]!.errors[0]).toMatchObject({ path: '', code: 'item_rejected' });
    expect(entries.map((e) => e.MessageAttributes?.reason?.StringValue)).toEqual(['load_failed', 'load_failed', 'load_failed']);
    expect(entries[0]!.MessageAttributes?.error_codes?.StringValue).toBe('invalid_json');
  });

  it('sends dead letters in batches of at most 10', async () => {
    const records = Array.from({ length: 23 }, (_, i) => kinesisRecord(`bad ${i}`, sequenceNumber(i + 1)));

    const result = await loadRecords(records, deps());

    const sizes = sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries?.length);
    expect(sizes.sort()).toEqual([10, 10, 3].sort());
    expect(result.summary.deadLettered).toBe(23);
  });

  it('hands a transiently failed put and everything after it back to Lambda, counting nothing from there', async () => {
    const events = [1, 2, 3].map(() => enrichedEvent());
    dynamoMock.on(PutCommand, { Item: { event_id: events[1]!.event_id } as never }).rejects(throttled());
    const records = events.map((e, i) => kinesisRecord(e, sequenceNumber(i + 1)));

    const result = await loadRecords(records, deps());

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: sequenceNumber(2) }, { itemIdentifier: sequenceNumber(3) }]);
    // Only record 1 is counted now; record 3 (stored) is counted when the retry reaches it.
    for (const update of updates()) {
      expect(update.ExpressionAttributeValues).toMatchObject({ ':count': 1, ':maxSeq': paddedSequenceNumber(sequenceNumber(1)) });
    }
    expect(updates()).toHaveLength(3);
  });

  it('does not dead-letter a permanent failure that comes after a retried record', async () => {
    const events = [enrichedEvent(), enrichedEvent()];
    dynamoMock.on(PutCommand, { Item: { event_id: events[0]!.event_id } as never }).rejects(throttled());
    const records = [kinesisRecord(events[0], sequenceNumber(1)), kinesisRecord('garbage', sequenceNumber(2))];

    const result = await loadRecords(records, deps());

    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([sequenceNumber(1), sequenceNumber(2)]);
  });

  it('on a failed aggregate update, retries from the lowest record that contributes to it', async () => {
    const records = [
      kinesisRecord(enrichedEvent({ event_type: 'page_view', category: 'toys', product_id: 'SKU-7', price: undefined, currency: undefined, quantity: undefined }), sequenceNumber(1)),
      kinesisRecord(enrichedEvent(), sequenceNumber(2)),
      kinesisRecord(enrichedEvent(), sequenceNumber(3)),
    ];
    dynamoMock.on(UpdateCommand, { Key: { pk: 'HOUR#2026-11-22T09', sk: 'CATEGORY#books' } }).rejects(throttled());

    const result = await loadRecords(records, deps());

    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([sequenceNumber(2), sequenceNumber(3)]);
    expect(updates()).toHaveLength(6);
  });

  it('hands a record back to Lambda when its dead letter cannot be sent', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({
      Successful: [],
      Failed: input.Entries.map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false, Message: 'try again' })),
    }));
    const records = [kinesisRecord(enrichedEvent(), sequenceNumber(1)), kinesisRecord('garbage', sequenceNumber(2))];

    const result = await loadRecords(records, deps());

    expect(sqsMock.commandCalls(SendMessageBatchCommand).length).toBeGreaterThan(1); // resent before giving up
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: sequenceNumber(2) }]);
    expect(result.summary).toMatchObject({ stored: 1, deadLettered: 0 });
  });
});
