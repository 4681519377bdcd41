import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  IncreaseStreamRetentionPeriodCommand,
  KinesisClient,
} from '@aws-sdk/client-kinesis';
import { CreateTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { SecretsManagerService } from './services/secrets-manager';
import type { LocalResource } from './types';
import { pollUntil } from '../shared/poll';

/**
 * Creates the template's data resources on the local services, from their resolved properties.
 * Which types it creates is in resource-types.ts; what it does with each property, in property-rules.ts.
 */

export interface LocalClients {
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  /** Path-style, as the local endpoint serves S3. */
  s3: S3Client;
}

/** SDK clients for the local endpoint; Kinesis over HTTP/1.1, which the emulator speaks. */
export function localClients(endpoint: string, region: string): LocalClients {
  const common = { endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 3 };
  return {
    kinesis: new KinesisClient({ ...common, requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000, requestTimeout: 10_000 }) }),
    dynamodb: new DynamoDBClient(common),
    sqs: new SQSClient(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
  };
}

export function destroyClients(clients: LocalClients): void {
  clients.kinesis.destroy();
  clients.dynamodb.destroy();
  clients.sqs.destroy();
  clients.s3.destroy();
}

function numberProperty(resource: LocalResource, name: string): number | undefined {
  const value = resource.properties[name];
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`${resource.logicalId}.${name}: expected a number, got ${JSON.stringify(value)}`);
  return parsed;
}

/** ON_DEMAND streams scale themselves on AWS; locally they get a fixed two shards. */
export const ON_DEMAND_LOCAL_SHARDS = 2;

async function createStream(kinesis: KinesisClient, resource: LocalResource): Promise<void> {
  const mode = (resource.properties.StreamModeDetails as { StreamMode?: string } | undefined)?.StreamMode;
  const shardCount = mode === 'ON_DEMAND' ? ON_DEMAND_LOCAL_SHARDS : (numberProperty(resource, 'ShardCount') ?? 1);
  const streamName = resource.ref;
  await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  const active = async () => {
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    return summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE' ? true : undefined;
  };
  await pollUntil(`stream ${streamName} to become ACTIVE`, active, { intervalMs: 20 });
  const retention = numberProperty(resource, 'RetentionPeriodHours');
  if (retention !== undefined && retention > 24) {
    await kinesis.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: streamName, RetentionPeriodHours: retention }));
    await pollUntil(`stream ${streamName} to become ACTIVE after the retention change`, active, { intervalMs: 20 });
  }
}

type GsiInput = NonNullable<CreateTableCommandInput['GlobalSecondaryIndexes']>[number];
type LsiInput = NonNullable<CreateTableCommandInput['LocalSecondaryIndexes']>[number];

async function createTable(dynamodb: DynamoDBClient, resource: LocalResource): Promise<void> {
  const p = resource.properties;
  const billingMode = (p.BillingMode as 'PAY_PER_REQUEST' | 'PROVISIONED' | undefined) ?? 'PROVISIONED';
  const throughput = (value: unknown) => {
    const t = value as { ReadCapacityUnits?: number | string; WriteCapacityUnits?: number | string } | undefined;
    return t ? { ReadCapacityUnits: Number(t.ReadCapacityUnits), WriteCapacityUnits: Number(t.WriteCapacityUnits) } : undefined;
  };
  const gsis = (p.GlobalSecondaryIndexes as Array<Record<string, unknown>> | undefined)?.map(
    (index): GsiInput => ({
      IndexName: index.IndexName as string,
      KeySchema: index.KeySchema as GsiInput['KeySchema'],
      Projection: index.Projection as GsiInput['Projection'],
      ProvisionedThroughput: billingMode === 'PROVISIONED' ? throughput(index.ProvisionedThroughput) : undefined,
    }),
  );
  const lsis = (p.LocalSecondaryIndexes as Array<Record<string, unknown>> | undefined)?.map(
    (index): LsiInput => ({
      IndexName: index.IndexName as string,
      KeySchema: index.KeySchema as LsiInput['KeySchema'],
      Projection: index.Projection as LsiInput['Projection'],
    }),
  );
  const stream = p.StreamSpecification as { StreamViewType?: string } | undefined;
  await dynamodb.send(
    new CreateTableCommand({
      TableName: resource.ref,
      KeySchema: p.KeySchema as CreateTableCommandInput['KeySchema'],
      AttributeDefinitions: p.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
      BillingMode: billingMode,
      ProvisionedThroughput: billingMode === 'PROVISIONED' ? throughput(p.ProvisionedThroughput) : undefined,
      GlobalSecondaryIndexes: gsis?.length ? gsis : undefined,
      LocalSecondaryIndexes: lsis?.length ? lsis : undefined,
      StreamSpecification: stream?.StreamViewType
        ? { StreamEnabled: true, StreamViewType: stream.StreamViewType as 'NEW_IMAGE' }
        : undefined,
    }),
  );
}

/** Queue attributes the template sets that the local queue honours; PROPERTY_RULES sorts the rest. */
export const QUEUE_ATTRIBUTES = [
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'FifoQueue',
  'ContentBasedDeduplication',
];

function queueAttributes(resource: LocalResource): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const name of QUEUE_ATTRIBUTES) {
    const value = resource.properties[name];
    if (value !== undefined) attributes[name] = String(value);
  }
  const redrive = resource.properties.RedrivePolicy;
  if (redrive !== undefined) {
    const policy = (typeof redrive === 'string' ? JSON.parse(redrive) : redrive) as { deadLetterTargetArn?: string; maxReceiveCount?: number | string };
    if (!policy.deadLetterTargetArn) throw new Error(`${resource.logicalId}.RedrivePolicy: deadLetterTargetArn is missing`);
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount: Number(policy.maxReceiveCount ?? 10) });
  }
  return attributes;
}

/** Dead-letter targets first, so every RedrivePolicy names a queue that exists. */
export function orderQueues(queues: LocalResource[]): LocalResource[] {
  const byArn = new Map(queues.map((queue) => [queue.attributes.Arn, queue]));
  const ordered: LocalResource[] = [];
  const visiting = new Set<string>();
  const visit = (queue: LocalResource): void => {
    if (ordered.includes(queue)) return;
    if (visiting.has(queue.logicalId)) throw new Error(`${queue.logicalId}: RedrivePolicy forms a cycle`);
    visiting.add(queue.logicalId);
    const redrive = queue.properties.RedrivePolicy as { deadLetterTargetArn?: string } | string | undefined;
    const target = typeof redrive === 'string' ? (JSON.parse(redrive) as { deadLetterTargetArn?: string }).deadLetterTargetArn : redrive?.deadLetterTargetArn;
    if (target !== undefined) {
      const dlq = byArn.get(target);
      if (!dlq) throw new Error(`${queue.logicalId}.RedrivePolicy: deadLetterTargetArn ${target} is not a queue of this template`);
      visit(dlq);
    }
    visiting.delete(queue.logicalId);
    ordered.push(queue);
  };
  queues.forEach(visit);
  return ordered;
}

async function createQueue(sqs: SQSClient, resource: LocalResource): Promise<void> {
  const name = resource.attributes.QueueName!;
  const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: queueAttributes(resource) }));
  if (created.QueueUrl !== resource.ref) {
    throw new Error(`${resource.logicalId}: the local queue URL ${created.QueueUrl} differs from the resolved ${resource.ref}`);
  }
}

export interface CreatedResources {
  streams: string[];
  tables: string[];
  queues: string[];
  secrets: string[];
  buckets: string[];
}

/** Creates streams, tables, queues (dead-letter targets first), secrets and buckets; waits for streams. */
export async function createResources(opts: {
  resources: LocalResource[];
  clients: LocalClients;
  secrets: SecretsManagerService;
}): Promise<CreatedResources> {
  const { resources, clients } = opts;
  const ofType = (type: string) => resources.filter((resource) => resource.type === type);
  const streams = ofType('AWS::Kinesis::Stream');
  const tables = ofType('AWS::DynamoDB::Table');
  const queues = orderQueues(ofType('AWS::SQS::Queue'));
  const secrets = ofType('AWS::SecretsManager::Secret');
  const buckets = ofType('AWS::S3::Bucket');
  const wrap = (resource: LocalResource) => (error: unknown) => {
    throw new Error(`Could not create ${resource.logicalId} (${resource.type}) locally: ${error instanceof Error ? error.message : String(error)}`);
  };

  for (const secret of secrets) {
    const value = secret.properties.SecretString;
    if (typeof value !== 'string') throw new Error(`${secret.logicalId}: no secret value was resolved`);
    const name = secret.ref.split(':')[6]!.replace(/-[A-Za-z0-9]{6}$/, '');
    opts.secrets.put({ arn: secret.ref, name, value, description: secret.properties.Description as string | undefined });
  }
  await Promise.all([
    ...streams.map((stream) => createStream(clients.kinesis, stream).catch(wrap(stream))),
    ...tables.map((table) => createTable(clients.dynamodb, table).catch(wrap(table))),
    ...buckets.map((bucket) => clients.s3.send(new CreateBucketCommand({ Bucket: bucket.ref })).catch(wrap(bucket))),
    (async () => {
      for (const queue of queues) await createQueue(clients.sqs, queue).catch(wrap(queue));
    })(),
  ]);
  return {
    streams: streams.map((r) => r.ref),
    tables: tables.map((r) => r.ref),
    queues: queues.map((r) => r.ref),
    secrets: secrets.map((r) => r.ref),
    buckets: buckets.map((r) => r.ref),
  };
}
