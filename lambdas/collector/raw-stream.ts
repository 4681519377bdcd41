import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { RawStreamEntry } from './ingest';

/** One PutRecords call; an entry counts as written only when Kinesis gave it a sequence number. */
export function rawStreamWriter(kinesis: KinesisClient, streamName: string) {
  return async (entries: RawStreamEntry[]): Promise<boolean[]> => {
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
