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
import { randomUUID } from 'node:crypto';
import { CallFailed, SqsMessageMover, type QueueInfo, type SqsCall, type Task } from './sqs-message-mover';
import type { SqsAnswer } from './sqs-faults';

export interface SqsMoveTasksOptions {
  /** One JSON-protocol call to the SQS emulator (queue URLs in the endpoint's form). */
  call: SqsCall;
  /** The clock compared with the emulator's SentTimestamp (tests leave it). */
  now?: () => number;
  /** How long a message being moved stays hidden in the source; it is released at once if its send fails. */
  holdSeconds?: number;
}

export const MOVE_TASK_ACTIONS = new Set(['StartMessageMoveTask', 'ListMessageMoveTasks', 'CancelMessageMoveTask']);

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
  private readonly mover: SqsMessageMover;

  constructor(private readonly options: SqsMoveTasksOptions) {
    this.now = options.now ?? Date.now;
    this.holdSeconds = options.holdSeconds ?? 60;
    this.mover = new SqsMessageMover(options.call, this.now, this.holdSeconds);
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

    const queues = await this.mover.queues();
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
    task.done = this.mover.run(task).finally(() => {
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
    if (!known && !(await this.mover.queues()).has(sourceArn)) {
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
      if (!arnFormatOk(decoded.sourceArn) || !(await this.mover.queues()).has(decoded.sourceArn)) {
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
