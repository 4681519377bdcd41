import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { LIMITS } from '../../../lambdas/shared/events';
import { apiGatewayEvent } from '../../fixtures/apigw';
import { anyEvent, validEvent, type Event } from './arbitraries';

/**
 * Arbitrary HTTP requests for the collector: bodies (bytes, JSON documents, raw number tokens,
 * forbidden and very long keys, lone surrogates, deep nesting, sizes at the 1 MiB limit) under
 * arbitrary headers and encodings (content-type variants, charset, gzip valid/invalid/truncated,
 * base64 flag on or off).
 */

export interface BodyCase {
  kind: string;
  bytes: Buffer;
  /** What a well-formed transport of these bytes must get, when the contract says so. */
  expected?: { status: number; code: string };
  /** The body's size is at or near 1 MiB: over it means 413. */
  decodedBytes: number;
}

export interface RequestCase {
  event: APIGatewayProxyEvent;
  body: BodyCase;
  /** The content type is application/json (any case, any parameters). */
  jsonContentType: boolean;
  /** The content-encoding header is absent, identity or gzip. */
  encodingAllowed: boolean;
  /** The bytes reach the collector as generated: encoding header and gzip agree, base64 or valid UTF-8. */
  cleanTransport: boolean;
  describe: string;
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');

function withExpected(kind: string, text: string, expected?: BodyCase['expected']): BodyCase {
  const bytes = utf8(text);
  return { kind, bytes, expected, decodedBytes: bytes.byteLength };
}

/** A batch that is too big to be worth generating item by item. */
const TOO_MANY = `{"events":[${Array.from({ length: LIMITS.maxBatchEvents + 1 }, () => '{}').join(',')}]}`;

/** An event padded by an unknown field so it serialises to `LIMITS.maxEventBytes + delta` bytes with its event_id. */
function sizedEvent(base: Event, delta: number, pad: string): Event {
  const event: Event = { ...base, pad: '' };
  const size = Buffer.byteLength(JSON.stringify(event));
  const room = LIMITS.maxEventBytes + delta - size;
  const unit = Buffer.byteLength(JSON.stringify(pad)) - 2;
  const padded = pad.repeat(Math.max(0, Math.floor(room / unit))) + 'x'.repeat(Math.max(0, room % unit));
  return { ...event, pad: padded };
}

export function documentBody(receivedAt: Date): fc.Arbitrary<BodyCase> {
  const oversized = fc
    .tuple(validEvent(receivedAt), fc.integer({ min: -2, max: 2 }), fc.constantFrom('x', '€', '\u0001', '😀'))
    .map(([event, delta, pad]) => sizedEvent(event, delta, pad));
  const item = fc.oneof(
    { weight: 12, arbitrary: anyEvent(receivedAt) },
    { weight: 1, arbitrary: oversized },
    { weight: 1, arbitrary: fc.constantFrom<unknown>('x', 1, null, true, [], [{}]) },
  );
  const document = fc.oneof(
    { weight: 4, arbitrary: anyEvent(receivedAt) },
    { weight: 8, arbitrary: fc.array(item, { minLength: 1, maxLength: 24 }).map((events) => ({ events })) },
    { weight: 1, arbitrary: fc.constant({ events: [] }) },
    { weight: 1, arbitrary: fc.array(item, { minLength: 1, maxLength: 3 }).map((events) => ({ events, extra: 1 })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  );
  return fc.oneof(
    { weight: 20, arbitrary: fc.tuple(document, fc.constantFrom(undefined, 2)).map(([doc, indent]) => withExpected('document', JSON.stringify(doc, null, indent) ?? 'null')) },
    { weight: 1, arbitrary: fc.constant(withExpected('too-many', TOO_MANY, { status: 400, code: 'too_many_events' })) },
  );
}

const NUMBER_TOKENS: Array<[string, string | undefined]> = [
  ['1e999', 'number_out_of_range'],
  ['-1e999', 'number_out_of_range'],
  ['1e-400', 'number_out_of_range'],
  ['-1e-400', 'number_out_of_range'],
  ['2e-324', 'number_out_of_range'],
  ['0e-400', undefined],
  ['-0', undefined],
  ['-0.0', undefined],
  ['5e-324', undefined],
  ['4.9e-324', undefined],
  ['1e-7', undefined],
  ['1E2', undefined],
  ['1e126', undefined],
  ['1e125', undefined],
  ['9007199254740993', undefined],
  ['1000000.00001', undefined],
  ['999999.99990', undefined],
  ['0.00010', undefined],
  ['100e-2', undefined],
  ['0.1e1', undefined],
  ['1000.0', undefined],
  ['1001', undefined],
  ['0', undefined],
];

const PLACEHOLDER = '__fuzz_placeholder__';

/** JSON text with raw tokens JSON.stringify cannot write: edge numbers, forbidden keys, long keys, escapes. */
export function rawTokenBody(receivedAt: Date): fc.Arbitrary<BodyCase> {
  const wrap = (eventText: string, batched: boolean, other: string) =>
    batched ? `{"events":[${other},${eventText}]}` : eventText;
  const base = fc.tuple(validEvent(receivedAt), fc.boolean(), validEvent(receivedAt).map((e) => JSON.stringify(e)));

  const numbers = fc
    .tuple(base, fc.constantFrom(...NUMBER_TOKENS), fc.constantFrom('price', 'quantity', 'user_id', 'schema_version', 'event_id', 'nested'))
    .map(([[event, batched, other], [token, code], field]) => {
      const withPlaceholder = field === 'nested' ? { ...event, extra: { list: [1, PLACEHOLDER] } } : { ...event, [field]: PLACEHOLDER };
      const text = wrap(JSON.stringify(withPlaceholder).replace(`"${PLACEHOLDER}"`, token), batched, other);
      return withExpected(`number ${token} in ${field}`, text, code ? { status: 400, code } : undefined);
    });

  const forbidden = fc
    .tuple(base, fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.constantFrom('event', 'nested', 'top'))
    .map(([[event, batched, other], key, where]) => {
      const eventText = JSON.stringify(where === 'nested' ? { ...event, extra: { [PLACEHOLDER]: 1 } } : { ...event, [PLACEHOLDER]: { polluted: true } });
      let text = wrap(eventText, batched || where === 'top', other).replace(`"${PLACEHOLDER}"`, JSON.stringify(key));
      if (where === 'top') text = text.replace(/^\{/, `{${JSON.stringify(key)}:{},`);
      return withExpected(`forbidden key ${key} (${where})`, text, { status: 400, code: 'forbidden_key' });
    });

  const longKeys = fc
    .tuple(base, fc.constantFrom(300, 2_000, 32_000, 40_000), fc.constantFrom('k', 'é'))
    .map(([[event, batched, other], length, c]) => withExpected(`key of ${length} characters`, wrap(JSON.stringify({ ...event, [c.repeat(length)]: 1 }), batched, other)));

  const escapes = fc
    .tuple(base, fc.constantFrom('\\ud800', '\\udfff', 'a\\udc00b', '\\ud83d\\ude00', '\\u0000', '\\ufffe', '\\\\ud800'))
    .map(([[event, batched, other], escape]) => {
      const lone = !escape.includes('\\ud83d') && !escape.startsWith('\\\\') && /\\ud[89a-f]/.test(escape);
      const text = wrap(JSON.stringify({ ...event, product_id: PLACEHOLDER }).replace(PLACEHOLDER, escape), batched, other);
      return withExpected(`escape ${escape}`, text, lone ? { status: 400, code: 'lone_surrogate' } : undefined);
    });

  return fc.oneof(numbers, forbidden, longKeys, escapes);
}

/** Nesting around the 32-level limit, in an event field or at the top level. */
export function deepBody(receivedAt: Date): fc.Arbitrary<BodyCase> {
  return fc
    .tuple(validEvent(receivedAt), fc.integer({ min: 26, max: 40 }), fc.constantFrom('[', '{"a":'), fc.boolean())
    .map(([event, depth, opener, inEvent]) => {
      const closer = opener === '[' ? ']' : '}';
      if (inEvent) {
        // {"events":[{..., "x": <nest>}]}: the document is 3 levels deep before the nest.
        const levels = depth - 3;
        const nest = opener.repeat(levels) + (opener === '[' ? '' : '1') + closer.repeat(levels);
        const text = `{"events":[${JSON.stringify({ ...event, x: PLACEHOLDER }).replace(`"${PLACEHOLDER}"`, nest)}]}`;
        return withExpected(`nested ${depth} deep in an event`, text, depth > LIMITS.maxDepth ? { status: 400, code: 'too_deep' } : undefined);
      }
      const text = '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
      // Within the limit it is one (invalid) event object.
      return withExpected(`nested ${depth} deep`, text, depth > LIMITS.maxDepth ? { status: 400, code: 'too_deep' } : undefined);
    });
}

/** Bodies of 1 MiB give or take a few bytes, padded with whitespace or with multi-byte characters. */
export function hugeBody(receivedAt: Date): fc.Arbitrary<BodyCase> {
  return fc
    .tuple(validEvent(receivedAt), fc.integer({ min: -2, max: 2 }), fc.constantFrom(' ', '€', '\n'))
    .map(([event, delta, pad]) => {
      const target = LIMITS.maxBodyBytes + delta;
      if (pad === '€') {
        // A second item, a string of 3-byte characters: characters stay under 1 Mi while bytes cross it.
        const head = `{"events":[${JSON.stringify(event)},"`;
        const tail = '"]}';
        const room = target - Buffer.byteLength(head + tail);
        const text = head + '€'.repeat(Math.floor(room / 3)) + 'x'.repeat(room % 3) + tail;
        return withExpected(`1 MiB ${delta >= 0 ? '+' : ''}${delta} of €`, text, delta > 0 ? { status: 413, code: 'payload_too_large' } : undefined);
      }
      const json = JSON.stringify({ events: [event] });
      const text = json + pad.repeat(target - Buffer.byteLength(json));
      return withExpected(`1 MiB ${delta >= 0 ? '+' : ''}${delta} of whitespace`, text, delta > 0 ? { status: 413, code: 'payload_too_large' } : undefined);
    });
}

export function garbageBody(): fc.Arbitrary<BodyCase> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 512 }).map((array) => {
      const bytes = Buffer.from(array);
      return { kind: 'bytes', bytes, decodedBytes: bytes.byteLength };
    }),
    fc.string({ unit: 'binary', maxLength: 200 }).map((text) => withExpected('text', text)),
    fc.json({ maxDepth: 3 }).map((text) => withExpected('json', text)),
    fc.constantFrom('', ' ', '\n\t ', '{', '{"events":', 'null', '[]', '"x"', '\uFEFF{}').map((text) => withExpected('short', text)),
  );
}

export function bodyCase(receivedAt: Date): fc.Arbitrary<BodyCase> {
  return fc.oneof(
    { weight: 14, arbitrary: documentBody(receivedAt) },
    { weight: 4, arbitrary: rawTokenBody(receivedAt) },
    { weight: 1, arbitrary: deepBody(receivedAt) },
    { weight: 2, arbitrary: hugeBody(receivedAt) },
    { weight: 2, arbitrary: garbageBody() },
  );
}

const JSON_CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON; charset=UTF-8',
  'application/json;charset=latin1',
  ' application/json ',
  'APPLICATION/JSON',
  'application/json; boundary=x; charset="utf-8"',
];
const OTHER_CONTENT_TYPES = ['text/plain', 'application/jsonx', 'application/vnd.api+json', 'application/x-www-form-urlencoded', '', 'json', 'application/json, text/plain', 'application/ json'];

function isJsonMediaType(value: string | undefined): boolean {
  return value !== undefined && value.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

type GzipMode = 'none' | 'gzip' | 'truncated' | 'corrupt' | 'double' | 'unannounced';

export function requestCase(receivedAt: Date): fc.Arbitrary<RequestCase> {
  return fc
    .record({
      body: bodyCase(receivedAt),
      contentType: fc.oneof(
        { weight: 18, arbitrary: fc.constantFrom<string | undefined>(...JSON_CONTENT_TYPES) },
        { weight: 1, arbitrary: fc.constantFrom<string | undefined>(...OTHER_CONTENT_TYPES, undefined) },
        { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
      ),
      contentTypeName: fc.constantFrom('Content-Type', 'content-type', 'CONTENT-TYPE'),
      gzip: fc.oneof(
        { weight: 12, arbitrary: fc.constantFrom<GzipMode>('none', 'gzip') },
        { weight: 3, arbitrary: fc.constantFrom<GzipMode>('truncated', 'corrupt', 'double', 'unannounced') },
      ),
      encodingHeader: fc.oneof(
        { weight: 20, arbitrary: fc.constant<string | undefined | 'auto'>('auto') },
        { weight: 1, arbitrary: fc.constantFrom<string | undefined>('GZIP', ' gzip ', 'identity', 'br', 'deflate', 'gzip, br', '', undefined) },
      ),
      base64: fc.constantFrom(true, true, true, true, true, false),
      cut: fc.double({ min: 0, max: 1, noNaN: true }),
      flip: fc.nat(),
      extraHeaders: fc.dictionary(fc.constantFrom('Origin', 'x-api-key', 'Accept-Encoding', 'X-Forwarded-For', 'content-length'), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
      nullBody: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
    })
    .map((r) => {
      let payload = r.body.bytes;
      if (r.gzip === 'gzip' || r.gzip === 'unannounced') payload = gzipSync(payload);
      if (r.gzip === 'double') payload = gzipSync(gzipSync(payload));
      if (r.gzip === 'truncated') {
        const whole = gzipSync(payload);
        payload = whole.subarray(0, Math.floor(r.cut * whole.byteLength));
      }
      if (r.gzip === 'corrupt') {
        payload = Buffer.from(gzipSync(payload));
        const at = r.flip % payload.byteLength;
        payload[at] = payload[at]! ^ 0xff;
      }
      const announced = r.gzip !== 'none' && r.gzip !== 'unannounced';
      const encoding = r.encodingHeader === 'auto' ? (announced ? 'gzip' : undefined) : r.encodingHeader;
      const headers: Record<string, string> = { ...r.extraHeaders };
      if (r.contentType !== undefined) headers[r.contentTypeName] = r.contentType;
      if (encoding !== undefined) headers[r.contentTypeName === 'content-type' ? 'content-encoding' : 'Content-Encoding'] = encoding;
      const normalizedEncoding = (encoding ?? 'identity').trim().toLowerCase();
      const validUtf8 = (() => {
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(payload);
          return true;
        } catch {
          return false;
        }
      })();
      const body = r.nullBody ? null : r.base64 ? payload.toString('base64') : payload.toString('utf8');
      const event = apiGatewayEvent({ headers, body, isBase64Encoded: r.base64 });
      const cleanTransport =
        !r.nullBody &&
        (r.base64 || validUtf8) &&
        ((r.gzip === 'none' && normalizedEncoding === 'identity') || (r.gzip === 'gzip' && normalizedEncoding === 'gzip'));
      const describe = `${r.body.kind}; content-type ${JSON.stringify(r.contentType)}; gzip ${r.gzip}; content-encoding ${JSON.stringify(encoding)}; base64 ${r.base64}${r.nullBody ? '; null body' : ''}`;
      const preview = r.body.bytes.subarray(0, 300).toString('utf8');
      return {
        // fast-check prints a counterexample with this instead of the whole API Gateway event.
        [fc.toStringMethod]: () => `{${describe}; body ${JSON.stringify(preview)}${r.body.bytes.byteLength > 300 ? `… (${r.body.bytes.byteLength} bytes)` : ''}}`,
        event,
        body: r.body,
        jsonContentType: isJsonMediaType(r.contentType),
        encodingAllowed: normalizedEncoding === 'identity' || normalizedEncoding === 'gzip',
        cleanTransport,
        describe,
      };
    });
}
