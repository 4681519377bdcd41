import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startKinesisMapping } from '../../tools/local-cloud/kinesis-esm';
import type { EventSourceMappingSpec, Invoker } from '../../tools/local-cloud/types';
import { ACCOUNT_ID, REGION, waitFor } from '../fixtures/local-functions/resources';

// kinesalite ships no type declarations; it is a CommonJS factory returning an http.Server.
const kinesalite = createRequire(import.meta.url)('kinesalite') as (options: Record<string, unknown>) => Server;

let server: Server;
let kinesis: KinesisClient;

beforeAll(async () => {
  server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 50, shardLimit: 100 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  kinesis = new KinesisClient({ endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, requestHandler: new NodeHttpHandler() });
});

afterAll(async () => {
  kinesis?.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

async function activeStream(name: string): Promise<string> {
  return waitFor(async () => {
    const { StreamDescriptionSummary: summary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    return summary?.StreamStatus === 'ACTIVE' ? summary.StreamARN : undefined;
  }, `stream ${name} to be active`);
}

const KEYS = ['session-a', 'session-b', 'session-c', 'session-d', 'session-e', 'session-f'];

async function put(streamName: string, from: number, count: number) {
  const records = Array.from({ length: count }, (_, index) => {
    const n = from + index;
    const key = KEYS[n % KEYS.length]!;
    return { Data: Buffer.from(JSON.stringify({ key, n })), PartitionKey: key };
  });
  const response = await kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: records }));
  expect(response.FailedRecordCount ?? 0).toBe(0);
  return response.Records!.map((record) => record.ShardId!);
}

describe('Kinesis event source mapping across a shard split (kinesalite)', () => {
  it('hands on every record once, in order per partition key, children after their parent', async () => {
    const name = 'reshard-stream';
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    const streamArn = await activeStream(name);
    await put(name, 0, 30);

    const deliveries: Array<{ shardId: string; bodies: Array<{ key: string; n: number }> }> = [];
    // A slow function, so the parent still has records in flight when the children appear.
    const invoker: Invoker = {
      async invoke(_name, event) {
        const records = (event as { Records: Array<{ eventID: string; kinesis: { data: string } }> }).Records;
        await new Promise((resolve) => setTimeout(resolve, 60));
        deliveries.push({
          shardId: records[0]!.eventID.split(':')[0]!,
          bodies: records.map((record) => JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8'))),
        });
        return { ok: true, payload: null, durationMs: 60 };
      },
    };
    const spec: EventSourceMappingSpec = {
      logicalId: 'ReshardMapping',
      functionName: 'local-Consumer',
      eventSourceArn: streamArn,
      batchSize: 3,
      maximumBatchingWindowInSeconds: 0,
      startingPosition: 'TRIM_HORIZON',
      reportBatchItemFailures: false,
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: -1,
      maximumRecordAgeInSeconds: -1,
    };
    const mapping = startKinesisMapping({
      spec,
      invoker,
      kinesis,
      sqs: {} as SQSClient,
      region: REGION,
      functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:local-Consumer`,
      roleArn: `arn:aws:iam::${ACCOUNT_ID}:role/ConsumerRole`,
      queueUrlOf: async () => 'unused',
      shardDiscoveryMs: 100,
    });
    try {
      await waitFor(() => (deliveries.length >= 1 ? true : undefined), 'the first batch');
      // Split the only shard in the middle of its hash key range while its records are being handed on.
      const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: name }));
      const parentId = Shards![0]!.ShardId!;
      await kinesis.send(new SplitShardCommand({ StreamName: name, ShardToSplit: parentId, NewStartingHashKey: (2n ** 127n).toString() }));
      await activeStream(name);
      const childShards = await put(name, 30, 30);
      expect(new Set(childShards).size).toBe(2);
      expect(childShards).not.toContain(parentId);

      await waitFor(() => (deliveries.flatMap((d) => d.bodies).length >= 60 ? true : undefined), 'all 60 records', 30_000);
      // Nothing more trickles in afterwards.
      await new Promise((resolve) => setTimeout(resolve, 300));

      const all = deliveries.flatMap((delivery) => delivery.bodies.map((body) => body.n));
      expect(all).toHaveLength(60);
      expect(new Set(all).size).toBe(60);
      for (const key of KEYS) {
        const ofKey = deliveries.flatMap((delivery) => delivery.bodies).filter((body) => body.key === key).map((body) => body.n);
        expect(ofKey).toEqual([...ofKey].sort((a, b) => a - b));
      }
      // The parent was still being handed on after the split, and no child record went before its last one.
      const lastParent = deliveries.map((delivery) => delivery.shardId).lastIndexOf(parentId);
      const firstChild = deliveries.findIndex((delivery) => delivery.shardId !== parentId);
      expect(firstChild).toBeGreaterThan(lastParent);
      expect(new Set(deliveries.slice(firstChild).map((delivery) => delivery.shardId)).size).toBe(2);
    } finally {
      await mapping.stop();
    }
  });
});
