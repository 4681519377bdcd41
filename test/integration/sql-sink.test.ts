import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrafficGenerator } from '../../lambdas/generator/traffic';
import { DataApi } from '../../lambdas/shared/data-api';
import { startLocalCloud, type LocalCloud } from '../../tools/local-cloud/cloud';
import { checkConservation, emptyAccepted, ingest, withIds, type ConservationClients } from '../harness/conservation';
import { PROJECT, runCli } from '../fixtures/cli';
import { poll } from '../fixtures/poll';

// The SQL sink on the local cloud (npm start -- -c auroraSink=true): the very SqlSink code on
// PGlite behind the local Data API, with Aurora resuming from zero and the SqlSink crashing
// mid-batch; every valid event in ecommerce_events exactly once, DynamoDB's promise unchanged,
// and `pipeline sql` reading it, read-only.

const workDir = mkdtempSync(path.join(tmpdir(), 'sql-sink-'));
const outputsFile = path.join(workDir, 'outputs.json');
let cloud: LocalCloud;
let rdsData: RDSDataClient;
let clients: ConservationClients;
let api: DataApi;

beforeAll(async () => {
  cloud = await startLocalCloud({ port: 0, projectDir: PROJECT, cdkOut: path.join(workDir, 'cdk.out'), outputsFile, generator: false, context: { auroraSink: 'true' } });
  const config = { endpoint: cloud.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  rdsData = new RDSDataClient(config);
  clients = { dynamo: DynamoDBDocumentClient.from(new DynamoDBClient(config)), sqs: new SQSClient(config), outputs: cloud.outputs };
  api = new DataApi(rdsData, { resourceArn: cloud.outputs.AuroraClusterArn!, secretArn: cloud.outputs.AuroraSecretArn!, database: cloud.outputs.AuroraDatabaseName! });
});

afterAll(async () => {
  rdsData?.destroy();
  clients?.dynamo.destroy();
  clients?.sqs.destroy();
  await cloud?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

const storedIds = async (): Promise<string[]> =>
  ((await api.execute('SELECT event_id FROM ecommerce_events')).records ?? []).map((row) => row[0]!.stringValue!);
/** While the resuming fault is on, this test's own reads may be told to wait too. */
const storedIdsSoFar = () => storedIds().catch((error: Error) => (error.name === 'DatabaseResumingException' ? [] : Promise.reject(error)));

describe('SQL sink on the local cloud (auroraSink=true)', () => {
  it('writes the Aurora outputs and migrates the schema at start', async () => {
    expect(cloud.outputs.AuroraClusterArn).toMatch(/^arn:aws:rds:us-east-1:000000000000:cluster:/);
    expect(cloud.outputs.AuroraDatabaseName).toBe('ecommerce');
    const versions = await api.execute('SELECT version FROM schema_migrations ORDER BY version');
    expect(versions.records?.map((row) => row[0]!.longValue)).toEqual([1, 2]);
  });

  it('stores every valid event once in PostgreSQL under Data API and SqlSink faults', async () => {
    const events = withIds(createTrafficGenerator({ seed: 77, invalidShare: 0.1 }).batch(80).map((g) => g.event as Record<string, unknown>));
    cloud.faults.apply({ seed: 5, rdsData: { resuming: 0.3 }, lambda: { crash: { function: 'SqlSink', share: 0.5 } } });
    let injected: ReturnType<LocalCloud['faults']['state']>['injected'] = {};
    const accepted = await ingest(cloud.outputs.IngestUrl!, cloud.apiKeyValue, events, emptyAccepted(), { batch: 10, pauseMs: 200 });
    const valid = [...accepted.verdicts].filter(([, ok]) => ok).map(([id]) => id);
    const invalid = [...accepted.verdicts].filter(([, ok]) => !ok).map(([id]) => id);
    expect(valid.length).toBeGreaterThan(0);
    expect(invalid.length).toBeGreaterThan(0);

    try {
      await poll('every valid event in ecommerce_events', async () => ((await storedIdsSoFar()).length >= valid.length ? true : undefined), 150_000, 1_000);
    } finally {
      injected = cloud.faults.state().injected;
      cloud.faults.clear();
    }
    // Resuming strikes per request (many); crashes per invocation (how many batches form is up to
    // the mapping's timing), so only the former is certain to have struck.
    expect(injected['rdsData.resuming'] ?? 0).toBeGreaterThan(0);

    const ids = await storedIds();
    expect(ids.length).toBe(new Set(ids).size);
    expect([...ids].sort()).toEqual([...valid].sort());
    // DynamoDB's promise is unchanged by the second consumer.
    const report = await checkConservation(clients, accepted);
    expect(report.problems, JSON.stringify(report)).toEqual([]);
    // The batches' quality rows add up to the stored events (retried ranges counted once). A batch's
    // row is written after its events, so the last one may come a moment after the poll above.
    const qualityStored = async () =>
      (await api.execute('SELECT coalesce(sum(stored), 0) FROM data_quality_metrics')).records?.[0]?.[0]?.longValue ?? 0;
    await poll('quality rows for every stored event', async () => ((await qualityStored()) >= valid.length ? true : undefined), 60_000, 500).catch(() => undefined);
    expect(await qualityStored()).toBe(valid.length);
  }, 240_000);

  it('pipeline sql prints a view and refuses to write', async () => {
    const table = await runCli(['sql', 'SELECT event_type, sum(events) AS events FROM v_hourly_event_summary GROUP BY event_type ORDER BY event_type'], { outputsFile });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^event_type\s+events\n/);
    expect(table.stdout).toMatch(/page_view\s+\d+/);
    expect(table.stdout).toMatch(/\(\d+ rows?\)\n$/);

    const count = async () => (await api.execute('SELECT count(*) FROM ecommerce_events')).records?.[0]?.[0]?.longValue;
    const before = await count();
    expect(before).toBeGreaterThan(0);
    const refused = await runCli(['sql', 'DELETE FROM ecommerce_events', '--json'], { outputsFile });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/read-only transaction/);
    expect(await count()).toBe(before);
  }, 120_000);
});
