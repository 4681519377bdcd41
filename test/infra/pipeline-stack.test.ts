import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineConfig } from '../../lib/config';
import type { PipelineStack } from '../../lib/pipeline-stack';
import { allows, arnOf, ref, resourceOf, statementsOfFunction, synthPipeline } from './synth';

let template: Template;
let stack: PipelineStack;
let config: PipelineConfig;
let outdir: string;
const ids: Record<string, string> = {};

const idOf = (name: string): string => {
  const id = ids[name];
  if (!id) throw new Error(`no logical id recorded for ${name}`);
  return id;
};

beforeAll(() => {
  // The default stage from cdk.json, bundled for real (once for the whole file).
  const synthesized = synthPipeline({ 'aws:cdk:enable-asset-metadata': true });
  ({ template, stack, config } = synthesized);
  outdir = synthesized.app.outdir;
  const named: Array<[string, string]> = [
    ['RawStream', 'AWS::Kinesis::Stream'],
    ['ProcessedStream', 'AWS::Kinesis::Stream'],
    ['DeadLetterQueue', 'AWS::SQS::Queue'],
    ['RedriveQueue', 'AWS::SQS::Queue'],
    ['StreamFailureQueue', 'AWS::SQS::Queue'],
    ['EventsTable', 'AWS::DynamoDB::Table'],
    ['AggregatesTable', 'AWS::DynamoDB::Table'],
    ['Collector', 'AWS::Lambda::Function'],
    ['Validator', 'AWS::Lambda::Function'],
    ['Loader', 'AWS::Lambda::Function'],
    ['Generator', 'AWS::Lambda::Function'],
    ['IngestApi', 'AWS::ApiGateway::RestApi'],
    ['ApiKeySecret', 'AWS::SecretsManager::Secret'],
    ['ApiKey', 'AWS::ApiGateway::ApiKey'],
    ['UsagePlan', 'AWS::ApiGateway::UsagePlan'],
    ['GeneratorSchedule', 'AWS::Events::Rule'],
  ];
  for (const [name, type] of named) ids[name] = resourceOf(template, type, name).logicalId;
});

// The app's temporary cloud assembly holds four bundles; do not leave them behind.
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('names', () => {
  it('names the stack after the stage', () => {
    expect(stack.stackName).toBe(`EcommercePipeline-${config.stage}`);
  });

  it('gives every resource of docs/architecture.md a logical id starting with its construct id', () => {
    // beforeAll found exactly one of each; here the two queues of one type stay distinct.
    expect(new Set(Object.values(ids)).size).toBe(Object.keys(ids).length);
  });
});

describe('functions', () => {
  const functions = [
    { name: 'Collector', service: 'collector', timeout: 10, memory: 256 },
    { name: 'Validator', service: 'validator', timeout: 60, memory: 512 },
    { name: 'Loader', service: 'loader', timeout: 60, memory: 512 },
    { name: 'Generator', service: 'generator', timeout: 60, memory: 256 },
  ];

  it.each(functions)('$name runs index.handler on Node 24, arm64, traced, with its limits', ({ name, timeout, memory }) => {
    const { resource } = resourceOf(template, 'AWS::Lambda::Function', name);
    expect(resource.Properties).toMatchObject({
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Timeout: timeout,
      MemorySize: memory,
    });
  });

  it.each(functions)('$name logs to its own log group with the configured retention', ({ name }) => {
    const { resource } = resourceOf(template, 'AWS::Lambda::Function', name);
    const logGroupId = resource.Properties?.LoggingConfig?.LogGroup?.Ref;
    expect(logGroupId).toMatch(new RegExp(`^${name}LogGroup`));
    expect(template.findResources('AWS::Logs::LogGroup')[logGroupId]?.Properties?.RetentionInDays).toBe(config.logRetentionDays);
    // Its role may write to that log group only, not to every log group.
    const statements = statementsOfFunction(template, idOf(name));
    expect(allows(statements, 'logs:PutLogEvents', arnOf(logGroupId))).toBe(true);
    expect(allows(statements, 'logs:PutLogEvents', '*')).toBe(false);
  });

  it.each(functions)('$name has the Powertools settings and source maps enabled', ({ name, service }) => {
    const variables = resourceOf(template, 'AWS::Lambda::Function', name).resource.Properties?.Environment?.Variables;
    expect(variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: service,
      // The stack's own name, so each stage's metrics are apart from the others'.
      POWERTOOLS_METRICS_NAMESPACE: `EcommercePipeline-${config.stage}`,
      POWERTOOLS_LOG_LEVEL: config.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it.each(functions)('$name is bundled locally as an ESM index.mjs', ({ name }) => {
    const { resource } = resourceOf(template, 'AWS::Lambda::Function', name);
    const assetPath = resource.Metadata?.['aws:asset:path'];
    expect(typeof assetPath).toBe('string');
    const bundle = join(outdir, assetPath, 'index.mjs');
    expect(existsSync(bundle)).toBe(true);
    expect(existsSync(`${bundle}.map`)).toBe(true);
    // ESM with the require() shim that bundled CommonJS dependencies need.
    expect(readFileSync(bundle, 'utf8')).toContain("import { createRequire } from 'module'; const require = createRequire(import.meta.url);");
  });
});

describe('environment wiring: each variable names the right resource, with the grant beside it', () => {
  const variablesOf = (name: string) =>
    resourceOf(template, 'AWS::Lambda::Function', name).resource.Properties?.Environment?.Variables as Record<string, unknown>;

  it('Collector writes the raw stream', () => {
    expect(variablesOf('Collector').RAW_STREAM_NAME).toEqual(ref(idOf('RawStream')));
    const statements = statementsOfFunction(template, idOf('Collector'));
    expect(allows(statements, 'kinesis:PutRecords', arnOf(idOf('RawStream')))).toBe(true);
    expect(allows(statements, 'kinesis:PutRecords', arnOf(idOf('ProcessedStream')))).toBe(false);
  });

  it('Validator writes the processed stream and sends to the DeadLetterQueue', () => {
    const variables = variablesOf('Validator');
    expect(variables.PROCESSED_STREAM_NAME).toEqual(ref(idOf('ProcessedStream')));
    expect(variables.DEAD_LETTER_QUEUE_URL).toEqual(ref(idOf('DeadLetterQueue')));
    const statements = statementsOfFunction(template, idOf('Validator'));
    expect(allows(statements, 'kinesis:PutRecords', arnOf(idOf('ProcessedStream')))).toBe(true);
    expect(allows(statements, 'sqs:SendMessage', arnOf(idOf('DeadLetterQueue')))).toBe(true);
    expect(allows(statements, 'kinesis:GetRecords', arnOf(idOf('RawStream')))).toBe(true);
    expect(allows(statements, 'sqs:ReceiveMessage', arnOf(idOf('RedriveQueue')))).toBe(true);
  });

  it('Loader writes both tables and sends to the DeadLetterQueue', () => {
    const variables = variablesOf('Loader');
    expect(variables.EVENTS_TABLE_NAME).toEqual(ref(idOf('EventsTable')));
    expect(variables.AGGREGATES_TABLE_NAME).toEqual(ref(idOf('AggregatesTable')));
    expect(variables.DEAD_LETTER_QUEUE_URL).toEqual(ref(idOf('DeadLetterQueue')));
    const statements = statementsOfFunction(template, idOf('Loader'));
    expect(allows(statements, 'dynamodb:PutItem', arnOf(idOf('EventsTable')))).toBe(true);
    expect(allows(statements, 'dynamodb:UpdateItem', arnOf(idOf('AggregatesTable')))).toBe(true);
    expect(allows(statements, 'sqs:SendMessage', arnOf(idOf('DeadLetterQueue')))).toBe(true);
    expect(allows(statements, 'kinesis:GetRecords', arnOf(idOf('ProcessedStream')))).toBe(true);
  });

  it('Generator posts to the ingest stage URL with the key from the secret', () => {
    const variables = variablesOf('Generator');
    expect(variables.INGEST_URL).toEqual({
      'Fn::Join': ['', ['https://', ref(idOf('IngestApi')), '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/v1']],
    });
    expect(variables.API_KEY_SECRET_ARN).toEqual(ref(idOf('ApiKeySecret')));
    expect(variables.GENERATOR_EVENTS_PER_RUN).toBe(String(config.generatorEventsPerRun));
    expect(variables.GENERATOR_INVALID_SHARE).toBe(String(config.generatorInvalidShare));
    const statements = statementsOfFunction(template, idOf('Generator'));
    expect(allows(statements, 'secretsmanager:GetSecretValue', ref(idOf('ApiKeySecret')))).toBe(true);
  });
});

describe('event sources', () => {
  const kinesisSettings = {
    BatchSize: 100,
    MaximumBatchingWindowInSeconds: 0,
    StartingPosition: 'TRIM_HORIZON',
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    BisectBatchOnFunctionError: true,
    MaximumRetryAttempts: 5,
    MaximumRecordAgeInSeconds: 3600,
    ParallelizationFactor: 1,
  };

  it('Validator reads the raw stream; given-up batches go to StreamFailureQueue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(idOf('Validator')),
      EventSourceArn: arnOf(idOf('RawStream')),
      ...kinesisSettings,
      DestinationConfig: { OnFailure: { Destination: arnOf(idOf('StreamFailureQueue')) } },
    });
  });

  it('Loader reads the processed stream; given-up batches go to StreamFailureQueue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(idOf('Loader')),
      EventSourceArn: arnOf(idOf('ProcessedStream')),
      ...kinesisSettings,
      DestinationConfig: { OnFailure: { Destination: arnOf(idOf('StreamFailureQueue')) } },
    });
  });

  it('Validator reads the RedriveQueue with partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(idOf('Validator')),
      EventSourceArn: arnOf(idOf('RedriveQueue')),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('has no other event source mappings', () => {
    expect(Object.keys(template.findResources('AWS::Lambda::EventSourceMapping'))).toHaveLength(3);
  });
});

describe('queues', () => {
  it('RedriveQueue dead-letters to the DeadLetterQueue', () => {
    const { resource } = resourceOf(template, 'AWS::SQS::Queue', 'RedriveQueue');
    expect(resource.Properties?.RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(idOf('DeadLetterQueue')),
      maxReceiveCount: 5,
    });
  });

  it('RedriveQueue hides a message for at least six Validator timeouts', () => {
    const visibility = resourceOf(template, 'AWS::SQS::Queue', 'RedriveQueue').resource.Properties?.VisibilityTimeout;
    const validatorTimeout = resourceOf(template, 'AWS::Lambda::Function', 'Validator').resource.Properties?.Timeout;
    expect(visibility).toBeGreaterThanOrEqual(6 * validatorTimeout);
  });

  it.each(['DeadLetterQueue', 'RedriveQueue', 'StreamFailureQueue'])('%s is encrypted, keeps 14 days and refuses plain HTTP', (name) => {
    const { resource } = resourceOf(template, 'AWS::SQS::Queue', name);
    expect(resource.Properties?.SqsManagedSseEnabled === true || resource.Properties?.KmsMasterKeyId !== undefined).toBe(true);
    expect(resource.Properties?.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(idOf(name))],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('streams', () => {
  it.each(['RawStream', 'ProcessedStream'])('%s is KMS-encrypted with the configured capacity and retention', (name) => {
    const { resource } = resourceOf(template, 'AWS::Kinesis::Stream', name);
    expect(resource.Properties?.StreamEncryption).toEqual({ EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
    expect(resource.Properties?.RetentionPeriodHours).toBe(config.streamRetentionHours);
    expect(resource.Properties?.StreamModeDetails).toEqual({ StreamMode: config.streamMode });
    expect(resource.Properties?.ShardCount).toBe(config.shardCount);
  });
});

describe('tables', () => {
  it.each(['EventsTable', 'AggregatesTable'])('%s is on-demand, encrypted with KMS and has point-in-time recovery', (name) => {
    const { resource } = resourceOf(template, 'AWS::DynamoDB::Table', name);
    expect(resource.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('EventsTable is keyed by event_id with the ByUser index', () => {
    const { resource } = resourceOf(template, 'AWS::DynamoDB::Table', 'EventsTable');
    expect(resource.Properties?.KeySchema).toEqual([{ AttributeName: 'event_id', KeyType: 'HASH' }]);
    expect(resource.Properties?.GlobalSecondaryIndexes).toEqual([
      expect.objectContaining({
        IndexName: 'ByUser',
        KeySchema: [
          { AttributeName: 'user_id', KeyType: 'HASH' },
          { AttributeName: 'event_time', KeyType: 'RANGE' },
        ],
      }),
    ]);
  });

  it('AggregatesTable is keyed by pk and sk', () => {
    const { resource } = resourceOf(template, 'AWS::DynamoDB::Table', 'AggregatesTable');
    expect(resource.Properties?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
  });
});

describe('ingest API', () => {
  it('POST /events needs the API key and proxies to the Collector', () => {
    const resources = template.findResources('AWS::ApiGateway::Resource', { Properties: { PathPart: 'events' } });
    const eventsResourceId = Object.keys(resources)[0];
    expect(eventsResourceId).toBeDefined();
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      ResourceId: ref(eventsResourceId!),
      ApiKeyRequired: true,
      Integration: {
        Type: 'AWS_PROXY',
        IntegrationHttpMethod: 'POST',
        Uri: { 'Fn::Join': ['', Match.arrayWith([arnOf(idOf('Collector'))])] },
      },
    });
  });

  it('passes every body through as binary, so gzip arrives intact', () => {
    expect(resourceOf(template, 'AWS::ApiGateway::RestApi', 'IngestApi').resource.Properties?.BinaryMediaTypes).toEqual(['*/*']);
  });

  it('has no CORS preflight by default (corsAllowedOrigins is empty; test/infra/security.test.ts covers origins)', () => {
    expect(Object.keys(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'OPTIONS' } }))).toEqual([]);
  });

  it('serves stage v1 with access logs, tracing and metrics', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      RestApiId: ref(idOf('IngestApi')),
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      MethodSettings: Match.arrayWith([Match.objectLike({ MetricsEnabled: true, LoggingLevel: 'ERROR' })]),
    });
  });

  it('throttles through a usage plan holding the API key', () => {
    const { resource } = resourceOf(template, 'AWS::ApiGateway::UsagePlan', 'UsagePlan');
    expect(resource.Properties?.Throttle).toEqual({ RateLimit: config.apiRateLimit, BurstLimit: config.apiBurstLimit });
    expect(resource.Properties?.ApiStages).toEqual([expect.objectContaining({ ApiId: ref(idOf('IngestApi')) })]);
    template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', {
      KeyId: ref(idOf('ApiKey')),
      KeyType: 'API_KEY',
      UsagePlanId: ref(idOf('UsagePlan')),
    });
  });

  it('takes the API key value from the generated secret, never as plain text', () => {
    const { resource } = resourceOf(template, 'AWS::ApiGateway::ApiKey', 'ApiKey');
    expect(resource.Properties?.Value).toEqual({
      'Fn::Join': ['', ['{{resolve:secretsmanager:', ref(idOf('ApiKeySecret')), ':SecretString:apiKey::}}']],
    });
    expect(resourceOf(template, 'AWS::SecretsManager::Secret', 'ApiKeySecret').resource.Properties?.GenerateSecretString).toEqual({
      SecretStringTemplate: '{}',
      GenerateStringKey: 'apiKey',
      ExcludePunctuation: true,
      PasswordLength: 40,
    });
  });
});

describe('generator schedule', () => {
  it('runs the Generator at the configured rate and state', () => {
    const { resource } = resourceOf(template, 'AWS::Events::Rule', 'GeneratorSchedule');
    expect(resource.Properties).toMatchObject({
      ScheduleExpression: config.generatorRate,
      State: config.generatorEnabled ? 'ENABLED' : 'DISABLED',
      Targets: [expect.objectContaining({ Arn: arnOf(idOf('Generator')) })],
    });
  });
});

describe('outputs', () => {
  it('exports what the contract and docs/architecture.md name, from the right resources', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const expected: Record<string, unknown> = {
      ApiKeyId: ref(idOf('ApiKey')),
      ApiKeySecretArn: ref(idOf('ApiKeySecret')),
      RawStreamName: ref(idOf('RawStream')),
      ProcessedStreamName: ref(idOf('ProcessedStream')),
      EventsTableName: ref(idOf('EventsTable')),
      AggregatesTableName: ref(idOf('AggregatesTable')),
      DeadLetterQueueUrl: ref(idOf('DeadLetterQueue')),
      RedriveQueueUrl: ref(idOf('RedriveQueue')),
      StreamFailureQueueUrl: ref(idOf('StreamFailureQueue')),
    };
    for (const [outputId, value] of Object.entries(expected)) expect(outputs[outputId]?.Value, outputId).toEqual(value);
    // The stage URL without a trailing slash: clients post to `${IngestUrl}/events`.
    expect(outputs.IngestUrl?.Value).toEqual(
      resourceOf(template, 'AWS::Lambda::Function', 'Generator').resource.Properties?.Environment?.Variables?.INGEST_URL,
    );
  });
});

describe('cdk-nag', () => {
  it('AwsSolutions reports no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const findings = report.violations.map(
      (violation) => `${violation.severity} ${violation.ruleName}: ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });
});
