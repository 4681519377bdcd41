import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { DataApi } from '../../../lambdas/shared/data-api';
import { migrate } from '../../../lambdas/sql-migrations/migrate';
import type { BatchMetricsRow } from '../../../lambdas/sql-sink/rows';
import { DataApiEventStore } from '../../../lambdas/sql-sink/store';
import { startAwsEndpoint, type AwsEndpoint } from '../../../tools/local-cloud/endpoint';

// data_quality_metrics counts each record once, whatever Lambda does with a failed batch: the same
// batch again, or (bisect after a crash that came after the row was written) its second half.
const region = 'us-east-1';
const resourceArn = `arn:aws:rds:${region}:000000000000:cluster:quality-rows`;
let endpoint: AwsEndpoint;
let client: RDSDataClient;
let api: DataApi;
let store: DataApiEventStore;

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0, region, accountId: '000000000000' });
  const secretArn = endpoint.secrets.put({ name: 'quality-secret', value: '{"username":"postgres","password":"local"}' }).arn;
  endpoint.rdsData.addCluster({ arn: resourceArn, databaseName: 'pipeline', secretArn });
  client = new RDSDataClient({ endpoint: endpoint.url, region, credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, maxAttempts: 1 });
  api = new DataApi(client, { resourceArn, secretArn, database: 'pipeline' });
  await migrate(api);
  store = new DataApiEventStore(api);
});

afterAll(async () => {
  client?.destroy();
  await endpoint?.close();
});

// Kinesis sequence numbers: long digit strings, compared as numbers (…9 < …10).
const seq = (n: number) => `4966${String(n).padStart(52, '0')}`;
const row = (shard: string, first: number, last: number): BatchMetricsRow => ({
  shardId: shard,
  firstSequenceNumber: seq(first),
  lastSequenceNumber: seq(last),
  records: last - first + 1,
  validRecords: last - first + 1,
  invalidRecords: 0,
  invalidByCode: {},
  stored: last - first + 1,
  duplicates: 0,
  lagAvgSeconds: 1.5,
  lagMaxSeconds: 2,
});

async function storedByShard(): Promise<Record<string, number>> {
  const answer = await api.execute('SELECT shard_id, sum(stored)::integer AS stored FROM data_quality_metrics GROUP BY shard_id', [], { json: true });
  const rows = JSON.parse(answer.formattedRecords ?? '[]') as Array<{ shard_id: string; stored: number }>;
  return Object.fromEntries(rows.map((r) => [r.shard_id, r.stored]));
}

describe('data_quality_metrics rows', () => {
  it('count each record once: a retried batch and a bisected half add nothing, the next batch adds its own', async () => {
    await store.recordBatch(row('shardId-000000000000', 1, 10));
    await store.recordBatch(row('shardId-000000000000', 1, 10)); // the same batch again
    await store.recordBatch(row('shardId-000000000000', 6, 10)); // its second half, after a bisect
    await store.recordBatch(row('shardId-000000000000', 9, 12)); // starts inside the recorded range
    await store.recordBatch(row('shardId-000000000000', 11, 20)); // the next batch
    await store.recordBatch(row('shardId-000000000001', 6, 10)); // another shard, same numbers
    expect(await storedByShard()).toEqual({ 'shardId-000000000000': 20, 'shardId-000000000001': 5 });
  });
});
