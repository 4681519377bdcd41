import { createHash } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { StopSignal } from './stop-signal';
import { errorMessageOf } from '../../lambdas/shared/error-message';
import type { EventSourceMappingSpec, Invoker } from './types';

/**
 * An SQS event source mapping with Lambda's semantics: batches of received messages, deleted on
 * success except the ones the function reports in batchItemFailures; on a function error all stay,
 * come back after the visibility timeout, and the queue's redrive policy moves them to its DLQ.
 */

export interface SqsMappingOptions {
  spec: EventSourceMappingSpec;
  invoker: Invoker;
  sqs: SQSClient;
  region: string;
  queueUrl: () => Promise<string>;
  /** Concurrent pollers (Lambda starts several for a queue). */
  pollers?: number;
  log?: (line: string) => void;
}

const MAX_RECEIVE = 10;
const ERROR_BACKOFF_MS = 500;

export function startSqsMapping(opts: SqsMappingOptions): { stop(): Promise<void> } {
  const stopSignal = new StopSignal();
  const abort = new AbortController();
  const label = `[${opts.spec.logicalId}]`;

  async function poll(): Promise<void> {
    while (!stopSignal.stopped) {
      try {
        const queueUrl = await opts.queueUrl();
        const messages = await gather(queueUrl);
        if (messages.length > 0) await handle(queueUrl, messages);
      } catch (error) {
        if (stopSignal.stopped) return;
        opts.log?.(`${label} poller error: ${errorMessageOf(error)}`);
        await stopSignal.sleep(ERROR_BACKOFF_MS);
      }
    }
  }

  /** Up to BatchSize messages: receives of 10 until full or the batching window closes. */
  async function gather(queueUrl: string): Promise<Message[]> {
    const { batchSize, maximumBatchingWindowInSeconds } = opts.spec;
    const windowEnds = Date.now() + maximumBatchingWindowInSeconds * 1000;
    const messages: Message[] = [];
    do {
      const received = await opts.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(MAX_RECEIVE, batchSize - messages.length),
          // A short long-poll: messages arrive within milliseconds and an idle queue costs little.
          WaitTimeSeconds: messages.length === 0 ? 1 : 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: abort.signal },
      );
      const page = received.Messages ?? [];
      for (const message of page) {
        // A window longer than the visibility timeout can receive a message twice: the later receipt handle is the live one.
        const earlier = messages.findIndex((held) => held.MessageId === message.MessageId);
        if (earlier >= 0) messages.splice(earlier, 1);
        messages.push(message);
      }
      if (page.length === 0 && messages.length > 0) await stopSignal.sleep(100);
    } while (messages.length > 0 && messages.length < batchSize && Date.now() < windowEnds && !stopSignal.stopped);
    return messages;
  }

  async function handle(queueUrl: string, messages: Message[]): Promise<void> {
    const result = await opts.invoker.invoke(opts.spec.functionName, eventFor(messages, opts.spec.eventSourceArn, opts.region));
    if (!result.ok) {
      opts.log?.(`${label} batch of ${messages.length} failed (${result.errorType}: ${result.errorMessage}); messages return after the visibility timeout`);
      return;
    }
    const failed = failedIds(result.payload, messages);
    if (failed === 'all') {
      opts.log?.(`${label} batchItemFailures named an unknown message; the whole batch returns after the visibility timeout`);
      return;
    }
    const toDelete = messages.filter((message) => !failed.has(message.MessageId!));
    for (let start = 0; start < toDelete.length; start += MAX_RECEIVE) {
      const chunk = toDelete.slice(start, start + MAX_RECEIVE);
      const response = await opts.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
      for (const failure of response.Failed ?? []) opts.log?.(`${label} could not delete a processed message: ${failure.Message}`);
    }
  }

  function failedIds(payload: unknown, messages: Message[]): Set<string> | 'all' {
    if (!opts.spec.reportBatchItemFailures) return new Set();
    const failures = (payload as { batchItemFailures?: unknown } | null)?.batchItemFailures;
    if (!Array.isArray(failures)) return new Set();
    const known = new Set(messages.map((message) => message.MessageId));
    const ids = new Set<string>();
    for (const failure of failures) {
      const identifier = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      // As in AWS: a missing, empty or unknown identifier fails the whole batch.
      if (typeof identifier !== 'string' || !known.has(identifier)) return 'all';
      ids.add(identifier);
    }
    return ids;
  }

  const running = Array.from({ length: Math.max(1, opts.pollers ?? 2) }, () => poll());

  return {
    async stop() {
      stopSignal.stop();
      abort.abort();
      await Promise.all(running);
    },
  };
}

/** The SQSEvent Lambda sends, from received messages. */
export function eventFor(messages: Message[], queueArn: string, region: string) {
  return {
    Records: messages.map((message) => ({
      messageId: message.MessageId!,
      receiptHandle: message.ReceiptHandle!,
      body: message.Body ?? '',
      attributes: { ...message.Attributes },
      messageAttributes: Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, lambdaAttribute(value)]),
      ),
      md5OfBody: message.MD5OfBody ?? createHash('md5').update(message.Body ?? '').digest('hex'),
      ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: region,
    })),
  };
}

// Lambda spells message attributes in camel case, lists always present, binary as base64.
function lambdaAttribute(value: MessageAttributeValue) {
  return {
    ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
    ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map((item) => Buffer.from(item).toString('base64')),
    dataType: value.DataType ?? 'String',
  };
}
