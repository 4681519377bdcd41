import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { KinesisDataStreamSchema } from '@aws-lambda-powertools/parser/schemas';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { createLambdaRuntime, type LambdaRuntime } from '../../tools/local-cloud/lambda-runtime';
import { startEventSourceMappings } from '../../tools/local-cloud/event-source-mappings';
import type { InvokeResult, Invoker, LocalResource } from '../../tools/local-cloud/types';
import { ACCOUNT_ID, REGION, functionResource, waitFor } from '../fixtures/local-functions/resources';

// kinesalite ships no type declarations; it is a CommonJS factory returning an http.Server.
const kinesalite = createRequire(import.meta.url)('kinesalite') as (options: Record<string, unknown>) => Server;

interface KinesisEvent {
  Records: Array<{ eventID: string; kinesis: { sequenceNumber: string; partitionKey: string; data: string } }>;
}
interface Call {
  event: KinesisEvent;
  result: InvokeResult;
  bodies: Array<{ id: string; behaviour: string; n?: number; key?: string }>;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let kinesisServer: Server;
let fauxqs: FauxqsServer;
let kinesis: KinesisClient;
let sqs: SQSClient;
let kinesisEndpoint: string;
let sqsEndpoint: string;
let stateDir: string;
let runtime: LambdaRuntime;
let calls: Call[];
let stopMappings: (() => Promise<void>) | undefined;
let streamCounter = 0;

const consumer = () =>
  functionResource('StreamConsumer', 'stream-consumer', { environment: { FIXTURE_STATE_DIR: stateDir } });

// Records what the function received and answered, then lets the real runtime run it.
const recordingInvoker: Invoker = {
  async invoke(functionName, event) {
    const result = await runtime.invoke(functionName, event);
    const kinesisEvent = event as KinesisEvent;
    calls.push({
      event: kinesisEvent,
      result,
      bodies: kinesisEvent.Records.map((record) => JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8'))),
    });
    return result;
  },
};

beforeAll(async () => {
  kinesisServer = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
  await new Promise<void>((resolve) => kinesisServer.listen(0, '127.0.0.1', resolve));
  kinesisEndpoint = `http://127.0.0.1:${(kinesisServer.address() as AddressInfo).port}`;
  fauxqs = await startFauxqs({ port: 0, logger: false });
  sqsEndpoint = `http://127.0.0.1:${fauxqs.port}`;
  const handler = new NodeHttpHandler();
  kinesis = new KinesisClient({ endpoint: kinesisEndpoint, region: REGION, credentials, requestHandler: handler });
  sqs = new SQSClient({ endpoint: sqsEndpoint, region: REGION, credentials, requestHandler: new NodeHttpHandler() });
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'esm-kinesis-'));
  runtime = createLambdaRuntime({ resources: [consumer()], endpoint: kinesisEndpoint, region: REGION, accountId: ACCOUNT_ID, poolSize: 2 });
});

afterEach(async () => {
  await stopMappings?.();
  stopMappings = undefined;
});

afterAll(async () => {
  await runtime?.stop();
  kinesis?.destroy();
  sqs?.destroy();
  await fauxqs?.stop();
  await new Promise((resolve) => kinesisServer?.close(resolve));
  rmSync(stateDir, { recursive: true, force: true });
});

async function createStream(shardCount: number): Promise<string> {
  streamCounter += 1;
  const name = `esm-stream-${streamCounter}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
  return waitFor(async () => {
    const { StreamDescriptionSummary: summary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    return summary?.StreamStatus === 'ACTIVE' ? summary.StreamARN : undefined;
  }, `stream ${name} to be active`);
}

async function createQueue(name: string): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

async function put(streamName: string, records: Array<{ id: string; behaviour: string; n?: number; key?: string }>, hashKey?: string) {
  const response = await kinesis.send(
    new PutRecordsCommand({
      StreamName: streamName,
      Records: records.map((record) => ({
        Data: Buffer.from(JSON.stringify(record)),
        PartitionKey: record.key ?? 'one-key',
        ...(hashKey ? { ExplicitHashKey: hashKey } : {}),
      })),
    }),
  );
  expect(response.FailedRecordCount ?? 0).toBe(0);
  return response.Records!.map((record) => ({ shardId: record.ShardId!, sequenceNumber: record.SequenceNumber! }));
}

function mapping(streamArn: string, properties: Record<string, unknown>): LocalResource {
  return {
    logicalId: 'StreamMapping',
    type: 'AWS::Lambda::EventSourceMapping',
    properties: { FunctionName: 'local-StreamConsumer', EventSourceArn: streamArn, StartingPosition: 'TRIM_HORIZON', ...properties },
    ref: 'mapping-uuid',
    attributes: {},
  };
}

function start(resource: LocalResource, queues: Array<{ url: string; arn: string }> = []) {
  calls = [];
  const queueResources: LocalResource[] = queues.map((queue, index) => ({
    logicalId: `Queue${index}`,
    type: 'AWS::SQS::Queue',
    properties: {},
    ref: queue.url,
    attributes: { Arn: queue.arn, QueueUrl: queue.url },
  }));
  const esm = startEventSourceMappings({
    resources: [consumer(), resource, ...queueResources],
    invoker: recordingInvoker,
    endpoint: 'http://127.0.0.1:1',
    endpoints: { kinesis: kinesisEndpoint, sqs: sqsEndpoint },
    region: REGION,
    accountId: ACCOUNT_ID,
  });
  stopMappings = () => esm.stop();
  return esm;
}

const streamNameOf = (arn: string) => arn.split('/')[1]!;
const idsOf = (call: Call) => call.bodies.map((body) => body.id);
const succeededIds = () => new Set(calls.filter((call) => call.result.ok).flatMap(idsOf));

async function receiveAll(queueUrl: string, expected: number): Promise<Array<Record<string, unknown>>> {
  const bodies: Array<Record<string, unknown>> = [];
  await waitFor(async () => {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    for (const message of Messages ?? []) {
      bodies.push(JSON.parse(message.Body!));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
    }
    return bodies.length >= expected ? true : undefined;
  }, `${expected} on-failure message(s)`);
  return bodies;
}

describe('Kinesis event source mapping (kinesalite)', () => {
  it('delivers every record in order per shard, shards independently, in the event shape AWS sends', async () => {
    const streamArn = await createStream(2);
    const name = streamNameOf(streamArn);
    // One partition key per shard, forced by explicit hash keys at each end of the key space.
    const firstShard = await put(name, Array.from({ length: 12 }, (_, n) => ({ id: `a${n}`, behaviour: 'ok', n, key: 'a' })), '0');
    const secondShard = await put(
      name,
      Array.from({ length: 12 }, (_, n) => ({ id: `b${n}`, behaviour: 'ok', n, key: 'b' })),
      '340282366920938463463374607431768211455',
    );
    expect(firstShard[0]!.shardId).not.toBe(secondShard[0]!.shardId);
    const esm = start(mapping(streamArn, { BatchSize: 5 }));
    expect(esm.mappings).toEqual([
      expect.objectContaining({ functionName: 'local-StreamConsumer', batchSize: 5, startingPosition: 'TRIM_HORIZON', maximumRetryAttempts: -1 }),
    ]);
    await waitFor(() => (succeededIds().size === 24 ? true : undefined), 'all 24 records');

    expect(calls.every((call) => call.event.Records.length <= 5)).toBe(true);
    for (const key of ['a', 'b']) {
      const delivered = calls.flatMap((call) => call.bodies).filter((body) => body.key === key).map((body) => body.n);
      expect(delivered).toEqual(Array.from({ length: 12 }, (_, n) => n));
    }
    for (const call of calls) {
      const parsed = KinesisDataStreamSchema.parse(call.event);
      const shards = new Set(parsed.Records.map((record) => record.eventID.split(':')[0]));
      expect(shards.size).toBe(1);
      for (const record of parsed.Records) {
        expect(record.eventID).toBe(`${record.eventID.split(':')[0]}:${record.kinesis.sequenceNumber}`);
        expect(record).toMatchObject({
          eventSourceARN: streamArn,
          awsRegion: REGION,
          invokeIdentityArn: `arn:aws:iam::${ACCOUNT_ID}:role/StreamConsumerRole`,
          kinesis: { kinesisSchemaVersion: '1.0' },
        });
      }
    }
    const firstSequence = firstShard[0]!.sequenceNumber;
    expect(calls.some((call) => call.event.Records[0]!.eventID === `${firstShard[0]!.shardId}:${firstSequence}`)).toBe(true);
  });

  it('with ReportBatchItemFailures, retries from the lowest failed sequence number and nothing before it', async () => {
    const streamArn = await createStream(1);
    const behaviours = ['ok', 'ok', 'partial-once', 'ok', 'partial-once', 'ok'];
    const written = await put(
      streamNameOf(streamArn),
      behaviours.map((behaviour, n) => ({ id: `p${streamCounter}-${n}`, behaviour, n })),
    );
    start(mapping(streamArn, { BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] }));
    await waitFor(() => (calls.length >= 2 ? true : undefined), 'the retry after the partial failure');
    await waitFor(() => (succeededIds().size === 6 ? true : undefined), 'every record');

    expect(calls[0]!.bodies.map((body) => body.n)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(calls[1]!.event.Records[0]!.kinesis.sequenceNumber).toBe(written[2]!.sequenceNumber);
    expect(calls[1]!.bodies.map((body) => body.n)).toEqual([2, 3, 4, 5]);
    expect(calls.slice(1).flatMap((call) => call.bodies).some((body) => body.n! < 2)).toBe(false);
  });

  it('treats an empty itemIdentifier as a whole-batch failure', async () => {
    const streamArn = await createStream(1);
    const failures = await createQueue(`whole-batch-failures-${streamCounter}`);
    await put(streamNameOf(streamArn), [
      { id: 'w0', behaviour: 'ok' },
      { id: 'w1', behaviour: 'bogus-id' },
    ]);
    start(
      mapping(streamArn, {
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: 1,
        DestinationConfig: { OnFailure: { Destination: failures.arn } },
      }),
      [failures],
    );
    const [record] = await receiveAll(failures.url, 1);
    expect(calls).toHaveLength(2);
    expect(calls.every((call) => call.bodies.length === 2)).toBe(true);
    expect(record).toMatchObject({ requestContext: { condition: 'RetryAttemptsExhausted' }, KinesisBatchInfo: { batchSize: 2 } });
  });

  it('bisects a failing batch so a poison record is isolated while its neighbours succeed', async () => {
    const streamArn = await createStream(1);
    const failures = await createQueue(`bisect-failures-${streamCounter}`);
    const written = await put(
      streamNameOf(streamArn),
      Array.from({ length: 8 }, (_, n) => ({ id: `x${n}`, behaviour: n === 5 ? 'poison' : 'ok', n })),
    );
    start(
      mapping(streamArn, {
        BatchSize: 8,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 0,
        DestinationConfig: { OnFailure: { Destination: failures.arn } },
      }),
      [failures],
    );
    const [record] = await receiveAll(failures.url, 1);
    await waitFor(() => (succeededIds().size === 7 ? true : undefined), 'the seven good records');

    expect(succeededIds()).toEqual(new Set(['x0', 'x1', 'x2', 'x3', 'x4', 'x6', 'x7']));
    expect(calls.filter((call) => !call.result.ok).map(idsOf)).toEqual([
      ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7'],
      ['x4', 'x5', 'x6', 'x7'],
      ['x4', 'x5'],
      ['x5'],
    ]);
    expect(record).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 1 },
      KinesisBatchInfo: { startSequenceNumber: written[5]!.sequenceNumber, endSequenceNumber: written[5]!.sequenceNumber, batchSize: 1 },
    });
  });

  it('after MaximumRetryAttempts sends the AWS invocation record to the on-failure queue and moves past the records', async () => {
    const streamArn = await createStream(1);
    const failures = await createQueue(`retry-failures-${streamCounter}`);
    const written = await put(streamNameOf(streamArn), [
      { id: 'r0', behaviour: 'poison' },
      { id: 'r1', behaviour: 'ok' },
    ]);
    start(
      mapping(streamArn, { BatchSize: 2, MaximumRetryAttempts: 2, DestinationConfig: { OnFailure: { Destination: failures.arn } } }),
      [failures],
    );
    const [record] = await receiveAll(failures.url, 1);
    const [later] = await put(streamNameOf(streamArn), [{ id: 'r2', behaviour: 'ok' }]);
    await waitFor(() => (succeededIds().has('r2') ? true : undefined), 'the record after the discarded batch');

    expect(calls.filter((call) => !call.result.ok)).toHaveLength(3);
    expect(record).toEqual({
      requestContext: {
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:local-StreamConsumer`,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      KinesisBatchInfo: {
        shardId: written[0]!.shardId,
        startSequenceNumber: written[0]!.sequenceNumber,
        endSequenceNumber: written[1]!.sequenceNumber,
        approximateArrivalOfFirstRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
        approximateArrivalOfLastRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
        batchSize: 2,
        streamArn,
      },
    });
    expect(calls.filter((call) => call.result.ok).flatMap(idsOf)).toEqual(['r2']);
    expect(later!.shardId).toBe(written[0]!.shardId);
  });

  it('sends records older than MaximumRecordAgeInSeconds to the on-failure queue as RecordAgeExceeded', async () => {
    const streamArn = await createStream(1);
    const failures = await createQueue(`age-failures-${streamCounter}`);
    const written = await put(streamNameOf(streamArn), [{ id: 'age0', behaviour: 'poison' }]);
    start(
      mapping(streamArn, {
        MaximumRetryAttempts: -1,
        MaximumRecordAgeInSeconds: 1,
        DestinationConfig: { OnFailure: { Destination: failures.arn } },
      }),
      [failures],
    );
    const [record] = await receiveAll(failures.url, 1);
    expect(record).toMatchObject({
      requestContext: { condition: 'RecordAgeExceeded' },
      KinesisBatchInfo: { startSequenceNumber: written[0]!.sequenceNumber, batchSize: 1 },
    });
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(calls.every((call) => !call.result.ok)).toBe(true);
  });
});
