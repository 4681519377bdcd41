import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../../tools/local-cloud/cloud';
import { runCli } from '../fixtures/cli';
import { poll as waitFor } from '../fixtures/poll';

// The real CLI as a child process against the real local cloud. Runs are asynchronous (never
// spawnSync): the local cloud lives in this process and must keep serving while the CLI runs.


interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let cloud: LocalCloud;
let dir: string;
let outputsFile: string;
let sqs: SQSClient;
let kinesis: KinesisClient;
let dynamo: DynamoDBClient;

const cli = (args: string[], input?: string): Promise<Run> => runCli(args, { outputsFile, ...(input !== undefined ? { input } : {}) });

async function json<T>(args: string[], expectedCode = 0): Promise<T> {
  const run = await cli([...args, '--json']);
  expect(run.code, run.stderr).toBe(expectedCode);
  return JSON.parse(run.stdout) as T;
}

const totals = async () => (await cloud.metrics()).totals;
const t = (counts: Record<string, number>, name: string) => counts[name] ?? 0;

/** The validator and the loader have handled everything written so far. */
async function settled(rawRecords: number): Promise<Record<string, number>> {
  return waitFor('the pipeline to settle', async () => {
    const c = await totals();
    const validated = t(c, 'EventsValid') + t(c, 'EventsInvalid') + t(c, 'RecordsUnparseable');
    const loaded = t(c, 'EventsStored') + t(c, 'EventsDuplicate') + t(c, 'LoadFailed');
    return validated >= rawRecords && loaded >= t(c, 'EventsValid') ? c : undefined;
  });
}

async function dlqDepth(): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: cloud.outputs.DeadLetterQueueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return { visible: Number(Attributes.ApproximateNumberOfMessages), inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible) };
}

async function storedEvents(): Promise<number> {
  let count = 0;
  let startKey: Record<string, never> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: cloud.outputs.EventsTableName, Select: 'COUNT', ExclusiveStartKey: startKey }));
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey as typeof startKey;
  } while (startKey);
  return count;
}

/** Every record of the raw stream's one shard, parsed. */
async function rawRecords(): Promise<Array<Record<string, unknown>>> {
  const found: Array<Record<string, unknown>> = [];
  let { ShardIterator: iterator } = await kinesis.send(
    new GetShardIteratorCommand({ StreamName: cloud.outputs.RawStreamName, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }),
  );
  while (iterator) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    for (const record of page.Records ?? []) found.push(JSON.parse(Buffer.from(record.Data ?? new Uint8Array()).toString('utf8')));
    if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
    iterator = page.NextShardIterator;
  }
  return found;
}

interface DlqRow {
  message_id: string;
  event_id?: string;
  reason: string;
  codes: string[];
}

const SENT = 60;
let startedAt: Date;
let sendSummary: { events: number; accepted: number; valid: number; invalid: number; rejected: number; failed: number; generatedInvalid: number };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-local-'));
  outputsFile = join(dir, 'outputs.json');
  cloud = await startLocalCloud({ port: 0, generator: false, outputsFile, cdkOut: join(dir, 'cdk.out') });
  const config = { endpoint: cloud.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  sqs = new SQSClient(config);
  kinesis = new KinesisClient({ ...config, requestHandler: new NodeHttpHandler() });
  dynamo = new DynamoDBClient(config);
  startedAt = new Date(Date.now() - 1000);
});

afterAll(async () => {
  sqs?.destroy();
  kinesis?.destroy();
  dynamo?.destroy();
  await cloud?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('pipeline CLI against the local cloud', () => {
  it('status: NO_DATA (exit 3) before anything was sent', async () => {
    const run = await cli(['status']);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stdout).toMatch(/^NO_DATA/);
    expect(run.stdout).toMatch(/no events received since the local cloud started/);
  });

  it('send: a wrong API key is a clear error and a non-zero exit', async () => {
    const run = await cli(['send', '--count', '1', '--api-key', 'not-the-key']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: the ingest API refused the API key \(403/);
    expect(t(await totals(), 'EventsAccepted')).toBe(0);
  });

  it('send: generated events with invalid ones, summary counts', async () => {
    sendSummary = await json(['send', '--count', String(SENT), '--invalid-share', '0.2', '--seed', '11', '--batch', '20']);
    expect(sendSummary.events).toBe(SENT);
    expect(sendSummary.accepted).toBe(SENT);
    expect(sendSummary.failed).toBe(0);
    expect(sendSummary.generatedInvalid).toBeGreaterThan(0);
    // The collector's verdict is the validator's schema, so every event built invalid is reported so.
    expect(sendSummary.invalid).toBe(sendSummary.generatedInvalid);
    expect(sendSummary.valid + sendSummary.invalid).toBe(SENT);
    const c = await settled(SENT);
    expect(t(c, 'EventsAccepted')).toBe(SENT);
    expect(t(c, 'EventsInvalid')).toBe(sendSummary.invalid);
  });

  it('send: a JSON Lines file, and JSON from stdin', async () => {
    const line = (id: string) =>
      JSON.stringify({ event_id: id, event_type: 'page_view', event_time: new Date().toISOString(), user_id: 'u-1', session_id: 's-1' });
    const file = join(dir, 'events.jsonl');
    await writeFile(file, `${line('0b5c4e3e-8d7c-4f43-9f55-1f0d6c1f2a01')}\n${line('0b5c4e3e-8d7c-4f43-9f55-1f0d6c1f2a02')}\n`);
    const run = await cli(['send', file, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ events: 2, accepted: 2, valid: 2 });
    // A resend of the same event_id from stdin: accepted again, stored once.
    const resend = await cli(['send', '-', '--json'], `[${line('0b5c4e3e-8d7c-4f43-9f55-1f0d6c1f2a01')}]`);
    expect(resend.code, resend.stderr).toBe(0);
    expect(JSON.parse(resend.stdout)).toMatchObject({ events: 1, accepted: 1, valid: 1 });
    const c = await settled(SENT + 3);
    expect(t(c, 'EventsDuplicate')).toBe(1);
  });

  it('status: DEGRADED (exit 2) under the validity threshold, HEALTHY (exit 0) with a lower one', async () => {
    const degraded = await cli(['status', '--json']);
    expect(degraded.code, degraded.stderr).toBe(2);
    const report = JSON.parse(degraded.stdout) as { status: string; reasons: Array<{ severity: string; message: string }> };
    expect(report.status).toBe('DEGRADED');
    expect(report.reasons.find((r) => r.severity === 'degraded')?.message).toMatch(/^validity .* is under 95.0%/);
    expect(report.reasons.some((r) => /message\(s\) in the DeadLetterQueue/.test(r.message))).toBe(true);

    const healthy = await cli(['status', '--min-validity', '0.5']);
    expect(healthy.code, healthy.stdout).toBe(0);
    expect(healthy.stdout).toMatch(/^HEALTHY/);
  });

  it('dlq stats / list / show read the queue and leave every message in it, visible', async () => {
    const before = await dlqDepth();
    const stats = await json<{ total: number; by_reason: Array<{ key: string; count: number }>; by_code: Array<{ key: string; count: number }> }>(['dlq', 'stats']);
    expect(stats.total).toBe(before.visible);
    expect(stats.by_reason.find((g) => g.key === 'validation_failed')?.count).toBe(sendSummary.invalid);
    expect(stats.by_code.length).toBeGreaterThan(0);

    const listed = await json<DlqRow[]>(['dlq', 'list', '--filter', 'reason=validation_failed']);
    expect(listed).toHaveLength(sendSummary.invalid);
    expect(listed.every((row) => row.reason === 'validation_failed')).toBe(true);

    const first = listed[0]!;
    const shown = await json<{ message_id: string; body: { record: { event_id: string } } }>(['dlq', 'show', first.message_id]);
    expect(shown.message_id).toBe(first.message_id);
    expect(shown.body.record.event_id).toBe(first.event_id);

    // Released at once, not after a visibility timeout.
    expect(await dlqDepth()).toEqual({ visible: before.visible, inFlight: 0 });
  });

  it('dlq show: an unknown message id is a clear error', async () => {
    const run = await cli(['dlq', 'show', 'no-such-id']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: no message no-such-id in the DeadLetterQueue/);
  });

  it('redrive --dry-run lists what would move and moves nothing', async () => {
    const before = await dlqDepth();
    const summary = await json<{ path: string; moved: number; wouldMove: DlqRow[] }>(['redrive', '--dry-run']);
    expect(summary.path).toBe('dry-run');
    expect(summary.moved).toBe(0);
    expect(summary.wouldMove).toHaveLength(before.visible);
    // Same messages, all visible: a move would have taken them out of the DLQ.
    expect(await dlqDepth()).toEqual({ visible: before.visible, inFlight: 0 });
    expect((await json<DlqRow[]>(['dlq', 'list'])).map((row) => row.message_id).sort()).toEqual(
      summary.wouldMove.map((row) => row.message_id).sort(),
    );
  });

  it('redrive --filter moves only the matching messages, each once', async () => {
    const all = await json<DlqRow[]>(['dlq', 'list']);
    const code = all.flatMap((row) => row.codes)[0]!;
    const matching = all.filter((row) => row.codes.includes(code));
    const summary = await json<{ path: string; moved: number; skipped: number; failed: number; notDeleted: number }>([
      'redrive',
      '--filter',
      `code=${code}`,
    ]);
    expect(summary).toMatchObject({ path: 'copy', moved: matching.length, skipped: all.length - matching.length, failed: 0, notDeleted: 0 });

    // The validator judges them again; still invalid, each comes back once as a new message.
    const after = await waitFor('the DLQ to hold every message again', async () => {
      const rows = await json<DlqRow[]>(['dlq', 'list']);
      return rows.length === all.length ? rows : undefined;
    });
    const afterIds = new Set(after.map((row) => row.message_id));
    for (const row of all) expect(afterIds.has(row.message_id)).toBe(!row.codes.includes(code));
    expect(after.map((row) => row.event_id).sort()).toEqual(all.map((row) => row.event_id).sort());
  });

  // Without --mode the local cloud now takes the StartMessageMoveTask path (redrive-move-task.test.ts).
  it('redrive --mode copy moves everything by receive -> send -> delete, nothing lost or doubled', async () => {
    const all = await json<DlqRow[]>(['dlq', 'list']);
    const run = await cli(['redrive', '--mode', 'copy']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Path: receive -> send -> delete \(--mode copy\)/);
    expect(run.stdout).toMatch(new RegExp(`moved ${all.length}, looked at and not moved 0, failed 0, in both queues 0`));
    const after = await waitFor('the redriven messages to come back', async () => {
      const rows = await json<DlqRow[]>(['dlq', 'list']);
      return rows.length >= all.length ? rows : undefined;
    });
    expect(after.map((row) => row.event_id).sort()).toEqual(all.map((row) => row.event_id).sort());
  });

  it('replay of a time range puts back only the events valid now, marked replayed_at: no duplicate dead letters, nothing stored twice', async () => {
    const storedBefore = await storedEvents();
    const dlqBefore = await dlqDepth();
    const duplicatesBefore = t(await totals(), 'EventsDuplicate');
    const raw = SENT + 3;
    const validRaw = raw - sendSummary.invalid;
    const summary = await json<{ read: number; replayed: number; failed: number; skippedInvalid: number; skippedUnparseable: number }>([
      'replay',
      '--from',
      startedAt.toISOString(),
    ]);
    expect(summary).toMatchObject({ read: raw, replayed: validRaw, failed: 0, skippedInvalid: sendSummary.invalid, skippedUnparseable: 0 });

    // The records put back carry replayed_at, so the validator tells them from first-pass traffic.
    const onStream = await rawRecords();
    expect(onStream).toHaveLength(raw + validRaw);
    expect(onStream.filter((record) => typeof record.replayed_at === 'string')).toHaveLength(validRaw);

    // Every replayed event reaches the loader, which already holds it.
    await waitFor('the replayed events to reach the loader', async () =>
      t(await totals(), 'EventsDuplicate') >= duplicatesBefore + validRaw ? true : undefined,
    );
    expect(await storedEvents()).toBe(storedBefore);
    const dlqAfter = await dlqDepth();
    expect(dlqAfter.visible + dlqAfter.inFlight).toBe(dlqBefore.visible + dlqBefore.inFlight);
  });

  it('replay --include-invalid skips nothing (dry run)', async () => {
    const vetted = await json<{ read: number; skippedInvalid: number }>(['replay', '--from', startedAt.toISOString(), '--dry-run']);
    expect(vetted.skippedInvalid).toBe(sendSummary.invalid);
    const everything = await json<{ read: number; replayed: number; skippedInvalid: number; skippedUnparseable: number }>([
      'replay',
      '--from',
      startedAt.toISOString(),
      '--include-invalid',
      '--dry-run',
    ]);
    expect(everything).toMatchObject({ read: vetted.read, replayed: 0, skippedInvalid: 0, skippedUnparseable: 0 });
  });

  it('replay of the range a failure record names, from a file and from the StreamFailureQueue', async () => {
    const stream = cloud.outputs.RawStreamName!;
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: stream, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const { Records = [] } = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 5 }));
    expect(Records).toHaveLength(5);
    const failureRecord = {
      requestContext: { condition: 'RetryAttemptsExhausted' },
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: Records[0]!.SequenceNumber,
        endSequenceNumber: Records[4]!.SequenceNumber,
        batchSize: 5,
        streamArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${stream}`,
      },
    };
    const file = join(dir, 'failure.json');
    await writeFile(file, JSON.stringify(failureRecord));
    const dry = await json<{ read: number; replayed: number }>(['replay', '--failure-record', file, '--dry-run']);
    expect(dry).toMatchObject({ read: 5, replayed: 0 });

    await sqs.send(new SendMessageCommand({ QueueUrl: cloud.outputs.StreamFailureQueueUrl, MessageBody: JSON.stringify(failureRecord) }));
    const fromQueue = await json<{ read: number; replayed: number; failureMessages: { read: number; deleted: number } }>([
      'replay',
      '--from-failure-queue',
    ]);
    expect(fromQueue).toMatchObject({ read: 5, replayed: 5, failureMessages: { read: 1, deleted: 1 } });
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: cloud.outputs.StreamFailureQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(Attributes.ApproximateNumberOfMessages).toBe('0');
  });

  it('reads targets from the outputs file the local cloud wrote', async () => {
    const document = JSON.parse(await readFile(outputsFile, 'utf8')) as Record<string, Record<string, string>>;
    expect(Object.values(document)[0]?.AwsEndpoint).toBe(cloud.endpoint);
  });
});
