import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiGateway } from '../../../tools/local-cloud/api-gateway/server';
import { createLambdaRuntime, type LambdaRuntime } from '../../../tools/local-cloud/lambda-runtime';
import type { LocalResource } from '../../../tools/local-cloud/types';
import { ACCOUNT_ID, REGION, functionResource, templateResource } from '../../fixtures/local-functions/resources';

// One API with binary media types */* (as the ingest API), a proxy resource and a method whose
// integration times out after 1.5 s (TimeoutInMillis; 29 s when unset).
const sized = functionResource('Sized', 'api-sized');
const uri = `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${sized.attributes.Arn}/invocations`;
const resource = templateResource;
const resources: LocalResource[] = [
  sized,
  resource('Api', 'AWS::ApiGateway::RestApi', { Name: 'Api', BinaryMediaTypes: ['*/*'] }, 'api1', { RootResourceId: 'root1' }),
  resource('ApiProxy', 'AWS::ApiGateway::Resource', { ParentId: 'root1', PathPart: '{proxy+}', RestApiId: 'api1' }, 'res-proxy'),
  resource('ApiProxyANY', 'AWS::ApiGateway::Method', {
    HttpMethod: 'ANY', ResourceId: 'res-proxy', RestApiId: 'api1', Integration: { Type: 'AWS_PROXY', Uri: uri },
  }, 'm-proxy'),
  resource('ApiSlow', 'AWS::ApiGateway::Resource', { ParentId: 'root1', PathPart: 'slow', RestApiId: 'api1' }, 'res-slow'),
  resource('ApiSlowGET', 'AWS::ApiGateway::Method', {
    HttpMethod: 'GET', ResourceId: 'res-slow', RestApiId: 'api1', Integration: { Type: 'AWS_PROXY', Uri: uri, TimeoutInMillis: 1500 },
  }, 'm-slow'),
  resource('ApiStage', 'AWS::ApiGateway::Stage', { RestApiId: 'api1', DeploymentId: 'dep1', StageName: 'v1' }, 'v1'),
];

let runtime: LambdaRuntime;
let server: http.Server;
let base: string;

beforeAll(async () => {
  runtime = createLambdaRuntime({ resources, endpoint: 'http://127.0.0.1:1', region: REGION, accountId: ACCOUNT_ID });
  const gateway = createApiGateway({ resources, invoker: runtime, region: REGION, accountId: ACCOUNT_ID });
  server = http.createServer((req, res) => void gateway.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await runtime?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

const upload = (bytes: number) =>
  fetch(`${base}/v1/upload`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(bytes, 0x61) });

describe('local API Gateway limits', () => {
  it('answers 504 Endpoint request timed out when the integration takes longer than its timeout', async () => {
    const quick = await fetch(`${base}/v1/slow?ms=10`);
    expect(quick.status).toBe(200);
    const began = Date.now();
    const response = await fetch(`${base}/v1/slow?ms=6000`);
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({ message: 'Endpoint request timed out' });
    expect(Date.now() - began).toBeLessThan(4_000);
  });

  it('hands a 4 MB binary body on base64-encoded, within the 6 MB Lambda request', async () => {
    const response = await upload(4 * 1024 * 1024);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: 4 * 1024 * 1024 });
  });

  it('answers 500 Internal server error when the base64-encoded body makes the Lambda request exceed 6 MB', async () => {
    // 4.8 MB is under API Gateway's 10 MB but base64 makes the proxy event ~6.4 MB: Lambda refuses it.
    const response = await upload(4.8 * 1024 * 1024);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal server error' });
  });

  it('answers 502 when the function response is over 6 MB', async () => {
    const response = await fetch(`${base}/v1/big?bytes=${7 * 1024 * 1024}`);
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ message: 'Internal server error' });
  });

  it('answers 413 for a body over 10 MB without invoking the function', async () => {
    const response = await upload(10 * 1024 * 1024 + 1);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: 'Request Too Long' });
  });
});
