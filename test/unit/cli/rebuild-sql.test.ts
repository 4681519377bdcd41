import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { DataApi } from '../../../lambdas/shared/data-api';
import { migrate } from '../../../lambdas/sql-migrations/migrate';
import { sinkRecords } from '../../../lambdas/sql-sink/sink';
import { DataApiEventStore } from '../../../lambdas/sql-sink/store';
import { formatSqlRebuild, rebuildSqlSink, REBUILD_SOURCE } from '../../../tools/cli/rebuild-sql';
import { startAwsEndpoint, type AwsEndpoint } from '../../../tools/local-cloud/endpoint';
import { enrichedEvent, kinesisRecord, sequenceNumber } from '../loader/helpers';

// `pipeline rebuild` on the SQL sink: the archive's events put back into ecommerce_events with the
// sink's own write, against the local Data API on PGlite with the real migrations.
const region = 'us-east-1';
const resourceArn = `arn:aws:rds:${region}:000000000000:cluster:rebuild-test`;
let endpoint: AwsEndpoint;
let client: RDSDataClient;
let api: DataApi;
let target: { resourceArn: string; secretArn: string; database: string };

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0, region, accountId: '000000000000' });
  const secretArn = endpoint.secrets.put({ name: 'rebuild-secret', value: '{"username":"postgres","password":"local"}' }).arn;
  endpoint.rdsData.addCluster({ arn: resourceArn, databaseName: 'pipeline', secretArn });
  client = new RDSDataClient({ endpoint: endpoint.url, region, credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, maxAttempts: 1 });
  target = { resourceArn, secretArn, database: 'pipeline' };
  api = new DataApi(client, target);
  await migrate(api);
});

afterAll(async () => {
  client?.destroy();
  await endpoint?.close();
});

async function stored(): Promise<Array<{ event_id: string; stored_source: string }>> {
  const answer = await api.execute('SELECT event_id, stored_source FROM ecommerce_events ORDER BY event_id', [], { json: true });
  return JSON.parse(answer.formattedRecords ?? '[]');
}

describe('rebuild of the SQL sink from archived events', () => {
  const events = Array.from({ length: 7 }, (_, i) => enrichedEvent({ event_time: `2026-11-22T09:0${i}:00Z` }));

  it('a dry run counts what is missing and writes nothing; a rebuild adds exactly the missing events, once', async () => {
    // The sink stored three of them; the table lost nothing else.
    const sunk = await sinkRecords(events.slice(0, 3).map((event, i) => kinesisRecord(event, sequenceNumber(i + 1))), {
      store: new DataApiEventStore(api),
      sqs: { send: () => Promise.reject(new Error('no dead letter expected')) } as never,
      deadLetterQueueUrl: 'unused',
    });
    expect(sunk.summary.stored).toBe(3);

    const dry = await rebuildSqlSink(client, target, events, { dryRun: true });
    expect(dry).toEqual({ events: 7, added: 0, present: 3, dryRun: true });
    expect(formatSqlRebuild(dry)).toContain('4 missing');
    expect(await stored()).toHaveLength(3);

    const rebuilt = await rebuildSqlSink(client, target, events, { dryRun: false });
    expect(rebuilt).toEqual({ events: 7, added: 4, present: 3, dryRun: false });
    const rows = await stored();
    expect(rows.map((row) => row.event_id).sort()).toEqual(events.map((event) => event.event_id).sort());
    const rebuiltIds = rows.filter((row) => row.stored_source === REBUILD_SOURCE).map((row) => row.event_id).sort();
    expect(rebuiltIds).toEqual(events.slice(3).map((event) => event.event_id).sort());

    // Again: nothing to add, nothing doubled.
    expect(await rebuildSqlSink(client, target, events, { dryRun: false })).toEqual({ events: 7, added: 0, present: 7, dryRun: false });
    expect(await stored()).toHaveLength(7);
  });

  it('adds more events than one transaction takes (500), each once', async () => {
    const many = Array.from({ length: 1_050 }, () => enrichedEvent());
    const report = await rebuildSqlSink(client, target, many, { dryRun: false });
    expect(report).toEqual({ events: 1_050, added: 1_050, present: 0, dryRun: false });
  });
});
