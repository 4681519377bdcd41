import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiKey,
  CfnMethod,
  ContentHandling,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  Method,
  MethodLoggingLevel,
  Period,
  ResponseType,
  RestApi,
  UsagePlan,
} from 'aws-cdk-lib/aws-apigateway';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ENV } from '../../lambdas/shared/env-names';
import type { PipelineConfig } from '../config';
import { PipelineConcern } from './pipeline-concern';
import { PipelineFunction } from './pipeline-function';
import { permissions as collectorPermissions } from '../../lambdas/collector/permissions';

const STAGE_NAME = 'v1';

/** Request headers a browser producer may send (the preflight's Access-Control-Allow-Headers). */
const CORS_ALLOW_HEADERS = ['Content-Type', 'Content-Encoding', 'X-Api-Key', 'X-Amz-Date', 'X-Amz-Security-Token'] as const;

/**
 * The body of every gateway response: API Gateway's own message as `{"message": "..."}`
 * ($context.error.messageString is the message already quoted and escaped as a JSON string), the
 * shape docs/contract.md section 1 documents for 403/413/429 from API Gateway, e.g.
 * `403 {"message":"Forbidden"}`, `429 {"message":"Too Many Requests"}` or `{"message":"Limit Exceeded"}`.
 */
export const GATEWAY_RESPONSE_BODY = '{"message":$context.error.messageString}';

/**
 * API Gateway's refusals that reach producers
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
 * The specific types keep their documented status; DEFAULT_4XX and DEFAULT_5XX set none, since a
 * status there would replace the status of every other 4XX/5XX response. A missing or wrong key
 * (403 Forbidden) is INVALID_API_KEY; ACCESS_DENIED, MISSING_AUTHENTICATION_TOKEN (unknown path or
 * method) and the defaults give every other refusal the same body and headers.
 */
export const GATEWAY_RESPONSES: ReadonlyArray<{ id: string; type: ResponseType; statusCode?: string }> = [
  { id: 'InvalidApiKey', type: ResponseType.INVALID_API_KEY, statusCode: '403' },
  { id: 'MissingAuthenticationToken', type: ResponseType.MISSING_AUTHENTICATION_TOKEN, statusCode: '403' },
  { id: 'AccessDenied', type: ResponseType.ACCESS_DENIED, statusCode: '403' },
  { id: 'Throttled', type: ResponseType.THROTTLED, statusCode: '429' },
  { id: 'QuotaExceeded', type: ResponseType.QUOTA_EXCEEDED, statusCode: '429' },
  { id: 'RequestTooLarge', type: ResponseType.REQUEST_TOO_LARGE, statusCode: '413' },
  { id: 'IntegrationTimeout', type: ResponseType.INTEGRATION_TIMEOUT, statusCode: '504' },
  { id: 'Default4XX', type: ResponseType.DEFAULT_4XX },
  { id: 'Default5XX', type: ResponseType.DEFAULT_5XX },
];

/**
 * CORS headers on gateway responses. A gateway response's headers are literals or copies of
 * request values, never conditional (its template is not even VTL), so it cannot echo the Origin
 * only when it is allowed. With one allowed origin that origin is the literal; with several, no
 * Access-Control-Allow-Origin (echoing method.request.header.origin would allow every origin),
 * and a browser sees API Gateway's own refusals as network errors. None configured: no headers.
 */
export function gatewayCorsHeaders(origins: readonly string[]): Record<string, string> | undefined {
  if (origins.length !== 1) return undefined;
  return {
    'Access-Control-Allow-Origin': `'${origins[0]}'`,
    'Access-Control-Allow-Headers': `'${CORS_ALLOW_HEADERS.join(',')}'`,
    'Access-Control-Allow-Methods': "'POST,OPTIONS'",
    Vary: "'Origin'",
  };
}

export interface IngestApiProps {
  readonly config: PipelineConfig;
  readonly rawStream: IStream;
}

/**
 * POST /events behind an API key and a usage plan, proxied to the Collector, which writes the
 * raw stream. The key's value is generated into the ApiKeySecret and never appears in the template.
 */
export class IngestApi extends PipelineConcern {
  readonly api: RestApi;
  readonly apiKey: ApiKey;
  readonly apiKeySecret: Secret;
  readonly collector: PipelineFunction;
  /** The stage URL without a trailing slash: clients post to `${url}/events`. */
  readonly url: string;

  constructor(scope: Construct, id: string, { config, rawStream }: IngestApiProps) {
    super(scope, id);

    this.collector = new PipelineFunction(this, 'Collector', {
      config,
      source: 'collector',
      description: 'Ingest API -> raw stream',
      timeout: Duration.seconds(10),
      // Measured peak RSS (README "Function size"): 70 MB for four 50-event requests. 256 MB is
      // for CPU (Lambda's share grows with memory): this function is on the API's latency path.
      memorySize: 256,
    }).bindStream(rawStream, ENV.collector.RAW_STREAM_NAME, collectorPermissions.kinesis.RawStream);

    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: config.logRetentionDays,
      removalPolicy: config.removalPolicy,
    });

    this.api = new RestApi(this, 'IngestApi', {
      description: 'E-commerce event ingest',
      endpointTypes: [EndpointType.REGIONAL],
      // Every body reaches the collector as base64, so gzip bodies arrive byte for byte.
      binaryMediaTypes: ['*/*'],
      // API Gateway's CloudWatch role is one per account and region (AWS::ApiGateway::Account):
      // deleting it with this stack would stop execution logging for every API in the region, so it
      // is retained whatever removalPolicy says (README "Teardown").
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: STAGE_NAME,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
      },
    });

    // CORS only for the configured origins (context corsAllowedOrigins); none: no OPTIONS method
    // and no CORS headers, so a browser page on another origin cannot read any answer.
    const origins = config.corsAllowedOrigins;
    const events = this.api.root.addResource(
      'events',
      origins.length === 0
        ? {}
        : {
            defaultCorsPreflightOptions: {
              allowOrigins: [...origins],
              allowMethods: ['POST', 'OPTIONS'],
              allowHeaders: [...CORS_ALLOW_HEADERS],
              maxAge: Duration.hours(1),
            },
          },
    );
    if (origins.length > 0) {
      // With '*/*' as a binary type the preflight's mock integration cannot transform the (binary)
      // request and answers 500 unless it converts to text.
      const preflight = events.node.findChild('OPTIONS') as Method;
      const preflightResource = preflight.node.defaultChild as CfnMethod;
      preflightResource.addPropertyOverride('Integration.ContentHandling', ContentHandling.CONVERT_TO_TEXT);
      preflightResource.addPropertyOverride('Integration.IntegrationResponses.0.ContentHandling', ContentHandling.CONVERT_TO_TEXT);
    }
    // The collector echoes an allowed request Origin on its own answers (lambdas/collector/http.ts).
    this.collector.addEnvironment(ENV.collector.CORS_ALLOWED_ORIGINS, JSON.stringify(origins));

    // API Gateway's own refusals, in the contract's shape (section 1: `{"message": ...}`, the
    // message API Gateway itself uses) and as JSON, with the CORS headers when origins are set.
    for (const response of GATEWAY_RESPONSES) {
      this.api.addGatewayResponse(response.id, {
        type: response.type,
        ...(response.statusCode ? { statusCode: response.statusCode } : {}),
        responseHeaders: gatewayCorsHeaders(origins),
        templates: { 'application/json': GATEWAY_RESPONSE_BODY },
      });
    }

    events.addMethod('POST', new LambdaIntegration(this.collector), { apiKeyRequired: true });

    this.apiKeySecret = new Secret(this, 'ApiKeySecret', {
      description: 'Value of the ingest API key, as {"apiKey": "..."}',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'apiKey',
        excludePunctuation: true,
        passwordLength: 40,
      },
      removalPolicy: config.removalPolicy,
    });

    this.apiKey = new ApiKey(this, 'ApiKey', {
      description: 'Ingest API key; its value is in ApiKeySecret',
      // A {{resolve:secretsmanager:...}} dynamic reference, resolved by CloudFormation at deploy time.
      value: this.apiKeySecret.secretValueFromJson('apiKey').unsafeUnwrap(),
    });

    const usagePlan = new UsagePlan(this, 'UsagePlan', {
      description: 'Throttles the ingest API per key',
      throttle: { rateLimit: config.apiRateLimit, burstLimit: config.apiBurstLimit },
      // Beyond the quota a key gets 429 {"message":"Limit Exceeded"} until the period turns.
      ...(config.apiQuotaLimit > 0 ? { quota: { limit: config.apiQuotaLimit, period: Period[config.apiQuotaPeriod] } } : {}),
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    usagePlan.addApiKey(this.apiKey);

    const stack = Stack.of(this);
    this.url = `https://${this.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${STAGE_NAME}`;

    // cdk-nag acknowledgements (they cover the construct and everything under it).
    const apiValidations = Validations.of(this.api);
    apiValidations.acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'The collector validates every body against the shared event schema: it must, to answer per event (207) and to read gzip bodies, which an API Gateway model cannot.',
    });
    apiValidations.acknowledge({
      id: 'AwsSolutions-APIG3',
      reason: 'Access is bounded by the API key and the usage-plan throttle; a WAF web ACL is left to the account edge policy.',
    });
    apiValidations.acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'Producers authenticate with an API key (contract section 1), checked by API Gateway before the collector runs.',
    });
    apiValidations.acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'Producers are services holding an API key, not Cognito users (contract section 1).',
    });
    apiValidations.acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason: 'The account-level role API Gateway uses to write execution logs; this AWS managed policy is the one AWS documents for it.',
    });
    Validations.of(this.apiKeySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'The secret holds the API key value; rotating the secret alone would not change the API Gateway key, so the key is rotated by redeploying.',
    });
  }
}
