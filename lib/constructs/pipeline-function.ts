import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Stack, Validations, type Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';

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
  readonly source: 'collector' | 'validator' | 'loader' | 'generator';
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** Merged over the Powertools defaults. Resource names come through the bind* helpers. */
  readonly environment?: Record<string, string>;
}

export type StreamAccess = 'read' | 'write' | 'readWrite';
export type TableAccess = 'read' | 'write' | 'readWrite';
export type QueueAccess = 'send' | 'consume';

// Item-level actions on the table itself: no Scan and no index access, which no function needs.
const TABLE_ACTIONS: Record<TableAccess, string[]> = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable'],
  write: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:DescribeTable'],
  readWrite: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:ConditionCheckItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:DescribeTable',
  ],
};

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
        POWERTOOLS_SERVICE_NAME: props.source,
        // One namespace per stack, so two stages in one account keep their metrics apart.
        POWERTOOLS_METRICS_NAMESPACE: Stack.of(scope).stackName,
        POWERTOOLS_LOG_LEVEL: config.logLevel,
        NODE_OPTIONS: '--enable-source-maps',
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

  bindStream(stream: IStream, envName: string, access: StreamAccess): this {
    this.addEnvironment(envName, stream.streamName);
    if (access === 'read') stream.grantRead(this);
    else if (access === 'write') stream.grantWrite(this);
    else stream.grantReadWrite(this);
    return this;
  }

  bindTable(table: ITable, envName: string, access: TableAccess): this {
    this.addEnvironment(envName, table.tableName);
    this.addToRolePolicy(new PolicyStatement({ actions: TABLE_ACTIONS[access], resources: [table.tableArn] }));
    if (access === 'read') table.encryptionKey?.grantDecrypt(this);
    else table.encryptionKey?.grantEncryptDecrypt(this);
    return this;
  }

  /** The variable holds the queue URL. */
  bindQueue(queue: IQueue, envName: string, access: QueueAccess): this {
    this.addEnvironment(envName, queue.queueUrl);
    if (access === 'send') queue.grantSendMessages(this);
    else queue.grantConsumeMessages(this);
    return this;
  }

  /** The variable holds the secret ARN; the function reads the value at run time. */
  bindSecret(secret: ISecret, envName: string): this {
    this.addEnvironment(envName, secret.secretArn);
    secret.grantRead(this);
    return this;
  }
}
