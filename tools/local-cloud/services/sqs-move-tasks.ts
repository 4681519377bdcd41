import { sendableAttributes } from '../../shared/sqs-attributes';
import { randomUUID } from 'node:crypto';
import type { SqsAnswer } from './sqs-faults';

/**
 * SQS message move tasks (DLQ redrive) on the local endpoint: `StartMessageMoveTask`,
 * `ListMessageMoveTasks` and `CancelMessageMoveTask`, which fauxqs lacks. A task moves messages by
 * receiving them from the source queue and sending their body and message attributes to the
 * destination through fauxqs, deleting each from the source only once it was sent: a task that
 * stops half way (cancelled, failed, endpoint closed) loses nothing and doubles nothing.
 *
 * AWS's rules and answers (API reference of the three actions; the developer guide's "Configure a
 * dead-letter queue redrive"; the errors as AWS answered them in LocalStack's AWS-validated
 * snapshots, tests/aws/services/sqs/test_sqs_move_task.snapshot.json):
 *
 * - The source must be the dead-letter queue of another queue (a RedrivePolicy whose
 *   `deadLetterTargetArn` is the source): else 400 InvalidParameterValue "Source queue must be
 *   configured as a Dead Letter Queue.". An unknown source or destination: 404
 *   ResourceNotFoundException "The resource that you specified for the SourceArn (DestinationArn)
 *   parameter doesn't exist.".
 * - One active task (RUNNING or CANCELLING) per source: else 400 InvalidParameterValue "There is
 *   already a task running. Only one active task is allowed for a source queue arn at a given time.".
 * - Without DestinationArn the messages go back to their original source queue. fauxqs does not
 *   record which queue a dead letter came from, so locally that works when exactly one queue
 *   redrives to the source; with several, Start is refused (give DestinationArn). Source and
 *   destination must be of the same type (standard or FIFO).
 * - `MaxNumberOfMessagesPerSecond` 1..500; absent, AWS picks a rate ("system optimized"), the local
 *   task moves as fast as it can (batches of 10).
 * - The task handle is AWS's format: base64 of `{"taskId":"<uuid>","sourceArn":"<arn>"}`. Cancel
 *   takes exactly what Start returned: an undecodable handle is 400 InvalidParameterValue "Value
 *   for parameter TaskHandle is invalid.", an unknown task 404 "Task does not exist.".
 * - Statuses RUNNING -> COMPLETED | CANCELLING -> CANCELLED | FAILED (with `FailureReason`, the
 *   error code, e.g. `AWS.SimpleQueueService.NonExistentQueue` when a queue is deleted under it).
 *   `ApproximateNumberOfMessagesToMove` is the source's visible depth at start. A listed task
 *   carries its TaskHandle only while RUNNING, DestinationArn and MaxNumberOfMessagesPerSecond only
 *   when given, as AWS lists them.
 * - ListMessageMoveTasks: newest first, `MaxResults` 1..10 (default 1); the 10 newest tasks of
 *   each source are kept while the endpoint runs.
 *
 * Local choice (AWS documents only that the count is taken at start): a task moves the messages
 * sent to the source before it started. Messages that arrive during the task, such as redriven
 * ones failing again, are left in the source for the next task, so a task always ends.
 */

export type SqsCall = (action: string, body: Record<string, unknown>) => Promise<SqsAnswer>;

export interface SqsMoveTasksOptions {
  /** One JSON-protocol call to the SQS emulator (queue URLs in the endpoint's form). */
  call: SqsCall;
  /** The clock compared with the emulator's SentTimestamp (tests leave it). */
  now?: () => number;
  /** How long a message being moved stays hidden in the source; it is released at once if its send fails. */
  holdSeconds?: number;
}

export const MOVE_TASK_ACTIONS = new Set(['StartMessageMoveTask', 'ListMessageMoveTasks', 'CancelMessageMoveTask']);

type Status = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

interface Task {
  taskId: string;
  handle: string;
  sourceArn: string;
  sourceUrl: string;
  destinationArn?: string;
  destinationUrl: string;
  fifo: boolean;
  rate?: number;
  status: Status;
  moved: number;
  toMove: number;
  startedAt: number;
  failureReason?: string;
  cancel: boolean;
  /** Wakes a paced task early (cancel, close). */
  wake?: () => void;
  done?: Promise<void>;
}

interface QueueInfo {
  url: string;
  arn: string;
  attributes: Record<string, string>;
}

const MAX_TASKS_PER_SOURCE = 10;
const ARN = /^arn:[a-z-]+:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(?:\.fifo)?$/;

class SqsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** The x-amzn-query-error code when it differs from the JSON __type's. */
    readonly queryCode = code,
  ) {
    super(message);
  }
}

const invalidParameter = (message: string) => new SqsError('InvalidParameterValueException', message, 400, 'InvalidParameterValue');
const notFound = (message: string) => new SqsError('ResourceNotFoundException', message, 404);

/** An error answer from the emulator, as a failure reason: the query code AWS reports (`AWS.SimpleQueueService.NonExistentQueue`). */
class CallFailed extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export function encodeTaskHandle(taskId: string, sourceArn: string): string {
  return Buffer.from(JSON.stringify({ taskId, sourceArn }), 'utf8').toString('base64');
}

export function decodeTaskHandle(handle: string): { taskId: string; sourceArn: string } | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(handle) || handle.length % 4 !== 0) return undefined;
  try {
    const doc = JSON.parse(Buffer.from(handle, 'base64').toString('utf8')) as unknown;
    if (typeof doc !== 'object' || doc === null) return undefined;
    const { taskId, sourceArn } = doc as { taskId?: unknown; sourceArn?: unknown };
    return typeof taskId === 'string' && typeof sourceArn === 'string' ? { taskId, sourceArn } : undefined;
  } catch {
    return undefined;
  }
}

export class SqsMoveTasks {
  private readonly tasks = new Map<string, Task>();
  private readonly now: () => number;
  private readonly holdSeconds: number;
  private closed = false;

  constructor(private readonly options: SqsMoveTasksOptions) {
    this.now = options.now ?? Date.now;
    this.holdSeconds = options.holdSeconds ?? 60;
  }

  /** Answers one of MOVE_TASK_ACTIONS as SQS's JSON protocol does. */
  async handle(action: string, body: Record<string, unknown>): Promise<SqsAnswer> {
    try {
      const result =
        action === 'StartMessageMoveTask' ? await this.start(body)
        : action === 'ListMessageMoveTasks' ? await this.list(body)
        : action === 'CancelMessageMoveTask' ? await this.cancel(body)
        : undefined;
      if (!result) throw new SqsError('InvalidAction', `${action} is not a message move task action`);
      return { status: 200, text: JSON.stringify(result) };
    } catch (error) {
      if (error instanceof SqsError) {
        return {
          status: error.status,
          text: JSON.stringify({ __type: `com.amazonaws.sqs#${error.code}`, message: error.message }),
          queryError: `${error.queryCode};Sender`,
        };
      }
      if (error instanceof CallFailed) {
        return { status: 500, text: JSON.stringify({ __type: 'com.amazonaws.sqs#InternalFailure', message: error.message }), queryError: 'InternalFailure;Receiver' };
      }
      throw error;
    }
  }

  /** Stops every running task (each finishes the batch it is moving) and waits for them. */
  async close(): Promise<void> {
    this.closed = true;
    const running = [...this.tasks.values()].filter((t) => t.done);
    for (const task of running) {
      task.cancel = true;
      task.wake?.();
    }
    await Promise.allSettled(running.map((t) => t.done));
  }

  private async start(body: Record<string, unknown>) {
    const sourceArn = requiredString(body, 'SourceArn');
    const destinationArn = optionalString(body, 'DestinationArn');
    const rate = body.MaxNumberOfMessagesPerSecond;
    if (rate !== undefined && rate !== null && (!Number.isInteger(rate) || (rate as number) < 1 || (rate as number) > 500)) {
      throw invalidParameter(`Value ${String(rate)} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be an integer from 1 to 500.`);
    }
    if (this.closed) throw new SqsError('ServiceUnavailable', 'The local endpoint is closing.', 503);

    const queues = await this.queues();
    const source = arnFormatOk(sourceArn) ? queues.get(sourceArn) : undefined;
    if (!source) throw notFound("The resource that you specified for the SourceArn parameter doesn't exist.");
    const redrivingQueues = [...queues.values()].filter((q) => deadLetterTargetOf(q) === sourceArn);
    if (redrivingQueues.length === 0) throw invalidParameter('Source queue must be configured as a Dead Letter Queue.');

    let destination: QueueInfo;
    if (destinationArn !== undefined) {
      const found = arnFormatOk(destinationArn) ? queues.get(destinationArn) : undefined;
      if (!found) throw notFound("The resource that you specified for the DestinationArn parameter doesn't exist.");
      destination = found;
    } else if (redrivingQueues.length === 1) {
      destination = redrivingQueues[0]!;
    } else {
      throw invalidParameter(
        `The local cloud cannot tell which of the ${redrivingQueues.length} queues that use this dead-letter queue each message came from: give DestinationArn.`,
      );
    }
    const fifo = source.attributes.FifoQueue === 'true';
    if (fifo !== (destination.attributes.FifoQueue === 'true')) {
      throw invalidParameter('The source queue and the destination queue must be of the same type (standard or FIFO).');
    }
    if (this.forSource(sourceArn).some((t) => t.status === 'RUNNING' || t.status === 'CANCELLING')) {
      throw invalidParameter('There is already a task running. Only one active task is allowed for a source queue arn at a given time.');
    }

    const taskId = randomUUID();
    const task: Task = {
      taskId,
      handle: encodeTaskHandle(taskId, sourceArn),
      sourceArn,
      sourceUrl: source.url,
      destinationArn,
      destinationUrl: destination.url,
      fifo,
      rate: typeof rate === 'number' ? rate : undefined,
      status: 'RUNNING',
      moved: 0,
      toMove: Number(source.attributes.ApproximateNumberOfMessages ?? 0),
      startedAt: this.now(),
      cancel: false,
    };
    this.tasks.set(taskId, task);
    this.prune(sourceArn);
    task.done = this.run(task).finally(() => {
      task.done = undefined;
      task.wake = undefined;
    });
    return { TaskHandle: task.handle };
  }

  private async list(body: Record<string, unknown>) {
    const sourceArn = requiredString(body, 'SourceArn');
    const max = body.MaxResults ?? 1;
    if (!Number.isInteger(max) || (max as number) < 1 || (max as number) > 10) {
      throw invalidParameter(`Value ${String(max)} for parameter MaxResults is invalid. Reason: Must be an integer from 1 to 10.`);
    }
    if (!arnFormatOk(sourceArn)) {
      throw invalidParameter('You must use this format to specify the SourceArn: arn:<partition>:<service>:<region>:<account-id>:<resource-id>');
    }
    const known = this.forSource(sourceArn).length > 0;
    if (!known && !(await this.queues()).has(sourceArn)) {
      throw notFound("The resource that you specified for the SourceArn parameter doesn't exist.");
    }
    return { Results: this.forSource(sourceArn).slice(0, max as number).map((t) => entry(t)) };
  }

  private async cancel(body: Record<string, unknown>) {
    const handle = requiredString(body, 'TaskHandle');
    const decoded = decodeTaskHandle(handle);
    if (!decoded) throw invalidParameter('Value for parameter TaskHandle is invalid.');
    const task = this.tasks.get(decoded.taskId);
    if (!task || task.sourceArn !== decoded.sourceArn || task.handle !== handle) {
      if (!arnFormatOk(decoded.sourceArn) || !(await this.queues()).has(decoded.sourceArn)) {
        throw notFound("The resource that you specified for the SourceArn parameter doesn't exist.");
      }
      throw notFound('Task does not exist.');
    }
    if (task.status !== 'RUNNING') {
      throw new SqsError('UnsupportedOperation', `A message movement task can only be cancelled while it is RUNNING; this one is ${task.status}.`);
    }
    task.status = 'CANCELLING';
    task.cancel = true;
    task.wake?.();
    return { ApproximateNumberOfMessagesMoved: task.moved };
  }

  /** The tasks of one source, newest first. */
  private forSource(sourceArn: string): Task[] {
    return [...this.tasks.values()].filter((t) => t.sourceArn === sourceArn).sort((a, b) => b.startedAt - a.startedAt);
  }

  /** Keeps the newest MAX_TASKS_PER_SOURCE tasks of a source (an active one is never dropped). */
  private prune(sourceArn: string): void {
    for (const task of this.forSource(sourceArn).slice(MAX_TASKS_PER_SOURCE)) {
      if (task.status !== 'RUNNING' && task.status !== 'CANCELLING') this.tasks.delete(task.taskId);
    }
  }

  /** Every queue by ARN, with its attributes. */
  private async queues(): Promise<Map<string, QueueInfo>> {
    const listed = await this.callOk('ListQueues', {});
    const urls = (listed.QueueUrls as string[] | undefined) ?? [];
    const queues = new Map<string, QueueInfo>();
    await Promise.all(
      urls.map(async (url) => {
        const answer = await this.options.call('GetQueueAttributes', { QueueUrl: url, AttributeNames: ['All'] });
        if (answer.status !== 200) return; // deleted meanwhile
        const attributes = ((JSON.parse(answer.text) as { Attributes?: Record<string, string> }).Attributes ?? {});
        if (attributes.QueueArn) queues.set(attributes.QueueArn, { url, arn: attributes.QueueArn, attributes });
      }),
    );
    return queues;
  }

  private async callOk(action: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const answer = await this.options.call(action, body);
    const json = (answer.text ? JSON.parse(answer.text) : {}) as Record<string, unknown>;
    if (answer.status !== 200) {
      const type = String(json.__type ?? 'InternalFailure');
      const [queryCode] = (answer.queryError ?? '').split(';');
      throw new CallFailed(queryCode || type.slice(type.lastIndexOf('#') + 1));
    }
    return json;
  }

  private async run(task: Task): Promise<void> {
    // Messages that arrived after the start (see above): kept hidden until the end, then released.
    const held = new Map<string, string>();
    const pacingFrom = this.now();
    try {
      while (!task.cancel) {
        const batchSize = Math.min(10, task.rate ?? 10);
        const received = await this.callOk('ReceiveMessage', {
          QueueUrl: task.sourceUrl,
          MaxNumberOfMessages: batchSize,
          VisibilityTimeout: this.holdSeconds,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['SentTimestamp', 'MessageGroupId'],
        });
        const messages = (received.Messages as ReceivedMessage[] | undefined) ?? [];
        if (messages.length === 0) break;
        const toMove: ReceivedMessage[] = [];
        for (const message of messages) {
          if (Number(message.Attributes?.SentTimestamp ?? 0) > task.startedAt) held.set(message.MessageId, message.ReceiptHandle);
          else toMove.push(message);
        }
        if (toMove.length > 0) await this.moveBatch(task, toMove);
        if (task.rate !== undefined && toMove.length > 0) await this.sleep(task, pacingFrom + (task.moved / task.rate) * 1000 - this.now());
      }
      task.status = task.cancel ? 'CANCELLED' : 'COMPLETED';
    } catch (error) {
      task.status = 'FAILED';
      task.failureReason = error instanceof CallFailed ? error.reason : error instanceof Error ? error.message : String(error);
    } finally {
      await this.release(task.sourceUrl, [...held.values()]);
    }
  }

  /** Sends, then deletes what was sent; what could not be sent is made visible again and fails the task. */
  private async moveBatch(task: Task, messages: ReceivedMessage[]): Promise<void> {
    let result: Record<string, unknown>;
    try {
      result = await this.callOk('SendMessageBatch', {
        QueueUrl: task.destinationUrl,
        Entries: messages.map((m, index) => ({
          Id: String(index),
          MessageBody: m.Body,
          ...(m.MessageAttributes && Object.keys(m.MessageAttributes).length > 0 ? { MessageAttributes: sendableAttributes(m.MessageAttributes) } : {}),
          ...(task.fifo ? { MessageGroupId: m.Attributes?.MessageGroupId ?? 'redrive', MessageDeduplicationId: m.MessageId } : {}),
        })),
      });
    } catch (error) {
      await this.release(task.sourceUrl, messages.map((m) => m.ReceiptHandle));
      throw error;
    }
    const sent = new Set(((result.Successful as Array<{ Id: string }> | undefined) ?? []).map((s) => s.Id));
    const failed = (result.Failed as Array<{ Id: string; Code?: string }> | undefined) ?? [];
    const sentMessages = messages.filter((_, index) => sent.has(String(index)));
    if (sentMessages.length > 0) {
      const deleted = await this.callOk('DeleteMessageBatch', {
        QueueUrl: task.sourceUrl,
        Entries: sentMessages.map((m, index) => ({ Id: String(index), ReceiptHandle: m.ReceiptHandle })),
      });
      task.moved += ((deleted.Successful as unknown[] | undefined) ?? []).length;
    }
    const unsent = messages.filter((_, index) => !sent.has(String(index)));
    if (unsent.length > 0) {
      await this.release(task.sourceUrl, unsent.map((m) => m.ReceiptHandle));
      throw new CallFailed(failed[0]?.Code ?? 'InternalFailure');
    }
  }

  private async release(queueUrl: string, receiptHandles: string[]): Promise<void> {
    for (let i = 0; i < receiptHandles.length; i += 10) {
      const chunk = receiptHandles.slice(i, i + 10);
      await this.options
        .call('ChangeMessageVisibilityBatch', {
          QueueUrl: queueUrl,
          Entries: chunk.map((handle, index) => ({ Id: String(index), ReceiptHandle: handle, VisibilityTimeout: 0 })),
        })
        .catch(() => undefined); // they come back on their own after holdSeconds
    }
  }

  private sleep(task: Task, ms: number): Promise<void> {
    if (ms <= 0 || task.cancel) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        task.wake = undefined;
        resolve();
      }
      task.wake = done;
    });
  }
}

interface ReceivedMessage {
  MessageId: string;
  ReceiptHandle: string;
  Body: string;
  Attributes?: Record<string, string>;
  MessageAttributes?: Record<string, { DataType?: string; StringValue?: string; BinaryValue?: string }>;
}


function entry(task: Task): Record<string, unknown> {
  return {
    ...(task.status === 'RUNNING' ? { TaskHandle: task.handle } : {}),
    Status: task.status,
    SourceArn: task.sourceArn,
    ...(task.destinationArn !== undefined ? { DestinationArn: task.destinationArn } : {}),
    ...(task.rate !== undefined ? { MaxNumberOfMessagesPerSecond: task.rate } : {}),
    ApproximateNumberOfMessagesMoved: task.moved,
    ApproximateNumberOfMessagesToMove: task.toMove,
    ...(task.status === 'FAILED' ? { FailureReason: task.failureReason ?? 'InternalFailure' } : {}),
    StartedTimestamp: task.startedAt,
  };
}

function deadLetterTargetOf(queue: QueueInfo): string | undefined {
  const policy = queue.attributes.RedrivePolicy;
  if (!policy) return undefined;
  try {
    const target = (JSON.parse(policy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn;
    return typeof target === 'string' ? target : undefined;
  } catch {
    return undefined;
  }
}

function arnFormatOk(arn: string): boolean {
  return ARN.test(arn);
}

function requiredString(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (value === undefined || value === null || value === '') {
    throw new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
  }
  if (typeof value !== 'string') throw invalidParameter(`Value for parameter ${name} is invalid.`);
  return value;
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw invalidParameter(`Value for parameter ${name} is invalid.`);
  return value;
}
