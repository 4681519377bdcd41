import { randomBytes, randomUUID } from 'node:crypto';
import type http from 'node:http';
import { REQUEST_TOO_LARGE } from './lambda-runtime';
import { BodyTimeout, BodyTooLarge, readBody } from './read-body';
import type { Invoker, LocalResource } from './types';

/**
 * API Gateway REST APIs of the template served over HTTP at `/<stageName>/<resource path>`:
 * resources and methods, Lambda proxy integrations (the APIGatewayProxyEvent AWS builds), mock
 * integrations (CORS preflight), API keys (403), usage-plan and stage throttling (429) and quotas,
 * the 10 MB payload limit (413) and the integration timeout (504), with the error bodies AWS answers.
 */

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
 * payload size 10 MB (a larger request gets the REQUEST_TOO_LARGE gateway response, 413), and an
 * integration timeout of 50 ms to 29 s, 29 s by default (the INTEGRATION_TIMEOUT gateway response,
 * 504 "Endpoint request timed out"; https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
 */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
export const DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000;

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

type Integration =
  | { type: 'AWS_PROXY'; functionArn: string; timeoutMs: number }
  | { type: 'MOCK'; statusCode: number; headers: Record<string, string>; body: string };

interface Route {
  resourceId: string;
  resourcePath: string;
  segments: string[];
  httpMethod: string;
  apiKeyRequired: boolean;
  integration: Integration | undefined;
}

interface Throttle {
  rateLimit?: number;
  burstLimit?: number;
}

interface Quota {
  limit: number;
  period: 'DAY' | 'WEEK' | 'MONTH';
}

interface Stage {
  logicalId: string;
  stageName: string;
  deploymentId: string | null;
  variables: Record<string, string> | null;
  /** Stage-wide method throttles, by `<resourcePath>/<METHOD>` (`/*` + `/*` for all). */
  methodThrottles: Map<string, Throttle>;
}

interface RestApi {
  logicalId: string;
  restApiId: string;
  binaryMediaTypes: string[];
  routes: Route[];
  stages: Stage[];
  /** AWS::ApiGateway::GatewayResponse by ResponseType (THROTTLED, DEFAULT_4XX, ...). */
  gatewayResponses: Map<string, GatewayResponse>;
}

/** How the API answers one of API Gateway's own errors. */
interface GatewayResponse {
  statusCode?: number;
  /** `gatewayresponse.header.<Name>` -> `'static value'` or `method.request.header.<Name>`. */
  parameters: Record<string, string>;
  /** By content type; `$context.error.messageString` is the quoted message. */
  templates: Record<string, string>;
}

interface UsagePlan {
  id: string;
  throttle?: Throttle;
  quota?: Quota;
  /** `<restApiId>/<stageName>` -> per-method throttles by `<resourcePath>/<METHOD>`. */
  stages: Map<string, Map<string, Throttle>>;
}

interface ApiKey {
  id: string;
  value: string;
  enabled: boolean;
  planIds: string[];
}

export function createApiGateway(opts: ApiGatewayOptions): LocalApiGateway {
  const restApis = readRestApis(opts.resources);
  const plans = readUsagePlans(opts.resources);
  const keys = readApiKeys(opts.resources);
  const buckets = new Map<string, TokenBucket>();
  const quotaUse = new Map<string, { period: number; used: number }>();

  const apis = restApis.flatMap((api) => api.stages.map((stage) => ({ logicalId: api.logicalId, restApiId: api.restApiId, stageName: stage.stageName })));

  function bucket(id: string, throttle: Throttle | undefined): TokenBucket | undefined {
    if (throttle?.rateLimit === undefined && throttle?.burstLimit === undefined) return undefined;
    let found = buckets.get(id);
    if (!found) {
      found = new TokenBucket(throttle.rateLimit ?? Number.POSITIVE_INFINITY, throttle.burstLimit ?? throttle.rateLimit ?? 0);
      buckets.set(id, found);
    }
    return found;
  }

  function withinQuota(key: ApiKey, plan: UsagePlan): boolean {
    if (!plan.quota) return true;
    const period = periodIndex(plan.quota.period, new Date());
    const id = `${plan.id}/${key.id}`;
    const use = quotaUse.get(id);
    const current = use && use.period === period ? use : { period, used: 0 };
    if (current.used >= plan.quota.limit) return false;
    current.used += 1;
    quotaUse.set(id, current);
    return true;
  }

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

    let apiKey: ApiKey | undefined;
    if (route.apiKeyRequired) {
      const presented = headerOf(req, 'x-api-key');
      const stageKey = `${api.restApiId}/${stage.stageName}`;
      apiKey = keys.find(
        (key) => key.enabled && key.value === presented && key.planIds.some((planId) => plans.get(planId)?.stages.has(stageKey)),
      );
      if (!apiKey) return gatewayError(api, 'INVALID_API_KEY', res, 403, 'Forbidden', requestId, 'ForbiddenException', req);
      const plan = apiKey.planIds.map((planId) => plans.get(planId)).find((candidate) => candidate?.stages.has(stageKey))!;
      const methodKey = `${route.resourcePath}/${route.httpMethod}`;
      const methodThrottle = plan.stages.get(stageKey)?.get(methodKey);
      const keyBucket = methodThrottle
        ? bucket(`plan:${plan.id}/${apiKey.id}/${stageKey}${methodKey}`, methodThrottle)
        : bucket(`plan:${plan.id}/${apiKey.id}`, plan.throttle);
      if (keyBucket && !keyBucket.take()) {
        return gatewayError(api, 'THROTTLED', res, 429, 'Too Many Requests', requestId, 'TooManyRequestsException', req);
      }
      if (!withinQuota(apiKey, plan)) return gatewayError(api, 'QUOTA_EXCEEDED', res, 429, 'Limit Exceeded', requestId, 'LimitExceededException', req);
    }
    const stageThrottleKey = `${route.resourcePath}/${route.httpMethod}`;
    const stageThrottle = stage.methodThrottles.get(stageThrottleKey) ?? stage.methodThrottles.get('/*/*');
    const stageBucket = bucket(`stage:${api.restApiId}/${stage.stageName}/${stage.methodThrottles.has(stageThrottleKey) ? stageThrottleKey : '*'}`, stageThrottle);
    if (stageBucket && !stageBucket.take()) {
      return gatewayError(api, 'THROTTLED', res, 429, 'Too Many Requests', requestId, 'TooManyRequestsException', req);
    }

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

// ---------------------------------------------------------------------------------------------
// Reading the template

function readRestApis(resources: LocalResource[]): RestApi[] {
  const ofType = (type: string) => resources.filter((resource) => resource.type === type);
  return ofType('AWS::ApiGateway::RestApi').map((apiResource) => {
    const restApiId = apiResource.ref;
    const rootId = apiResource.attributes.RootResourceId ?? `${restApiId}-root`;
    const belongs = (resource: LocalResource) => resource.properties.RestApiId === restApiId;

    const parents = new Map<string, { parentId: string; pathPart: string }>();
    for (const resource of ofType('AWS::ApiGateway::Resource').filter(belongs)) {
      parents.set(resource.ref, { parentId: String(resource.properties.ParentId), pathPart: String(resource.properties.PathPart) });
    }
    const pathOf = (resourceId: string, depth = 0): string => {
      if (resourceId === rootId || depth > 64) return '/';
      const node = parents.get(resourceId);
      if (!node) return '/';
      const parentPath = pathOf(node.parentId, depth + 1);
      return `${parentPath === '/' ? '' : parentPath}/${node.pathPart}`;
    };

    const routes = ofType('AWS::ApiGateway::Method')
      .filter(belongs)
      .map((resource): Route => {
        const props = resource.properties;
        const resourceId = String(props.ResourceId);
        const resourcePath = pathOf(resourceId);
        return {
          resourceId,
          resourcePath,
          segments: resourcePath.split('/').filter(Boolean),
          httpMethod: String(props.HttpMethod ?? 'ANY').toUpperCase(),
          apiKeyRequired: props.ApiKeyRequired === true || props.ApiKeyRequired === 'true',
          integration: integrationOf(props.Integration),
        };
      });

    // A stage is an AWS::ApiGateway::Stage, or the StageName of a deployment declared without one.
    const stageProps: Array<{ logicalId: string; props: Record<string, unknown> }> = [
      ...ofType('AWS::ApiGateway::Stage')
        .filter(belongs)
        .map((resource) => ({ logicalId: resource.logicalId, props: resource.properties })),
      ...ofType('AWS::ApiGateway::Deployment')
        .filter(belongs)
        .filter((resource) => typeof resource.properties.StageName === 'string')
        .map((resource) => ({ logicalId: resource.logicalId, props: { ...resource.properties, DeploymentId: resource.ref } })),
    ];
    const stages = stageProps.map(({ logicalId, props }): Stage => {
      const settings = Array.isArray(props.MethodSettings) ? (props.MethodSettings as Array<Record<string, unknown>>) : [];
      const methodThrottles = new Map<string, Throttle>();
      for (const setting of settings) {
        const throttle = throttleOf({ RateLimit: setting.ThrottlingRateLimit, BurstLimit: setting.ThrottlingBurstLimit });
        if (throttle) methodThrottles.set(`${String(setting.ResourcePath ?? '/*')}/${String(setting.HttpMethod ?? '*')}`, throttle);
      }
      const variables = props.Variables as Record<string, unknown> | undefined;
      return {
        logicalId,
        stageName: String(props.StageName),
        deploymentId: typeof props.DeploymentId === 'string' ? props.DeploymentId : null,
        variables: variables ? Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, String(value)])) : null,
        methodThrottles,
      };
    });

    const gatewayResponses = new Map<string, GatewayResponse>();
    for (const resource of ofType('AWS::ApiGateway::GatewayResponse').filter(belongs)) {
      const props = resource.properties;
      gatewayResponses.set(String(props.ResponseType), {
        ...(props.StatusCode !== undefined ? { statusCode: Number(props.StatusCode) } : {}),
        parameters: (props.ResponseParameters as Record<string, string> | undefined) ?? {},
        templates: (props.ResponseTemplates as Record<string, string> | undefined) ?? {},
      });
    }

    const binary = apiResource.properties.BinaryMediaTypes;
    return {
      logicalId: apiResource.logicalId,
      restApiId,
      gatewayResponses,
      // The API Gateway API escapes '/' as '~1' in binary media types.
      binaryMediaTypes: Array.isArray(binary) ? binary.map((type) => String(type).replaceAll('~1', '/')) : [],
      routes,
      stages,
    };
  });
}

function integrationOf(value: unknown): Integration | undefined {
  const integration = value as
    | { Type?: string; Uri?: unknown; TimeoutInMillis?: unknown; IntegrationResponses?: Array<{ StatusCode?: unknown; ResponseParameters?: Record<string, unknown>; ResponseTemplates?: Record<string, unknown> }> }
    | undefined;
  if (!integration) return undefined;
  if (integration.Type === 'AWS_PROXY' && typeof integration.Uri === 'string') {
    const functionArn = /\/functions\/(.+)\/invocations$/.exec(integration.Uri)?.[1];
    const timeout = Number(integration.TimeoutInMillis ?? DEFAULT_INTEGRATION_TIMEOUT_MS);
    const timeoutMs = Number.isFinite(timeout) && timeout >= 50 ? timeout : DEFAULT_INTEGRATION_TIMEOUT_MS;
    return functionArn ? { type: 'AWS_PROXY', functionArn, timeoutMs } : undefined;
  }
  if (integration.Type === 'MOCK') {
    const response = integration.IntegrationResponses?.[0];
    const headers: Record<string, string> = {};
    for (const [name, mapped] of Object.entries(response?.ResponseParameters ?? {})) {
      const header = /^method\.response\.header\.(.+)$/.exec(name)?.[1];
      // Static values are single-quoted literals in the mapping.
      const literal = typeof mapped === 'string' ? /^'(.*)'$/s.exec(mapped)?.[1] : undefined;
      if (header && literal !== undefined) headers[header] = literal;
    }
    const template = response?.ResponseTemplates?.['application/json'];
    return { type: 'MOCK', statusCode: Number(response?.StatusCode ?? 200), headers, body: typeof template === 'string' ? template : '' };
  }
  return undefined;
}

function readUsagePlans(resources: LocalResource[]): Map<string, UsagePlan> {
  const plans = new Map<string, UsagePlan>();
  for (const resource of resources.filter((r) => r.type === 'AWS::ApiGateway::UsagePlan')) {
    const props = resource.properties;
    const stages = new Map<string, Map<string, Throttle>>();
    for (const apiStage of (props.ApiStages as Array<{ ApiId?: unknown; Stage?: unknown; Throttle?: Record<string, unknown> }>) ?? []) {
      const perMethod = new Map<string, Throttle>();
      for (const [methodKey, throttle] of Object.entries(apiStage.Throttle ?? {})) {
        const parsed = throttleOf(throttle);
        if (parsed) perMethod.set(methodKey, parsed);
      }
      stages.set(`${String(apiStage.ApiId)}/${String(apiStage.Stage)}`, perMethod);
    }
    const quota = props.Quota as { Limit?: unknown; Period?: unknown } | undefined;
    const throttle = throttleOf(props.Throttle);
    plans.set(resource.ref, {
      id: resource.ref,
      ...(throttle ? { throttle } : {}),
      ...(quota?.Limit !== undefined ? { quota: { limit: Number(quota.Limit), period: (String(quota.Period ?? 'DAY') as Quota['period']) } } : {}),
      stages,
    });
  }
  return plans;
}

function readApiKeys(resources: LocalResource[]): ApiKey[] {
  const planKeys = resources.filter((r) => r.type === 'AWS::ApiGateway::UsagePlanKey');
  return resources
    .filter((r) => r.type === 'AWS::ApiGateway::ApiKey')
    .map((resource) => ({
      id: resource.ref,
      value: typeof resource.properties.Value === 'string' ? resource.properties.Value : (resource.attributes.Value ?? ''),
      enabled: resource.properties.Enabled !== false && resource.properties.Enabled !== 'false',
      planIds: planKeys.filter((planKey) => planKey.properties.KeyId === resource.ref).map((planKey) => String(planKey.properties.UsagePlanId)),
    }))
    .filter((key) => key.value !== '');
}

function throttleOf(value: unknown): Throttle | undefined {
  const raw = value as { RateLimit?: unknown; BurstLimit?: unknown } | undefined;
  if (!raw) return undefined;
  const throttle: Throttle = {};
  if (raw.RateLimit !== undefined && raw.RateLimit !== null) throttle.rateLimit = Number(raw.RateLimit);
  if (raw.BurstLimit !== undefined && raw.BurstLimit !== null) throttle.burstLimit = Number(raw.BurstLimit);
  return throttle.rateLimit === undefined && throttle.burstLimit === undefined ? undefined : throttle;
}

// ---------------------------------------------------------------------------------------------
// Serving

/**
 * The resource path a request names, or undefined when it names none (403 Missing Authentication
 * Token, as for any path without a resource). As REST APIs do: one trailing slash is ignored
 * (`/v1/events/` is `/events`; reported at https://github.com/aws-powertools/powertools-lambda-python/issues/1552
 * and https://github.com/aws/chalice/issues/65), empty segments are not collapsed (`/v1//events` has
 * an empty segment, which no resource's path part can be), and the stage itself needs its slash
 * (`/v1` names nothing, `/v1/` is the root resource: https://github.com/stackery/php-lambda-layer/issues/31).
 */
function resourcePathOf(pathname: string, stageName: string, requestPath: string): string | undefined {
  if (pathname === `/${stageName}`) return undefined;
  const path = requestPath.length > 1 && requestPath.endsWith('/') ? requestPath.slice(0, -1) : requestPath;
  if (path !== '/' && path.slice(1).split('/').some((segment) => segment === '')) return undefined;
  return path;
}

/** Request line (`POST /v1/events HTTP/1.1`) plus every header value, in bytes, as the quota counts them. */
function requestLineAndHeaderBytes(req: http.IncomingMessage): number {
  let bytes = Buffer.byteLength(`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}`);
  for (let index = 1; index < req.rawHeaders.length; index += 2) bytes += Buffer.byteLength(req.rawHeaders[index]!);
  return bytes;
}

/** The most specific route: literal segments beat `{param}`, which beats `{proxy+}`; ANY is the fallback method. */
function matchRoute(routes: Route[], path: string, method: string): { route: Route; pathParameters: Record<string, string> | null } | undefined {
  const segments = path.split('/').filter(Boolean);
  let best: { route: Route; pathParameters: Record<string, string>; score: number[] } | undefined;
  for (const route of routes) {
    if (route.httpMethod !== method && route.httpMethod !== 'ANY') continue;
    const matched = matchSegments(route.segments, segments);
    if (!matched) continue;
    const score = [...matched.score, route.httpMethod === method ? 1 : 0];
    if (!best || compareScores(score, best.score) > 0) best = { route, pathParameters: matched.parameters, score };
  }
  if (!best) return undefined;
  return { route: best.route, pathParameters: Object.keys(best.pathParameters).length > 0 ? best.pathParameters : null };
}

function matchSegments(template: string[], actual: string[]): { parameters: Record<string, string>; score: number[] } | undefined {
  const parameters: Record<string, string> = {};
  const score: number[] = [];
  for (let index = 0; index < template.length; index += 1) {
    const part = template[index]!;
    const greedy = /^\{(.+)\+\}$/.exec(part);
    if (greedy) {
      if (index !== template.length - 1 || actual.length <= index) return undefined;
      parameters[greedy[1]!] = actual.slice(index).map(safeDecode).join('/');
      score.push(0);
      return { parameters, score };
    }
    const value = actual[index];
    if (value === undefined) return undefined;
    const parameter = /^\{(.+)\}$/.exec(part);
    if (parameter) {
      parameters[parameter[1]!] = safeDecode(value);
      score.push(1);
    } else if (part === value) {
      score.push(2);
    } else {
      return undefined;
    }
  }
  return actual.length === template.length ? { parameters, score } : undefined;
}

function compareScores(a: number[], b: number[]): number {
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    const difference = (a[index] ?? -1) - (b[index] ?? -1);
    if (difference !== 0) return difference;
  }
  return 0;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function headerOf(req: http.IncomingMessage, name: string): string | undefined {
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

function proxyResponse(payload: unknown): { statusCode: number; headers: Record<string, string | string[]>; body: Buffer } | undefined {
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

function reply(
  res: http.ServerResponse,
  statusCode: number,
  body: unknown,
  requestId: string,
  errorType?: string,
  req?: http.IncomingMessage,
  close = false,
): true {
  // The request body is not needed: drain it so the connection can be reused (or close it).
  req?.resume();
  res.writeHead(statusCode, {
    'Content-Type': 'application/json',
    'x-amzn-RequestId': requestId,
    ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}),
    ...(close ? { Connection: 'close' } : {}),
  });
  res.end(JSON.stringify(body));
  return true;
}

/**
 * One of API Gateway's own errors, as the API's gateway responses shape it: the response of its
 * type, else DEFAULT_4XX / DEFAULT_5XX, else API Gateway's built-in `{"message": ...}`. Headers are
 * static values or copies of request headers; the JSON template's `$context.error.messageString`
 * is the quoted message (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html).
 */
function gatewayError(
  api: RestApi,
  responseType: string,
  res: http.ServerResponse,
  statusCode: number,
  message: string,
  requestId: string,
  errorType?: string,
  req?: http.IncomingMessage,
  close = false,
): true {
  const response =
    api.gatewayResponses.get(responseType) ?? api.gatewayResponses.get(statusCode >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX');
  if (!response) return reply(res, statusCode, { message }, requestId, errorType, req, close);
  req?.resume();
  const headers: http.OutgoingHttpHeaders = {
    'Content-Type': 'application/json',
    'x-amzn-RequestId': requestId,
    ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}),
    ...(close ? { Connection: 'close' } : {}),
  };
  for (const [name, value] of Object.entries(response.parameters)) {
    const header = /^gatewayresponse\.header\.(.+)$/.exec(name)?.[1];
    if (!header) continue;
    const fixed = /^'(.*)'$/.exec(value)?.[1];
    const copied = /^method\.request\.header\.(.+)$/.exec(value)?.[1];
    const resolved = fixed ?? (copied && req ? headerOf(req, copied) : undefined);
    if (resolved !== undefined) headers[header] = resolved;
  }
  const template = response.templates['application/json'];
  const body = template === undefined ? JSON.stringify({ message }) : template.replaceAll('$context.error.messageString', JSON.stringify(message));
  res.writeHead(response.statusCode ?? statusCode, headers);
  res.end(body);
  return true;
}

/** API Gateway's throttling: a bucket of `burst` tokens refilled at `rate` per second. */
class TokenBucket {
  private tokens: number;
  private updated = Date.now();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updated) / 1000) * this.rate);
    this.updated = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

function periodIndex(period: Quota['period'], date: Date): number {
  if (period === 'MONTH') return date.getUTCFullYear() * 12 + date.getUTCMonth();
  const day = Math.floor(date.getTime() / 86_400_000);
  // Epoch day 0 was a Thursday; weeks start on Monday as in usage-plan quotas.
  return period === 'WEEK' ? Math.floor((day + 3) / 7) : day;
}
