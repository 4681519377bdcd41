import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { allowedOriginsFromEnv, jsonResponse, withCors } from '../../../lambdas/collector/http';
import { jsonPost } from '../../fixtures/apigw';
import { sampleEventV3 } from '../../fixtures/events';

// Issue 9: the collector answered `Access-Control-Allow-Origin: *`, so any page could read it.
// Now it echoes the request's Origin only when it is one of corsAllowedOrigins (passed by the
// stack as CORS_ALLOWED_ORIGINS), with `Vary: Origin`; with none configured, no CORS headers.

const ALLOWED = ['https://shop.example.com', 'http://localhost:5173'];

describe('withCors', () => {
  const allowed = allowedOriginsFromEnv(JSON.stringify(ALLOWED));

  it.each(ALLOWED)('echoes the allowed origin %s, with Vary: Origin', (origin) => {
    const response = withCors(jsonResponse(202, {}), origin, allowed);
    expect(response.headers).toMatchObject({ 'Access-Control-Allow-Origin': origin, Vary: 'Origin' });
    expect(response.headers?.['Content-Type']).toMatch(/^application\/json/);
  });

  it.each([
    'https://evil.example.com',
    'https://shop.example.com.evil.example',
    'https://SHOP.example.com',
    'https://shop.example.com/',
    'http://shop.example.com',
    'null',
    '*',
    '',
  ])('gives the origin %j no Access-Control-Allow-Origin (still Vary: Origin)', (origin) => {
    const response = withCors(jsonResponse(400, {}), origin, allowed);
    expect(response.headers?.['Access-Control-Allow-Origin']).toBeUndefined();
    expect(response.headers?.Vary).toBe('Origin');
  });

  it('gives a request without Origin no Access-Control-Allow-Origin', () => {
    expect(withCors(jsonResponse(202, {}), undefined, allowed).headers?.['Access-Control-Allow-Origin']).toBeUndefined();
  });

  it('adds nothing when no origin is configured', () => {
    const response = jsonResponse(202, { ok: true });
    expect(withCors(response, 'https://shop.example.com', allowedOriginsFromEnv(undefined))).toBe(response);
    expect(withCors(response, 'https://shop.example.com', allowedOriginsFromEnv('[]'))).toBe(response);
  });

  it('reads a broken variable as no origins rather than failing open', () => {
    expect(allowedOriginsFromEnv('*').size).toBe(0);
    expect(allowedOriginsFromEnv('{"a":1}').size).toBe(0);
    expect([...allowedOriginsFromEnv('["https://a.example", 3]')]).toEqual(['https://a.example']);
  });
});

describe('collector handler with CORS_ALLOWED_ORIGINS', () => {
  const kinesisMock = mockClient(KinesisClient);
  let collector: typeof import('../../../lambdas/collector/handler');

  beforeAll(async () => {
    vi.resetModules();
    vi.stubEnv('RAW_STREAM_NAME', 'raw');
    vi.stubEnv('CORS_ALLOWED_ORIGINS', JSON.stringify(ALLOWED));
    collector = await import('../../../lambdas/collector/handler');
    kinesisMock.on(PutRecordsCommand).resolves({ FailedRecordCount: 0, Records: [{ SequenceNumber: '1', ShardId: 'shardId-000000000000' }] });
  });

  afterAll(() => {
    kinesisMock.restore();
    vi.unstubAllEnvs();
  });

  const event = () => sampleEventV3({ event_time: new Date().toISOString(), event_id: undefined });

  it('echoes an allowed Origin on a 202, whatever the header spelling', async () => {
    const response = await collector.collect(jsonPost(event(), { headers: { origin: 'http://localhost:5173' } }));
    expect(response.statusCode).toBe(202);
    expect(response.headers).toMatchObject({ 'Access-Control-Allow-Origin': 'http://localhost:5173', Vary: 'Origin' });
  });

  it('echoes it on a refusal too (415), so the page can read why', async () => {
    const response = await collector.collect(jsonPost(event(), { contentType: 'text/plain', headers: { Origin: 'https://shop.example.com' } }));
    expect(response.statusCode).toBe(415);
    expect(response.headers?.['Access-Control-Allow-Origin']).toBe('https://shop.example.com');
  });

  it('and on a 500 from an unexpected error', async () => {
    const broken = { ...jsonPost(event(), { headers: { Origin: 'https://shop.example.com' } }), requestContext: undefined } as never;
    const response = await collector.collect(broken);
    expect(response.statusCode).toBe(500);
    expect(response.headers?.['Access-Control-Allow-Origin']).toBe('https://shop.example.com');
  });

  it('never for another origin, and never *', async () => {
    const response = await collector.collect(jsonPost(event(), { headers: { Origin: 'https://evil.example.com' } }));
    expect(response.statusCode).toBe(202);
    expect(response.headers?.['Access-Control-Allow-Origin']).toBeUndefined();
    expect(response.headers?.Vary).toBe('Origin');
  });
});
