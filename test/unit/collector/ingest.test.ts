import { KinesisClient, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { APIGatewayProxyEventSchema } from '@aws-lambda-powertools/parser/schemas';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ingest, type CollectorDeps } from '../../../lambdas/collector/ingest';
import { streamWriter } from '../../../lambdas/shared/delivery';
import { LIMITS } from '../../../lambdas/shared/events';
import { RawRecordSchema } from '../../../lambdas/shared/records';
import { DEFAULT_RETRY_POLICY } from '../../../lambdas/shared/retry';
import { jsonPost, rawPost } from '../../fixtures/apigw';
import { SAMPLE_RECEIVED_AT, sampleEventV2, sampleEventV3, sampleSearchEventV3 } from '../../fixtures/events';

const kinesisMock = mockClient(KinesisClient);
const STREAM = 'raw-stream-under-test';
const ASSIGNED_ID = '0b0e5d2c-6f0e-4b8f-9f63-2a4c2f7a1c11';

function makeDeps(overrides: Partial<CollectorDeps> = {}): CollectorDeps {
  return {
    putRecords: streamWriter(new KinesisClient({ region: 'us-east-1' }), STREAM),
    now: () => SAMPLE_RECEIVED_AT,
    uuid: () => ASSIGNED_ID,
    // Backoff without waiting; the clock never runs out of budget, so attempts bound the retries.
    retry: { clock: { now: () => 0, sleep: async () => {}, random: () => 0.5 } },
    ...overrides,
  };
}

/** Acknowledges every entry of every PutRecords call. */
function acceptAll() {
  kinesisMock.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => ({
    FailedRecordCount: 0,
    Records: (input.Records ?? []).map((_, i) => ({ SequenceNumber: `4959${i}`, ShardId: 'shardId-000000000000' })),
  }));
}

function putCalls(): PutRecordsCommandInput[] {
  return kinesisMock.commandCalls(PutRecordsCommand).map((call) => call.args[0].input);
}

function writtenRecords() {
  return putCalls()
    .flatMap((input) => input.Records ?? [])
    .map((record) => ({
      partitionKey: record.PartitionKey,
      body: RawRecordSchema.parse(JSON.parse(Buffer.from(record.Data!).toString('utf8'))),
    }));
}

async function send(event: ReturnType<typeof jsonPost>, deps = makeDeps()) {
  const { response, tally } = await ingest(event, { requestId: event.requestContext.requestId }, deps);
  // CORS is the handler's (withCors, for allowed origins only): ingest never answers `*`.
  expect(response.headers?.['Access-Control-Allow-Origin']).toBeUndefined();
  expect(response.headers?.['Content-Type']).toMatch(/^application\/json/);
  return { status: response.statusCode, body: JSON.parse(response.body), tally };
}

async function expectRefused(event: ReturnType<typeof jsonPost>, status: number, code: string) {
  const { status: actual, body } = await send(event);
  expect(actual).toBe(status);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(kinesisMock.commandCalls(PutRecordsCommand)).toHaveLength(0);
}

beforeEach(() => {
  kinesisMock.reset();
  acceptAll();
});

describe('fixtures', () => {
  it('builds a real API Gateway REST proxy event', () => {
    const parsed = APIGatewayProxyEventSchema.parse(jsonPost(sampleEventV3(), { gzip: true }));
    expect(parsed.isBase64Encoded).toBe(true);
    expect(parsed.requestContext.stage).toBe('v1');
  });
});

describe('request envelope', () => {
  it('refuses a body that is not declared as JSON with 415', async () => {
    await expectRefused(jsonPost(sampleEventV3(), { contentType: 'text/plain' }), 415, 'unsupported_media_type');
  });

  it('refuses a request without content-type with 415', async () => {
    const event = jsonPost(sampleEventV3());
    event.headers = { 'x-api-key': 'k' };
    await expectRefused(event, 415, 'unsupported_media_type');
  });

  it('refuses a content-encoding other than gzip with 415', async () => {
    await expectRefused(jsonPost(sampleEventV3(), { headers: { 'Content-Encoding': 'br' } }), 415, 'unsupported_content_encoding');
  });

  it('accepts application/json with a charset parameter, in any letter case', async () => {
    const { status } = await send(jsonPost(sampleEventV3(), { contentType: 'Application/JSON; charset=UTF-8' }));
    expect(status).toBe(202);
  });

  it('accepts a body that API Gateway did not base64-encode', async () => {
    const event = sampleEventV3();
    const { status } = await send(jsonPost(event, { base64: false }));
    expect(status).toBe(202);
    expect(writtenRecords()[0]?.body.event).toEqual(event);
  });

  it('gunzips a gzip body', async () => {
    const events = [sampleEventV3(), sampleSearchEventV3()];
    const { status, body } = await send(jsonPost({ events }, { gzip: true }));
    expect(status).toBe(202);
    expect(body.accepted).toBe(2);
    expect(writtenRecords().map((r) => r.body.event)).toEqual(events);
  });

  it('refuses a body that claims gzip but is not with 400', async () => {
    const event = jsonPost(sampleEventV3(), { headers: { 'content-encoding': 'gzip' } });
    await expectRefused(event, 400, 'invalid_gzip');
  });

  it('refuses a decoded body over 1 MiB with 413 and accepts exactly 1 MiB', async () => {
    const json = JSON.stringify(sampleEventV3());
    const padTo = (size: number) => Buffer.from(json + ' '.repeat(size - Buffer.byteLength(json)), 'utf8');
    await expectRefused(rawPost(padTo(LIMITS.maxBodyBytes + 1)), 413, 'payload_too_large');

    const { status } = await send(rawPost(padTo(LIMITS.maxBodyBytes)));
    expect(status).toBe(202);
  });

  it('stops a gzip bomb at 1 MiB of output with 413', async () => {
    const bomb = Buffer.concat([Buffer.from('{"events": ['), Buffer.alloc(8 * LIMITS.maxBodyBytes, ' '), Buffer.from(']}')]);
    const event = rawPost(bomb, { gzip: true });
    expect(Buffer.from(event.body!, 'base64').byteLength).toBeLessThan(100_000);
    await expectRefused(event, 413, 'payload_too_large');
  });

  it('accepts a gzip body that inflates to exactly 1 MiB', async () => {
    const json = JSON.stringify(sampleEventV3());
    const exact = Buffer.from(json + ' '.repeat(LIMITS.maxBodyBytes - Buffer.byteLength(json)), 'utf8');
    const { status } = await send(rawPost(exact, { gzip: true }));
    expect(status).toBe(202);
  });
});

describe('400: the whole request is refused and nothing is written', () => {
  const deep = (levels: number) => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);

  it.each([
    ['not JSON', '{"event_type": ', 'invalid_json'],
    ['an empty body', '', 'invalid_json'],
    ['a top-level array', '[{"event_type":"page_view"}]', 'invalid_shape'],
    ['a top-level string', '"page_view"', 'invalid_shape'],
    ['null', 'null', 'invalid_shape'],
    ['events that is not an array', '{"events": {"0": {}}}', 'invalid_shape'],
    ['a batch with other top-level keys', '{"events": [{}], "source": "web"}', 'invalid_shape'],
    ['an empty batch', '{"events": []}', 'empty_batch'],
    ['__proto__ nested in an event', '{"events": [{"event_type": "page_view", "meta": {"__proto__": {"admin": true}}}]}', 'forbidden_key'],
    ['__proto__ at the top level', '{"__proto__": {"polluted": 1}, "event_type": "page_view"}', 'forbidden_key'],
    ['a constructor key', '{"event_type": "page_view", "constructor": {"prototype": {}}}', 'forbidden_key'],
    ['a prototype key inside an array', '{"events": [{"x": [{"prototype": 1}]}]}', 'forbidden_key'],
    ['nesting of 33 levels', deep(33), 'too_deep'],
    ['an escaped lone high surrogate in a value', '{"event_type": "page_view", "user_id": "u\\ud800x"}', 'lone_surrogate'],
    ['an escaped lone low surrogate in a key', '{"\\udc00": 1}', 'lone_surrogate'],
    ['a high surrogate at the end of a string', '{"events": [{"search_query": "abc\\uDBFF"}]}', 'lone_surrogate'],
    // JSON.parse reads 1e999 as Infinity, which would be written on as null: a different event.
    ['a number too large for a double', '{"schema_version": 1, "event_type": "page_view", "user_id": 1e999}', 'number_out_of_range'],
    // ... and reads 1e-400 as 0: a price the producer did not send.
    ['a non-zero number too small for a double', '{"events": [{"event_type": "add_to_cart", "price": 1e-400}]}', 'number_out_of_range'],
    ['a negative one, with a fraction', '{"event_type": "add_to_cart", "price": -0.5e-330}', 'number_out_of_range'],
  ])('%s', async (_case, body, code) => {
    await expectRefused(rawPost(Buffer.from(body, 'utf8')), 400, code);
  });

  it('lets zeros written any way, 5e-324 and number-like strings through to validation', async () => {
    const text = '{"events": [{"price": 0.0e-999, "quantity": -0, "x": "1e-400", "y": "\\"1e-400"}, {"price": 5e-324}]}';
    const { status, body } = await send(rawPost(Buffer.from(text, 'utf8')));
    expect(status).toBe(202);
    expect(body.results.map((r: { valid: boolean }) => r.valid)).toEqual([false, false]);
  });

  it('bytes that are not UTF-8', async () => {
    await expectRefused(rawPost(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), 400, 'invalid_encoding');
  });

  it('more than 500 events', async () => {
    const events = Array.from({ length: LIMITS.maxBatchEvents + 1 }, () => sampleSearchEventV3());
    await expectRefused(jsonPost({ events }), 400, 'too_many_events');
  });

  it('lets 32 levels of nesting, an escaped surrogate pair and an escaped backslash through', async () => {
    const nested = deep(32);
    const deepResult = await send(rawPost(Buffer.from(nested)));
    expect(deepResult.status).toBe(202);
    expect(deepResult.body.results[0].valid).toBe(false);

    kinesisMock.resetHistory();
    const event = sampleSearchEventV3({ search_query: 'x' });
    const text = JSON.stringify(event).replace('"x"', '"\\ud83d\\ude00 \\\\ud800"');
    const { status, body } = await send(rawPost(Buffer.from(text)));
    expect(status).toBe(202);
    expect(body.results[0].valid).toBe(true);
    expect(writtenRecords()[0]?.body.event).toMatchObject({ search_query: '\u{1F600} \\ud800' });
  });
});

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
