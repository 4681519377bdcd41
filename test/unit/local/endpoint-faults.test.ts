import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startAwsEndpoint, type AwsEndpoint } from '../../../tools/local-cloud/endpoint';
import { FaultController, type FaultSet } from '../../../tools/local-cloud/fault-set';

// Faults on the local endpoint's real paths, seen through the real SDK clients: the answers must
// be AWS's (status, error name, per-entry codes) so the SDKs' and the functions' retries run.
const region = 'us-east-1';
const accountId = '000000000000';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
let now = Date.now();
let endpoint: AwsEndpoint;
let dynamodb: DynamoDBClient;
let kinesis: KinesisClient;
let sqs: SQSClient;
let queueUrl: string;
const TABLE = 'faults-table';
const STREAM = 'faults-stream';

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0, region, accountId, faults: new FaultController({}, () => now) });
  // maxAttempts 1: the raw answer, not the SDK's retries of it.
  const common = { endpoint: endpoint.url, region, credentials, maxAttempts: 1 };
  dynamodb = new DynamoDBClient(common);
  kinesis = new KinesisClient({ ...common, requestHandler: new NodeHttpHandler() });
  sqs = new SQSClient(common);
  await dynamodb.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }),
  );
  await kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 2 }));
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'faults-queue' }))).QueueUrl!;
});

afterEach(() => {
  endpoint.faults.clear();
  now = Date.now();
});

afterAll(async () => {
  dynamodb?.destroy();
  kinesis?.destroy();
  sqs?.destroy();
  await endpoint?.close();
});

function setFaults(faults: FaultSet): void {
  endpoint.faults.apply(faults);
}

async function rejection(promise: Promise<unknown>): Promise<{ name: string; message: string; $metadata: { httpStatusCode?: number } } & Record<string, unknown>> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error as never,
  );
}

/** Every record of the stream, from every shard. */
async function streamRecords(): Promise<string[]> {
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards ?? [];
  const texts: string[] = [];
  for (const shard of shards) {
    const iterator = await kinesis.send(new GetShardIteratorCommand({ StreamName: STREAM, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }));
    const records = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator! }));
    texts.push(...(records.Records ?? []).map((record) => Buffer.from(record.Data!).toString('utf8')));
  }
  return texts;
}

async function drainQueue(): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }));
    if (!received.Messages?.length) return bodies;
    bodies.push(...received.Messages.map((message) => message.Body!));
  }
}

describe('/_local/faults', () => {
  it('GETs, POSTs and DELETEs the active set, and refuses a bad one with 400 invalid_faults', async () => {
    const url = `${endpoint.url}/_local/faults`;
    expect(await (await fetch(url)).json()).toEqual({ active: {}, injected: {} });

    const posted = await fetch(url, { method: 'POST', body: JSON.stringify({ seed: 3, kinesis: { putRecordsEntryFailure: 0.5 } }) });
    expect(posted.status).toBe(200);
    expect(await posted.json()).toEqual({ active: { seed: 3, kinesis: { putRecordsEntryFailure: 0.5 } }, injected: {} });
    expect(((await (await fetch(url)).json()) as { active: unknown }).active).toEqual({ seed: 3, kinesis: { putRecordsEntryFailure: 0.5 } });

    const bad = await fetch(url, { method: 'POST', body: JSON.stringify({ kinesis: { putRecordsEntryFailure: 2 }, sqs: { nope: 1 } }) });
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { error: { code: string; message: string } };
    expect(problem.error.code).toBe('invalid_faults');
    expect(problem.error.message).toContain('kinesis.putRecordsEntryFailure');
    expect(problem.error.message).toContain('sqs');
    expect((await fetch(url, { method: 'POST', body: '{not json' })).status).toBe(400);
    // A refused set leaves the active one as it was.
    expect(((await (await fetch(url)).json()) as { active: unknown }).active).toEqual({ seed: 3, kinesis: { putRecordsEntryFailure: 0.5 } });

    const cleared = await fetch(url, { method: 'DELETE' });
    expect(cleared.status).toBe(200);
    expect(await cleared.json()).toEqual({ active: {}, injected: {} });
  });
});

describe('DynamoDB faults', () => {
  it('throttles a request with ProvisionedThroughputExceededException (HTTP 400)', async () => {
    setFaults({ dynamodb: { throttle: 1 } });
    const error = await rejection(dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { id: { S: 'throttled' } } })));
    expect(error.name).toBe('ProvisionedThroughputExceededException');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toMatch(/^Throughput exceeds the current capacity of your table or index/);
    expect(error.ThrottlingReasons).toEqual([{ reason: 'TableWriteKeyRangeThroughputExceeded', resource: `arn:aws:dynamodb:${region}:${accountId}:table/${TABLE}` }]);
    // Control-plane calls are never throttled.
    expect((await dynamodb.send(new ListTablesCommand({}))).TableNames).toContain(TABLE);
    endpoint.faults.clear();
    expect((await dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: 'throttled' } } }))).Item).toBeUndefined();
  });

  it('lets the SDK retry a throttled request until it goes through', async () => {
    setFaults({ seed: 1, dynamodb: { throttle: 0.5 } });
    const retrying = new DynamoDBClient({ endpoint: endpoint.url, region, credentials, maxAttempts: 10 });
    try {
      for (let i = 0; i < 5; i++) await retrying.send(new PutItemCommand({ TableName: TABLE, Item: { id: { S: `retried-${i}` } } }));
    } finally {
      retrying.destroy();
    }
    expect(endpoint.faults.state().injected['dynamodb.throttle']).toBeGreaterThan(0);
  });

  it('returns throttled BatchWriteItem entries in UnprocessedItems and writes the others', async () => {
    setFaults({ seed: 7, dynamodb: { throttle: 0.5 } });
    const ids = Array.from({ length: 20 }, (_, i) => `batch-${i}`);
    const answer = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: ids.map((id) => ({ PutRequest: { Item: { id: { S: id } } } })) } }));
    const unprocessed = (answer.UnprocessedItems?.[TABLE] ?? []).map((entry) => entry.PutRequest!.Item!.id!.S!);
    expect(unprocessed.length).toBeGreaterThan(0);
    expect(unprocessed.length).toBeLessThan(ids.length);
    expect(unprocessed.length).toBe(endpoint.faults.state().injected['dynamodb.throttle']);
    endpoint.faults.clear();
    for (const id of ids) {
      const item = (await dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: id } } }))).Item;
      expect(item === undefined).toBe(unprocessed.includes(id));
    }
  });

  it('fails a BatchWriteItem whose every entry is throttled as a whole request', async () => {
    setFaults({ dynamodb: { throttle: 1 } });
    const error = await rejection(dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: [{ PutRequest: { Item: { id: { S: 'all-throttled' } } } }] } })));
    expect(error.name).toBe('ProvisionedThroughputExceededException');
  });

  it('cancels a throttled TransactWriteItems with a ThrottlingError reason per action', async () => {
    setFaults({ dynamodb: { throttle: 1 } });
    const error = await rejection(
      dynamodb.send(
        new TransactWriteItemsCommand({
          TransactItems: [{ Put: { TableName: TABLE, Item: { id: { S: 'tx-1' } } } }, { Put: { TableName: TABLE, Item: { id: { S: 'tx-2' } } } }],
        }),
      ),
    );
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect(error.message).toBe('Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError, ThrottlingError]');
    expect((error as unknown as TransactionCanceledException).CancellationReasons?.map((reason) => reason.Code)).toEqual(['ThrottlingError', 'ThrottlingError']);
    endpoint.faults.clear();
    expect((await dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: 'tx-1' } } }))).Item).toBeUndefined();
  });

  it('answers every data-plane request with 503 ServiceUnavailable during unavailableForSeconds, then recovers', async () => {
    setFaults({ dynamodb: { unavailableForSeconds: 30 } });
    expect(endpoint.faults.state().dynamodbUnavailableUntil).toBeDefined();
    const error = await rejection(dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: 'x' } } })));
    expect(error.name).toBe('ServiceUnavailable');
    expect(error.$metadata.httpStatusCode).toBe(503);
    expect(error.message).toBe('DynamoDB is currently unavailable. (This should be a temporary state.)');
    expect((await rejection(dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: TABLE, Item: { id: { S: 'o' } } } }] })))).$metadata.httpStatusCode).toBe(503);
    expect((await dynamodb.send(new ListTablesCommand({}))).TableNames).toContain(TABLE);

    now += 31_000;
    expect(endpoint.faults.state().dynamodbUnavailableUntil).toBeUndefined();
    await dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { id: { S: 'after-outage' } } }));
    expect(endpoint.faults.state().injected['dynamodb.unavailable']).toBe(2);
  });
});

describe('Kinesis faults', () => {
  const records = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, i) => ({ Data: Buffer.from(`${prefix}-${i}`), PartitionKey: `key-${i}` }));

  it('fails every PutRecords entry with share 1: a 200 with ErrorCode on each, nothing written', async () => {
    setFaults({ kinesis: { putRecordsEntryFailure: 1 } });
    const answer = await kinesis.send(new PutRecordsCommand({ StreamName: STREAM, Records: records('all-fail', 4) }));
    expect(answer.$metadata.httpStatusCode).toBe(200);
    expect(answer.FailedRecordCount).toBe(4);
    for (const entry of answer.Records!) {
      expect(entry.ErrorCode).toBe('ProvisionedThroughputExceededException');
      expect(entry.ErrorMessage).toMatch(new RegExp(`^Rate exceeded for shard shardId-\\d{12} in stream ${STREAM} under account ${accountId}\\.$`));
      expect(entry.SequenceNumber).toBeUndefined();
    }
    endpoint.faults.clear();
    expect((await streamRecords()).filter((text) => text.startsWith('all-fail'))).toEqual([]);
  });

  it('fails the same entries again with the same seed, and writes the survivors, in request order', async () => {
    const failedWith = async (prefix: string) => {
      setFaults({ seed: 42, kinesis: { putRecordsEntryFailure: 0.5 } });
      const answer = await kinesis.send(new PutRecordsCommand({ StreamName: STREAM, Records: records(prefix, 10) }));
      return answer;
    };
    const first = await failedWith('seeded-a');
    const second = await failedWith('seeded-b');
    const failedPositions = (answer: typeof first) => answer.Records!.flatMap((entry, i) => (entry.ErrorCode ? [i] : []));
    expect(failedPositions(first)).toEqual(failedPositions(second));
    expect(first.FailedRecordCount).toBe(failedPositions(first).length);
    expect(failedPositions(first).length).toBeGreaterThan(0);
    expect(failedPositions(first).length).toBeLessThan(10);
    for (const entry of first.Records!) if (!entry.ErrorCode) expect(entry.SequenceNumber).toMatch(/^\d+$/);

    endpoint.faults.clear();
    const written = (await streamRecords()).filter((text) => text.startsWith('seeded-a'));
    const expected = Array.from({ length: 10 }, (_, i) => i)
      .filter((i) => !failedPositions(first).includes(i))
      .map((i) => `seeded-a-${i}`);
    expect(written.sort()).toEqual(expected.sort());
  });

  it('names the shard the failed record was meant for', async () => {
    setFaults({ kinesis: { putRecordsEntryFailure: 1 } });
    const failed = await kinesis.send(new PutRecordsCommand({ StreamName: STREAM, Records: [{ Data: Buffer.from('x'), PartitionKey: 'which-shard' }] }));
    endpoint.faults.clear();
    const put = await kinesis.send(new PutRecordCommand({ StreamName: STREAM, Data: Buffer.from('which-shard'), PartitionKey: 'which-shard' }));
    expect(failed.Records![0]!.ErrorMessage).toContain(`shard ${put.ShardId} `);
  });

  it('fails a PutRecord as a request: HTTP 400 ProvisionedThroughputExceededException', async () => {
    setFaults({ kinesis: { putRecordsEntryFailure: 1 } });
    const error = await rejection(kinesis.send(new PutRecordCommand({ StreamName: STREAM, Data: Buffer.from('single'), PartitionKey: 'p' })));
    expect(error.name).toBe('ProvisionedThroughputExceededException');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toMatch(/^Rate exceeded for shard shardId-\d{12} in stream faults-stream under account 000000000000\.$/);
  });

  it('throttles GetRecords with ProvisionedThroughputExceededException naming the shard', async () => {
    const shardId = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards![0]!.ShardId!;
    const iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: STREAM, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator!;
    setFaults({ kinesis: { getRecordsThrottle: 1 } });
    const error = await rejection(kinesis.send(new GetRecordsCommand({ ShardIterator: iterator })));
    expect(error.name).toBe('ProvisionedThroughputExceededException');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toBe(`Rate exceeded for Shard - ${accountId}/${STREAM}/${shardId}`);
    // PutRecords is not concerned by a GetRecords fault.
    expect((await kinesis.send(new PutRecordsCommand({ StreamName: STREAM, Records: records('unaffected', 1) }))).FailedRecordCount).toBe(0);
  });
});

describe('SQS faults', () => {
  it('fails SendMessageBatch entries in Failed (SenderFault false) and sends the others', async () => {
    await drainQueue();
    setFaults({ seed: 5, sqs: { sendEntryFailure: 0.5 } });
    const entries = Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `body-${i}` }));
    const answer = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    const failed = answer.Failed ?? [];
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThan(10);
    for (const entry of failed) expect(entry).toMatchObject({ SenderFault: false, Code: 'InternalFailure' });
    expect((answer.Successful ?? []).length + failed.length).toBe(10);

    endpoint.faults.clear();
    const sent = (answer.Successful ?? []).map((entry) => `body-${entry.Id!.slice(1)}`);
    expect((await drainQueue()).sort()).toEqual(sent.sort());
  });

  it('answers every entry failed with share 1, still a 200', async () => {
    setFaults({ sqs: { sendEntryFailure: 1 } });
    const answer = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: 'a', MessageBody: 'a' }, { Id: 'b', MessageBody: 'b' }] }));
    expect(answer.$metadata.httpStatusCode).toBe(200);
    expect(answer.Failed?.map((entry) => entry.Id)).toEqual(['a', 'b']);
    expect(answer.Successful ?? []).toEqual([]);
  });

  it('fails a SendMessage with HTTP 500 InternalFailure', async () => {
    setFaults({ sqs: { sendEntryFailure: 1 } });
    const error = await rejection(sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'lost' })));
    expect(error.name).toBe('InternalFailure');
    expect(error.$metadata.httpStatusCode).toBe(500);
  });

  it('applies to the query protocol too', async () => {
    await drainQueue();
    setFaults({ sqs: { sendEntryFailure: 1 } });
    const batch = await fetch(queueUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        Action: 'SendMessageBatch',
        'SendMessageBatchRequestEntry.1.Id': 'q1',
        'SendMessageBatchRequestEntry.1.MessageBody': 'query-body',
      }).toString(),
    });
    expect(batch.status).toBe(200);
    const xml = await batch.text();
    expect(xml).toContain('<BatchResultErrorEntry><Id>q1</Id><SenderFault>false</SenderFault><Code>InternalFailure</Code>');

    const single = await fetch(queueUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ Action: 'SendMessage', MessageBody: 'query-single' }).toString(),
    });
    expect(single.status).toBe(500);
    expect(await single.text()).toMatch(/<Type>Receiver<\/Type><Code>InternalFailure<\/Code>/);
    endpoint.faults.clear();
    expect(await drainQueue()).toEqual([]);
  });
});
