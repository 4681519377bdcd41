import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, ListStreamsCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { DescribeTableCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startAwsEndpoint, type AwsEndpoint } from '../../tools/local-cloud/endpoint';
import type { CfnTemplate, ResolvedTemplate } from '../../tools/local-cloud/intrinsics/model';
import { resolveTemplate } from '../../tools/local-cloud/intrinsics/resolver';
import { createResources, destroyClients, localClients, type LocalClients } from '../../tools/local-cloud/resources';
import type { LocalResource } from '../../tools/local-cloud/types';

// One endpoint and one set of resources, created from the fixture template, for the whole file.
const template = JSON.parse(readFileSync(path.join(import.meta.dirname, '../fixtures/local-template.json'), 'utf8')) as CfnTemplate;
const region = 'us-east-1';

let endpoint: AwsEndpoint;
let resolved: ResolvedTemplate;
let clients: LocalClients;
let secrets: SecretsManagerClient;

function resource(logicalIdPrefix: string): LocalResource {
  const found = resolved.resources.find((r) => r.logicalId.startsWith(logicalIdPrefix));
  if (!found) throw new Error(`fixture has no ${logicalIdPrefix}`);
  return found;
}

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0, region, accountId: '000000000000' });
  resolved = resolveTemplate(template, { stackName: 'EcommercePipeline-local', region, accountId: '000000000000', endpoint: endpoint.url });
  clients = localClients(endpoint.url, region);
  secrets = new SecretsManagerClient({ endpoint: endpoint.url, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await createResources({ resources: resolved.resources, clients, secrets: endpoint.secrets });
});

afterAll(async () => {
  if (clients) destroyClients(clients);
  secrets?.destroy();
  await endpoint?.close();
});

describe('Kinesis (kinesalite) behind the endpoint', () => {
  it('creates every stream with its declared shard count, ON_DEMAND as two shards, and retention', async () => {
    const listed = await clients.kinesis.send(new ListStreamsCommand({}));
    expect(listed.StreamNames).toEqual(expect.arrayContaining([resolved.outputs.RawStreamName, resolved.outputs.ProcessedStreamName]));

    const raw = await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: resolved.outputs.RawStreamName }));
    expect(raw.StreamDescriptionSummary).toMatchObject({ StreamStatus: 'ACTIVE', OpenShardCount: 2, StreamARN: resource('RawStream').attributes.Arn });

    const processed = await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: resolved.outputs.ProcessedStreamName }));
    expect(processed.StreamDescriptionSummary).toMatchObject({ StreamStatus: 'ACTIVE', OpenShardCount: 2, RetentionPeriodHours: 48 });
  });

  it('round-trips a record through the SDK over HTTP/1.1', async () => {
    const StreamName = resolved.outputs.RawStreamName;
    const put = await clients.kinesis.send(new PutRecordCommand({ StreamName, PartitionKey: 'session-1', Data: Buffer.from('{"hello":"kinesis"}') }));
    const iterator = await clients.kinesis.send(
      new GetShardIteratorCommand({ StreamName, ShardId: put.ShardId!, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: put.SequenceNumber! }),
    );
    const records = await clients.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator! }));
    expect(Buffer.from(records.Records![0]!.Data!).toString('utf8')).toBe('{"hello":"kinesis"}');
    const shards = await clients.kinesis.send(new ListShardsCommand({ StreamName }));
    expect(shards.Shards?.map((s) => s.ShardId)).toContain(put.ShardId);
  });
});

describe('DynamoDB (dynalite) behind the endpoint', () => {
  it('creates the events table with event_id as partition key and the ByUser index', async () => {
    const table = await clients.dynamodb.send(new DescribeTableCommand({ TableName: resolved.outputs.EventsTableName }));
    expect(table.Table?.KeySchema).toEqual([{ AttributeName: 'event_id', KeyType: 'HASH' }]);
    expect(table.Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.Table?.GlobalSecondaryIndexes?.map((index) => ({ name: index.IndexName, keys: index.KeySchema }))).toEqual([
      {
        name: 'ByUser',
        keys: [
          { AttributeName: 'user_id', KeyType: 'HASH' },
          { AttributeName: 'event_time', KeyType: 'RANGE' },
        ],
      },
    ]);
  });

  it('answers a query on the GSI with an item written to the table', async () => {
    const TableName = resolved.outputs.EventsTableName;
    await clients.dynamodb.send(
      new PutItemCommand({ TableName, Item: { event_id: { S: 'e-1' }, user_id: { S: 'u-42' }, event_time: { S: '2026-11-22T09:59:00Z' } } }),
    );
    const byUser = await clients.dynamodb.send(
      new QueryCommand({ TableName, IndexName: 'ByUser', KeyConditionExpression: 'user_id = :u', ExpressionAttributeValues: { ':u': { S: 'u-42' } } }),
    );
    expect(byUser.Items?.map((item) => item.event_id?.S)).toEqual(['e-1']);
  });

  it('creates the aggregates table with pk and sk', async () => {
    const table = await clients.dynamodb.send(new DescribeTableCommand({ TableName: resolved.outputs.AggregatesTableName }));
    expect(table.Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
  });
});

describe('SQS (fauxqs) behind the endpoint', () => {
  it('gives queue URLs on the local endpoint, the same the template resolved', async () => {
    const name = resource('DeadLetterQueue').attributes.QueueName!;
    const found = await clients.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    expect(found.QueueUrl).toBe(resolved.outputs.DeadLetterQueueUrl);
    expect(found.QueueUrl!.startsWith(`${endpoint.url}/000000000000/`)).toBe(true);
  });

  it('creates the RedriveQueue with its RedrivePolicy targeting the DeadLetterQueue, and its timeouts', async () => {
    const attributes = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: resolved.outputs.RedriveQueueUrl, AttributeNames: ['All'] }));
    expect(JSON.parse(attributes.Attributes!.RedrivePolicy!)).toMatchObject({
      deadLetterTargetArn: resource('DeadLetterQueue').attributes.Arn,
      maxReceiveCount: 3,
    });
    expect(attributes.Attributes).toMatchObject({ VisibilityTimeout: '180', MessageRetentionPeriod: '345600' });
  });

  it('moves a message received more than maxReceiveCount times to the DeadLetterQueue', async () => {
    const QueueUrl = resolved.outputs.RedriveQueueUrl!;
    await clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'poison' }));
    const deadline = Date.now() + 20_000;
    let inDeadLetters: string | undefined;
    while (inDeadLetters === undefined && Date.now() < deadline) {
      // Visibility 0: the message is visible again at once, so each receive counts one more attempt.
      await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 0, MaxNumberOfMessages: 1 }));
      const dead = await clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: resolved.outputs.DeadLetterQueueUrl, VisibilityTimeout: 0, MaxNumberOfMessages: 1 }),
      );
      inDeadLetters = dead.Messages?.[0]?.Body;
    }
    expect(inDeadLetters).toBe('poison');
  });

  it('speaks the query protocol: a raw form POST Action=ListQueues answers XML with the queue URLs', async () => {
    const response = await fetch(`${endpoint.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=ListQueues&Version=2012-11-05',
    });
    expect(response.status).toBe(200);
    const xml = await response.text();
    expect(xml).toContain('<ListQueuesResponse');
    for (const url of [resolved.outputs.DeadLetterQueueUrl, resolved.outputs.RedriveQueueUrl, resolved.outputs.StreamFailureQueueUrl]) {
      expect(xml).toContain(`<QueueUrl>${url}</QueueUrl>`);
    }
  });

  it('accepts query-protocol calls posted to the queue URL itself', async () => {
    const QueueUrl = resolved.outputs.StreamFailureQueueUrl!;
    const sent = await fetch(QueueUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        Action: 'SendMessage',
        MessageBody: 'via the queue URL',
        'MessageAttribute.1.Name': 'reason',
        'MessageAttribute.1.Value.DataType': 'String',
        'MessageAttribute.1.Value.StringValue': 'validation_failed',
      }).toString(),
    });
    expect(sent.status).toBe(200);
    expect(await sent.text()).toContain('<MessageId>');
    const received = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }));
    expect(received.Messages?.[0]?.Body).toBe('via the queue URL');
    expect(received.Messages?.[0]?.MessageAttributes?.reason?.StringValue).toBe('validation_failed');
  });

  it('answers a query-protocol ReceiveMessage with the message, its attributes and message attributes as XML', async () => {
    const QueueUrl = resolved.outputs.StreamFailureQueueUrl!;
    await clients.sqs.send(
      new SendMessageCommand({ QueueUrl, MessageBody: 'a <b> & c', MessageAttributes: { reason: { DataType: 'String', StringValue: 'load_failed' } } }),
    );
    const response = await fetch(`${endpoint.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ Action: 'ReceiveMessage', QueueUrl, 'AttributeName.1': 'All', 'MessageAttributeName.1': 'All', WaitTimeSeconds: '1' }).toString(),
    });
    const xml = await response.text();
    expect(response.status).toBe(200);
    expect(xml).toContain('<Body>a &lt;b&gt; &amp; c</Body>');
    expect(xml).toMatch(/<Attribute><Name>ApproximateReceiveCount<\/Name><Value>1<\/Value><\/Attribute>/);
    expect(xml).toContain('<MessageAttribute><Name>reason</Name><Value>');
    expect(xml).toContain('<StringValue>load_failed</StringValue>');
  });

  it('answers a query-protocol call for a missing queue with an XML error', async () => {
    const response = await fetch(`${endpoint.url}/000000000000/no-such-queue`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetQueueAttributes&AttributeName.1=All',
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/<Code>AWS\.SimpleQueueService\.NonExistentQueue<\/Code>|<Code>QueueDoesNotExist<\/Code>/);
  });
});

describe('Secrets Manager (in process) behind the endpoint', () => {
  it('returns the generated secret, the same value the API key resolved to', async () => {
    const secret = await secrets.send(new GetSecretValueCommand({ SecretId: resolved.outputs.ApiKeySecretArn }));
    const apiKey = (JSON.parse(secret.SecretString!) as { apiKey: string }).apiKey;
    expect(apiKey).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(resource('IngestApiKey').properties.Value).toBe(apiKey);
  });

  it('finds the secret by name and lists it', async () => {
    const listed = await secrets.send(new ListSecretsCommand({}));
    const entry = listed.SecretList?.find((s) => s.ARN === resolved.outputs.ApiKeySecretArn);
    expect(entry?.Name).toBeDefined();
    const byName = await secrets.send(new GetSecretValueCommand({ SecretId: entry!.Name! }));
    expect(byName.ARN).toBe(resolved.outputs.ApiKeySecretArn);
  });

  it('says ResourceNotFoundException for an unknown secret', async () => {
    await expect(secrets.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('the endpoint itself', () => {
  it('refuses services it does not emulate with a clear message', async () => {
    const response = await fetch(`${endpoint.url}/`, {
      method: 'POST',
      headers: { 'x-amz-target': 'Logs_20140328.PutLogEvents', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toContain('not emulated');
  });

  it('answers 404 JSON for a path no API serves', async () => {
    const response = await fetch(`${endpoint.url}/nowhere`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/json');
  });
});
