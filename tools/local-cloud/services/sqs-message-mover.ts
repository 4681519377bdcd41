/** Runs one SQS message move task: receive from the source, send to the destination, delete only what was sent; pacing, cancelling, releasing what was held. */
import { sendableAttributes } from '../../shared/sqs-attributes';
import type { SqsAnswer } from './sqs-faults';

/** One JSON-protocol call to the SQS emulator (queue URLs in the endpoint's form). */
export type SqsCall = (action: string, body: Record<string, unknown>) => Promise<SqsAnswer>;

export type Status = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

export interface Task {
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

export interface QueueInfo {
  url: string;
  arn: string;
  attributes: Record<string, string>;
}

/** An error answer from the emulator, as a failure reason: the query code AWS reports (`AWS.SimpleQueueService.NonExistentQueue`). */
export class CallFailed extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** The moving side of the message move tasks: every call goes through the SQS emulator. */
export class SqsMessageMover {
  constructor(
    private readonly call: SqsCall,
    private readonly now: () => number,
    private readonly holdSeconds: number,
  ) {}

  /** Every queue by ARN, with its attributes. */
  async queues(): Promise<Map<string, QueueInfo>> {
    const listed = await this.callOk('ListQueues', {});
    const urls = (listed.QueueUrls as string[] | undefined) ?? [];
    const queues = new Map<string, QueueInfo>();
    await Promise.all(
      urls.map(async (url) => {
        const answer = await this.call('GetQueueAttributes', { QueueUrl: url, AttributeNames: ['All'] });
        if (answer.status !== 200) return; // deleted meanwhile
        const attributes = ((JSON.parse(answer.text) as { Attributes?: Record<string, string> }).Attributes ?? {});
        if (attributes.QueueArn) queues.set(attributes.QueueArn, { url, arn: attributes.QueueArn, attributes });
      }),
    );
    return queues;
  }

  async callOk(action: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const answer = await this.call(action, body);
    const json = (answer.text ? JSON.parse(answer.text) : {}) as Record<string, unknown>;
    if (answer.status !== 200) {
      const type = String(json.__type ?? 'InternalFailure');
      const [queryCode] = (answer.queryError ?? '').split(';');
      throw new CallFailed(queryCode || type.slice(type.lastIndexOf('#') + 1));
    }
    return json;
  }

  async run(task: Task): Promise<void> {
    // Messages that arrived after the start (a task moves what was sent before it; see sqs-move-tasks.ts): kept hidden until the end, then released.
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
      await this.call('ChangeMessageVisibilityBatch', {
        QueueUrl: queueUrl,
        Entries: chunk.map((handle, index) => ({ Id: String(index), ReceiptHandle: handle, VisibilityTimeout: 0 })),
      }).catch(() => undefined); // they come back on their own after holdSeconds
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
