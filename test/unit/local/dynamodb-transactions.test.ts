import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { startAwsEndpoint, type AwsEndpoint } from '../../../tools/local-cloud/endpoint';
import { createAggregatesTable, createEventsTable } from '../../fixtures/tables';
import { DynamoDbTransactions, ReadWriteLock } from '../../../tools/local-cloud/services/dynamodb-transactions';
import { startDynaliteInProcess } from '../../../tools/local-cloud/services/dynalite-in-process';

// TransactWriteItems emulated by the local endpoint on top of dynalite, through the real SDK.
const region = 'us-east-1';
let endpoint: AwsEndpoint;
let dynamodb: DynamoDBClient;
const EVENTS = 'tx-events';
const AGGREGATES = 'tx-aggregates';

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0, region, accountId: '000000000000' });
  dynamodb = new DynamoDBClient({ endpoint: endpoint.url, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  await createEventsTable(dynamodb, EVENTS, { byUser: false });
  await createAggregatesTable(dynamodb, AGGREGATES);
});

afterAll(async () => {
  dynamodb?.destroy();
  await endpoint?.close();
});

/** The loader's Put: store an event once. */
function putEvent(eventId: string, extra: Record<string, string> = {}): TransactWriteItem {
  return {
    Put: {
      TableName: EVENTS,
      Item: { event_id: { S: eventId }, ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, { S: v }])) },
      ConditionExpression: 'attribute_not_exists(event_id)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

/** The loader's Update: count into an aggregate. */
function addCount(pk: string, sk: string, by = 1): TransactWriteItem {
  return {
    Update: {
      TableName: AGGREGATES,
      Key: { pk: { S: pk }, sk: { S: sk } },
      UpdateExpression: 'ADD #count :n',
      ExpressionAttributeNames: { '#count': 'count' },
      ExpressionAttributeValues: { ':n': { N: String(by) } },
    },
  };
}

async function getEvent(eventId: string) {
  return (await dynamodb.send(new GetItemCommand({ TableName: EVENTS, Key: { event_id: { S: eventId } }, ConsistentRead: true }))).Item;
}

async function getCount(pk: string, sk: string): Promise<number | undefined> {
  const item = (await dynamodb.send(new GetItemCommand({ TableName: AGGREGATES, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }))).Item;
  return item?.count?.N === undefined ? undefined : Number(item.count.N);
}

async function cancellation(items: TransactWriteItem[]): Promise<TransactionCanceledException> {
  const error = await dynamodb.send(new TransactWriteItemsCommand({ TransactItems: items })).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TransactionCanceledException);
  return error as TransactionCanceledException;
}

describe('TransactWriteItems on the local endpoint', () => {
  it('applies Puts and ADD Updates together', async () => {
    await dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [putEvent('ok-1'), putEvent('ok-2'), addCount('HOUR#1', 'TYPE#view', 2)] }));
    expect(await getEvent('ok-1')).toEqual({ event_id: { S: 'ok-1' } });
    expect(await getEvent('ok-2')).toBeDefined();
    expect(await getCount('HOUR#1', 'TYPE#view')).toBe(2);
  });

  it('changes nothing when the third Put hits an existing key, and gives every action its reason with the old item', async () => {
    await dynamodb.send(new PutItemCommand({ TableName: EVENTS, Item: { event_id: { S: 'taken' }, note: { S: 'first' } } }));
    await dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [addCount('HOUR#2', 'TYPE#view', 5)] }));

    const error = await cancellation([putEvent('new-a'), putEvent('new-b'), putEvent('taken', { note: 'second' }), addCount('HOUR#2', 'TYPE#view')]);
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toBe('Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, ConditionalCheckFailed, None]');
    expect(error.CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'None' },
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: { event_id: { S: 'taken' }, note: { S: 'first' } } },
      { Code: 'None' },
    ]);
    expect(await getEvent('new-a')).toBeUndefined();
    expect(await getEvent('new-b')).toBeUndefined();
    expect(await getEvent('taken')).toEqual({ event_id: { S: 'taken' }, note: { S: 'first' } });
    expect(await getCount('HOUR#2', 'TYPE#view')).toBe(5);
  });

  it('leaves the old item out of the reason without ReturnValuesOnConditionCheckFailure', async () => {
    await dynamodb.send(new PutItemCommand({ TableName: EVENTS, Item: { event_id: { S: 'taken-2' } } }));
    const put = putEvent('taken-2');
    delete put.Put!.ReturnValuesOnConditionCheckFailure;
    const error = await cancellation([put]);
    expect(error.CancellationReasons).toEqual([{ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }]);
  });

  it('reports a ValidationError for an action dynalite refuses, and rolls back the others', async () => {
    const error = await cancellation([
      putEvent('valid-1'),
      { Update: { TableName: AGGREGATES, Key: { pk: { S: 'HOUR#3' }, sk: { S: 'x' } }, UpdateExpression: 'ADD #c :n', ExpressionAttributeNames: { '#c': 'count' }, ExpressionAttributeValues: { ':n': { S: 'not a number' } } } },
    ]);
    expect(error.CancellationReasons?.[0]).toEqual({ Code: 'None' });
    expect(error.CancellationReasons?.[1]?.Code).toBe('ValidationError');
    expect(await getEvent('valid-1')).toBeUndefined();
  });

  it('evaluates a ConditionCheck without leaving an item behind', async () => {
    await dynamodb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { ConditionCheck: { TableName: EVENTS, Key: { event_id: { S: 'never-there' } }, ConditionExpression: 'attribute_not_exists(event_id)' } },
          putEvent('checked-1'),
        ],
      }),
    );
    expect(await getEvent('never-there')).toBeUndefined();
    expect(await getEvent('checked-1')).toBeDefined();

    const error = await cancellation([
      { ConditionCheck: { TableName: EVENTS, Key: { event_id: { S: 'checked-1' } }, ConditionExpression: 'attribute_not_exists(event_id)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
      putEvent('checked-2'),
    ]);
    expect(error.CancellationReasons?.[0]).toMatchObject({ Code: 'ConditionalCheckFailed', Item: { event_id: { S: 'checked-1' } } });
    expect(await getEvent('checked-2')).toBeUndefined();
  });

  it('deletes in a transaction', async () => {
    await dynamodb.send(new PutItemCommand({ TableName: EVENTS, Item: { event_id: { S: 'to-delete' } } }));
    await dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [{ Delete: { TableName: EVENTS, Key: { event_id: { S: 'to-delete' } } } }] }));
    expect(await getEvent('to-delete')).toBeUndefined();
  });

  it('never loses an ADD when transactions on the same item run concurrently', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [putEvent(`concurrent-${i}`), addCount('HOUR#4', 'TYPE#view')] }))),
    );
    expect(await getCount('HOUR#4', 'TYPE#view')).toBe(20);
  });

  it('never lets a rolled-back transaction undo a concurrent write', async () => {
    await dynamodb.send(new PutItemCommand({ TableName: EVENTS, Item: { event_id: { S: 'blocker' } } }));
    const plainAdd = () =>
      dynamodb.send(
        new UpdateItemCommand({
          TableName: AGGREGATES,
          Key: { pk: { S: 'HOUR#7' }, sk: { S: 'TYPE#view' } },
          UpdateExpression: 'ADD #count :n',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':n': { N: '1' } },
        }),
      );
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0
          ? plainAdd()
          : dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [addCount('HOUR#7', 'TYPE#view'), putEvent(i % 3 === 1 ? `mixed-${i}` : 'blocker')] })),
      ),
    );
    // 10 plain ADDs and 10 committed transactions count; the 10 cancelled ones put back an old image without losing any of them.
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(10);
    expect(await getCount('HOUR#7', 'TYPE#view')).toBe(20);
  });

  it('refuses what AWS refuses with a ValidationException', async () => {
    const refused = (items: TransactWriteItem[]) =>
      dynamodb.send(new TransactWriteItemsCommand({ TransactItems: items })).then(
        () => undefined,
        (e: { name: string; message: string; $metadata: { httpStatusCode?: number } }) => e,
      );
    const twice = await refused([putEvent('same'), addCount('HOUR#5', 'x'), putEvent('same')]);
    expect(twice).toMatchObject({ name: 'ValidationException', message: 'Transaction request cannot include multiple operations on one item', $metadata: { httpStatusCode: 400 } });
    expect(await getEvent('same')).toBeUndefined();

    expect(await refused([])).toMatchObject({ name: 'ValidationException' });
    expect(await refused(Array.from({ length: 101 }, (_, i) => putEvent(`too-many-${i}`)))).toMatchObject({ name: 'ValidationException' });
    expect(await refused([{ ...putEvent('both'), Delete: { TableName: EVENTS, Key: { event_id: { S: 'both' } } } }])).toMatchObject({
      name: 'ValidationException',
      message: 'TransactItems can only contain one of Check, Put, Update or Delete',
    });
  });

  it('accepts 100 actions', async () => {
    await dynamodb.send(new TransactWriteItemsCommand({ TransactItems: Array.from({ length: 100 }, (_, i) => putEvent(`hundred-${i}`)) }));
    expect(await getEvent('hundred-99')).toBeDefined();
  });

  it('answers ResourceNotFoundException for a missing table', async () => {
    const error = await dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [{ Delete: { TableName: 'no-such-table', Key: { id: { S: '1' } } } }] })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('applies a ClientRequestToken once and refuses the token with other items', async () => {
    const token = 'token-1';
    await dynamodb.send(new TransactWriteItemsCommand({ ClientRequestToken: token, TransactItems: [addCount('HOUR#6', 'TYPE#view')] }));
    await dynamodb.send(new TransactWriteItemsCommand({ ClientRequestToken: token, TransactItems: [addCount('HOUR#6', 'TYPE#view')] }));
    expect(await getCount('HOUR#6', 'TYPE#view')).toBe(1);
    const mismatch = await dynamodb
      .send(new TransactWriteItemsCommand({ ClientRequestToken: token, TransactItems: [addCount('HOUR#6', 'TYPE#view', 2)] }))
      .catch((e: unknown) => e);
    expect(mismatch).toMatchObject({ name: 'IdempotentParameterMismatchException' });
  });
});

describe('ReadWriteLock', () => {
  it('lets readers share, and keeps them out while a writer holds it', async () => {
    const lock = new ReadWriteLock();
    const order: string[] = [];
    let releaseWriter!: () => void;
    const writer = lock.exclusive(() => new Promise<void>((resolve) => ((releaseWriter = resolve), order.push('writer in'))));
    const readers = [1, 2].map((n) => lock.shared(async () => void order.push(`reader ${n}`)));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual(['writer in']);
    releaseWriter();
    await Promise.all([writer, ...readers]);
    expect(order).toEqual(['writer in', 'reader 1', 'reader 2']);
  });

  it('makes a writer wait for the readers that hold it, and new readers wait behind the writer', async () => {
    const lock = new ReadWriteLock();
    const order: string[] = [];
    let releaseReader!: () => void;
    const first = lock.shared(() => new Promise<void>((resolve) => (releaseReader = resolve)));
    const writer = lock.exclusive(async () => void order.push('writer'));
    const late = lock.shared(async () => void order.push('late reader'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual([]);
    releaseReader();
    await Promise.all([first, writer, late]);
    expect(order).toEqual(['writer', 'late reader']);
  });
});

describe('ClientRequestToken lifetime', () => {
  it('remembers a token for 10 minutes from its answer, and each token for its own 10 minutes', async () => {
    const dynalite = startDynaliteInProcess();
    let now = 0;
    const transactions = new DynamoDbTransactions(dynalite.call, () => now);
    const table = 'tokens';
    const created = await dynalite.call('CreateTable', {
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    expect(created.status).toBe(200);
    // dynalite makes a new table ACTIVE on a timer.
    const status = async () => ((await dynalite.call('DescribeTable', { TableName: table })).body.Table as { TableStatus?: string } | undefined)?.TableStatus;
    while ((await status()) !== 'ACTIVE') await new Promise((resolve) => setTimeout(resolve, 10));
    const put = (id: string) => [{ Put: { TableName: table, Item: { id: { S: id } } } }];
    const send = (token: string, id: string) => transactions.transactWriteItems({ ClientRequestToken: token, TransactItems: put(id) });
    try {
      expect((await send('first', 'a')).status).toBe(200);
      now = 60_000;
      expect((await send('second', 'b')).status).toBe(200);
      now = 10 * 60_000 - 1;
      // Both are still remembered: the same token with other items is refused.
      expect((await send('first', 'c')).body.__type).toContain('IdempotentParameterMismatchException');
      expect((await send('second', 'c')).body.__type).toContain('IdempotentParameterMismatchException');
      now = 10 * 60_000;
      // The first has expired and may be used again; the second is still remembered.
      expect((await send('first', 'c')).status).toBe(200);
      expect((await send('second', 'd')).body.__type).toContain('IdempotentParameterMismatchException');
      now = 11 * 60_000;
      expect((await send('second', 'd')).status).toBe(200);
    } finally {
      await dynalite.close();
    }
  });
});
