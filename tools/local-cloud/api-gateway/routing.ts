/** The template's REST APIs (resources, paths, methods, integrations, stages) and the route a request names. */
import type { LocalResource } from '../types';
import { readGatewayResponses, type GatewayResponse } from './gateway-responses';
import { throttleOf, type Throttle } from './usage-plans';

/**
 * The integration timeout: 50 ms to 29 s, 29 s by default (answered with the INTEGRATION_TIMEOUT gateway
 * response, 504 "Endpoint request timed out"; https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
 */
export const DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000;

export type Integration =
  | { type: 'AWS_PROXY'; functionArn: string; timeoutMs: number }
  | { type: 'MOCK'; statusCode: number; headers: Record<string, string>; body: string };

export interface Route {
  resourceId: string;
  resourcePath: string;
  segments: string[];
  httpMethod: string;
  apiKeyRequired: boolean;
  integration: Integration | undefined;
}

export interface Stage {
  logicalId: string;
  stageName: string;
  deploymentId: string | null;
  variables: Record<string, string> | null;
  /** Stage-wide method throttles, by `<resourcePath>/<METHOD>` (`/*` + `/*` for all). */
  methodThrottles: Map<string, Throttle>;
}

export interface RestApi {
  logicalId: string;
  restApiId: string;
  binaryMediaTypes: string[];
  routes: Route[];
  stages: Stage[];
  /** AWS::ApiGateway::GatewayResponse by ResponseType (THROTTLED, DEFAULT_4XX, ...). */
  gatewayResponses: Map<string, GatewayResponse>;
}

export function readRestApis(resources: LocalResource[]): RestApi[] {
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

    const gatewayResponses = readGatewayResponses(ofType('AWS::ApiGateway::GatewayResponse').filter(belongs));

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

/**
 * The resource path a request names, or undefined when it names none (403 Missing Authentication
 * Token, as for any path without a resource). As REST APIs do: one trailing slash is ignored
 * (`/v1/events/` is `/events`; reported at https://github.com/aws-powertools/powertools-lambda-python/issues/1552
 * and https://github.com/aws/chalice/issues/65), empty segments are not collapsed (`/v1//events` has
 * an empty segment, which no resource's path part can be), and the stage itself needs its slash
 * (`/v1` names nothing, `/v1/` is the root resource: https://github.com/stackery/php-lambda-layer/issues/31).
 */
export function resourcePathOf(pathname: string, stageName: string, requestPath: string): string | undefined {
  if (pathname === `/${stageName}`) return undefined;
  const path = requestPath.length > 1 && requestPath.endsWith('/') ? requestPath.slice(0, -1) : requestPath;
  if (path !== '/' && path.slice(1).split('/').some((segment) => segment === '')) return undefined;
  return path;
}

/** The most specific route: literal segments beat `{param}`, which beats `{proxy+}`; ANY is the fallback method. */
export function matchRoute(routes: Route[], path: string, method: string): { route: Route; pathParameters: Record<string, string> | null } | undefined {
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
