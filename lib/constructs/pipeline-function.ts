import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Names, Stack, Validations, type Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { Architecture, Runtime, Tracing, type StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';
import { ENV } from '../../lambdas/shared/env-names';
import type { DynamoDbAction, KinesisAction, RdsDataAction, SecretsManagerAction, SqsAction } from '../../lambdas/shared/permissions';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LAMBDAS_ROOT = fileURLToPath(new URL('../../lambdas/', import.meta.url));

// NodejsFunction quietly falls back to Docker when it cannot find esbuild; there is no Docker
// here, so say what is missing instead.
function assertLocalEsbuild(): void {
  try {
    createRequire(import.meta.url).resolve('esbuild');
  } catch {
    throw new Error('esbuild is not installed in node_modules (run `npm ci`): functions are bundled locally, never in Docker');
  }
}

export interface PipelineFunctionProps {
  readonly config: PipelineConfig;
  /** Folder under lambdas/ holding handler.ts; also the Powertools service name. */
  readonly source: 'collector' | 'validator' | 'loader' | 'generator' | 'sql-sink' | 'sql-migrations';
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** Merged over the Powertools defaults. Resource names come through the bind* helpers. */
  readonly environment?: Record<string, string>;
}

/**
 * What Lambda's event source mapping does with the function's role, and only that
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-create.html, AWS managed policy
 * AWSLambdaKinesisExecutionRole): read a stream through shared iterators. Not SubscribeToShard
 * or DescribeStreamConsumer (enhanced fan-out consumers only, none here) and not ListStreams
 * (authorized on `*` only, and a mapping names its stream).
 */
export const STREAM_EVENT_SOURCE_ACTIONS = [
  'kinesis:DescribeStream',
  'kinesis:DescribeStreamSummary',
  'kinesis:GetRecords',
  'kinesis:GetShardIterator',
  'kinesis:ListShards',
] as const;
/**
 * An SQS event source mapping polls, deletes what succeeded and reads the queue's attributes
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, AWS managed policy
 * AWSLambdaSQSQueueExecutionRole). A failed message is left to its visibility timeout, so no
 * ChangeMessageVisibility; the mapping has the queue ARN, so no GetQueueUrl.
 */
export const QUEUE_EVENT_SOURCE_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'] as const;
/**
 * A stream mapping's on-failure destination: Lambda sends the batch's description with the
 * function's role (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html).
 */
export const ON_FAILURE_QUEUE_ACTIONS = ['sqs:SendMessage'] as const;
/** Writing this function's own log group (LogGroup.grantWrite) and active tracing. */
export const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'] as const;
export const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'] as const;

/**
 * KMS use a customer managed key would need. Every key here is AWS managed (alias/aws/kinesis,
 * DynamoDB's and SQS's own, Secrets Manager's default), which the service uses on the caller's
 * behalf with no kms: permission in the role, so these only apply if a resource moves to its own key.
 */
const KMS_WRITE_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];
const KMS_READ_ACTIONS = ['kms:Decrypt'];

export interface StreamConsumerOptions {
  readonly batchSize: number;
  readonly maxBatchingWindow: Duration;
  readonly startingPosition: StartingPosition;
  readonly reportBatchItemFailures: boolean;
  readonly bisectBatchOnError: boolean;
  readonly retryAttempts: number;
  readonly maxRecordAge: Duration;
  readonly parallelizationFactor: number;
  /** Where Lambda describes a batch it gave up on. */
  readonly onFailure: IQueue;
}

export interface QueueConsumerOptions {
  readonly batchSize: number;
  readonly reportBatchItemFailures: boolean;
}

/**
 * A pipeline Lambda function with the project's defaults: Node 24 on arm64, active tracing, its
 * own log group, an ESM bundle with source maps, Powertools settings. The bind* helpers set a
 * resource's environment variable and grant access to it in one call, so the two cannot drift.
 */
export class PipelineFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    assertLocalEsbuild();
    const { config } = props;
    // Siblings rather than children: NodejsFunction needs them before it exists.
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: config.logRetentionDays,
      removalPolicy: config.removalPolicy,
    });
    // Own role instead of AWSLambdaBasicExecutionRole: logs go to this function's log group only.
    const role = new Role(scope, `${id}ServiceRole`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${id} function`,
    });
    logGroup.grantWrite(role);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Active tracing: X-Ray PutTraceSegments and PutTelemetryRecords have no resource-level permissions.',
    });

    super(scope, id, {
      entry: `${LAMBDAS_ROOT}${props.source}/handler.ts`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize,
      tracing: Tracing.ACTIVE,
      role,
      logGroup,
      environment: {
        [ENV.common.POWERTOOLS_SERVICE_NAME]: props.source,
        // One namespace per stack, so two stages in one account keep their metrics apart.
        [ENV.common.POWERTOOLS_METRICS_NAMESPACE]: Stack.of(scope).stackName,
        [ENV.common.POWERTOOLS_LOG_LEVEL]: config.logLevel,
        [ENV.common.NODE_OPTIONS]: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        // The Lambda runtime's Node version. esbuild emits the same code for node20 here (checked),
        // so the local cloud still runs these very bundles on Node 20.19+.
        target: 'node24',
        mainFields: ['module', 'main'],
        // Bundled CommonJS dependencies call require(); ESM output has none of its own.
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        // The SDK is bundled too, so AWS runs the versions the tests ran against, and tree shaking
        // keeps only the clients and commands a function uses. Loading the runtime's own SDK
        // from /var/runtime instead made the bundle 150 KB but "import + handler build" 2-3x
        // slower (measured; README "Function size").
        externalModules: [],
        // Minified and tree-shaken (esbuild's default for ESM bundles, stated here); the source
        // map sits beside index.mjs as index.mjs.map, without the sources (smaller to load under
        // --enable-source-maps; stack traces still name file, line and column).
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        esbuildArgs: { '--tree-shaking': 'true' },
        forceDockerBundling: false,
      },
    });
  }

  /**
   * The bind* helpers set a resource's environment variable and grant the actions the function's
   * `permissions.ts` lists for it, on that resource only: nothing else is granted to the code.
   */
  bindStream(stream: IStream, envName: string, actions: readonly KinesisAction[]): this {
    this.addEnvironment(envName, stream.streamName);
    this.allow(actions, [stream.streamArn]);
    if (stream.encryptionKey) this.allow(KMS_WRITE_ACTIONS, [stream.encryptionKey.keyArn]);
    return this;
  }

  bindTable(table: ITable, envName: string, actions: readonly DynamoDbAction[]): this {
    this.addEnvironment(envName, table.tableName);
    this.allow(actions, [table.tableArn]);
    if (table.encryptionKey) this.allow(actions.every((action) => action === 'dynamodb:GetItem') ? KMS_READ_ACTIONS : KMS_WRITE_ACTIONS, [table.encryptionKey.keyArn]);
    return this;
  }

  /** The variable holds the queue URL. */
  bindQueue(queue: IQueue, envName: string, actions: readonly SqsAction[]): this {
    this.addEnvironment(envName, queue.queueUrl);
    this.allow(actions, [queue.queueArn]);
    if (queue.encryptionMasterKey) this.allow(KMS_WRITE_ACTIONS, [queue.encryptionMasterKey.keyArn]);
    return this;
  }

  /** The variable holds the secret ARN; the function reads the value at run time. */
  bindSecret(secret: ISecret, envName: string, actions: readonly SecretsManagerAction[]): this {
    this.addEnvironment(envName, secret.secretArn);
    this.allow(actions, [secret.secretArn]);
    if (secret.encryptionKey) this.allow(KMS_READ_ACTIONS, [secret.encryptionKey.keyArn]);
    return this;
  }

  /**
   * The variable holds the cluster ARN; the actions are the RDS Data API's, on that cluster (the
   * Data API reads the credentials with the caller's own GetSecretValue: bind the secret too).
   */
  bindDataApi(cluster: { readonly clusterArn: string }, envName: string, actions: readonly RdsDataAction[]): this {
    this.addEnvironment(envName, cluster.clusterArn);
    this.allow(actions, [cluster.clusterArn]);
    return this;
  }

  /**
   * A Kinesis event source mapping, granted only what the mapping itself does (reading this
   * stream, sending to the on-failure queue). Built directly rather than with KinesisEventSource
   * and SqsDlq, which grant the stream's and queue's broad read and send sets; the construct id is
   * KinesisEventSource's, so the mapping's logical id (and its position in the stream) is kept.
   */
  consumeStream(stream: IStream, options: StreamConsumerOptions): this {
    const { onFailure, ...mapping } = options;
    this.addEventSourceMapping(`KinesisEventSource:${Names.nodeUniqueId(stream.node)}`, {
      ...mapping,
      eventSourceArn: stream.streamArn,
      onFailure: { bind: () => ({ destination: onFailure.queueArn }) },
    });
    this.allow(STREAM_EVENT_SOURCE_ACTIONS, [stream.streamArn]);
    if (stream.encryptionKey) this.allow(KMS_READ_ACTIONS, [stream.encryptionKey.keyArn]);
    this.allow(ON_FAILURE_QUEUE_ACTIONS, [onFailure.queueArn]);
    if (onFailure.encryptionMasterKey) this.allow(KMS_WRITE_ACTIONS, [onFailure.encryptionMasterKey.keyArn]);
    return this;
  }

  /** An SQS event source mapping, granted only what the mapping does (see QUEUE_EVENT_SOURCE_ACTIONS). */
  consumeQueue(queue: IQueue, options: QueueConsumerOptions): this {
    this.addEventSourceMapping(`SqsEventSource:${Names.nodeUniqueId(queue.node)}`, { ...options, eventSourceArn: queue.queueArn });
    this.allow(QUEUE_EVENT_SOURCE_ACTIONS, [queue.queueArn]);
    if (queue.encryptionMasterKey) this.allow(KMS_READ_ACTIONS, [queue.encryptionMasterKey.keyArn]);
    return this;
  }

  private allow(actions: readonly string[], resources: string[]): void {
    this.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources }));
  }
}
