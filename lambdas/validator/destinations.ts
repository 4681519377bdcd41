import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterEntry, StreamEntry } from './validate-batch';

/** One PutRecords call; an entry counts as written only when Kinesis gave it a sequence number. */
export function processedStreamWriter(kinesis: KinesisClient, streamName: string) {
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
export function deadLetterSender(sqs: SQSClient, queueUrl: string) {
  return async (entries: DeadLetterEntry[]): Promise<boolean[]> => {
    const output = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: entries.map((entry, position) => ({
          Id: String(position),
          MessageBody: entry.body,
          MessageAttributes: entry.attributes,
        })),
      }),
    );
    const sent = new Set((output.Successful ?? []).map((entry) => entry.Id));
    return entries.map((_, position) => sent.has(String(position)));
  };
}
