import { readFile } from 'node:fs/promises';
import { APIGatewayClient, GetApiKeyCommand } from '@aws-sdk/client-api-gateway';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { CONTRACT_OUTPUTS } from '../../lib/contract-outputs';
import { CliError, explainError } from './errors';

/** Contract §4: what every outputs file holds, local or deployed. */
export const REQUIRED_OUTPUTS = CONTRACT_OUTPUTS;

export type OutputName =
  | (typeof REQUIRED_OUTPUTS)[number]
  | 'ApiKeySecretArn'
  | 'StreamFailureQueueUrl'
  | 'AwsEndpoint'
  | 'ApiKeyValue'
  // With the raw archive (context rawArchive).
  | 'ArchiveBucketName'
  // With the SQL sink (context auroraSink).
  | 'AuroraClusterArn'
  | 'AuroraSecretArn'
  | 'AuroraDatabaseName';

export const DEFAULT_OUTPUTS_FILE = '.local/outputs.json';

export interface StackOutputs {
  stackName: string;
  file: string;
  values: Record<string, string>;
  /** Set for the local cloud: one endpoint for every service. */
  awsEndpoint?: string;
}

export interface TargetOptions {
  outputs?: string;
  stack?: string;
  region?: string;
  profile?: string;
  /** Overrides the endpoint of every AWS client (LocalStack); AWS_ENDPOINT_URL works too. */
  endpoint?: string;
  apiKey?: string;
}

/** Picks the stack out of a `{ "<StackName>": { ...outputs } }` document and checks the contract keys. */
export function parseOutputs(document: unknown, file: string, stack?: string): StackOutputs {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new CliError(`${file} is not an outputs file: expected {"<StackName>": {"IngestUrl": ...}}`);
  }
  const stacks = Object.entries(document as Record<string, unknown>).filter(
    ([, value]) => typeof value === 'object' && value !== null && !Array.isArray(value),
  );
  if (stacks.length === 0) throw new CliError(`${file} holds no stack outputs`);
  let chosen: [string, unknown] | undefined;
  if (stack) {
    chosen = stacks.find(([name]) => name === stack);
    if (!chosen) {
      throw new CliError(`stack ${stack} is not in ${file}; it holds: ${stacks.map(([name]) => name).join(', ')}`);
    }
  } else if (stacks.length === 1) {
    chosen = stacks[0];
  } else {
    // cdk deploy --all writes every stack; only pipeline stacks carry IngestUrl.
    const pipelines = stacks.filter(([, value]) => 'IngestUrl' in (value as object));
    if (pipelines.length !== 1) {
      throw new CliError(`${file} holds several stacks (${stacks.map(([name]) => name).join(', ')}); pick one with --stack`);
    }
    chosen = pipelines[0];
  }
  const [stackName, raw] = chosen as [string, Record<string, unknown>];
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'string' || typeof value === 'number') values[key] = String(value);
  }
  const missing = REQUIRED_OUTPUTS.filter((name) => !values[name]);
  if (missing.length > 0) {
    throw new CliError(`${file} (stack ${stackName}) lacks the outputs ${missing.join(', ')}`);
  }
  return { stackName, file, values, awsEndpoint: values.AwsEndpoint };
}

export async function loadOutputs(file = DEFAULT_OUTPUTS_FILE, stack?: string): Promise<StackOutputs> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CliError(
        `outputs file not found: ${file}. Start the local cloud (npm start), deploy with ` +
          '`cdk deploy --outputs-file cdk-outputs.json` and pass --outputs cdk-outputs.json, or point --outputs at the file.',
      );
    }
    throw new CliError(`cannot read the outputs file ${file}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  return parseOutputs(document, file, stack);
}

export function requireOutput(outputs: StackOutputs, name: OutputName): string {
  const value = outputs.values[name];
  if (!value) throw new CliError(`${outputs.file} (stack ${outputs.stackName}) lacks the output ${name}, which this command needs`);
  return value;
}

interface ClientConfig {
  region?: string;
  profile?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts: number;
}

/** The SDK clients of one target, built on first use. */
export class Target {
  readonly outputs: StackOutputs;
  readonly isLocal: boolean;
  private readonly config: ClientConfig;
  private readonly options: TargetOptions;
  private readonly cache = new Map<string, unknown>();

  constructor(outputs: StackOutputs, options: TargetOptions = {}) {
    this.outputs = outputs;
    this.options = options;
    this.isLocal = Boolean(outputs.awsEndpoint);
    const endpoint = options.endpoint ?? outputs.awsEndpoint;
    this.config = outputs.awsEndpoint
      ? {
          // The local cloud accepts any credentials; fixed ones keep a developer's profile out of it.
          region: options.region ?? 'us-east-1',
          endpoint,
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
          maxAttempts: 3,
        }
      : { region: options.region, profile: options.profile, endpoint, maxAttempts: 3 };
  }

  /** Where the clients go, for error messages. */
  get endpointLabel(): string {
    return this.config.endpoint ?? `AWS (${this.config.region ?? process.env.AWS_REGION ?? 'default region'})`;
  }

  output(name: OutputName): string {
    return requireOutput(this.outputs, name);
  }

  private client<T>(key: string, build: () => T): T {
    let client = this.cache.get(key) as T | undefined;
    if (!client) {
      client = build();
      this.cache.set(key, client);
    }
    return client;
  }

  sqs(): SQSClient {
    return this.client('sqs', () => new SQSClient(this.config));
  }

  /** Plain-HTTP emulators do not speak HTTP/2, which the Kinesis client defaults to. */
  kinesis(): KinesisClient {
    return this.client(
      'kinesis',
      () =>
        new KinesisClient({
          ...this.config,
          requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
        }),
    );
  }

  /** Path-style against an endpoint (the local cloud and LocalStack serve S3 that way). */
  s3(): S3Client {
    return this.client('s3', () => new S3Client({ ...this.config, forcePathStyle: this.config.endpoint !== undefined }));
  }

  /** The RDS Data API (the SQL sink's cluster; the local cloud serves it on its endpoint). */
  rdsData(): RDSDataClient {
    return this.client('rdsdata', () => new RDSDataClient(this.config));
  }

  dynamodb(): DynamoDBClient {
    return this.client('dynamodb', () => new DynamoDBClient(this.config));
  }

  /** The document client over dynamodb() that `aggregates` and `rebuild` read and write with. */
  documents(): DynamoDBDocumentClient {
    return this.client('dynamodb-documents', () => DynamoDBDocumentClient.from(this.dynamodb(), { marshallOptions: { removeUndefinedValues: true } }));
  }

  cloudwatch(): CloudWatchClient {
    return this.client('cloudwatch', () => new CloudWatchClient(this.config));
  }

  secrets(): SecretsManagerClient {
    return this.client('secrets', () => new SecretsManagerClient(this.config));
  }

  apiGateway(): APIGatewayClient {
    return this.client('apigateway', () => new APIGatewayClient(this.config));
  }

  /**
   * The ingest API key: --api-key, PIPELINE_API_KEY, the local cloud's ApiKeyValue, the
   * ApiKeySecret (JSON {"apiKey": ...}), else API Gateway's own copy of the key.
   */
  async apiKey(): Promise<string> {
    const given = this.options.apiKey ?? process.env.PIPELINE_API_KEY ?? this.outputs.values.ApiKeyValue;
    if (given) return given;
    const secretArn = this.outputs.values.ApiKeySecretArn;
    const problems: string[] = [];
    if (secretArn) {
      try {
        const secret = await this.secrets().send(new GetSecretValueCommand({ SecretId: secretArn }));
        const apiKey = (JSON.parse(secret.SecretString ?? '{}') as { apiKey?: unknown }).apiKey;
        if (typeof apiKey === 'string' && apiKey !== '') return apiKey;
        problems.push(`secret ${secretArn} has no "apiKey"`);
      } catch (error) {
        problems.push(`secret ${secretArn}: ${explainError(error).message}`);
      }
    }
    try {
      const key = await this.apiGateway().send(
        new GetApiKeyCommand({ apiKey: this.output('ApiKeyId'), includeValue: true }),
      );
      if (key.value) return key.value;
      problems.push(`API key ${this.output('ApiKeyId')} has no value`);
    } catch (error) {
      problems.push(`API key ${this.outputs.values.ApiKeyId}: ${explainError(error).message}`);
    }
    throw new CliError(`cannot find the API key (${problems.join('; ')}). Pass --api-key or set PIPELINE_API_KEY.`);
  }
}

export async function openTarget(options: TargetOptions): Promise<Target> {
  const outputs = await loadOutputs(options.outputs ?? DEFAULT_OUTPUTS_FILE, options.stack);
  return new Target(outputs, options);
}
