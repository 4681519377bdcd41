import type { SQSClient } from '@aws-sdk/client-sqs';
import { SEND_MESSAGE_BATCH_LIMITS, messageBatchSender, sqsSafeJson } from '../shared/delivery';
import { deadLetterAttributes, type DeadLetterMessage, type FieldError } from '../shared/records';
import { deliverInChunks, type RetryClock, type RetryPolicy } from '../shared/retry';
import type { RecordPosition } from './records';

export type MessageSender = Pick<SQSClient, 'send'>;

export interface PermanentFailure {
  position: RecordPosition;
  record: unknown;
  errors: FieldError[];
}

export function loadFailedMessage(failure: PermanentFailure, now: Date): DeadLetterMessage {
  const receivedAt =
    typeof failure.record === 'object' && failure.record !== null
      ? (failure.record as { received_at?: unknown }).received_at
      : undefined;
  return {
    reason: 'load_failed',
    errors: failure.errors,
    record: failure.record,
    source: {
      stream: failure.position.stream,
      shard_id: failure.position.shardId,
      sequence_number: failure.position.sequenceNumber,
      // The validator judges a redriven record's times against this, not the redrive time.
      ...(typeof receivedAt === 'string' ? { received_at: receivedAt } : {}),
    },
    first_failed_at: now.toISOString(),
    attempts: 1,
  };
}

/**
 * Sends the failures to the DeadLetterQueue (groups of 10, only failed entries resent, with
 * backoff) and returns the ones that still did not get there: those are retried with their
 * records. A message sent twice is harmless: a redriven duplicate is absorbed by the loader.
 */
export async function sendDeadLetters(
  sqs: MessageSender,
  queueUrl: string,
  failures: readonly PermanentFailure[],
  now: Date,
  retry: { policy?: RetryPolicy; clock?: RetryClock; onError?: (error: unknown) => void } = {},
): Promise<{ sent: PermanentFailure[]; unsent: PermanentFailure[] }> {
  const entries = failures.map((failure) => ({
    body: sqsSafeJson(loadFailedMessage(failure, now)),
    attributes: deadLetterAttributes({ reason: 'load_failed', errors: failure.errors }),
  }));
  const sendBatch = messageBatchSender(sqs, queueUrl);
  const delivered = await deliverInChunks(entries, {
    limits: SEND_MESSAGE_BATCH_LIMITS,
    sendChunk: async (chunk) => {
      const flags = await sendBatch(chunk);
      const failed = flags.filter((ok) => !ok).length;
      if (failed > 0) retry.onError?.(new Error(`SendMessageBatch failed for ${failed} entries`));
      return flags;
    },
    ...(retry.policy ? { policy: retry.policy } : {}),
    ...(retry.clock ? { clock: retry.clock } : {}),
    ...(retry.onError ? { onError: retry.onError } : {}),
  });
  return {
    sent: failures.filter((_, i) => delivered[i]),
    unsent: failures.filter((_, i) => !delivered[i]),
  };
}
