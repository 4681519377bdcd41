/** The APIGatewayProxyEvent a Lambda proxy integration receives, and reading the function's proxy response. */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { RestApi, Route, Stage } from './routing';
import type { ApiKey } from './usage-plans';

export function headerOf(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

interface ProxyEventInput {
  req: http.IncomingMessage;
  url: URL;
  api: RestApi;
  stage: Stage;
  route: Route;
  pathParameters: Record<string, string> | null;
  path: string;
  body: Buffer;
  requestId: string;
  accountId: string;
  apiKey: ApiKey | undefined;
}

/** The APIGatewayProxyEvent a REST API's Lambda proxy integration sends. */
export function proxyEvent(input: ProxyEventInput) {
  const { req, url, api, stage, route, body } = input;
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = raw[index]!;
    const value = raw[index + 1]!;
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const sourceIp = clientIp(req);
  const forwarded: Record<string, string> = {
    'X-Forwarded-For': sourceIp,
    'X-Forwarded-Port': String(req.socket.localPort ?? 80),
    'X-Forwarded-Proto': 'http',
  };
  for (const [name, value] of Object.entries(forwarded)) {
    if (headers[name] === undefined) {
      headers[name] = value;
      multiValueHeaders[name] = [value];
    }
  }

  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const hasQuery = Object.keys(query).length > 0;

  const contentType = headerOf(req, 'content-type');
  const binary = isBinary(contentType, api.binaryMediaTypes);
  const now = new Date();
  const host = headerOf(req, 'host') ?? 'localhost';
  const userAgent = headerOf(req, 'user-agent') ?? null;

  return {
    resource: route.resourcePath,
    path: input.path,
    httpMethod: (req.method ?? 'GET').toUpperCase(),
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: input.pathParameters,
    stageVariables: stage.variables,
    requestContext: {
      resourceId: route.resourceId,
      resourcePath: route.resourcePath,
      httpMethod: (req.method ?? 'GET').toUpperCase(),
      extendedRequestId: randomBytes(12).toString('base64url'),
      requestTime: apiGatewayTime(now),
      path: `/${stage.stageName}${input.path === '/' ? '/' : input.path}`,
      accountId: input.accountId,
      protocol: `HTTP/${req.httpVersion}`,
      stage: stage.stageName,
      domainPrefix: host.split('.')[0]!.split(':')[0]!,
      requestTimeEpoch: now.getTime(),
      requestId: input.requestId,
      identity: {
        cognitoIdentityPoolId: null,
        accountId: null,
        cognitoIdentityId: null,
        caller: null,
        sourceIp,
        principalOrgId: null,
        accessKey: null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        userArn: null,
        userAgent,
        user: null,
        apiKey: input.apiKey?.value ?? null,
        apiKeyId: input.apiKey?.id ?? null,
      },
      domainName: host.split(':')[0]!,
      deploymentId: stage.deploymentId,
      apiId: api.restApiId,
    },
    body: body.length === 0 ? null : binary ? body.toString('base64') : body.toString('utf8'),
    isBase64Encoded: body.length > 0 && binary,
  };
}

function clientIp(req: http.IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '127.0.0.1';
  // Node reports IPv4 clients of a dual-stack socket as IPv4-mapped IPv6; API Gateway shows IPv4.
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/** Whether a content type matches the API's binary media types (`*\/*`, `image/*`, exact). */
export function isBinary(contentType: string | undefined, binaryMediaTypes: string[]): boolean {
  if (binaryMediaTypes.length === 0) return false;
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const [type = '', subtype = ''] = mediaType.split('/');
  return binaryMediaTypes.some((pattern) => {
    const [patternType = '', patternSubtype = ''] = pattern.toLowerCase().split('/');
    return (patternType === '*' || patternType === type) && (patternSubtype === '*' || patternSubtype === subtype);
  });
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// `22/Nov/2026:10:00:00 +0000`, as requestContext.requestTime.
function apiGatewayTime(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

export function proxyResponse(payload: unknown): { statusCode: number; headers: Record<string, string | string[]>; body: Buffer } | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const response = payload as { statusCode?: unknown; headers?: unknown; multiValueHeaders?: unknown; body?: unknown; isBase64Encoded?: unknown };
  const statusCode = Number(response.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return undefined;
  // Header names are case-insensitive: values for one name from headers and multiValueHeaders are merged, as AWS does.
  const byLowerName = new Map<string, { name: string; values: string[] }>();
  const add = (name: string, value: unknown) => {
    const entry = byLowerName.get(name.toLowerCase()) ?? { name, values: [] };
    if (!entry.values.includes(String(value))) entry.values.push(String(value));
    byLowerName.set(name.toLowerCase(), entry);
  };
  for (const [name, values] of Object.entries((response.multiValueHeaders as Record<string, unknown> | null) ?? {})) {
    if (Array.isArray(values)) for (const value of values) add(name, value);
  }
  for (const [name, value] of Object.entries((response.headers as Record<string, unknown> | null) ?? {})) add(name, value);
  const headers: Record<string, string | string[]> = {};
  for (const { name, values } of byLowerName.values()) headers[name] = values.length === 1 ? values[0]! : values;
  const text = response.body === undefined || response.body === null ? '' : String(response.body);
  const body = response.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { statusCode, headers, body };
}
