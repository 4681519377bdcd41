import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiGateway, MAX_REQUEST_LINE_AND_HEADER_BYTES } from '../../../tools/local-cloud/api-gateway/server';
import { startAwsEndpoint, type AwsEndpoint } from '../../../tools/local-cloud/endpoint';
import { createLambdaRuntime, type LambdaRuntime } from '../../../tools/local-cloud/lambda-runtime';
import type { LocalResource } from '../../../tools/local-cloud/types';
import { ACCOUNT_ID, REGION, functionResource, templateResource } from '../../fixtures/local-functions/resources';

// Issue 9: hostile requests at the edge of the local API Gateway, answered as a REST API does:
// headers over the 10 KB quota (a JSON body, not an empty 431), a body that stalls (408 and the
// connection closed, never held open), and paths with an empty segment or a trailing slash.

const proxyFn = functionResource('Collector', 'api-proxy');
const uri = `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${proxyFn.attributes.Arn}/invocations`;
const resource = templateResource;
const resources: LocalResource[] = [
  proxyFn,
  resource('Api', 'AWS::ApiGateway::RestApi', { Name: 'Api' }, 'api1', { RootResourceId: 'root1' }),
  resource('ApiEvents', 'AWS::ApiGateway::Resource', { ParentId: 'root1', PathPart: 'events', RestApiId: 'api1' }, 'res-events'),
  resource('ApiEventsPOST', 'AWS::ApiGateway::Method', { HttpMethod: 'POST', ResourceId: 'res-events', RestApiId: 'api1', Integration: { Type: 'AWS_PROXY', Uri: uri } }, 'm-post'),
  resource('ApiStage', 'AWS::ApiGateway::Stage', { RestApiId: 'api1', DeploymentId: 'dep1', StageName: 'v1' }, 'v1'),
];

const BODY_TIMEOUT_MS = 400;
let runtime: LambdaRuntime;
let endpoint: AwsEndpoint;
let base: string;

beforeAll(async () => {
  runtime = createLambdaRuntime({ resources, endpoint: 'http://127.0.0.1:1', region: REGION, accountId: ACCOUNT_ID });
  const gateway = createApiGateway({ resources, invoker: runtime, region: REGION, accountId: ACCOUNT_ID, bodyTimeoutMs: BODY_TIMEOUT_MS });
  // The real endpoint, as npm start serves the API: its own limits apply before the API's.
  endpoint = await startAwsEndpoint({ port: 0, region: REGION, accountId: ACCOUNT_ID, requestTimeoutMs: 1_500 });
  endpoint.setApiHandler(gateway.handle);
  base = `${endpoint.url}/v1`;
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  await endpoint?.close();
});

const post = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${endpoint.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"events":[]}' });

/** A raw HTTP/1.1 exchange: what the server sends back and whether (and when) it closed the connection. */
function raw(request: string, waitMs: number): Promise<{ text: string; closedAfterMs?: number }> {
  return new Promise((resolve) => {
    const { port } = new URL(endpoint.url);
    const began = Date.now();
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(request));
    let text = '';
    let closedAfterMs: number | undefined;
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closedAfterMs = Date.now() - began;
      clearTimeout(timer);
      resolve({ text, closedAfterMs });
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text });
    }, waitMs);
  });
}

/** The JSON body of a raw answer (sent whole or chunked). */
const jsonBodyOf = (text: string) => JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)) as unknown;

describe('header size', () => {
  it('takes a request whose request line and header values fit in 10240 bytes', async () => {
    const response = await post('/v1/events', { 'x-padding': 'a'.repeat(9_000) });
    expect(response.status).toBe(201);
  });

  it('answers a request over 10240 bytes of request line and header values 431 with a JSON message', async () => {
    const response = await post('/v1/events', { 'x-padding': 'a'.repeat(MAX_REQUEST_LINE_AND_HEADER_BYTES) });
    expect(response.status).toBe(431);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ message: 'HTTP header is larger than 10240 bytes.' });
  });

  it('answers headers over 16 KB (Node\'s own limit, empty 431 before) with the same JSON', async () => {
    const response = await post('/v1/events', { 'x-padding': 'a'.repeat(20_000) });
    expect(response.status).toBe(431);
    expect(await response.json()).toEqual({ message: 'HTTP header is larger than 10240 bytes.' });
  });

  it('answers headers past everything the endpoint reads 431 with a JSON body, then closes', async () => {
    const { text, closedAfterMs } = await raw(`POST /v1/events HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(70_000)}\r\n\r\n`, 5_000);
    expect(text).toMatch(/^HTTP\/1\.1 431 /);
    expect(text).toMatch(/content-type: application\/json/i);
    expect(jsonBodyOf(text)).toEqual({ message: 'Request Header Fields Too Large' });
    expect(closedAfterMs).toBeDefined();
  });
});

describe('a body that stalls', () => {
  it('is answered 408 with a JSON message and its connection closed, once no byte came for the body timeout', async () => {
    const { text, closedAfterMs } = await raw(
      'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"events":',
      5_000,
    );
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(jsonBodyOf(text)).toEqual({ message: 'Request Timeout' });
    expect(closedAfterMs).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 50);
    expect(closedAfterMs).toBeLessThan(3_000);
  });

  it('is cut off by the endpoint too when it stalls on any other path (request timeout, JSON 408)', { timeout: 15_000 }, async () => {
    const { text, closedAfterMs } = await raw(
      'POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AmazonSQS.ListQueues\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 100\r\n\r\n{',
      8_000,
    );
    expect(closedAfterMs).toBeDefined();
    expect(closedAfterMs).toBeLessThan(7_000);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(jsonBodyOf(text)).toEqual({ message: 'Request Timeout' });
  });

  it('does not cut off a body that keeps coming, however slowly', async () => {
    const { port } = new URL(endpoint.url);
    const body = '{"events":[]}';
    const text = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('utf8');
        if (received.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(received);
        }
      });
      socket.write(`POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      let sent = 0;
      const drip = setInterval(() => {
        socket.write(body.slice(sent, sent + 4));
        sent += 4;
        if (sent >= body.length) clearInterval(drip);
      }, BODY_TIMEOUT_MS / 2);
    });
    expect(text).toMatch(/^HTTP\/1\.1 201 /);
  });
});

describe('paths', () => {
  it('answers 403 Missing Authentication Token for an empty segment (/v1//events), as no resource has one', async () => {
    for (const path of ['/v1//events', '/v1/events//', '//v1/events', '/v1']) {
      const response = await post(path);
      expect([path, response.status]).toEqual([path, path === '//v1/events' ? 404 : 403]);
      if (response.status === 403) expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
    }
  });

  it('routes a trailing slash (/v1/events/) to the resource, with the path as sent', async () => {
    const response = await post('/v1/events/');
    expect(response.status).toBe(201);
    const { event } = (await response.json()) as { event: { path: string; resource: string; requestContext: { path: string } } };
    expect(event.resource).toBe('/events');
    expect(event.path).toBe('/events/');
    expect(event.requestContext.path).toBe('/v1/events/');
  });
});

