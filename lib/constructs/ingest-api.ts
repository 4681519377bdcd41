import { Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiKey,
  CfnMethod,
  ContentHandling,
  Cors,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  Method,
  MethodLoggingLevel,
  RestApi,
  UsagePlan,
} from 'aws-cdk-lib/aws-apigateway';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';
import { PipelineConcern } from './pipeline-concern';
import { PipelineFunction } from './pipeline-function';

const STAGE_NAME = 'v1';

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
    }).bindStream(rawStream, 'RAW_STREAM_NAME', 'write');

    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: config.logRetentionDays,
      removalPolicy: config.removalPolicy,
    });

    this.api = new RestApi(this, 'IngestApi', {
      description: 'E-commerce event ingest',
      endpointTypes: [EndpointType.REGIONAL],
      // Every body reaches the collector as base64, so gzip bodies arrive byte for byte.
      binaryMediaTypes: ['*/*'],
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: config.removalPolicy,
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

    const events = this.api.root.addResource('events', {
      defaultCorsPreflightOptions: {
        allowOrigins: Cors.ALL_ORIGINS,
        allowMethods: ['POST', 'OPTIONS'],
        allowHeaders: ['Content-Type', 'Content-Encoding', 'X-Api-Key', 'X-Amz-Date', 'X-Amz-Security-Token'],
        maxAge: Duration.hours(1),
      },
    });
    // With '*/*' as a binary type the preflight's mock integration cannot transform the (binary)
    // request and answers 500 unless it converts to text.
    const preflight = events.node.findChild('OPTIONS') as Method;
    const preflightResource = preflight.node.defaultChild as CfnMethod;
    preflightResource.addPropertyOverride('Integration.ContentHandling', ContentHandling.CONVERT_TO_TEXT);
    preflightResource.addPropertyOverride('Integration.IntegrationResponses.0.ContentHandling', ContentHandling.CONVERT_TO_TEXT);

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
