import { afterEach, describe, expect, it } from 'vitest';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { startKinesisMapping, type KinesisMapping } from '../../../tools/local-cloud/kinesis-esm';
import type { EventSourceMappingSpec, InvokeResult, Invoker } from '../../../tools/local-cloud/types';
import { waitFor } from '../../fixtures/local-functions/resources';

// A fake Kinesis that serves ListShards, GetShardIterator and GetRecords from memory, so the
// poller's handling of throttling and of shard lineage can be driven call by call.

interface FakeShard {
  shardId: string;
  parentShardId?: string;
  adjacentParentShardId?: string;
  closed: boolean;
  records: KinesisRecord[];
}

class FakeKinesis {
  getRecordsCalls: Array<{ iterator: string; throttled: boolean }> = [];
  constructor(
    readonly shards: FakeShard[],
    private readonly throttle: (call: number) => boolean = () => false,
  ) {}

  async send(command: unknown): Promise<unknown> {
    if (command instanceof ListShardsCommand) {
      return {
        Shards: this.shards.map((shard) => ({
          ShardId: shard.shardId,
          ...(shard.parentShardId ? { ParentShardId: shard.parentShardId } : {}),
          ...(shard.adjacentParentShardId ? { AdjacentParentShardId: shard.adjacentParentShardId } : {}),
        })),
      };
    }
    if (command instanceof GetShardIteratorCommand) {
      const { ShardId, ShardIteratorType, StartingSequenceNumber } = command.input;
      const shard = this.shard(ShardId!);
      const position =
        ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' ? shard.records.findIndex((r) => r.SequenceNumber === StartingSequenceNumber) + 1 : 0;
      return { ShardIterator: `${ShardId}@${position}` };
    }
    if (command instanceof GetRecordsCommand) {
      const iterator = command.input.ShardIterator!;
      const throttled = this.throttle(this.getRecordsCalls.length + 1);
      this.getRecordsCalls.push({ iterator, throttled });
      if (throttled) {
        throw Object.assign(new Error('Rate exceeded for shard'), { name: 'ProvisionedThroughputExceededException' });
      }
      const [shardId, at] = iterator.split('@') as [string, string];
      const shard = this.shard(shardId);
      const position = Number(at);
      const records = shard.records.slice(position, position + (command.input.Limit ?? 10_000));
      const next = position + records.length;
      const ended = shard.closed && next >= shard.records.length && records.length === 0;
      return { Records: records, ...(ended ? {} : { NextShardIterator: `${shardId}@${next}` }), MillisBehindLatest: 0 };
    }
    throw new Error(`unexpected command ${(command as object).constructor.name}`);
  }

  private shard(id: string): FakeShard {
    const shard = this.shards.find((candidate) => candidate.shardId === id);
    if (!shard) throw new Error(`no shard ${id}`);
    return shard;
  }
}

let sequence = 1000;
const record = (key: string, n: number): KinesisRecord => ({
  SequenceNumber: String(sequence++),
  PartitionKey: key,
  Data: Buffer.from(JSON.stringify({ key, n })),
  ApproximateArrivalTimestamp: new Date(),
});

const spec = (batchSize: number): EventSourceMappingSpec => ({
  logicalId: 'Mapping',
  functionName: 'fn',
  eventSourceArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/fake',
  batchSize,
  maximumBatchingWindowInSeconds: 0,
  startingPosition: 'TRIM_HORIZON',
  reportBatchItemFailures: false,
  bisectBatchOnFunctionError: false,
  maximumRetryAttempts: -1,
  maximumRecordAgeInSeconds: -1,
});

interface Delivery {
  shardId: string;
  bodies: Array<{ key: string; n: number }>;
  at: number;
}

function recordingInvoker(deliveries: Delivery[], delayMs = 0): Invoker {
  return {
    async invoke(_name, event): Promise<InvokeResult> {
      const records = (event as { Records: Array<{ eventID: string; kinesis: { data: string } }> }).Records;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      deliveries.push({
        shardId: records[0]!.eventID.split(':')[0]!,
        bodies: records.map((r) => JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8'))),
        at: Date.now(),
      });
      return { ok: true, payload: null, durationMs: delayMs };
    },
  };
}

let mapping: KinesisMapping | undefined;
afterEach(async () => {
  await mapping?.stop();
  mapping = undefined;
});

function start(kinesis: FakeKinesis, invoker: Invoker, batchSize: number, log?: (line: string) => void) {
  mapping = startKinesisMapping({
    spec: spec(batchSize),
    invoker,
    kinesis: kinesis as unknown as KinesisClient,
    sqs: {} as SQSClient,
    region: 'us-east-1',
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fn',
    roleArn: 'arn:aws:iam::000000000000:role/fn',
    queueUrlOf: async () => 'unused',
    shardDiscoveryMs: 50,
    log,
  });
  return mapping;
}

const delivered = (deliveries: Delivery[], key?: string) =>
  deliveries.flatMap((delivery) => delivery.bodies).filter((body) => key === undefined || body.key === key).map((body) => body.n);

describe('Kinesis mapping: throttled GetRecords', () => {
  it('backs off and retries the same iterator, losing and repeating nothing', async () => {
    const records = Array.from({ length: 20 }, (_, n) => record('k', n));
    // Calls 2 and 3 (twice in a row) and 6 are throttled.
    const kinesis = new FakeKinesis([{ shardId: 'shardId-000000000000', closed: false, records }], (call) => [2, 3, 6].includes(call));
    const deliveries: Delivery[] = [];
    const lines: string[] = [];
    start(kinesis, recordingInvoker(deliveries), 3, (line) => lines.push(line));
    await waitFor(() => (delivered(deliveries).length >= 20 ? true : undefined), 'all 20 records', 10_000);

    expect(delivered(deliveries)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    const calls = kinesis.getRecordsCalls;
    for (const [index, call] of calls.entries()) {
      if (call.throttled) expect(calls[index + 1]!.iterator).toBe(call.iterator);
    }
    expect(calls.filter((call) => call.throttled)).toHaveLength(3);
    expect(lines.some((line) => line.includes('GetRecords throttled'))).toBe(true);
  });
});

describe('Kinesis mapping: resharding', () => {
  it('after a split, reads the children only once the parent is finished, so each key stays in order', async () => {
    const parent = { shardId: 'shardId-000000000000', closed: true, records: [...Array.from({ length: 10 }, (_, n) => record(n % 2 ? 'a' : 'b', n))] };
    const left = { shardId: 'shardId-000000000001', parentShardId: parent.shardId, closed: false, records: [10, 12, 14].map((n) => record('b', n)) };
    const right = { shardId: 'shardId-000000000002', parentShardId: parent.shardId, closed: false, records: [11, 13, 15].map((n) => record('a', n)) };
    const kinesis = new FakeKinesis([parent, left, right]);
    const deliveries: Delivery[] = [];
    start(kinesis, recordingInvoker(deliveries, 30), 2);
    await waitFor(() => (delivered(deliveries).length >= 16 ? true : undefined), 'all 16 records', 10_000);

    expect(delivered(deliveries, 'a')).toEqual([1, 3, 5, 7, 9, 11, 13, 15]);
    expect(delivered(deliveries, 'b')).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    const lastParent = Math.max(...deliveries.filter((d) => d.shardId === parent.shardId).map((d) => d.at));
    const firstChild = Math.min(...deliveries.filter((d) => d.shardId !== parent.shardId).map((d) => d.at));
    expect(firstChild).toBeGreaterThanOrEqual(lastParent);
  });

  it('after a merge, waits for both parents', async () => {
    const first = { shardId: 'shardId-000000000000', closed: true, records: [0, 1, 2, 3].map((n) => record('a', n)) };
    const second = { shardId: 'shardId-000000000001', closed: true, records: [0, 1, 2, 3, 4, 5].map((n) => record('b', n)) };
    const merged = {
      shardId: 'shardId-000000000002',
      parentShardId: first.shardId,
      adjacentParentShardId: second.shardId,
      closed: false,
      records: [record('a', 4), record('b', 6)],
    };
    const deliveries: Delivery[] = [];
    start(new FakeKinesis([first, second, merged]), recordingInvoker(deliveries, 30), 1);
    await waitFor(() => (delivered(deliveries).length >= 12 ? true : undefined), 'all 12 records', 10_000);

    expect(delivered(deliveries, 'a')).toEqual([0, 1, 2, 3, 4]);
    expect(delivered(deliveries, 'b')).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const parentsDone = Math.max(...deliveries.filter((d) => d.shardId !== merged.shardId).map((d) => d.at));
    expect(Math.min(...deliveries.filter((d) => d.shardId === merged.shardId).map((d) => d.at))).toBeGreaterThanOrEqual(parentsDone);
  });
});

describe('Kinesis mapping: batch payload', () => {
  it('keeps each invocation under 6 MB even when BatchSize would allow more', async () => {
    const big = (n: number): KinesisRecord => ({ ...record('big', n), Data: Buffer.alloc(1024 * 1024, 0x61) });
    const kinesis = new FakeKinesis([{ shardId: 'shardId-000000000000', closed: false, records: Array.from({ length: 10 }, (_, n) => big(n)) }]);
    const sizes: number[] = [];
    start(
      kinesis,
      {
        async invoke(_name, event) {
          sizes.push((event as { Records: unknown[] }).Records.length);
          return { ok: true, payload: null, durationMs: 0 };
        },
      },
      100,
    );
    await waitFor(() => (sizes.reduce((a, b) => a + b, 0) >= 10 ? true : undefined), 'all 10 records', 10_000);
    // 1 MiB of data is ~1.4 MB base64: four records fit 6 MB, five do not.
    expect(sizes).toEqual([4, 4, 2]);
  });
});
