import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startLocalCloud, type LocalCloud } from '../../tools/local-cloud/cloud';
import { createTrafficGenerator } from '../../lambdas/generator/traffic';
import { aggregateFromItem, expectedAggregates, mergeWriteShards, type AggregateSource } from '../../lambdas/shared/aggregates';
import type { DeadLetterMessage } from '../../lambdas/shared/records';
import { sampleEventV3 } from '../fixtures/events';
import { deadLettersFor, ENRICHED, storedEvents } from '../harness/checks';
import { poll } from '../fixtures/poll';

// End to end over real HTTP and real SDK clients, against the whole synthesized app running in
// the local cloud. One cloud for the file; each test uses its own event ids.

const POISON = 'poison-pill-campaign';
const workDir = mkdtempSync(path.join(tmpdir(), 'pipeline-e2e-'));
const projectDir = path.resolve(import.meta.dirname, '../..');

let cloud: LocalCloud;
let sqs: SQSClient;
let dynamo: DynamoDBDocumentClient;
let outputs: Record<string, string>;

beforeAll(async () => {
  cloud = await startLocalCloud({
    port: 0,
    projectDir,
    cdkOut: path.join(workDir, 'cdk.out'),
    outputsFile: path.join(workDir, 'outputs.json'),
    generator: false,
    // A loader crash on one record: the template's bisect, retry and on-failure settings must
    // isolate it while its neighbours are stored.
    faults: [{ functionName: 'Loader', whenPayloadContains: POISON }],
  });
  outputs = cloud.outputs;
  const client = { endpoint: cloud.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  sqs = new SQSClient(client);
  dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(client));
});

afterAll(async () => {
  sqs?.destroy();
  dynamo?.destroy();
  await cloud?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

interface IngestResponse {
  accepted: number;
  invalid: number;
  results: Array<{ index: number; event_id: string; status: string; valid: boolean; errors: Array<{ path: string; code: string }> }>;
}

async function post(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: IngestResponse }> {
  const response = await fetch(`${outputs.IngestUrl}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': cloud.apiKeyValue, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as IngestResponse };
}

const stored = (ids: readonly string[]) => storedEvents(dynamo, outputs.EventsTableName!, ids);

async function scanAll(tableName: string): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

const recent = () => new Date(Date.now() - 60_000).toISOString();

describe('the pipeline on the local cloud', () => {
  const generated = createTrafficGenerator({ seed: 7, invalidShare: 0.25 }).batch(120);
  const valid = generated.filter((g) => g.intendedValid).map((g) => g.event);
  const invalid = generated.filter((g) => !g.intendedValid).map((g) => g.event);

  it('stores every valid event of a mixed batch exactly once, enriched, and dead-letters every invalid one with its reasons', async () => {
    const { status, body } = await post({ events: generated.map((g) => g.event) });
    expect(status).toBe(202);
    expect(body.accepted).toBe(generated.length);
    expect(body.invalid).toBe(invalid.length);
    const validIds = body.results.filter((r) => r.valid).map((r) => r.event_id);
    const invalidIds = new Set(body.results.filter((r) => !r.valid).map((r) => r.event_id));
    expect(validIds).toHaveLength(valid.length);

    const storedItems = await poll('every valid event stored', async () => {
      const found = await stored(validIds);
      return found.size === validIds.length ? found : undefined;
    });
    for (const item of storedItems.values()) expect(item).toMatchObject(ENRICHED);
    // No invalid event was stored (an empty id cannot even be looked up).
    expect((await stored([...invalidIds])).size).toBe(0);

    const letters = await deadLettersFor(sqs, outputs.DeadLetterQueueUrl!, invalidIds);
    expect(new Set(letters.map((l) => (l.body.record as { event_id: string }).event_id))).toEqual(invalidIds);
    for (const { message, body: letter } of letters) {
      expect(letter.reason).toBe('validation_failed');
      expect(letter.errors.length).toBeGreaterThan(0);
      expect(message.MessageAttributes?.reason?.StringValue).toBe('validation_failed');
      expect(message.MessageAttributes?.error_codes?.StringValue).toContain(letter.errors[0]!.code);
      expect(letter.source).toMatchObject({ stream: outputs.RawStreamName, shard_id: expect.any(String), received_at: expect.any(String) });
    }
  });

  it('stores nothing new when a client resends events it already sent', async () => {
    const before = (await cloud.metrics()).totals;
    const eventsTableBefore = (await scanAll(outputs.EventsTableName!)).length;
    const { status } = await post({ events: valid.slice(0, 20) });
    expect(status).toBe(202);
    await poll('the resent events to reach the loader', async () => {
      const totals = (await cloud.metrics()).totals;
      return (totals.EventsDuplicate ?? 0) - (before.EventsDuplicate ?? 0) >= 20 ? true : undefined;
    });
    expect((await scanAll(outputs.EventsTableName!)).length).toBe(eventsTableBefore);
    expect((await cloud.metrics()).totals.EventsStored ?? 0).toBe(before.EventsStored ?? 0);
  });

  it('stores a dead letter that was fixed and redriven through RedriveQueue', async () => {
    const broken = sampleEventV3({ event_id: randomUUID(), event_time: recent(), price: 0 });
    const { body } = await post(broken);
    expect(body.results[0]).toMatchObject({ status: 'accepted', valid: false });

    const [letter] = await deadLettersFor(sqs, outputs.DeadLetterQueueUrl!, new Set([String(broken.event_id)]), {
      take: async ({ message, body: letterBody }) => {
        const fixed: DeadLetterMessage = { ...letterBody, record: { ...(letterBody.record as object), price: 12.5 } };
        await sqs.send(new SendMessageCommand({ QueueUrl: outputs.RedriveQueueUrl, MessageBody: JSON.stringify(fixed) }));
        await sqs.send(new DeleteMessageCommand({ QueueUrl: outputs.DeadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle }));
      },
    });
    expect(letter!.body.errors).toContainEqual(expect.objectContaining({ path: 'price', code: 'too_small' }));

    const redriven = await poll('the redriven event stored', async () => (await stored([String(broken.event_id)])).get(String(broken.event_id)));
    expect(redriven).toMatchObject({ price: 12.5, quantity: 3, total_amount: 37.5 });
  });

  it('isolates a poison record by bisecting while its neighbours are stored, and names it on the on-failure queue', async () => {
    const neighbours = [0, 1, 2, 3].map(() => sampleEventV3({ event_id: randomUUID(), event_time: recent(), session_id: 'bisect-session' }));
    const poison = sampleEventV3({ event_id: randomUUID(), event_time: recent(), session_id: 'bisect-session', campaign_id: POISON });
    const batch = [neighbours[0]!, neighbours[1]!, poison, neighbours[2]!, neighbours[3]!];
    const { status } = await post({ events: batch });
    expect(status).toBe(202);

    const ids = neighbours.map((e) => String(e.event_id));
    await poll('the neighbours stored', async () => ((await stored(ids)).size === ids.length ? true : undefined));

    const failure = await poll('an on-failure record for the poison batch', async () => {
      const answer = await sqs.send(new ReceiveMessageCommand({ QueueUrl: outputs.StreamFailureQueueUrl, MaxNumberOfMessages: 10 }));
      const bodies = (answer.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}') as { KinesisBatchInfo?: { batchSize: number; streamArn: string } });
      return bodies.find((b) => b.KinesisBatchInfo?.streamArn.endsWith(`/${outputs.ProcessedStreamName}`));
    });
    expect(failure.KinesisBatchInfo?.batchSize).toBe(1);
    expect((await stored([String(poison.event_id)])).size).toBe(0);
  });

  it('keeps the hourly aggregates equal to the sum of the stored events', async () => {
    const events = await scanAll(outputs.EventsTableName!);
    expect(events.length).toBeGreaterThan(0);
    const expected = expectedAggregates(events as unknown as AggregateSource[]);
    const actual = await scanAll(outputs.AggregatesTableName!);
    const byKey = new Map(mergeWriteShards(actual.map(aggregateFromItem)).map((value) => [`${value.pk}|${value.sk}`, value]));
    expect(byKey.size).toBe(expected.length);
    for (const want of expected) {
      expect(byKey.get(`${want.pk}|${want.sk}`), `${want.pk} ${want.sk}`).toEqual(want);
    }
    // Revenue is kept per currency, never summed across currencies.
    expect(actual.some((item) => Object.keys(item).some((name) => name.startsWith('revenue_')))).toBe(true);
    expect(actual.some((item) => 'revenue' in item)).toBe(false);
  });

  it('holds a burst to the usage plan (burst 200, 100 requests/s): the rest get 429', async () => {
    // The token bucket's own arithmetic is unit-tested (api-gateway.test.ts); here it is the real
    // API: however fast this machine delivers the burst, no more requests pass than the plan allows.
    const started = Date.now();
    const statuses = await Promise.all(
      Array.from({ length: 600 }, () =>
        fetch(`${outputs.IngestUrl}/events`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain', 'x-api-key': cloud.apiKeyValue },
          body: 'not json',
        }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    for (const status of statuses) expect([415, 429]).toContain(status);
    const passed = statuses.filter((s) => s === 415).length;
    // Tokens: the burst plus the refill while the requests arrived (the bucket may have refilled
    // fully since the previous test).
    expect(passed).toBeLessThanOrEqual(200 + Math.ceil(100 * seconds) + 5);
    // Unless this machine delivered them slower than the plan refills, some were refused.
    if (600 > 200 + 100 * seconds) expect(statuses).toContain(429);
  });
});
