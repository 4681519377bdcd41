/**
 * API Gateway REST APIs of the template served over HTTP at `/<stageName>/<resource path>`: the
 * request limits (431, 413, 408), routing (403), API keys and throttling (403, 429), then the
 * integration: mock (CORS preflight) or Lambda proxy, with its timeout (504) and errors (500, 502).
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { REQUEST_TOO_LARGE } from '../lambda-runtime';
import { BodyTimeout, BodyTooLarge, readBody } from '../read-body';
import type { Invoker, LocalResource } from '../types';
import { gatewayError } from './gateway-responses';
import { headerOf, proxyEvent, proxyResponse } from './proxy-event';
import { matchRoute, readRestApis, resourcePathOf } from './routing';
import { createUsageLimits, type Refusal } from './usage-plans';

export interface ApiGatewayOptions {
  resources: LocalResource[];
  invoker: Invoker;
  region: string;
  accountId: string;
  log?: (line: string) => void;
  /** A request body that sends nothing for this long is answered 408 and its connection closed (tests shorten it). */
  bodyTimeoutMs?: number;
}

export interface LocalApiGateway {
  /** Serves the request when it is for one of the APIs; false (nothing written) otherwise. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean>;
  apis: Array<{ logicalId: string; restApiId: string; stageName: string }>;
}

/**
 * REST API quotas (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html):
 * payload size 10 MB (a larger request gets the REQUEST_TOO_LARGE gateway response, 413). The
 * integration timeout is in routing.ts (DEFAULT_INTEGRATION_TIMEOUT_MS), read with each integration.
 */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * The same quota table: "Total combined size of request line and header values" 10240 bytes for a
 * REST API (not adjustable). AWS documents the limit but not the answer; clients report the
 * message "HTTP header is larger than 10240 bytes." (e.g. https://ntsblog.homedev.com.au/index.php/2021/03/09/aws-api-gateway-http-header-is-larger-than-10240-bytes/),
 * sent here with 431 Request Header Fields Too Large and API Gateway's JSON error shape.
 */
export const MAX_REQUEST_LINE_AND_HEADER_BYTES = 10_240;

/**
 * A body that stalls: API Gateway documents no client idle timeout for REST APIs; 30 s (just over
 * the 29 s integration timeout) without a byte ends it with 408 Request Timeout and closes the
 * connection, so a stalled client cannot hold a connection for ever.
 */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

/** How API Gateway answers a request that its API key, throttles or quota refuse. */
const REFUSALS: Record<Refusal, { statusCode: number; message: string; errorType: string }> = {
  INVALID_API_KEY: { statusCode: 403, message: 'Forbidden', errorType: 'ForbiddenException' },
  THROTTLED: { statusCode: 429, message: 'Too Many Requests', errorType: 'TooManyRequestsException' },
  QUOTA_EXCEEDED: { statusCode: 429, message: 'Limit Exceeded', errorType: 'LimitExceededException' },
};

export function createApiGateway(opts: ApiGatewayOptions): LocalApiGateway {
  const restApis = readRestApis(opts.resources);
  const limits = createUsageLimits(opts.resources);

  const apis = restApis.flatMap((api) => api.stages.map((stage) => ({ logicalId: api.logicalId, restApiId: api.restApiId, stageName: stage.stageName })));

  const bodyTimeoutMs = opts.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://local');
    const [, stageName = '', ...rest] = url.pathname.split('/');
    const api = restApis.find((candidate) => candidate.stages.some((stage) => stage.stageName === stageName));
    if (!api) return false;
    const stage = api.stages.find((candidate) => candidate.stageName === stageName)!;
    const requestId = randomUUID();
    if (requestLineAndHeaderBytes(req) > MAX_REQUEST_LINE_AND_HEADER_BYTES) {
      return gatewayError(api, 'DEFAULT_4XX', res, 431, `HTTP header is larger than ${MAX_REQUEST_LINE_AND_HEADER_BYTES} bytes.`, requestId, undefined, req, true);
    }
    // The path as sent (event.path keeps a trailing slash), and the resource path it names.
    const requestPath = rest.length === 0 ? '/' : `/${rest.join('/')}`;
    const resourcePathOfRequest = resourcePathOf(url.pathname, stageName, requestPath);
    const method = (req.method ?? 'GET').toUpperCase();
    const match = resourcePathOfRequest === undefined ? undefined : matchRoute(api.routes, resourcePathOfRequest, method);
    if (!match || resourcePathOfRequest === undefined) {
      return gatewayError(api, 'MISSING_AUTHENTICATION_TOKEN', res, 403, 'Missing Authentication Token', requestId, 'MissingAuthenticationTokenException', req);
    }
    const { route, pathParameters } = match;

    const admission = limits.admit(api, stage, route, headerOf(req, 'x-api-key'));
    if ('refusal' in admission) {
      const { statusCode, message, errorType } = REFUSALS[admission.refusal];
      return gatewayError(api, admission.refusal, res, statusCode, message, requestId, errorType, req);
    }
    const { apiKey } = admission;

    let body: Buffer;
    try {
      body = await readBody(req, { maxBytes: MAX_BODY_BYTES, idleMs: bodyTimeoutMs });
    } catch (error) {
      if (error instanceof BodyTooLarge) return gatewayError(api, 'REQUEST_TOO_LARGE', res, 413, 'Request Too Long', requestId, 'RequestTooLongException', req);
      if (error instanceof BodyTimeout) {
        opts.log?.(`[api ${api.logicalId}] ${method} ${url.pathname} -> 408: no body bytes for ${bodyTimeoutMs} ms`);
        return gatewayError(api, 'DEFAULT_4XX', res, 408, 'Request Timeout', requestId, undefined, undefined, true);
      }
      throw error;
    }

    const integration = route.integration;
    if (!integration) return gatewayError(api, 'DEFAULT_5XX', res, 500, 'Internal server error', requestId, 'InternalServerErrorException');
    if (integration.type === 'MOCK') {
      res.writeHead(integration.statusCode, { ...integration.headers, 'x-amzn-RequestId': requestId });
      res.end(integration.body);
      return true;
    }

    const event = proxyEvent({
      req,
      url,
      api,
      stage,
      route,
      pathParameters,
      path: requestPath,
      body,
      requestId,
      accountId: opts.accountId,
      apiKey,
    });
    // API Gateway stops waiting at the integration timeout; the function itself runs on (and may
    // still write), as on AWS.
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      opts.invoker.invoke(integration.functionArn, event),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), integration.timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (result === 'timeout') {
      opts.log?.(`[api ${api.logicalId}] ${method} ${url.pathname} -> 504: integration timed out after ${integration.timeoutMs} ms`);
      return gatewayError(api, 'INTEGRATION_TIMEOUT', res, 504, 'Endpoint request timed out', requestId);
    }
    if (!result.ok && result.errorType === REQUEST_TOO_LARGE) {
      // Lambda refused the invocation itself (the proxy event is over its 6 MB synchronous limit,
      // e.g. a ~4.4 MB body base64-encoded): an integration failure, not a function error, which
      // API Gateway answers 500 as it does Lambda's other invoke errors (throttling, permissions):
      // https://repost.aws/knowledge-center/api-gateway-internal-server-error
      opts.log?.(`[api ${api.logicalId}] ${method} ${url.pathname} -> 500: ${result.errorType}: ${result.errorMessage}`);
      return gatewayError(api, 'DEFAULT_5XX', res, 500, 'Internal server error', requestId, 'InternalServerErrorException');
    }
    if (!result.ok) {
      // A function error (thrown, timed out, crashed, response over 6 MB): 502.
      opts.log?.(`[api ${api.logicalId}] ${method} ${url.pathname} -> 502: ${result.errorType}: ${result.errorMessage}`);
      return gatewayError(api, 'DEFAULT_5XX', res, 502, 'Internal server error', requestId, 'InternalServerErrorException');
    }
    const response = proxyResponse(result.payload);
    if (!response) {
      opts.log?.(`[api ${api.logicalId}] ${method} ${url.pathname} -> 502: malformed Lambda proxy response`);
      return gatewayError(api, 'DEFAULT_5XX', res, 502, 'Internal server error', requestId, 'InternalServerErrorException');
    }
    const headers = response.headers;
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    headers['x-amzn-RequestId'] = requestId;
    res.writeHead(response.statusCode, headers);
    res.end(response.body);
    return true;
  }

  return { handle, apis };
}

/** Request line (`POST /v1/events HTTP/1.1`) plus every header value, in bytes, as the quota counts them. */
function requestLineAndHeaderBytes(req: http.IncomingMessage): number {
  let bytes = Buffer.byteLength(`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}`);
  for (let index = 1; index < req.rawHeaders.length; index += 2) bytes += Buffer.byteLength(req.rawHeaders[index]!);
  return bytes;
}
