import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { SendMessageBatchCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import type { ChunkLimits } from './retry';

/** One record ready for Kinesis PutRecords. */
export interface StreamEntry {
  data: Uint8Array;
  partitionKey: string;
}

/** One message ready for SQS SendMessageBatch. */
export interface MessageEntry {
  body: string;
  attributes?: Record<string, MessageAttributeValue>;
}

/** Kinesis PutRecords: 500 records and 5 MiB (data plus partition keys) per request. */
export const PUT_RECORDS_LIMITS: ChunkLimits<StreamEntry> = {
  maxCount: 500,
  maxBytes: 5 * 1024 * 1024,
  sizeOf: (entry) => entry.data.byteLength + Buffer.byteLength(entry.partitionKey),
};

/** SQS SendMessageBatch: 10 messages and 256 KiB (bodies plus attributes) per request. */
export const SEND_MESSAGE_BATCH_LIMITS: ChunkLimits<MessageEntry> = {
  maxCount: 10,
  maxBytes: 256 * 1024,
  sizeOf: sqsMessageBytes,
};

/**
 * JSON for an SQS message body. SQS refuses characters outside #x9 | #xA | #xD | #x20-#xD7FF |
 * #xE000-#xFFFD | #x10000-#x10FFFF; JSON.stringify already escapes control characters and lone
 * surrogates, which leaves U+FFFE and U+FFFF (valid in JSON and accepted by the collector): they
 * are written as \u escapes, so the body still parses to the same value.
 */
export function sqsSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** SQS counts the body and every attribute's name, type and value against the size limit. */
export function sqsMessageBytes(entry: MessageEntry): number {
  let bytes = Buffer.byteLength(entry.body, 'utf8');
  for (const [name, value] of Object.entries(entry.attributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}

/** One PutRecords call; an entry counts as written only when Kinesis gave it a sequence number. */
export function streamWriter(kinesis: Pick<KinesisClient, 'send'>, streamName: string) {
  return async (entries: StreamEntry[]): Promise<boolean[]> => {
    const output = await kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: entries.map((entry) => ({ Data: entry.data, PartitionKey: entry.partitionKey })),
      }),
    );
    return entries.map((_, position) => {
      const record = output.Records?.[position];
      return record !== undefined && record.ErrorCode === undefined && record.SequenceNumber !== undefined;
    });
  };
}

/** One SendMessageBatch call; an entry counts as sent only when SQS listed it as successful. */
export function messageBatchSender(sqs: Pick<SQSClient, 'send'>, queueUrl: string) {
  return async (entries: MessageEntry[]): Promise<boolean[]> => {
    const output = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: entries.map((entry, position) => ({
          Id: String(position),
          MessageBody: entry.body,
          ...(entry.attributes ? { MessageAttributes: entry.attributes } : {}),
        })),
      }),
    );
    const sent = new Set((output.Successful ?? []).map((entry) => entry.Id));
    return entries.map((_, position) => sent.has(String(position)));
  };
}
