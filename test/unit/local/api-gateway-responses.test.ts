import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiGateway } from '../../../tools/local-cloud/api-gateway/server';
import type { Invoker, LocalResource } from '../../../tools/local-cloud/types';
import { ACCOUNT_ID, REGION, templateResource } from '../../fixtures/local-functions/resources';

// The API's AWS::ApiGateway::GatewayResponse resources shape API Gateway's own errors locally as
// on AWS: the response of the error's type, else DEFAULT_4XX/DEFAULT_5XX; static headers and
// the JSON template with $context.error.messageString (the quoted message).

const resource = templateResource;
const ORIGIN = 'https://shop.example.com';
const template = { 'application/json': '{"message":$context.error.messageString}' };
const resources: LocalResource[] = [
  resource('Api', 'AWS::ApiGateway::RestApi', { Name: 'Api' }, 'api1', { RootResourceId: 'root1' }),
  resource('ApiEvents', 'AWS::ApiGateway::Resource', { ParentId: 'root1', PathPart: 'events', RestApiId: 'api1' }, 'res-events'),
  resource('ApiEventsPOST', 'AWS::ApiGateway::Method', { HttpMethod: 'POST', ResourceId: 'res-events', RestApiId: 'api1', ApiKeyRequired: true, Integration: { Type: 'AWS_PROXY', Uri: 'x' } }, 'm-post'),
  resource('ApiStage', 'AWS::ApiGateway::Stage', { RestApiId: 'api1', DeploymentId: 'dep1', StageName: 'v1' }, 'v1'),
  resource('ApiKey', 'AWS::ApiGateway::ApiKey', { Enabled: true, Value: 'k' }, 'key-1'),
  resource('Plan', 'AWS::ApiGateway::UsagePlan', { ApiStages: [{ ApiId: 'api1', Stage: 'v1' }] }, 'plan-1'),
  resource('PlanKey', 'AWS::ApiGateway::UsagePlanKey', { KeyId: 'key-1', KeyType: 'API_KEY', UsagePlanId: 'plan-1' }, 'pk-1'),
  resource('InvalidKey', 'AWS::ApiGateway::GatewayResponse', {
    RestApiId: 'api1',
    ResponseType: 'INVALID_API_KEY',
    StatusCode: '403',
    ResponseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': `'${ORIGIN}'`, 'gatewayresponse.header.Vary': "'Origin'" },
    ResponseTemplates: template,
  }, 'gr-1'),
  resource('Default4xx', 'AWS::ApiGateway::GatewayResponse', {
    RestApiId: 'api1',
    ResponseType: 'DEFAULT_4XX',
    ResponseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': `'${ORIGIN}'` },
    ResponseTemplates: template,
  }, 'gr-2'),
];

let server: http.Server;
let base = '';
beforeAll(async () => {
  const invoker: Invoker = { invoke: async () => ({ ok: true, payload: { statusCode: 200, body: '{}' }, durationMs: 1 }) };
  const gateway = createApiGateway({ resources, invoker, region: REGION, accountId: ACCOUNT_ID });
  server = http.createServer((req, res) => {
    void gateway.handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('gateway responses on the local API', () => {
  it('a wrong key gets the INVALID_API_KEY response: its status, headers and JSON body', async () => {
    const response = await fetch(`${base}/events`, { method: 'POST', headers: { 'x-api-key': 'wrong' }, body: '{}' });
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(response.headers.get('vary')).toBe('Origin');
    expect(await response.json()).toEqual({ message: 'Forbidden' });
  });

  it('another 4XX without a response of its own gets DEFAULT_4XX, with its own status', async () => {
    const response = await fetch(`${base}/nowhere`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
  });
});
