import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { startLocalCloud, type LocalCloud } from '../../tools/local-cloud/cloud';
import { CONTRACT_OUTPUTS } from '../../tools/local-cloud/outputs';
import { sampleEventV3 } from '../fixtures/events';
import { poll } from '../fixtures/poll';

// One local cloud for the file, booted from the real app: synthesized into a temp assembly,
// outputs written to a temp file so a developer's running `npm start` is left alone.
const workDir = mkdtempSync(path.join(tmpdir(), 'local-cloud-boot-'));
const outputsFile = path.join(workDir, 'outputs.json');
const projectDir = path.resolve(import.meta.dirname, '../..');

let cloud: LocalCloud;
let dynamodb: DynamoDBClient;

beforeAll(async () => {
  cloud = await startLocalCloud({ port: 0, projectDir, cdkOut: path.join(workDir, 'cdk.out'), outputsFile, generator: false });
  dynamodb = new DynamoDBClient({ endpoint: cloud.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterAll(async () => {
  dynamodb?.destroy();
  await cloud?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('startLocalCloud on the real app', () => {
  it('writes the outputs file with every contract key, the endpoint and the API key value', () => {
    const file = JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>;
    expect(Object.keys(file)).toEqual(['EcommercePipeline-local']);
    const outputs = file['EcommercePipeline-local']!;
    for (const key of [...CONTRACT_OUTPUTS, 'AwsEndpoint', 'ApiKeyValue']) expect(outputs[key], key).toEqual(expect.any(String));
    expect(outputs.AwsEndpoint).toBe(cloud.endpoint);
    expect(outputs.ApiKeyValue).toBe(cloud.apiKeyValue);
    expect(outputs.IngestUrl!.startsWith(`${cloud.endpoint}/`)).toBe(true);
    expect(outputs.DeadLetterQueueUrl!.startsWith(`${cloud.endpoint}/000000000000/`)).toBe(true);
  });

  it('says at start-up which template types it does not emulate', () => {
    expect(cloud.groups.notEmulated.map((entry) => entry.resource.type)).toContain('AWS::IAM::Role');
    expect(cloud.functionNames.length).toBeGreaterThanOrEqual(4);
  });

  it('accepts a valid event at IngestUrl/events with the key (202) and stores it in the Events table', async () => {
    const event = sampleEventV3({ event_time: new Date(Date.now() - 60_000).toISOString() });
    const response = await fetch(`${cloud.outputs.IngestUrl!.replace(/\/+$/, '')}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': cloud.apiKeyValue },
      body: JSON.stringify(event),
    });
    const body = (await response.json()) as { accepted: number; results: Array<{ event_id: string; status: string; valid: boolean }> };
    expect(response.status).toBe(202);
    expect(body.results[0]).toMatchObject({ event_id: event.event_id, status: 'accepted', valid: true });

    const item = await poll('the event in the Events table', async () => {
      const found = await dynamodb.send(
        new GetItemCommand({ TableName: cloud.outputs.EventsTableName, Key: { event_id: { S: String(event.event_id) } } }),
      );
      return found.Item;
    });
    expect(item.event_type?.S).toBe('purchase');
    expect(item.total_amount?.N).toBe('59.97');
  });

  it('refuses a request without the API key (403) and writes nothing', async () => {
    const before = (await cloud.metrics()).totals.EventsReceived ?? 0;
    const event = sampleEventV3({ event_time: new Date(Date.now() - 60_000).toISOString() });
    const response = await fetch(`${cloud.outputs.IngestUrl!.replace(/\/+$/, '')}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    expect(response.status).toBe(403);
    // The collector never ran: it counts every request it receives.
    expect((await cloud.metrics()).totals.EventsReceived ?? 0).toBe(before);
  });

  it('serves the counters on /_local/metrics, EventsStored included once the loader ran', async () => {
    const totals = await poll('EventsStored in /_local/metrics', async () => {
      const response = await fetch(`${cloud.endpoint}/_local/metrics`);
      const body = (await response.json()) as { totals: Record<string, number>; deadLetterQueueDepth: number };
      return (body.totals.EventsStored ?? 0) >= 1 ? body : undefined;
    });
    expect(totals.totals.EventsAccepted).toBeGreaterThanOrEqual(1);
    expect(totals.deadLetterQueueDepth).toEqual(expect.any(Number));
    // totals() gives the same counters without the queue depths (nothing is sent meanwhile).
    expect(cloud.totals()).toEqual((await cloud.metrics()).totals);
    expect(cloud.totals().EventsStored).toBeGreaterThanOrEqual(1);
  });

  it('reports ready on /_local/health', async () => {
    const response = await fetch(`${cloud.endpoint}/_local/health`);
    expect(response.status).toBe(200);
    expect(existsSync(outputsFile)).toBe(true);
  });
});
