import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand, KinesisClient, ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTrafficGenerator } from '../../lambdas/generator/traffic';
import { startLocalCloud, type LocalCloud } from '../../tools/local-cloud/cloud';
import type { FaultSet, FaultState } from '../../tools/local-cloud/fault-set';
import { checkConservation, emptyAccepted, ingest, scanAll, withIds, type Accepted, type ConservationClients } from '../harness/conservation';
import { PROJECT, runCli } from '../fixtures/cli';
import { poll } from '../fixtures/poll';

// Exactly once under failure: each scenario switches faults on in the running local cloud, sends
// traffic as a careful producer would, follows the README's recovery, and ends with the same
// conservation check (stored once, DLQ complete, first-pass counts, aggregates = Events table).

const workDir = mkdtempSync(path.join(tmpdir(), 'exactly-once-'));
const outputsFile = path.join(workDir, 'outputs.json');

let cloud: LocalCloud;
let clients: ConservationClients;
let sqs: SQSClient;
let kinesis: KinesisClient;
let seed = 100;

beforeAll(async () => {
  cloud = await startLocalCloud({ port: 0, projectDir: PROJECT, cdkOut: path.join(workDir, 'cdk.out'), outputsFile, generator: false });
  const config = { endpoint: cloud.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  sqs = new SQSClient(config);
  kinesis = new KinesisClient({ ...config, requestHandler: new NodeHttpHandler() });
  clients = { dynamo: DynamoDBDocumentClient.from(new DynamoDBClient(config)), sqs, outputs: cloud.outputs };
});

afterAll(async () => {
  sqs?.destroy();
  kinesis?.destroy();
  clients?.dynamo.destroy();
  await cloud?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

beforeEach(() => cloud.faults.clear());

const cli = (args: string[]) => runCli(args, { outputsFile });

function traffic(count: number, invalidShare = 0.1): Array<Record<string, unknown>> {
  seed += 1;
  return createTrafficGenerator({ seed, invalidShare }).batch(count).map((g) => g.event as Record<string, unknown>);
}

const metricsNow = async () => (await cloud.metrics()).totals;

async function failureQueueDepth(): Promise<number> {
  const answer = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: cloud.outputs.StreamFailureQueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(answer.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(answer.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/** Sends with these faults on, clears them, and checks conservation. */
async function underFaults(faults: FaultSet, events: Array<Record<string, unknown>>) {
  const before = await metricsNow();
  cloud.faults.apply(faults);
  // Small requests spread out: many small batches, so per-invocation faults get many chances.
  const accepted = await ingest(cloud.outputs.IngestUrl!, cloud.apiKeyValue, withIds(events), emptyAccepted(), { batch: 10, pauseMs: 100 });
  return { accepted, before };
}

/** The conservation check; returns its report and the faults injected until the pipeline caught up. */
async function expectConserved(accepted: Accepted, before?: Record<string, number>) {
  let injected: FaultState['injected'] = {};
  const report = await checkConservation(clients, accepted, {
    ...(before ? { metrics: { before, now: metricsNow } } : {}),
    // The faults stay on while the pipeline catches up; the final reads run without them.
    beforeFinalChecks: () => {
      injected = cloud.faults.state().injected;
      cloud.faults.clear();
    },
  });
  expect(report.problems, JSON.stringify(report)).toEqual([]);
  expect(report.accepted).toBeGreaterThan(0);
  return { ...report, injected };
}

describe('exactly once under failure (local cloud with faults)', () => {
  it('hole 3: a 503 carries the assigned event_ids, and resending with them stores each event once', async () => {
    const events = traffic(6, 0).map(({ event_id: _, ...rest }) => rest);
    cloud.faults.apply({ kinesis: { putRecordsEntryFailure: 1 } });
    const response = await fetch(`${cloud.outputs.IngestUrl}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': cloud.apiKeyValue },
      body: JSON.stringify({ events }),
    });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { results: Array<{ index: number; event_id: string; status: string }> };
    expect(body.results.map((r) => r.status)).toEqual(events.map(() => 'retry'));
    cloud.faults.clear();
    const resend = events.map((e, i) => ({ ...e, event_id: body.results[i]!.event_id }));
    const accepted = await ingest(cloud.outputs.IngestUrl!, cloud.apiKeyValue, resend, emptyAccepted());
    expect([...accepted.verdicts.keys()].sort()).toEqual(body.results.map((r) => r.event_id).sort());
    await expectConserved(accepted);
  });

  it('hole 5: a price no sink can store is invalid at once and dead-lettered as validation_failed, not load_failed', async () => {
    const [event] = traffic(1, 0);
    const bad = { ...event, event_type: 'purchase', product_id: 'SKU-1', price: 5e-324, currency: 'USD', quantity: 1 };
    const response = await fetch(`${cloud.outputs.IngestUrl}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': cloud.apiKeyValue },
      body: JSON.stringify(bad),
    });
    const body = (await response.json()) as { results: Array<{ valid: boolean; event_id: string; errors: Array<{ path: string }> }> };
    expect(body.results[0]).toMatchObject({ valid: false, errors: [{ path: 'price' }] });
    const accepted = emptyAccepted();
    accepted.verdicts.set(body.results[0]!.event_id, false);
    await expectConserved(accepted);
  });

  it('partial PutRecords and SendMessageBatch failures: retried entries only, each record counted once', async () => {
    const { accepted, before } = await underFaults({ seed: 1, kinesis: { putRecordsEntryFailure: 0.2 }, sqs: { sendEntryFailure: 0.3 } }, traffic(300));
    const report = await expectConserved(accepted, before);
    const injected = report.injected;
    expect(injected['kinesis.putRecordsEntryFailure'] ?? 0).toBeGreaterThan(0);
    expect(injected['sqs.sendEntryFailure'] ?? 0).toBeGreaterThan(0);
    expect(report.invalid).toBeGreaterThan(0);
  });

  it('function crashes mid-batch and timeouts: retried and bisected batches store and count each record once', async () => {
    const { accepted, before } = await underFaults(
      { seed: 2, lambda: { crash: [{ function: 'Loader', share: 0.4 }, { function: 'Validator', share: 0.2 }], timeout: { function: 'Validator', share: 0.2 } } },
      traffic(300),
    );
    const { injected } = await expectConserved(accepted, before);
    expect((injected['lambda.crash'] ?? 0) + (injected['lambda.timeout'] ?? 0)).toBeGreaterThan(0);
    expect(await failureQueueDepth()).toBe(0);
  });

  it('DynamoDB throttling and an outage: the loader retries and nothing is lost or counted twice', async () => {
    const { accepted, before } = await underFaults({ seed: 3, dynamodb: { throttle: 0.3, unavailableForSeconds: 2 } }, traffic(300));
    const { injected } = await expectConserved(accepted, before);
    expect(injected['dynamodb.throttle'] ?? 0).toBeGreaterThan(0);
  });

  it('hole 1: throttled until the mapping gives up, then `pipeline replay --from-failure-queue`: stored once, aggregates exact', async () => {
    const before = await metricsNow();
    const events = withIds(traffic(150, 0.05));
    cloud.faults.apply({ seed: 4, dynamodb: { throttle: 0.97 } });
    const accepted = await ingest(cloud.outputs.IngestUrl!, cloud.apiKeyValue, events, emptyAccepted());
    await poll('the loader to give up on a range', async () => ((await failureQueueDepth()) > 0 ? true : undefined), 170_000, 1_000);
    // Let the mapping finish with what it is still retrying, then recover as the README says.
    cloud.faults.clear();
    const stored = new Set((await scanAll(clients.dynamo, cloud.outputs.EventsTableName!)).map((e) => e.event_id));
    expect([...accepted.verdicts].filter(([id, valid]) => valid && !stored.has(id)).length).toBeGreaterThan(0);
    await poll('the mapping to settle', async () => {
      const depth = await failureQueueDepth();
      await new Promise((r) => setTimeout(r, 2_000));
      return depth === (await failureQueueDepth()) ? true : undefined;
    });
    const replay = await cli(['replay', '--from-failure-queue']);
    expect(replay.code, replay.stdout + replay.stderr).toBe(0);
    expect(await failureQueueDepth()).toBe(0);
    await expectConserved(accepted, before);
  }, 300_000);

  it('duplicate delivery: the same events sent again (same event_ids) are stored once and counted once', async () => {
    const events = withIds(traffic(60, 0));
    const first = await ingest(cloud.outputs.IngestUrl!, cloud.apiKeyValue, events, emptyAccepted());
    const again = await ingest(cloud.outputs.IngestUrl!, cloud.apiKeyValue, events, emptyAccepted());
    expect([...again.verdicts.keys()].sort()).toEqual([...first.verdicts.keys()].sort());
    await expectConserved(first);
  });

  it('a processed-stream shard split mid-run: child shards read after their parent, nothing lost or counted twice', async () => {
    const before = await metricsNow();
    const accepted = emptyAccepted();
    await ingest(cloud.outputs.IngestUrl!, cloud.apiKeyValue, withIds(traffic(100)), accepted);
    const streamName = cloud.outputs.ProcessedStreamName!;
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? [];
    const open = shards.find((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined)!;
    const start = BigInt(open.HashKeyRange!.StartingHashKey!);
    const end = BigInt(open.HashKeyRange!.EndingHashKey!);
    await kinesis.send(new SplitShardCommand({ StreamName: streamName, ShardToSplit: open.ShardId!, NewStartingHashKey: ((start + end) / 2n).toString() }));
    await poll('the split to finish', async () => {
      const status = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }))).StreamDescriptionSummary?.StreamStatus;
      return status === 'ACTIVE' ? true : undefined;
    });
    await ingest(cloud.outputs.IngestUrl!, cloud.apiKeyValue, withIds(traffic(200)), accepted);
    await expectConserved(accepted, before);
  });
});
