import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CancelMessageMoveTaskCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  type ListMessageMoveTasksResultEntry,
  type Message,
} from '@aws-sdk/client-sqs';
import { startAwsEndpoint, type AwsEndpoint } from '../../../tools/local-cloud/endpoint';
import { decodeTaskHandle, encodeTaskHandle } from '../../../tools/local-cloud/services/sqs-move-tasks';

// SQS message move tasks (DLQ redrive) on the local endpoint, through the real SDK client (what
// `aws sqs start-message-move-task` sends) and the query protocol (AWS CLI v1, older SDKs).
const region = 'us-east-1';
const accountId = '000000000000';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
let endpoint: AwsEndpoint;
let sqs: SQSClient;
let counter = 0;

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0, region, accountId });
  sqs = new SQSClient({ endpoint: endpoint.url, region, credentials, maxAttempts: 1 });
});

afterAll(async () => {
  sqs?.destroy();
  await endpoint?.close();
});

async function arnOf(queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return Attributes!.QueueArn!;
}

async function depth(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(Attributes!.ApproximateNumberOfMessages), inFlight: Number(Attributes!.ApproximateNumberOfMessagesNotVisible) };
}

/** source -> (RedrivePolicy) -> dlq, and a separate destination queue. */
async function pipe(): Promise<{ sourceUrl: string; dlqUrl: string; dlqArn: string; destinationUrl: string; destinationArn: string; sourceArn: string }> {
  const n = ++counter;
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `move-dlq-${n}` }))).QueueUrl!;
  const dlqArn = await arnOf(dlqUrl);
  const sourceUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: `move-source-${n}`,
        Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) },
      }),
    )
  ).QueueUrl!;
  const destinationUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `move-destination-${n}` }))).QueueUrl!;
  return { sourceUrl, dlqUrl, dlqArn, destinationUrl, destinationArn: await arnOf(destinationUrl), sourceArn: await arnOf(sourceUrl) };
}

async function fill(queueUrl: string, count: number, prefix = 'message'): Promise<void> {
  for (let i = 0; i < count; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Array.from({ length: Math.min(10, count - i) }, (_, j) => ({
          Id: String(j),
          MessageBody: JSON.stringify({ n: i + j, text: `${prefix}-${i + j}` }),
          MessageAttributes: {
            reason: { DataType: 'String', StringValue: 'validation_failed' },
            attempt: { DataType: 'Number', StringValue: String(i + j) },
            blob: { DataType: 'Binary', BinaryValue: Buffer.from([i + j, 0, 255]) },
          },
        })),
      }),
    );
  }
}

async function drain(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, MessageAttributeNames: ['All'] }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
  }
}

async function waitForTask(sourceArn: string, done: (t: ListMessageMoveTasksResultEntry) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn }));
    if (Results[0] && done(Results[0])) return Results[0];
    if (Date.now() > deadline) throw new Error(`task did not get there: ${JSON.stringify(Results)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string; status?: number; code?: string }> {
  return promise.then(
    () => {
      throw new Error('expected an error');
    },
    (error: { name: string; message: string; $metadata?: { httpStatusCode?: number }; Code?: string }) => ({
      name: error.name,
      message: error.message,
      status: error.$metadata?.httpStatusCode,
      code: error.Code,
    }),
  );
}

describe('StartMessageMoveTask / ListMessageMoveTasks', () => {
  it('moves every dead letter to the destination once, with its body and attributes, and empties the DLQ', async () => {
    const q = await pipe();
    await fill(q.dlqUrl, 25);
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.dlqArn, DestinationArn: q.destinationArn }));
    expect(decodeTaskHandle(TaskHandle!)).toEqual({ taskId: expect.stringMatching(/^[0-9a-f-]{36}$/), sourceArn: q.dlqArn });

    const task = await waitForTask(q.dlqArn, (t) => t.Status === 'COMPLETED');
    expect(task).toMatchObject({
      Status: 'COMPLETED',
      SourceArn: q.dlqArn,
      DestinationArn: q.destinationArn,
      ApproximateNumberOfMessagesMoved: 25,
      ApproximateNumberOfMessagesToMove: 25,
    });
    // As AWS lists a finished task: no handle, no rate when none was given, no failure reason.
    expect(task.TaskHandle).toBeUndefined();
    expect(task.MaxNumberOfMessagesPerSecond).toBeUndefined();
    expect(task.FailureReason).toBeUndefined();
    expect(task.StartedTimestamp).toBeGreaterThan(Date.now() - 60_000);

    const moved = await drain(q.destinationUrl);
    const bodies = moved.map((m) => JSON.parse(m.Body!) as { n: number });
    expect(bodies.map((b) => b.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    for (const m of moved) {
      const n = (JSON.parse(m.Body!) as { n: number }).n;
      expect(m.MessageAttributes?.reason).toMatchObject({ DataType: 'String', StringValue: 'validation_failed' });
      expect(m.MessageAttributes?.attempt).toMatchObject({ DataType: 'Number', StringValue: String(n) });
      expect(Buffer.from(m.MessageAttributes!.blob!.BinaryValue!)).toEqual(Buffer.from([n, 0, 255]));
    }
    expect(await depth(q.dlqUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('without DestinationArn, moves the dead letters back to the one queue that redrives to the DLQ', async () => {
    const q = await pipe();
    await fill(q.dlqUrl, 3);
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.dlqArn }));
    const task = await waitForTask(q.dlqArn, (t) => t.Status === 'COMPLETED');
    expect(task.DestinationArn).toBeUndefined();
    expect(task.ApproximateNumberOfMessagesMoved).toBe(3);
    expect((await drain(q.sourceUrl)).length).toBe(3);
  });

  it('moves at MaxNumberOfMessagesPerSecond and lists it', async () => {
    const q = await pipe();
    await fill(q.dlqUrl, 6);
    const started = Date.now();
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.dlqArn, DestinationArn: q.destinationArn, MaxNumberOfMessagesPerSecond: 4 }));
    const running = await waitForTask(q.dlqArn, () => true);
    expect(running).toMatchObject({ Status: 'RUNNING', MaxNumberOfMessagesPerSecond: 4, TaskHandle: expect.any(String) });
    const task = await waitForTask(q.dlqArn, (t) => t.Status === 'COMPLETED');
    expect(task.ApproximateNumberOfMessagesMoved).toBe(6);
    // 6 messages at 4/s: the last batch may go at 1.0 s, the task ends after its pause at 1.5 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it('leaves messages that arrive in the DLQ after the start for the next task', async () => {
    const q = await pipe();
    await fill(q.dlqUrl, 4, 'before');
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.dlqArn, DestinationArn: q.destinationArn, MaxNumberOfMessagesPerSecond: 2 }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await fill(q.dlqUrl, 2, 'after');
    const task = await waitForTask(q.dlqArn, (t) => t.Status === 'COMPLETED');
    expect(task.ApproximateNumberOfMessagesMoved).toBe(4);
    const moved = await drain(q.destinationUrl);
    expect(moved.map((m) => (JSON.parse(m.Body!) as { text: string }).text).sort()).toEqual(['before-0', 'before-1', 'before-2', 'before-3']);
    // The late ones were released at the end: visible again, not held.
    expect(await depth(q.dlqUrl)).toEqual({ visible: 2, inFlight: 0 });
  });

  it('refuses a source that is no queue’s dead-letter queue, as AWS answers', async () => {
    const q = await pipe();
    const error = await errorOf(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.destinationArn, DestinationArn: q.sourceArn })));
    expect(error).toMatchObject({ name: 'InvalidParameterValue', status: 400, message: 'Source queue must be configured as a Dead Letter Queue.' });
  });

  it('refuses unknown source and destination queues with ResourceNotFoundException', async () => {
    const q = await pipe();
    const missing = `arn:aws:sqs:${region}:${accountId}:no-such-queue`;
    expect(await errorOf(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: missing })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
      message: "The resource that you specified for the SourceArn parameter doesn't exist.",
    });
    expect(await errorOf(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.dlqArn, DestinationArn: missing })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
      message: "The resource that you specified for the DestinationArn parameter doesn't exist.",
    });
    expect(await errorOf(sqs.send(new ListMessageMoveTasksCommand({ SourceArn: missing })))).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
  });

  it('refuses a second active task on the same source', async () => {
    const q = await pipe();
    await fill(q.dlqUrl, 5);
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.dlqArn, DestinationArn: q.destinationArn, MaxNumberOfMessagesPerSecond: 1 }));
    const error = await errorOf(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.dlqArn, DestinationArn: q.destinationArn })));
    expect(error).toMatchObject({
      name: 'InvalidParameterValue',
      status: 400,
      message: 'There is already a task running. Only one active task is allowed for a source queue arn at a given time.',
    });
    await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    await waitForTask(q.dlqArn, (t) => t.Status === 'CANCELLED');
    // Once it is over, a new one may start; both are listed, newest first.
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.dlqArn, DestinationArn: q.destinationArn }));
    await waitForTask(q.dlqArn, (t) => t.Status === 'COMPLETED');
    const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: q.dlqArn, MaxResults: 10 }));
    expect(Results.map((t) => t.Status)).toEqual(['COMPLETED', 'CANCELLED']);
    expect(Results[0]!.StartedTimestamp!).toBeGreaterThanOrEqual(Results[1]!.StartedTimestamp!);
    expect(await depth(q.dlqUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('checks its parameters', async () => {
    const q = await pipe();
    for (const rate of [0, 501]) {
      expect(
        await errorOf(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.dlqArn, DestinationArn: q.destinationArn, MaxNumberOfMessagesPerSecond: rate }))),
      ).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
    }
    for (const max of [0, 11]) {
      expect(await errorOf(sqs.send(new ListMessageMoveTasksCommand({ SourceArn: q.dlqArn, MaxResults: max })))).toMatchObject({ name: 'InvalidParameterValue' });
    }
    // A queue that is a DLQ but never had a task: nothing to list.
    expect((await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: q.dlqArn }))).Results ?? []).toEqual([]);
  });
});

describe('CancelMessageMoveTask', () => {
  it('stops a slow task part way: the rest stays in the DLQ, nothing is doubled', async () => {
    const q = await pipe();
    await fill(q.dlqUrl, 10);
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.dlqArn, DestinationArn: q.destinationArn, MaxNumberOfMessagesPerSecond: 2 }));
    await waitForTask(q.dlqArn, (t) => (t.ApproximateNumberOfMessagesMoved ?? 0) >= 2);
    const cancelled = await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    expect(cancelled.ApproximateNumberOfMessagesMoved).toBeGreaterThanOrEqual(2);
    const task = await waitForTask(q.dlqArn, (t) => t.Status === 'CANCELLED');
    const movedCount = task.ApproximateNumberOfMessagesMoved!;
    expect(movedCount).toBeLessThan(10);

    const moved = await drain(q.destinationUrl);
    const left = await drain(q.dlqUrl);
    expect(moved.length).toBe(movedCount);
    const all = [...moved, ...left].map((m) => (JSON.parse(m.Body!) as { n: number }).n).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 10 }, (_, i) => i));
    // Cancelling it again: it is no longer RUNNING.
    expect(await errorOf(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle })))).toMatchObject({ name: 'UnsupportedOperation', status: 400 });
  });

  it('takes only what Start returned', async () => {
    const q = await pipe();
    expect(await errorOf(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: 'foobared' })))).toMatchObject({
      name: 'InvalidParameterValue',
      status: 400,
      message: 'Value for parameter TaskHandle is invalid.',
    });
    expect(await errorOf(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: encodeTaskHandle('10f57157-fc38-4da9-a113-4de7e12d05aa', q.dlqArn) })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
      message: 'Task does not exist.',
    });
    expect(
      await errorOf(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: encodeTaskHandle('10f57157-fc38-4da9-a113-4de7e12d05dd', `arn:aws:sqs:${region}:${accountId}:gone` ) }))),
    ).toMatchObject({ name: 'ResourceNotFoundException', status: 404, message: "The resource that you specified for the SourceArn parameter doesn't exist." });
  });
});

describe('query protocol (AWS CLI v1, older SDKs)', () => {
  async function query(params: Record<string, string>): Promise<{ status: number; text: string }> {
    const response = await fetch(`${endpoint.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ Version: '2012-11-05', ...params }).toString(),
    });
    return { status: response.status, text: await response.text() };
  }

  it('starts, lists and refuses as the JSON protocol does, in XML', async () => {
    const q = await pipe();
    await fill(q.dlqUrl, 3);
    const started = await query({ Action: 'StartMessageMoveTask', SourceArn: q.dlqArn, DestinationArn: q.destinationArn, MaxNumberOfMessagesPerSecond: '100' });
    expect(started.status).toBe(200);
    const handle = /<TaskHandle>([^<]+)<\/TaskHandle>/.exec(started.text)?.[1];
    expect(decodeTaskHandle(handle!)?.sourceArn).toBe(q.dlqArn);
    await waitForTask(q.dlqArn, (t) => t.Status === 'COMPLETED');

    const listed = await query({ Action: 'ListMessageMoveTasks', SourceArn: q.dlqArn, MaxResults: '10' });
    expect(listed.status).toBe(200);
    expect(listed.text).toMatch(
      /<ListMessageMoveTasksResult><ListMessageMoveTasksResultEntry><Status>COMPLETED<\/Status>.*<ApproximateNumberOfMessagesMoved>3<\/ApproximateNumberOfMessagesMoved>.*<\/ListMessageMoveTasksResultEntry><\/ListMessageMoveTasksResult>/,
    );
    expect(listed.text).toContain('<MaxNumberOfMessagesPerSecond>100</MaxNumberOfMessagesPerSecond>');

    const refused = await query({ Action: 'StartMessageMoveTask', SourceArn: q.destinationArn });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('<Code>InvalidParameterValue</Code>');
    expect(refused.text).toContain('<Message>Source queue must be configured as a Dead Letter Queue.</Message>');

    const cancel = await query({ Action: 'CancelMessageMoveTask', TaskHandle: 'foobared' });
    expect(cancel.status).toBe(400);
    expect(cancel.text).toContain('<Message>Value for parameter TaskHandle is invalid.</Message>');
  });
});
