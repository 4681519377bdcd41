// ingest: writing to the raw stream (records, partial failures, retries).
import { PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../../lambdas/shared/retry';
import { jsonPost } from '../../fixtures/apigw';
import { sampleEventV2, sampleEventV3, sampleSearchEventV3 } from '../../fixtures/events';
import { kinesisMock, ASSIGNED_ID, makeDeps, putCalls, send, resetMocks } from './ingest-setup';

beforeEach(resetMocks);

describe('writing to the raw stream', () => {
  it('retries only the failed entries, then reports every event accepted', async () => {
    const events = [sampleEventV3(), sampleSearchEventV3(), sampleEventV2()];
    kinesisMock
      .on(PutRecordsCommand)
      .resolvesOnce({
        FailedRecordCount: 1,
        Records: [
          { SequenceNumber: '1', ShardId: 'shardId-000000000000' },
          { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' },
          { SequenceNumber: '2', ShardId: 'shardId-000000000000' },
        ],
      })
      .resolvesOnce({ FailedRecordCount: 0, Records: [{ SequenceNumber: '3', ShardId: 'shardId-000000000000' }] });

    const { status, body } = await send(jsonPost({ events }));

    expect(status).toBe(202);
    expect(body.accepted).toBe(3);
    const calls = putCalls();
    expect(calls).toHaveLength(2);
    expect(calls[0]?.Records).toHaveLength(3);
    expect(calls[1]?.Records).toHaveLength(1);
    expect(calls[1]?.Records?.[0]?.Data).toEqual(calls[0]?.Records?.[1]?.Data);
  });

  it('reports an entry that keeps failing as retry and answers 207', async () => {
    const events = [sampleEventV3(), sampleSearchEventV3()];
    kinesisMock.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => ({
      FailedRecordCount: 1,
      Records: (input.Records ?? []).map((record) => {
        const raw = JSON.parse(Buffer.from(record.Data!).toString('utf8'));
        return raw.event.event_id === events[1]!.event_id
          ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }
          : { SequenceNumber: '1', ShardId: 'shardId-000000000000' };
      }),
    }));

    const { status, body, tally } = await send(jsonPost({ events }));

    expect(status).toBe(207);
    expect(body.accepted).toBe(1);
    expect(body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'retry']);
    expect(body.results[1].event_id).toBe(events[1]!.event_id);
    expect(tally).toMatchObject({ accepted: 1, retry: 1 });
    const calls = putCalls();
    expect(calls).toHaveLength(DEFAULT_RETRY_POLICY.maxAttempts);
    expect(calls.slice(1).every((call) => call.Records?.length === 1)).toBe(true);
  });

  it('answers 503 when every entry failed transiently, with a retry result and event_id per event', async () => {
    kinesisMock.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => ({
      FailedRecordCount: input.Records?.length,
      Records: (input.Records ?? []).map(() => ({ ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'x' })),
    }));
    const withId = sampleEventV3();
    const { status, body, tally } = await send(jsonPost({ events: [withId, sampleSearchEventV3({ event_id: undefined })] }));
    expect(status).toBe(503);
    expect(body.error.code).toBe('unavailable');
    expect(body.results).toEqual([
      { index: 0, event_id: withId.event_id, status: 'retry', valid: true, errors: [] },
      { index: 1, event_id: ASSIGNED_ID, status: 'retry', valid: true, errors: [] },
    ]);
    expect(tally).toMatchObject({ accepted: 0, retry: 2 });
  });

  it('answers 503 when PutRecords throws on every attempt', async () => {
    kinesisMock.on(PutRecordsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const errors: number[] = [];
    const deps = makeDeps({ onDeliveryError: (_error, count) => errors.push(count) });
    const { status, body } = await send(jsonPost(sampleEventV3()), deps);
    expect(status).toBe(503);
    expect(body.error.code).toBe('unavailable');
    expect(errors).toEqual(Array(DEFAULT_RETRY_POLICY.maxAttempts).fill(1));
  });

  it('recovers when a thrown PutRecords error is followed by success', async () => {
    kinesisMock
      .on(PutRecordsCommand)
      .rejectsOnce(new Error('socket hang up'))
      .resolves({ FailedRecordCount: 0, Records: [{ SequenceNumber: '9', ShardId: 'shardId-000000000000' }] });
    const { status, body } = await send(jsonPost(sampleEventV3()));
    expect(status).toBe(202);
    expect(body.results[0].status).toBe('accepted');
    expect(putCalls()).toHaveLength(2);
  });

  it('answers 503, not 207, when nothing was written and some items were rejected: the results say which', async () => {
    kinesisMock.on(PutRecordsCommand).rejects(new Error('network down'));
    const { status, body } = await send(jsonPost({ events: [42, sampleEventV3({ event_id: undefined })] }));
    expect(status).toBe(503);
    expect(body.error.code).toBe('unavailable');
    expect(body.results.map((r: { status: string }) => r.status)).toEqual(['rejected', 'retry']);
    expect(body.results[1].event_id).toBe(ASSIGNED_ID);
  });

  // Hole 3: the write timed out on the collector's side but Kinesis kept the records. Without the
  // assigned event_ids in the 503, a producer that left event_id to the collector could only
  // resend without them, and the events were stored twice under two ids.
  it('a 503 after a write that did land returns the assigned event_ids, so a resend writes the same ids', async () => {
    const written: string[] = [];
    let call = 0;
    let nextId = 0;
    const deps = makeDeps({
      uuid: () => `0b0e5d2c-6f0e-4b8f-9f63-2a4c2f7a1c${String(++nextId).padStart(2, '0')}`,
      putRecords: async (entries) => {
        call++;
        for (const entry of entries) written.push(JSON.parse(Buffer.from(entry.data).toString('utf8')).event.event_id);
        // First request: every attempt writes, then the client side times out.
        if (call <= DEFAULT_RETRY_POLICY.maxAttempts) throw Object.assign(new Error('timed out'), { name: 'TimeoutError' });
        return entries.map(() => true);
      },
    });
    const events = [sampleSearchEventV3({ event_id: undefined }), sampleEventV3({ event_id: undefined })];

    const first = await send(jsonPost({ events }), deps);
    expect(first.status).toBe(503);
    const ids = first.body.results.map((r: { event_id: string }) => r.event_id);
    expect(first.body.results.map((r: { status: string }) => r.status)).toEqual(['retry', 'retry']);
    expect(new Set(written)).toEqual(new Set(ids));

    // The producer resends the retry items with the event_ids it got back.
    const resend = events.map((event, index) => ({ ...event, event_id: ids[index] }));
    written.length = 0;
    const second = await send(jsonPost({ events: resend }), deps);
    expect(second.status).toBe(202);
    expect(second.body.results.map((r: { event_id: string }) => r.event_id)).toEqual(ids);
    expect(written).toEqual(ids);
  });

  it('stops retrying when the time budget is spent', async () => {
    kinesisMock.on(PutRecordsCommand).rejects(new Error('network down'));
    let clock = 0;
    const deps = makeDeps({
      retry: {
        policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 100, budgetMs: 1_000 },
        clock: { now: () => clock, sleep: async (ms) => void (clock += ms), random: () => 1 },
      },
    });
    const { status } = await send(jsonPost(sampleEventV3()), deps);
    expect(status).toBe(503);
    expect(clock).toBeLessThanOrEqual(1_000);
    expect(putCalls().length).toBeGreaterThan(1);
    expect(putCalls().length).toBeLessThan(100);
  });
});
