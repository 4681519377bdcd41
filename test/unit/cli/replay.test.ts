import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createTrafficGenerator } from '../../../lambdas/generator/traffic';
import { RawRecordSchema } from '../../../lambdas/shared/records';
import { replayFailureQueue, replayRanges, type ReplayRange } from '../../../tools/cli/replay';
import { vetRawRecord } from '../../../tools/cli/replay-put';

const RECEIVED_AT = new Date('2026-11-22T12:00:00.000Z');
const NOW = new Date('2026-11-22T13:00:00.000Z');
const RAW = 'EcommercePipeline-test-RawStream';
const PROCESSED = 'EcommercePipeline-test-ProcessedStream';

const [validEvent] = createTrafficGenerator({ seed: 7, invalidShare: 0, now: () => RECEIVED_AT }).batch(1).map((g) => g.event as Record<string, unknown>);
const envelope = (event: unknown) => ({ received_at: RECEIVED_AT.toISOString(), request_id: 'req-1', event });
const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
const json = (data: Uint8Array | undefined) => JSON.parse(Buffer.from(data ?? new Uint8Array()).toString('utf8')) as Record<string, unknown>;

const records: _Record[] = [
  { SequenceNumber: '101', PartitionKey: 'pk-valid', Data: bytes(envelope(validEvent)), ApproximateArrivalTimestamp: RECEIVED_AT },
  // Valid in every other way: event_type is not one of the schema's.
  { SequenceNumber: '102', PartitionKey: 'pk-invalid', Data: bytes(envelope({ ...validEvent, event_type: 'checkout' })), ApproximateArrivalTimestamp: RECEIVED_AT },
  { SequenceNumber: '103', PartitionKey: 'pk-garbage', Data: bytes('not json at all'), ApproximateArrivalTimestamp: RECEIVED_AT },
  { SequenceNumber: '104', PartitionKey: 'pk-other', Data: bytes({ hello: 'world' }), ApproximateArrivalTimestamp: RECEIVED_AT },
];

describe('vetRawRecord', () => {
  it('puts back a record whose event is valid now, marked with replayed_at and otherwise unchanged', () => {
    const verdict = vetRawRecord(records[0]!.Data!, { includeInvalid: false, now: NOW });
    expect(verdict.put).toBe(true);
    const data = json((verdict as { data: Uint8Array }).data);
    expect(data).toEqual({ ...envelope(validEvent), replayed_at: NOW.toISOString() });
    expect(RawRecordSchema.safeParse(data).success).toBe(true);
  });

  it('leaves out an invalid event (judged against received_at) and a record that is not an envelope', () => {
    expect(vetRawRecord(records[1]!.Data!, { includeInvalid: false, now: NOW })).toEqual({ put: false, why: 'invalid', codes: ['invalid_value'] });
    expect(vetRawRecord(records[2]!.Data!, { includeInvalid: false, now: NOW })).toEqual({ put: false, why: 'unparseable' });
    expect(vetRawRecord(records[3]!.Data!, { includeInvalid: false, now: NOW })).toEqual({ put: false, why: 'unparseable' });
    // Valid when received, an hour ago: the time rules use received_at, not the replay's clock.
    const late = vetRawRecord(records[0]!.Data!, { includeInvalid: false, now: new Date(RECEIVED_AT.getTime() + 30 * 86_400_000) });
    expect(late.put).toBe(true);
  });

  it('puts everything back with includeInvalid, marking what is a JSON object', () => {
    expect(json((vetRawRecord(records[1]!.Data!, { includeInvalid: true, now: NOW }) as { data: Uint8Array }).data).replayed_at).toBe(NOW.toISOString());
    expect(vetRawRecord(records[2]!.Data!, { includeInvalid: true, now: NOW })).toEqual({ put: true, data: records[2]!.Data });
    expect(json((vetRawRecord(records[3]!.Data!, { includeInvalid: true, now: NOW }) as { data: Uint8Array }).data)).toEqual({
      hello: 'world',
      replayed_at: NOW.toISOString(),
    });
  });
});

describe('replayRanges', () => {
  const kinesis = mockClient(KinesisClient);
  afterEach(() => kinesis.reset());

  /** One shard holding `records`, then its tip; PutRecords succeeds with higher sequence numbers. */
  function oneShard() {
    kinesis.on(ListShardsCommand).resolves({ Shards: [{ ShardId: 'shardId-000000000000', HashKeyRange: undefined, SequenceNumberRange: undefined }] });
    kinesis.on(GetShardIteratorCommand).resolves({ ShardIterator: 'first' });
    kinesis.on(GetRecordsCommand, { ShardIterator: 'first' }).resolves({ Records: records, NextShardIterator: 'tip', MillisBehindLatest: 0 });
    kinesis.on(GetRecordsCommand, { ShardIterator: 'tip' }).resolves({ Records: [], NextShardIterator: 'tip', MillisBehindLatest: 0 });
    kinesis.on(PutRecordsCommand).callsFake((input: { Records: unknown[] }) => ({
      Records: input.Records.map((_, i) => ({ SequenceNumber: String(900 + i), ShardId: 'shardId-000000000000' })),
    }));
  }
  const put = () => kinesis.commandCalls(PutRecordsCommand).flatMap((call) => call.args[0].input.Records ?? []);
  const timeRange = (streamName: string): ReplayRange => ({ kind: 'time', streamName, from: new Date(0), to: NOW });

  it('puts back only the raw records valid now, each marked, and reports what it skipped and why', async () => {
    oneShard();
    const summary = await replayRanges(kinesis as unknown as KinesisClient, [timeRange(RAW)], {
      dryRun: false,
      rawStreamName: RAW,
      now: () => NOW,
    });
    expect(summary).toMatchObject({ read: 4, replayed: 1, failed: 0, skippedInvalid: 1, skippedUnparseable: 2, skippedInvalidCodes: { invalid_value: 1 } });
    expect(put().map((r) => [r.PartitionKey, json(r.Data)])).toEqual([['pk-valid', { ...envelope(validEvent), replayed_at: NOW.toISOString() }]]);
  });

  it('puts every raw record back with includeInvalid', async () => {
    oneShard();
    const summary = await replayRanges(kinesis as unknown as KinesisClient, [timeRange(RAW)], {
      dryRun: false,
      rawStreamName: RAW,
      includeInvalid: true,
      now: () => NOW,
    });
    expect(summary).toMatchObject({ read: 4, replayed: 4, skippedInvalid: 0, skippedUnparseable: 0 });
    expect(put().map((r) => r.PartitionKey)).toEqual(['pk-valid', 'pk-invalid', 'pk-garbage', 'pk-other']);
  });

  it('counts in a dry run what it would skip, and puts nothing', async () => {
    oneShard();
    const summary = await replayRanges(kinesis as unknown as KinesisClient, [timeRange(RAW)], { dryRun: true, rawStreamName: RAW, now: () => NOW });
    expect(summary).toMatchObject({ read: 4, replayed: 0, skippedInvalid: 1, skippedUnparseable: 2 });
    expect(put()).toHaveLength(0);
  });

  it('puts the processed stream back as it is', async () => {
    oneShard();
    const summary = await replayRanges(kinesis as unknown as KinesisClient, [timeRange(PROCESSED)], { dryRun: false, rawStreamName: RAW, now: () => NOW });
    expect(summary).toMatchObject({ read: 4, replayed: 4, skippedInvalid: 0, skippedUnparseable: 0 });
    expect(put().map((r) => Buffer.from(r.Data!).toString('utf8'))).toEqual(records.map((r) => Buffer.from(r.Data!).toString('utf8')));
  });

  it('puts a failure range (records the validator gave up on, never dead-lettered) back whole and unmarked', async () => {
    oneShard();
    const range: ReplayRange = { kind: 'sequence', streamName: RAW, shardId: 'shardId-000000000000', startSequenceNumber: '101', endSequenceNumber: '104' };
    const summary = await replayRanges(kinesis as unknown as KinesisClient, [range], { dryRun: false, rawStreamName: RAW, now: () => NOW });
    expect(summary).toMatchObject({ read: 4, replayed: 4, skippedInvalid: 0 });
    expect(put().map((r) => Buffer.from(r.Data!).toString('utf8'))).toEqual(records.map((r) => Buffer.from(r.Data!).toString('utf8')));
  });
});

describe('replayFailureQueue', () => {
  const kinesis = mockClient(KinesisClient);
  const sqs = mockClient(SQSClient);
  afterEach(() => {
    kinesis.reset();
    sqs.reset();
  });

  const QUEUE = 'http://127.0.0.1:4566/000000000000/StreamFailureQueue';
  const failureMessage = (id: string, start: string, end: string, batchSize: number) => ({
    MessageId: id,
    ReceiptHandle: `receipt-${id}`,
    Attributes: { SentTimestamp: '1' },
    Body: JSON.stringify({
      requestContext: { requestId: id, condition: 'RetryAttemptsExhausted', approximateInvokeCount: 6 },
      responseContext: { statusCode: 200 },
      version: '1.0',
      timestamp: '2026-11-22T10:00:00.000Z',
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: start,
        endSequenceNumber: end,
        batchSize,
        streamArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${RAW}`,
      },
    }),
  });

  /** The queue hands out `messages` once each, then nothing; the shard holds `held` from sequence `start`. */
  function setUp(messages: ReturnType<typeof failureMessage>[], held: _Record[]) {
    let next = 0;
    sqs.on(ReceiveMessageCommand).callsFake(() => ({ Messages: next < messages.length ? [messages[next++]!] : [] }));
    sqs.on(DeleteMessageCommand).resolves({});
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    kinesis.on(GetShardIteratorCommand).callsFake((input: { StartingSequenceNumber: string }) => ({ ShardIterator: `at-${input.StartingSequenceNumber}` }));
    kinesis.on(GetRecordsCommand).callsFake((input: { ShardIterator: string }) => {
      if (input.ShardIterator === 'tip') return { Records: [], NextShardIterator: 'tip', MillisBehindLatest: 0 };
      const start = BigInt(input.ShardIterator.slice(3));
      // As Kinesis does: a range past retention starts at the trim horizon, after what it names.
      return { Records: held.filter((r) => BigInt(r.SequenceNumber!) >= start), NextShardIterator: 'tip', MillisBehindLatest: 0 };
    });
    kinesis.on(PutRecordsCommand).callsFake((input: { Records: unknown[] }) => ({
      Records: input.Records.map((_, i) => ({ SequenceNumber: String(900 + i), ShardId: 'shardId-000000000000' })),
    }));
  }
  const deleted = () => sqs.commandCalls(DeleteMessageCommand).map((call) => call.args[0].input.ReceiptHandle);
  const madeVisible = () => sqs.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input.ReceiptHandle);
  const run = () =>
    replayFailureQueue(sqs as unknown as SQSClient, kinesis as unknown as KinesisClient, QUEUE, [RAW, PROCESSED], {
      dryRun: false,
      rawStreamName: RAW,
      now: () => NOW,
    });

  it('deletes a failure message once every record of its range is back in the stream', async () => {
    setUp([failureMessage('m-1', '101', '104', 4)], records);
    const summary = await run();
    expect(summary).toMatchObject({ read: 4, replayed: 4, failed: 0, failureMessages: { read: 1, deleted: 1, unreadable: 0 }, notReplayed: [] });
    expect(deleted()).toEqual(['receipt-m-1']);
  });

  it('keeps the failure message of a range that read nothing (past retention): the only trace of the gap', async () => {
    // The range 11..14 is gone; the shard now starts at 101.
    setUp([failureMessage('m-gone', '11', '14', 4)], records);
    const summary = await run();
    expect(summary.read).toBe(0);
    expect(deleted()).toEqual([]);
    expect(madeVisible()).toEqual(['receipt-m-gone']);
    expect(summary.failureMessages).toEqual({ read: 1, deleted: 0, unreadable: 0 });
    expect(summary.notReplayed).toEqual([
      expect.objectContaining({ message_id: 'm-gone', shard_id: 'shardId-000000000000', range: '11..14', read: 0, expected: 4 }),
    ]);
  });

  it('keeps the failure message of a range whose sequence numbers Kinesis no longer knows', async () => {
    setUp([failureMessage('m-unknown', '11', '14', 4)], records);
    kinesis.on(GetShardIteratorCommand).rejects(Object.assign(new Error('StartingSequenceNumber 11 is invalid'), { name: 'InvalidArgumentException' }));
    const summary = await run();
    expect(deleted()).toEqual([]);
    expect(summary.notReplayed).toEqual([expect.objectContaining({ message_id: 'm-unknown', read: 0, reason: 'read 0 records (past retention?)' })]);
  });

  it('keeps the failure message of a range that read fewer records than it names', async () => {
    // The first two records of 101..104 were trimmed.
    setUp([failureMessage('m-short', '101', '104', 4)], records.slice(2));
    const summary = await run();
    expect(summary).toMatchObject({ read: 2, replayed: 2, failureMessages: { read: 1, deleted: 0 } });
    expect(deleted()).toEqual([]);
    expect(summary.notReplayed).toEqual([expect.objectContaining({ message_id: 'm-short', read: 2, expected: 4 })]);
  });
});
