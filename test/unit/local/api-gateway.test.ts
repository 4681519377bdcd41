import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { APIGatewayProxyEventSchema } from '@aws-lambda-powertools/parser/schemas';
import { isBinary } from '../../../tools/local-cloud/api-gateway/proxy-event';
import { createApiGateway } from '../../../tools/local-cloud/api-gateway/server';
import { createLambdaRuntime, type LambdaRuntime } from '../../../tools/local-cloud/lambda-runtime';
import type { Invoker, LocalResource } from '../../../tools/local-cloud/types';
import { ACCOUNT_ID, REGION, functionResource, templateResource } from '../../fixtures/local-functions/resources';

// Resources as the template reader resolves CDK's RestApi, LambdaIntegration, CORS preflight,
// ApiKey, UsagePlan and UsagePlanKey.
const proxyFn = functionResource('Collector', 'api-proxy');
const failFn = functionResource('Broken', 'fail');
const uri = (fn: LocalResource) =>
  `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${fn.attributes.Arn}/invocations`;
const resource = templateResource;

const API_KEY = 'local-api-key-value-0123456789';
const resources: LocalResource[] = [
  proxyFn,
  failFn,
  resource('IngestApi', 'AWS::ApiGateway::RestApi', { Name: 'IngestApi', BinaryMediaTypes: ['*/*'] }, 'ingestapi1', { RootResourceId: 'root1' }),
  resource('IngestApiEvents', 'AWS::ApiGateway::Resource', { ParentId: 'root1', PathPart: 'events', RestApiId: 'ingestapi1' }, 'res-events'),
  resource('IngestApiEventsPOST', 'AWS::ApiGateway::Method', {
    HttpMethod: 'POST',
    ResourceId: 'res-events',
    RestApiId: 'ingestapi1',
    AuthorizationType: 'NONE',
    ApiKeyRequired: true,
    Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST', Uri: uri(proxyFn) },
  }, 'm-post'),
  resource('IngestApiEventsOPTIONS', 'AWS::ApiGateway::Method', {
    HttpMethod: 'OPTIONS',
    ResourceId: 'res-events',
    RestApiId: 'ingestapi1',
    AuthorizationType: 'NONE',
    Integration: {
      Type: 'MOCK',
      RequestTemplates: { 'application/json': '{ statusCode: 200 }' },
      IntegrationResponses: [
        {
          StatusCode: '204',
          ResponseParameters: {
            'method.response.header.Access-Control-Allow-Headers': "'Content-Type,X-Api-Key'",
            'method.response.header.Access-Control-Allow-Origin': "'*'",
            'method.response.header.Access-Control-Allow-Methods': "'POST,OPTIONS'",
          },
        },
      ],
    },
  }, 'm-options'),
  resource('IngestApiDeployment', 'AWS::ApiGateway::Deployment', { RestApiId: 'ingestapi1' }, 'dep1'),
  resource('IngestApiStage', 'AWS::ApiGateway::Stage', { RestApiId: 'ingestapi1', DeploymentId: 'dep1', StageName: 'v1' }, 'v1'),
  resource('ApiKey', 'AWS::ApiGateway::ApiKey', { Enabled: true, Value: API_KEY }, 'key-id-1'),
  resource('UsagePlan', 'AWS::ApiGateway::UsagePlan', {
    ApiStages: [{ ApiId: 'ingestapi1', Stage: 'v1' }],
    Throttle: { RateLimit: 0.01, BurstLimit: 1000 },
  }, 'plan-1'),
  resource('UsagePlanKey', 'AWS::ApiGateway::UsagePlanKey', { KeyId: 'key-id-1', KeyType: 'API_KEY', UsagePlanId: 'plan-1' }, 'upk-1'),
  // A second API: text bodies, path parameters, a greedy proxy, a broken function and a tight throttle.
  resource('ShopApi', 'AWS::ApiGateway::RestApi', { Name: 'ShopApi' }, 'shopapi2', { RootResourceId: 'root2' }),
  resource('ShopItems', 'AWS::ApiGateway::Resource', { ParentId: 'root2', PathPart: 'items', RestApiId: 'shopapi2' }, 'res-items'),
  resource('ShopItem', 'AWS::ApiGateway::Resource', { ParentId: 'res-items', PathPart: '{itemId}', RestApiId: 'shopapi2' }, 'res-item'),
  resource('ShopItemGET', 'AWS::ApiGateway::Method', {
    HttpMethod: 'GET', ResourceId: 'res-item', RestApiId: 'shopapi2', Integration: { Type: 'AWS_PROXY', Uri: uri(proxyFn) },
  }, 'm-item'),
  resource('ShopProxy', 'AWS::ApiGateway::Resource', { ParentId: 'root2', PathPart: '{proxy+}', RestApiId: 'shopapi2' }, 'res-proxy'),
  resource('ShopProxyANY', 'AWS::ApiGateway::Method', {
    HttpMethod: 'ANY', ResourceId: 'res-proxy', RestApiId: 'shopapi2', Integration: { Type: 'AWS_PROXY', Uri: uri(proxyFn) },
  }, 'm-proxy'),
  resource('ShopBroken', 'AWS::ApiGateway::Resource', { ParentId: 'root2', PathPart: 'broken', RestApiId: 'shopapi2' }, 'res-broken'),
  resource('ShopBrokenPOST', 'AWS::ApiGateway::Method', {
    HttpMethod: 'POST', ResourceId: 'res-broken', RestApiId: 'shopapi2', Integration: { Type: 'AWS_PROXY', Uri: uri(failFn) },
  }, 'm-broken'),
  resource('ShopLimited', 'AWS::ApiGateway::Resource', { ParentId: 'root2', PathPart: 'limited', RestApiId: 'shopapi2' }, 'res-limited'),
  resource('ShopLimitedPOST', 'AWS::ApiGateway::Method', {
    HttpMethod: 'POST', ResourceId: 'res-limited', RestApiId: 'shopapi2', ApiKeyRequired: true, Integration: { Type: 'AWS_PROXY', Uri: uri(proxyFn) },
  }, 'm-limited'),
  resource('ShopStage', 'AWS::ApiGateway::Stage', { RestApiId: 'shopapi2', DeploymentId: 'dep2', StageName: 'dev', Variables: { tier: 'local' } }, 'dev'),
  resource('ShopKey', 'AWS::ApiGateway::ApiKey', { Enabled: true, Value: 'shop-key' }, 'key-id-2'),
  resource('ShopPlan', 'AWS::ApiGateway::UsagePlan', {
    ApiStages: [{ ApiId: 'shopapi2', Stage: 'dev', Throttle: { '/limited/POST': { RateLimit: 0.01, BurstLimit: 2 } } }],
  }, 'plan-2'),
  resource('ShopPlanKey', 'AWS::ApiGateway::UsagePlanKey', { KeyId: 'key-id-2', KeyType: 'API_KEY', UsagePlanId: 'plan-2' }, 'upk-2'),
];

let runtime: LambdaRuntime;
let server: http.Server;
let base: string;
let invocations: string[];

beforeAll(async () => {
  runtime = createLambdaRuntime({ resources, endpoint: 'http://127.0.0.1:1', region: REGION, accountId: ACCOUNT_ID });
  const invoker: Invoker = {
    invoke: (name, event) => {
      invocations.push(name);
      return runtime.invoke(name, event);
    },
  };
  const gateway = createApiGateway({ resources, invoker, region: REGION, accountId: ACCOUNT_ID });
  server = http.createServer((req, res) => {
    void gateway.handle(req, res).then((handled) => {
      if (!handled) {
        res.writeHead(404);
        res.end('not an API');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(() => {
  invocations = [];
});

afterAll(async () => {
  await runtime?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

const postEvents = (headers: Record<string, string>, body: string | Buffer = '{"events":[]}') =>
  fetch(`${base}/v1/events?source=test&tag=a&tag=b`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('local API Gateway', () => {
  it('lists the APIs with their stages', () => {
    const gateway = createApiGateway({ resources, invoker: runtime, region: REGION, accountId: ACCOUNT_ID });
    expect(gateway.apis).toEqual([
      { logicalId: 'IngestApi', restApiId: 'ingestapi1', stageName: 'v1' },
      { logicalId: 'ShopApi', restApiId: 'shopapi2', stageName: 'dev' },
    ]);
  });

  it('answers 403 Forbidden without an API key or with a wrong one, and never invokes the function', async () => {
    for (const headers of [{}, { 'x-api-key': 'wrong' }, { 'x-api-key': 'shop-key' }] as Array<Record<string, string>>) {
      const response = await postEvents(headers);
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ message: 'Forbidden' });
    }
    expect(invocations).toEqual([]);
  });

  it('answers 403 Missing Authentication Token for an unknown route or method, and leaves other paths alone', async () => {
    const unknown = await fetch(`${base}/v1/nothing-here`, { method: 'POST' });
    expect(unknown.status).toBe(403);
    expect(await unknown.json()).toEqual({ message: 'Missing Authentication Token' });
    const wrongMethod = await fetch(`${base}/v1/events`);
    expect(wrongMethod.status).toBe(403);
    expect(await wrongMethod.json()).toEqual({ message: 'Missing Authentication Token' });
    const notApi = await fetch(`${base}/not-a-stage/events`);
    expect(notApi.status).toBe(404);
    expect(await notApi.text()).toBe('not an API');
  });

  it('proxies a keyed request as an APIGatewayProxyEvent, base64 body for a binary media type, and maps the response', async () => {
    const sent = Buffer.from(JSON.stringify({ events: [{ event_type: 'page_view' }] }));
    const response = await postEvents({ 'x-api-key': API_KEY, 'user-agent': 'pipeline-test' }, sent);
    expect(response.status).toBe(201);
    expect(response.headers.get('x-handled-by')).toBe('api-proxy');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    const { event } = (await response.json()) as { event: unknown };
    const parsed = APIGatewayProxyEventSchema.parse(event);
    expect(parsed).toMatchObject({
      resource: '/events',
      path: '/events',
      httpMethod: 'POST',
      queryStringParameters: { source: 'test', tag: 'b' },
      multiValueQueryStringParameters: { source: ['test'], tag: ['a', 'b'] },
      pathParameters: null,
      stageVariables: null,
      isBase64Encoded: true,
      requestContext: {
        accountId: ACCOUNT_ID,
        apiId: 'ingestapi1',
        resourceId: 'res-events',
        resourcePath: '/events',
        stage: 'v1',
        path: '/v1/events',
        httpMethod: 'POST',
        deploymentId: 'dep1',
        identity: { sourceIp: '127.0.0.1', apiKey: API_KEY, apiKeyId: 'key-id-1', userAgent: 'pipeline-test' },
      },
    });
    expect(Buffer.from(parsed.body!, 'base64')).toEqual(sent);
    expect(parsed.headers).toMatchObject({ 'content-type': 'application/json', 'x-api-key': API_KEY });
    expect(parsed.requestContext.requestTime).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
    expect(response.headers.get('x-amzn-requestid')).toBe(parsed.requestContext.requestId);
    expect(invocations).toEqual([proxyFn.attributes.Arn]);
  });

  it('passes text bodies, path parameters, greedy proxies and stage variables on an API without binary types', async () => {
    const item = await fetch(`${base}/dev/items/sku%2042`);
    const itemEvent = APIGatewayProxyEventSchema.parse(((await item.json()) as { event: unknown }).event);
    expect(itemEvent).toMatchObject({ resource: '/items/{itemId}', pathParameters: { itemId: 'sku 42' }, stageVariables: { tier: 'local' }, body: null, isBase64Encoded: false });

    const proxied = await fetch(`${base}/dev/a/b/c`, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'plain text' });
    const proxiedEvent = APIGatewayProxyEventSchema.parse(((await proxied.json()) as { event: unknown }).event);
    expect(proxiedEvent).toMatchObject({ resource: '/{proxy+}', path: '/a/b/c', pathParameters: { proxy: 'a/b/c' }, body: 'plain text', isBase64Encoded: false });
  });

  it('decodes a base64 function response to bytes', async () => {
    const response = await fetch(`${base}/dev/files/binary`);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('answers 502 Internal server error when the function fails or answers a malformed proxy response', async () => {
    const failed = await fetch(`${base}/dev/broken`, { method: 'POST', body: '{}' });
    expect(failed.status).toBe(502);
    expect(await failed.json()).toEqual({ message: 'Internal server error' });
    const malformed = await fetch(`${base}/dev/x/malformed`);
    expect(malformed.status).toBe(502);
  });

  it('throttles per key with the usage plan token bucket: 429 Too Many Requests past the burst', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const response = await fetch(`${base}/dev/limited`, { method: 'POST', headers: { 'x-api-key': 'shop-key' }, body: '{}' });
      statuses.push(response.status);
      if (response.status === 429) expect(await response.json()).toEqual({ message: 'Too Many Requests' });
      else await response.arrayBuffer();
    }
    expect(statuses).toEqual([201, 201, 429, 429]);
  });

  it('answers a CORS preflight from the mock integration', async () => {
    const response = await fetch(`${base}/v1/events`, { method: 'OPTIONS' });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toBe('POST,OPTIONS');
    expect(response.headers.get('access-control-allow-headers')).toBe('Content-Type,X-Api-Key');
    expect(invocations).toEqual([]);
  });

  it('answers 413 for a body over 10 MB', async () => {
    const response = await postEvents({ 'x-api-key': API_KEY }, Buffer.alloc(10 * 1024 * 1024 + 1, 0x20));
    expect(response.status).toBe(413);
    expect(invocations).toEqual([]);
  });
});

describe('binary media types', () => {
  it('match exactly, by wildcard subtype or by */*, ignoring parameters', () => {
    expect(isBinary('application/json; charset=utf-8', ['*/*'])).toBe(true);
    expect(isBinary('image/png', ['image/*'])).toBe(true);
    expect(isBinary('application/octet-stream', ['application/octet-stream'])).toBe(true);
    expect(isBinary('application/json', ['image/*'])).toBe(false);
    expect(isBinary(undefined, [])).toBe(false);
  });
});
