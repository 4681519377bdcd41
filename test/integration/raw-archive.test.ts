import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateFromItem, hourPartitionKey, mergeWriteShards } from '../../lambdas/shared/aggregates';
import { readArchive, replayFromArchive, type ArchiveReadCounts } from '../../tools/cli/archive';
import { startLocalCloud, type LocalCloud } from '../../tools/local-cloud/cloud';
import { listShards } from '../../tools/shared/kinesis-shards';
import { runCli } from '../fixtures/cli';
import { sampleEventV3, sampleSearchEventV3 } from '../fixtures/events';
import { poll } from '../fixtures/poll';
import { checkConservation, compareAggregates, emptyAccepted, ingest, scanAll, type Accepted } from '../harness/conservation';

// The raw archive on the local cloud: Firehose (buffering interval 1 s here) writes every raw
// record to S3 exactly as the collector put it on the raw stream; after the stored events and
// the aggregates are gone (what eventsTtlDays and a lost table do), a replay from the archive
// (which reads S3 only: its Kinesis client may only put) restores both exactly, a second replay
// changes nothing, and `pipeline rebuild` recomputes the aggregates from the archive alone.

let cloud: LocalCloud;
let dir: string;
let outputsFile: string;
let kinesis: KinesisClient;
let s3: S3Client;
let dynamo: DynamoDBDocumentClient;
let sqs: SQSClient;
let accepted: Accepted;
let startedAt: Date;
const VALID = 24;
const INVALID = 3;

/** Events and aggregate items as a comparable snapshot (processed_at and _source are per write). */
async function snapshot(): Promise<{ events: Record<string, unknown>[]; aggregates: string[] }> {
  const events = (await scanAll(dynamo, cloud.outputs.EventsTableName!))
    .map(({ processed_at: _processed, _source: _written, ...event }) => event)
    .sort((a, b) => String(a.event_id).localeCompare(String(b.event_id)));
  const aggregates = mergeWriteShards((await scanAll(dynamo, cloud.outputs.AggregatesTableName!)).map(aggregateFromItem))
    .map((a) => JSON.stringify(a))
    .sort();
  return { events, aggregates };
}

async function forgetStoredData(): Promise<void> {
  for (const item of await scanAll(dynamo, cloud.outputs.EventsTableName!)) {
    await dynamo.send(new DeleteCommand({ TableName: cloud.outputs.EventsTableName, Key: { event_id: item.event_id } }));
  }
  for (const item of await scanAll(dynamo, cloud.outputs.AggregatesTableName!)) {
    await dynamo.send(new DeleteCommand({ TableName: cloud.outputs.AggregatesTableName, Key: { pk: item.pk, sk: item.sk } }));
  }
}

/** Every record's data on the raw stream, as bytes (base64, to compare exactly). */
async function rawStreamData(): Promise<string[]> {
  const found: string[] = [];
  for (const { shardId } of await listShards(kinesis, cloud.outputs.RawStreamName!)) {
    let { ShardIterator: iterator } = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: cloud.outputs.RawStreamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      for (const record of page.Records ?? []) found.push(Buffer.from(record.Data ?? new Uint8Array()).toString('base64'));
      if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return found.sort();
}

async function archivedData(): Promise<{ lines: string[]; keys: string[]; counts: ArchiveReadCounts }> {
  const counts: ArchiveReadCounts = { objects: 0, lines: 0, outOfRange: 0, duplicates: 0, replayedCopies: 0 };
  const lines: string[] = [];
  const keys: string[] = [];
  const range = { bucket: cloud.outputs.ArchiveBucketName!, from: startedAt, to: new Date() };
  for await (const { key, records } of readArchive(s3, range, counts)) {
    keys.push(key);
    lines.push(...records.map((r) => r.data.toString('base64')));
  }
  return { lines: lines.sort(), keys, counts };
}

const total = async (name: string) => (await cloud.metrics()).totals[name] ?? 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raw-archive-'));
  outputsFile = join(dir, 'outputs.json');
  cloud = await startLocalCloud({ port: 0, generator: false, outputsFile, cdkOut: join(dir, 'cdk.out'), archiveBufferSeconds: 1 });
  const config = { endpoint: cloud.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  kinesis = new KinesisClient({ ...config, requestHandler: new NodeHttpHandler() });
  s3 = new S3Client({ ...config, forcePathStyle: true });
  dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(config));
  sqs = new SQSClient(config);
  startedAt = new Date(Date.now() - 1_000);

  const now = new Date(Date.now() - 5_000).toISOString();
  const events = [
    ...Array.from({ length: VALID / 2 }, (_, i) => sampleEventV3({ event_time: now, session_id: `s-${i % 4}`, quantity: 1 + (i % 3) })),
    ...Array.from({ length: VALID / 2 }, (_, i) => sampleSearchEventV3({ event_time: now, session_id: `anon-${i % 3}` })),
    ...Array.from({ length: INVALID }, () => sampleEventV3({ event_time: now, price: -1 })),
  ];
  accepted = await ingest(cloud.outputs.IngestUrl!, cloud.apiKeyValue, events, emptyAccepted(), { batch: 10 });
  const report = await checkConservation({ dynamo, sqs, outputs: cloud.outputs }, accepted);
  expect(report.problems).toEqual([]);
  expect([report.stored, report.deadLettered]).toEqual([VALID, INVALID]);
});

afterAll(async () => {
  kinesis?.destroy();
  s3?.destroy();
  dynamo?.destroy();
  sqs?.destroy();
  await cloud?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('raw archive on the local cloud', () => {
  it('holds every raw record exactly as the collector put it on the raw stream, once', async () => {
    expect(cloud.outputs.ArchiveBucketName).toBeTruthy();
    const onStream = await rawStreamData();
    expect(onStream).toHaveLength(VALID + INVALID);
    const archived = await poll('the archive to hold every raw record', async () => {
      const found = await archivedData();
      return found.lines.length >= onStream.length ? found : undefined;
    }, 30_000, 300);
    expect(archived.lines).toEqual(onStream);
    expect(archived.counts.duplicates).toBe(0);
    for (const key of archived.keys) {
      expect(key).toMatch(new RegExp(`^raw/dt=\\d{4}-\\d{2}-\\d{2}/hour=\\d{2}/${cloud.outputs.DeliveryStreamName}-1-\\d{4}(-\\d{2}){5}-[0-9a-f-]{36}\\.gz$`));
    }
  });

  it('runs the whole archive from the template: nothing refused, unsupported or left unread', () => {
    expect(cloud.groups.properties.refused).toEqual([]);
    expect(cloud.groups.properties.unknown).toEqual([]);
    expect(cloud.groups.unsupported.map((r) => r.type)).toEqual([]);
    expect(cloud.groups.created.map((r) => r.type)).toContain('AWS::S3::Bucket');
    expect(cloud.deliveryStreams.map((d) => d.spec.name)).toEqual([cloud.outputs.DeliveryStreamName]);
  });

  it('a replay from the archive restores the stored events and aggregates exactly, and a second one changes nothing', async () => {
    const before = await snapshot();
    expect(before.events).toHaveLength(VALID);
    await forgetStoredData();
    expect((await snapshot()).events).toEqual([]);

    // The replay reads S3 only: its Kinesis client refuses anything but PutRecords.
    const putOnly = new KinesisClient({ endpoint: cloud.endpoint, region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' }, requestHandler: new NodeHttpHandler() });
    putOnly.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName !== 'PutRecordsCommand') throw new Error(`the archive replay called ${context.commandName}`);
      return next(args);
    });
    const replayedBefore = await total('EventsReplayed');
    const range = { bucket: cloud.outputs.ArchiveBucketName!, from: startedAt, to: new Date() };
    const options = { dryRun: false, includeInvalid: false, rawStreamName: cloud.outputs.RawStreamName! };
    const summary = await replayFromArchive(s3, putOnly, range, options);
    expect(summary).toMatchObject({ read: VALID + INVALID, replayed: VALID, failed: 0, skippedInvalid: INVALID, skippedUnparseable: 0 });
    await poll('the replayed events to be stored', async () => ((await snapshot()).events.length >= VALID ? true : undefined), 60_000, 300);
    await poll('the loader to settle', async () => ((await total('EventsReplayed')) - replayedBefore >= VALID ? true : undefined));
    const after = await snapshot();
    expect(after).toEqual(before);
    expect((await compareAggregates({ dynamo, sqs, outputs: cloud.outputs })).problems).toEqual([]);

    // Again: every event_id is stored already, so the loader counts duplicates and nothing changes.
    const duplicatesBefore = await total('EventsDuplicate');
    const again = await replayFromArchive(s3, putOnly, { ...range, to: new Date() }, options);
    // The first replay's records are in the archive too by now (marked replayed_at): read once, not put back.
    expect(again.replayed).toBe(VALID);
    await poll('the second replay to be judged duplicate', async () => ((await total('EventsDuplicate')) - duplicatesBefore >= VALID ? true : undefined));
    expect(await snapshot()).toEqual(before);
    putOnly.destroy();
  });

  it('pipeline rebuild recomputes the aggregates from the archive when the events are gone', async () => {
    const before = await snapshot();
    await forgetStoredData();
    const hour = (offsetMs: number) => hourPartitionKey(new Date(startedAt.getTime() + offsetMs).toISOString()).slice(5);
    const run = await runCli(['rebuild', '--from', hour(-60_000), '--to', hour(120_000), '--json'], { outputsFile });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { archive: { valid: number; invalid: number }; aggregates: { repaired: { created: number } } };
    expect(report.archive).toMatchObject({ valid: VALID, invalid: INVALID });
    expect(report.aggregates.repaired.created).toBe(before.aggregates.length);
    expect((await snapshot()).aggregates).toEqual(before.aggregates);
    // Run again: nothing differs, nothing written.
    const again = await runCli(['rebuild', '--from', hour(-60_000), '--to', hour(120_000), '--json'], { outputsFile });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).aggregates.differences).toEqual([]);
  });
});
