// ingest: the items of a request, all rejected, and numbers no sink stores exactly.
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { beforeEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../../lambdas/shared/events';
import { jsonPost, rawPost } from '../../fixtures/apigw';
import { SAMPLE_RECEIVED_AT, sampleEventV2, sampleEventV3, sampleSearchEventV3 } from '../../fixtures/events';
import { kinesisMock, STREAM, ASSIGNED_ID, putCalls, writtenRecords, send, resetMocks } from './ingest-setup';

beforeEach(resetMocks);

describe('items', () => {
  it('writes a single event object as one raw record and answers 202', async () => {
    const event = sampleEventV3();
    const request = jsonPost(event);
    const { status, body, tally } = await send(request);

    expect(status).toBe(202);
    expect(body).toEqual({
      accepted: 1,
      invalid: 0,
      results: [{ index: 0, event_id: event.event_id, status: 'accepted', valid: true, errors: [] }],
    });
    expect(tally).toEqual({ received: 1, accepted: 1, rejected: 0, retry: 0, invalid: 0 });
    const [call] = putCalls();
    expect(call?.StreamName).toBe(STREAM);
    expect(writtenRecords()).toEqual([
      {
        partitionKey: event.session_id,
        body: { received_at: SAMPLE_RECEIVED_AT.toISOString(), request_id: request.requestContext.requestId, event },
      },
    ]);
  });

  it('assigns an event_id when it is absent and returns it', async () => {
    const withoutId = sampleSearchEventV3({ event_id: undefined });
    const withId = sampleSearchEventV3();
    const { status, body } = await send(jsonPost({ events: [withoutId, withId] }));

    expect(status).toBe(202);
    expect(body.results.map((r: { event_id: string }) => r.event_id)).toEqual([ASSIGNED_ID, withId.event_id]);
    expect(body.results[0].valid).toBe(true);
    expect(writtenRecords().map((r) => (r.body.event as { event_id: string }).event_id)).toEqual([
      ASSIGNED_ID,
      withId.event_id,
    ]);
  });

  it('writes invalid events too and reports the schema verdict', async () => {
    const invalid = sampleEventV3({ price: 0 });
    const unknownField = sampleSearchEventV3({ colour: 'red' });
    const valid = sampleEventV2();
    const { status, body, tally } = await send(jsonPost({ events: [invalid, unknownField, valid] }));

    expect(status).toBe(202);
    expect(body.accepted).toBe(3);
    expect(body.invalid).toBe(2);
    expect(tally?.invalid).toBe(2);
    expect(body.results[0]).toMatchObject({ status: 'accepted', valid: false });
    expect(body.results[0].errors).toContainEqual(expect.objectContaining({ path: 'price', code: 'too_small' }));
    expect(body.results[1].errors).toContainEqual(expect.objectContaining({ path: 'colour', code: 'unknown_field' }));
    expect(body.results[2]).toMatchObject({ status: 'accepted', valid: true, errors: [] });
    expect(writtenRecords()).toHaveLength(3);
  });

  it('rejects a too-large item and a non-object item, writes the rest and answers 207', async () => {
    const tooLarge = sampleEventV3({ category: 'x'.repeat(LIMITS.maxEventBytes) });
    const fine = sampleSearchEventV3();
    const { status, body, tally } = await send(jsonPost({ events: [tooLarge, 'not an event', fine, [1, 2]] }));

    expect(status).toBe(207);
    expect(body.accepted).toBe(1);
    expect(body.results).toEqual([
      { index: 0, event_id: tooLarge.event_id, status: 'rejected', valid: false, errors: [expect.objectContaining({ code: 'too_large' })] },
      { index: 1, event_id: null, status: 'rejected', valid: false, errors: [expect.objectContaining({ code: 'not_an_object' })] },
      { index: 2, event_id: fine.event_id, status: 'accepted', valid: true, errors: [] },
      { index: 3, event_id: null, status: 'rejected', valid: false, errors: [expect.objectContaining({ code: 'not_an_object' })] },
    ]);
    expect(tally).toMatchObject({ received: 4, accepted: 1, rejected: 3, retry: 0 });
    expect(writtenRecords().map((r) => r.body.event)).toEqual([fine]);
  });

  it('measures an event with the event_id it is assigned, as the validator will', async () => {
    const base = sampleEventV3({ category: '', event_id: undefined });
    const underAsSent = { ...base, category: 'c'.repeat(LIMITS.maxEventBytes - Buffer.byteLength(JSON.stringify(base)) - 10) };
    expect(Buffer.byteLength(JSON.stringify(underAsSent))).toBeLessThan(LIMITS.maxEventBytes);

    const { body } = await send(jsonPost(underAsSent));
    expect(body.results[0]).toMatchObject({ status: 'rejected', event_id: null, errors: [expect.objectContaining({ code: 'too_large' })] });
    expect(writtenRecords()).toEqual([]);
  });

  it('keeps an event of exactly 32 KiB', async () => {
    const base = sampleEventV3({ category: '' });
    const exact = { ...base, category: 'c'.repeat(LIMITS.maxEventBytes - Buffer.byteLength(JSON.stringify(base))) };
    expect(Buffer.byteLength(JSON.stringify(exact))).toBe(LIMITS.maxEventBytes);

    const { body } = await send(jsonPost(exact));
    expect(body.results[0].status).toBe('accepted');
  });
});

describe('400 all_rejected: no event accepted and none can be retried', () => {
  it('answers 400 with a result per item and writes nothing', async () => {
    const { status, body, tally } = await send(jsonPost({ events: ['x', 1, null] }));
    expect(status).toBe(400);
    expect(body.error).toEqual({ code: 'all_rejected', message: expect.any(String) });
    expect(body.results).toEqual(
      [0, 1, 2].map((index) => ({
        index,
        event_id: null,
        status: 'rejected',
        valid: false,
        errors: [expect.objectContaining({ path: '', code: 'not_an_object' })],
      })),
    );
    expect(body).not.toHaveProperty('accepted');
    expect(tally).toMatchObject({ received: 3, accepted: 0, rejected: 3, retry: 0 });
    expect(kinesisMock.commandCalls(PutRecordsCommand)).toHaveLength(0);
  });

  it('answers 400 for a single event too large to write', async () => {
    const tooLarge = sampleEventV3({ category: 'x'.repeat(LIMITS.maxEventBytes) });
    const { status, body } = await send(jsonPost(tooLarge));
    expect(status).toBe(400);
    expect(body.error.code).toBe('all_rejected');
    expect(body.results).toEqual([
      { index: 0, event_id: tooLarge.event_id, status: 'rejected', valid: false, errors: [expect.objectContaining({ code: 'too_large' })] },
    ]);
    expect(kinesisMock.commandCalls(PutRecordsCommand)).toHaveLength(0);
  });
});

describe('valid means storable: numbers no sink stores exactly are invalid at once', () => {
  it.each([5e-324, 1e-131, 0.12345, 1e126])('price %d is accepted but valid: false, with the reason', async (price) => {
    const { status, body } = await send(jsonPost(sampleEventV3({ price })));
    expect(status).toBe(202);
    expect(body.invalid).toBe(1);
    expect(body.results[0]).toMatchObject({ status: 'accepted', valid: false });
    const code = price === 1e126 ? 'too_big' : 'too_precise';
    expect(body.results[0].errors).toContainEqual({ path: 'price', code, message: expect.stringMatching(/^price must/) });
  });

  it.each([0.0001, 999_999.9999])('price %d is valid', async (price) => {
    const { body } = await send(jsonPost(sampleEventV3({ price })));
    expect(body.results[0]).toMatchObject({ status: 'accepted', valid: true, errors: [] });
  });

  it('reads 5e-324 from the JSON text as sent', async () => {
    const text = JSON.stringify(sampleEventV3()).replace('"price":19.99', '"price":5e-324');
    const { body } = await send(rawPost(Buffer.from(text, 'utf8')));
    expect(body.results[0]).toMatchObject({ valid: false, errors: [expect.objectContaining({ path: 'price', code: 'too_precise' })] });
  });
});
