/** API Gateway's own errors (403, 429, 413, 5xx...) as the API's AWS::ApiGateway::GatewayResponse resources shape them. */
import type http from 'node:http';
import type { LocalResource } from '../types';
import { headerOf } from './proxy-event';

/** How the API answers one of API Gateway's own errors. */
export interface GatewayResponse {
  statusCode?: number;
  /** `gatewayresponse.header.<Name>` -> `'static value'` or `method.request.header.<Name>`. */
  parameters: Record<string, string>;
  /** By content type; `$context.error.messageString` is the quoted message. */
  templates: Record<string, string>;
}

/** The gateway responses of one API, by ResponseType (THROTTLED, DEFAULT_4XX, ...). */
export function readGatewayResponses(resources: LocalResource[]): Map<string, GatewayResponse> {
  const gatewayResponses = new Map<string, GatewayResponse>();
  for (const resource of resources) {
    const props = resource.properties;
    gatewayResponses.set(String(props.ResponseType), {
      ...(props.StatusCode !== undefined ? { statusCode: Number(props.StatusCode) } : {}),
      parameters: (props.ResponseParameters as Record<string, string> | undefined) ?? {},
      templates: (props.ResponseTemplates as Record<string, string> | undefined) ?? {},
    });
  }
  return gatewayResponses;
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
export function gatewayError(
  api: { gatewayResponses: Map<string, GatewayResponse> },
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
