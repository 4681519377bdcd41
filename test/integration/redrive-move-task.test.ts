import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../../tools/local-cloud/cloud';
import { deadLetterAttributes, type DeadLetterMessage } from '../../lambdas/shared/records';
import { sampleEventV3 } from '../fixtures/events';
import { runCli } from '../fixtures/cli';
import { poll } from '../fixtures/poll';

// Issue 9, "rehearse the console redrive locally": `pipeline redrive` (a child process, as an
// operator runs it) takes the StartMessageMoveTask path against the local cloud, and the
// console's *Start DLQ redrive* (what `aws sqs start-message-move-task --source-arn <DLQ ARN>
// --destination-arn <RedriveQueue ARN>` sends, here through the SDK) works as on AWS.


let cloud: LocalCloud;
let dir: string;
let outputsFile: string;
let sqs: SQSClient;
let dynamo: DynamoDBDocumentClient;

const cli = (args: string[]) => runCli(args, { outputsFile });

const out = (name: string): string => String((cloud.outputs as Record<string, unknown>)[name]);

async function arnOf(queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return Attributes!.QueueArn!;
}

async function dlqDepth(): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: out('DeadLetterQueueUrl'), AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(Attributes.ApproximateNumberOfMessages), inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible) };
}

async function storedIds(ids: string[]): Promise<Set<string>> {
  const answer = await dynamo.send(new BatchGetCommand({ RequestItems: { [out('EventsTableName')]: { Keys: ids.map((event_id) => ({ event_id })) } } }));
  return new Set((answer.Responses?.[out('EventsTableName')] ?? []).map((item) => String(item.event_id)));
}

/** Dead letters as the pipeline writes them: `valid` of them hold an event that is valid now (a load that failed), `invalid` one that is not. */
async function deadLetters(valid: number, invalid: number): Promise<{ validIds: string[]; invalidIds: string[] }> {
  const now = new Date().toISOString();
  const eventTime = new Date(Date.now() - 60_000).toISOString();
  const letters: Array<{ id: string; letter: DeadLetterMessage }> = [];
  for (let i = 0; i < valid + invalid; i++) {
    const isValid = i < valid;
    const record = sampleEventV3({ event_id: randomUUID(), event_time: eventTime, ...(isValid ? {} : { price: 0 }) });
    letters.push({
      id: String(record.event_id),
      letter: {
        reason: isValid ? 'load_failed' : 'validation_failed',
        errors: isValid ? [{ path: '', code: 'transaction_conflict', message: 'the write was cancelled' }] : [{ path: 'price', code: 'too_small', message: 'price must be > 0' }],
        record,
        source: { stream: 'raw', shard_id: 'shardId-000000000000', received_at: now },
        first_failed_at: now,
        attempts: 1,
      },
    });
  }
  for (let i = 0; i < letters.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: out('DeadLetterQueueUrl'),
        Entries: letters.slice(i, i + 10).map(({ letter }, j) => ({ Id: String(j), MessageBody: JSON.stringify(letter), MessageAttributes: deadLetterAttributes(letter) })),
      }),
    );
  }
  return { validIds: letters.slice(0, valid).map((l) => l.id), invalidIds: letters.slice(valid).map((l) => l.id) };
}

/** The dead letters in the DLQ by event_id, with their attempts; made visible again at once. */
async function lettersInDlq(): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: out('DeadLetterQueueUrl'), MaxNumberOfMessages: 10, VisibilityTimeout: 30 }));
  for (const m of Messages) {
    const body = JSON.parse(m.Body!) as DeadLetterMessage;
    found.set(String((body.record as { event_id: string }).event_id), body.attempts);
  }
  // Released as the CLI releases what it peeks at (fauxqs counts a VisibilityTimeout 0 receive as in flight until its next receive).
  if (Messages.length > 0) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: out('DeadLetterQueueUrl'),
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
      }),
    );
  }
  return found;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redrive-move-task-'));
  outputsFile = join(dir, 'outputs.json');
  cloud = await startLocalCloud({ port: 0, generator: false, outputsFile, cdkOut: join(dir, 'cdk.out') });
  const config = { endpoint: cloud.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  sqs = new SQSClient(config);
  dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(config));
});

afterAll(async () => {
  sqs?.destroy();
  dynamo?.destroy();
  await cloud?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('DLQ redrive with message move tasks on the local cloud', () => {
  it('pipeline redrive takes the StartMessageMoveTask path; the good dead letters are stored, the bad ones come back once', async () => {
    const { validIds, invalidIds } = await deadLetters(6, 2);
    expect(await dlqDepth()).toEqual({ visible: 8, inFlight: 0 });

    const run = await cli(['redrive', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as { path: string; moved: number; failed: number; moveTask: { status: string; toMove: number; taskHandle: string } };
    expect(summary).toMatchObject({ path: 'move-task', moved: 8, failed: 0, moveTask: { status: 'COMPLETED', toMove: 8 } });

    // The task is on record for the DeadLetterQueue, as the console lists it.
    const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: await arnOf(out('DeadLetterQueueUrl')) }));
    expect(Results[0]).toMatchObject({ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 8, DestinationArn: await arnOf(out('RedriveQueueUrl')) });

    await poll('the redriven events stored', async () => ((await storedIds(validIds)).size === validIds.length ? true : undefined));
    const back = await poll('the still-invalid dead letters back in the DLQ', async () => {
      const letters = await lettersInDlq();
      return letters.size === invalidIds.length ? letters : undefined;
    });
    expect([...back.keys()].sort()).toEqual([...invalidIds].sort());
    expect([...back.values()]).toEqual([2, 2]);
    expect(await storedIds(invalidIds)).toEqual(new Set());

    const human = await cli(['redrive']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^Path: StartMessageMoveTask \(task [A-Za-z0-9+/=]+, COMPLETED\)/);
    expect(human.stdout).toMatch(/moved 2, /);
  });

  it('the console rehearsal: start-message-move-task from the DeadLetterQueue to the RedriveQueue, and back to the source queue without a destination', async () => {
    // The two still-invalid ones, redriven by the second `pipeline redrive` above, are back (attempts 3).
    await poll('the DLQ to settle', async () => {
      const letters = await lettersInDlq();
      return letters.size === 2 && [...letters.values()].every((a) => a === 3) && (await dlqDepth()).inFlight === 0 ? true : undefined;
    });
    const { validIds } = await deadLetters(3, 0);
    const dlqArn = await arnOf(out('DeadLetterQueueUrl'));
    const redriveArn = await arnOf(out('RedriveQueueUrl'));

    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: redriveArn, MaxNumberOfMessagesPerSecond: 50 }));
    expect(TaskHandle).toBeTruthy();
    const done = await poll('the move task to complete', async () => {
      const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
      return Results[0]?.Status === 'COMPLETED' ? Results[0] : undefined;
    });
    expect(done).toMatchObject({ ApproximateNumberOfMessagesMoved: 5, ApproximateNumberOfMessagesToMove: 5, MaxNumberOfMessagesPerSecond: 50 });
    await poll('the redriven events stored', async () => ((await storedIds(validIds)).size === validIds.length ? true : undefined));

    // "Redrive to source queue(s)": RedriveQueue is the one queue whose RedrivePolicy names the DLQ.
    const back = await poll('the invalid ones back again', async () => {
      const letters = await lettersInDlq();
      return letters.size === 2 && [...letters.values()].every((a) => a === 4) ? letters : undefined;
    });
    expect(back.size).toBe(2);
    await poll('the DLQ to settle', async () => ((await dlqDepth()).inFlight === 0 ? true : undefined));
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
    const toSource = await poll('the move task to the source queue to complete', async () => {
      const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 10 }));
      return Results[0]?.Status === 'COMPLETED' ? Results : undefined;
    });
    expect(toSource[0]).toMatchObject({ ApproximateNumberOfMessagesMoved: 2 });
    expect(toSource[0]!.DestinationArn).toBeUndefined();
    expect(toSource.map((t) => t.Status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
    await poll('the invalid ones back a fifth time', async () => {
      const letters = await lettersInDlq();
      return letters.size === 2 && [...letters.values()].every((a) => a === 5) ? true : undefined;
    });
  });
});
