import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTrafficGenerator } from '../../lambdas/generator/traffic';
import { startLocalCloud, type LocalCloud } from '../../tools/local-cloud/cloud';
import type { FaultSet } from '../../tools/local-cloud/fault-set';
import { checkConservation, emptyAccepted, ingest, withIds, type ConservationClients } from '../harness/conservation';

// `npm run test:load`: LOAD_EVENTS events (default 20,000) at LOAD_RATE events/s (default 200),
// 5% invalid, through the local cloud with the fault mix switched on, then the
// conservation check. CI runs a shorter one (LOAD_EVENTS=2000).

const EVENTS = Number(process.env.LOAD_EVENTS ?? 20_000);
const RATE = Number(process.env.LOAD_RATE ?? 200);
const BATCH = 50;
const FAULTS: FaultSet = {
  seed: Number(process.env.LOAD_SEED ?? 42),
  dynamodb: { throttle: 0.05 },
  kinesis: { putRecordsEntryFailure: 0.05, getRecordsThrottle: 0.05 },
  sqs: { sendEntryFailure: 0.05 },
  lambda: { crash: { function: 'Loader', share: 0.02 }, timeout: { function: 'Validator', share: 0.01 } },
};

const PROJECT = path.resolve(import.meta.dirname, '../..');
const workDir = mkdtempSync(path.join(tmpdir(), 'load-'));
let cloud: LocalCloud;
let clients: ConservationClients;

beforeAll(async () => {
  cloud = await startLocalCloud({ port: 0, projectDir: PROJECT, cdkOut: path.join(workDir, 'cdk.out'), outputsFile: path.join(workDir, 'outputs.json'), generator: false });
  const config = { endpoint: cloud.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  clients = { dynamo: DynamoDBDocumentClient.from(new DynamoDBClient(config)), sqs: new SQSClient(config), outputs: cloud.outputs };
});

afterAll(async () => {
  clients?.sqs.destroy();
  clients?.dynamo.destroy();
  await cloud?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

const log = (line: string) => process.stdout.write(`[load] ${line}\n`);

it(`${EVENTS} events at ${RATE}/s with faults: each stored once or dead-lettered, counts and aggregates exact`, async () => {
  const events = withIds(createTrafficGenerator({ seed: 2026, invalidShare: 0.05 }).batch(EVENTS).map((g) => g.event as Record<string, unknown>));
  const before = (await cloud.metrics()).totals;
  cloud.faults.apply(FAULTS);
  const accepted = emptyAccepted();
  const started = Date.now();
  let nextProgress = started + 10_000;
  // A fixed rate: batch k leaves at started + k * BATCH / RATE seconds; up to 8 requests in flight.
  const inFlight = new Set<Promise<unknown>>();
  for (let k = 0; k * BATCH < events.length; k += 1) {
    const due = started + (k * BATCH * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inFlight.size >= 8) await Promise.race(inFlight);
    const request = ingest(cloud.outputs.IngestUrl!, cloud.apiKeyValue, events.slice(k * BATCH, (k + 1) * BATCH), accepted, { batch: BATCH });
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
    if (Date.now() >= nextProgress) {
      const totals = (await cloud.metrics()).totals;
      log(`${Math.round((Date.now() - started) / 1000)} s: sent ${Math.min(events.length, (k + 1) * BATCH)}, accepted ${accepted.verdicts.size}, stored ${(totals.EventsStored ?? 0) - (before.EventsStored ?? 0)}`);
      nextProgress += 10_000;
    }
  }
  await Promise.all(inFlight);
  const sentSeconds = (Date.now() - started) / 1000;
  log(`all ${events.length} sent in ${sentSeconds.toFixed(1)} s (${accepted.requests} requests, ${accepted.resends} resent); waiting for the pipeline`);

  let injected = {};
  const report = await checkConservation(clients, accepted, {
    metrics: { before, now: async () => (await cloud.metrics()).totals },
    timeoutMs: Math.max(180_000, EVENTS * 30),
    beforeFinalChecks: () => {
      injected = cloud.faults.state().injected;
      cloud.faults.clear();
    },
  });
  const totalSeconds = (Date.now() - started) / 1000;
  log(`done in ${totalSeconds.toFixed(1)} s: ${JSON.stringify({ ...report, injected })}`);
  expect(report.problems).toEqual([]);
  expect(report.accepted).toBe(new Set(events.map((e) => e.event_id)).size);
  expect(report.invalid).toBeGreaterThan(0);
  expect(Object.values(injected).reduce((a: number, b) => a + (b as number), 0)).toBeGreaterThan(0);
});
