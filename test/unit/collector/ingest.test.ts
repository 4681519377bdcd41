// ingest: the fixtures, the request envelope, and requests refused whole (400, nothing written).
import { APIGatewayProxyEventSchema } from '@aws-lambda-powertools/parser/schemas';
import { beforeEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../../lambdas/shared/events';
import { jsonPost, rawPost } from '../../fixtures/apigw';
import { sampleEventV3, sampleSearchEventV3 } from '../../fixtures/events';
import { kinesisMock, writtenRecords, send, expectRefused, resetMocks } from './ingest-setup';

beforeEach(resetMocks);

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
