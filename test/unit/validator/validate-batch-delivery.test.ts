// validateBatch: handing on per batch (processed stream writes, dead letters, partial failures, retries).
import { PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../../lambdas/shared/retry';
import { SEND_MESSAGE_BATCH_LIMITS } from '../../../lambdas/shared/delivery';
import { validateBatch, type ValidatorDeps } from '../../../lambdas/validator/validate-batch';
import { sampleEventV3, sampleSearchEventV3 } from '../../fixtures/events';
import { kinesisEvent, kinesisJsonRecord, kinesisRecord } from '../../fixtures/kinesis';
import { kinesisMock, sqsMock, makeDeps, envelope, putCalls, sendCalls, deadLetters, resetMocks } from './validate-batch-setup';

beforeEach(resetMocks);

describe('handing on per batch', () => {
  it('puts N valid events in one PutRecords call and dead-letters in groups of 10', async () => {
    const valid = Array.from({ length: 7 }, () => kinesisJsonRecord(envelope(sampleSearchEventV3())));
    const invalid = Array.from({ length: 23 }, () => kinesisJsonRecord(envelope(sampleEventV3({ price: -1 }))));
    const { response, tally } = await validateBatch(kinesisEvent([...invalid.slice(0, 5), ...valid, ...invalid.slice(5)]), makeDeps());

    expect(response.batchItemFailures).toEqual([]);
    expect(tally).toMatchObject({ valid: 7, invalid: 23 });
    expect(putCalls()).toHaveLength(1);
    expect(putCalls()[0]?.Records).toHaveLength(7);
    expect(sendCalls().map((call) => call.Entries?.length)).toEqual([10, 10, 3]);
  });

  it('splits PutRecords at 500 records', async () => {
    const records = Array.from({ length: 501 }, () => kinesisJsonRecord(envelope(sampleSearchEventV3())));
    const { tally } = await validateBatch(kinesisEvent(records), makeDeps());
    expect(tally.valid).toBe(501);
    expect(putCalls().map((call) => call.Records?.length)).toEqual([500, 1]);
  });

  it('keeps every SendMessageBatch under the SQS batch size limit', async () => {
    // Each dead letter is about 30 KiB, so ten of them would exceed 256 KiB.
    const records = Array.from({ length: 10 }, () =>
      kinesisJsonRecord(envelope(sampleEventV3({ category: 'c'.repeat(30_000) }))),
    );
    const { response, tally } = await validateBatch(kinesisEvent(records), makeDeps());

    expect(response.batchItemFailures).toEqual([]);
    expect(tally.invalid).toBe(10);
    const calls = sendCalls();
    expect(calls.length).toBeGreaterThan(1);
    for (const call of calls) {
      const bytes = (call.Entries ?? []).reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody!), 0);
      expect(bytes).toBeLessThanOrEqual(SEND_MESSAGE_BATCH_LIMITS.maxBytes);
    }
    expect(deadLetters()).toHaveLength(10);
  });

  it('retries only failed entries, then cuts the batch at the first record not handed on: nothing from it on is dead-lettered or counted', async () => {
    const events = [sampleSearchEventV3(), sampleSearchEventV3(), sampleSearchEventV3()];
    const stuck = events[1]!.event_id as string;
    kinesisMock.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => ({
      FailedRecordCount: 1,
      Records: (input.Records ?? []).map((record) =>
        JSON.parse(Buffer.from(record.Data!).toString('utf8')).event_id === stuck
          ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' }
          : { SequenceNumber: '1', ShardId: 'shardId-000000000000' },
      ),
    }));
    const invalidRecords = [kinesisJsonRecord(envelope({ nope: true })), kinesisJsonRecord(envelope({ nope: 2 }))];
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: '0', MessageId: 'a', MD5OfMessageBody: 'x' }],
        Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }],
      })
      .resolves({ Successful: [{ Id: '0', MessageId: 'b', MD5OfMessageBody: 'x' }], Failed: [] });

    const validRecords = events.map((event) => kinesisJsonRecord(envelope(event)));
    const { response, tally } = await validateBatch(kinesisEvent([...validRecords, ...invalidRecords]), makeDeps());

    const all = [...validRecords, ...invalidRecords];
    expect(response.batchItemFailures).toEqual(all.slice(1).map((r) => ({ itemIdentifier: r.kinesis.sequenceNumber })));
    expect(tally).toMatchObject({ valid: 1, invalid: 0 });
    const puts = putCalls();
    expect(puts).toHaveLength(DEFAULT_RETRY_POLICY.maxAttempts);
    expect(puts.slice(1).every((call) => call.Records?.length === 1)).toBe(true);
    expect(sendCalls()).toHaveLength(0);
  });

  it('resends only failed dead letters, and a dead letter that is never sent cuts the batch there', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: '0', MessageId: 'a', MD5OfMessageBody: 'x' }],
        Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }],
      })
      .resolves({ Successful: [{ Id: '0', MessageId: 'b', MD5OfMessageBody: 'x' }], Failed: [] });
    const invalidRecords = [kinesisJsonRecord(envelope({ nope: true })), kinesisJsonRecord(envelope({ nope: 2 }))];
    const { response, tally } = await validateBatch(kinesisEvent(invalidRecords), makeDeps());
    expect(response.batchItemFailures).toEqual([]);
    expect(tally).toMatchObject({ invalid: 2 });
    const sends = sendCalls();
    expect(sends.map((call) => call.Entries?.length)).toEqual([2, 1]);
    expect(sends[1]?.Entries?.[0]?.MessageBody).toBe(sends[0]?.Entries?.[1]?.MessageBody);
  });

  it('hole 2: a stuck PutRecords entry followed by handed-on records: each record is dead-lettered and counted once across Lambda retries and the replay of the range given up on', async () => {
    const env = (event: unknown) => envelope(event);
    const records = [
      kinesisJsonRecord(env(sampleEventV3({ session_id: 'ok-1' }))),
      kinesisJsonRecord(env(sampleEventV3({ session_id: 'hot' }))),
      kinesisJsonRecord(env(sampleEventV3({ session_id: 'bad', price: -5 }))),
      kinesisJsonRecord(env(sampleEventV3({ session_id: 'ok-2' }))),
    ];
    let hotStuck = true;
    const dlq: string[] = [];
    const processed: string[] = [];
    const deps: ValidatorDeps = {
      ...makeDeps(),
      putProcessed: async (entries) =>
        entries.map((e) => {
          if (e.partitionKey === 'hot' && hotStuck) return false;
          processed.push(e.partitionKey);
          return true;
        }),
      sendDeadLetters: async (entries) =>
        entries.map((e) => {
          dlq.push(JSON.parse(e.body).record.session_id);
          return true;
        }),
    };
    const total = { valid: 0, invalid: 0 };
    let batch = records;
    for (let invocation = 0; invocation < 6 && batch.length > 0; invocation++) {
      const { response, tally } = await validateBatch(kinesisEvent(batch), deps);
      total.valid += tally.valid;
      total.invalid += tally.invalid;
      if (response.batchItemFailures.length === 0) batch = [];
      else batch = batch.slice(batch.findIndex((r) => r.kinesis.sequenceNumber === response.batchItemFailures[0]!.itemIdentifier));
    }
    // Lambda gave up on `batch`; `pipeline replay --failure-record` puts the range back unmarked.
    expect(batch.length).toBeGreaterThan(0);
    hotStuck = false;
    const replay = await validateBatch(kinesisEvent(batch), deps);
    expect(replay.response.batchItemFailures).toEqual([]);
    total.valid += replay.tally.valid;
    total.invalid += replay.tally.invalid;
    expect(dlq).toEqual(['bad']);
    expect(total).toEqual({ valid: 3, invalid: 1 });
    expect(new Set(processed)).toEqual(new Set(['ok-1', 'hot', 'ok-2']));
  });

  it('reports every dead-letter record when SendMessageBatch keeps throwing, and no valid one', async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(new Error('network down'));
    const valid = kinesisJsonRecord(envelope(sampleSearchEventV3()));
    const invalid = kinesisJsonRecord(envelope(sampleEventV3({ price: 0 })));
    const garbage = kinesisRecord('%%%');
    const { response, tally } = await validateBatch(kinesisEvent([valid, invalid, garbage]), makeDeps());

    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: invalid.kinesis.sequenceNumber },
      { itemIdentifier: garbage.kinesis.sequenceNumber },
    ]);
    expect(tally).toEqual({ valid: 1, invalid: 0, unparseable: 0, redriven: 0, redriveFailed: 0, replayed: 0 });
    expect(sendCalls()).toHaveLength(DEFAULT_RETRY_POLICY.maxAttempts);
  });

  it('reports a dead letter too large for any SQS request without sending it', async () => {
    const huge = kinesisRecord('x'.repeat(SEND_MESSAGE_BATCH_LIMITS.maxBytes + 1));
    const small = kinesisRecord('y');
    const { response } = await validateBatch(kinesisEvent([small, huge]), makeDeps());
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: huge.kinesis.sequenceNumber }]);
    expect(deadLetters().map((letter) => letter.body.record)).toEqual(['y']);
  });
});
