/** Shared setup of the validateBatch tests: mocked Kinesis and SQS clients that accept everything, the deps, and what was written. */
import { KinesisClient, PutRecordsCommand, type PutRecordsCommandInput, type PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import {
  SendMessageBatchCommand,
  SQSClient,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { enrichedEventSchema } from '../../../lambdas/shared/events';
import { DeadLetterMessageSchema } from '../../../lambdas/shared/records';
import { messageBatchSender, streamWriter } from '../../../lambdas/shared/delivery';
import { type ValidatorDeps } from '../../../lambdas/validator/validate-batch';
import { SAMPLE_RECEIVED_AT } from '../../fixtures/events';

export const kinesisMock = mockClient(KinesisClient);
export const sqsMock = mockClient(SQSClient);
export const PROCESSED_STREAM = 'processed-under-test';
export const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/DeadLetterQueue';
export const NOW = new Date(SAMPLE_RECEIVED_AT.getTime() + 2_000);

export function makeDeps(overrides: Partial<ValidatorDeps> = {}): ValidatorDeps {
  return {
    putProcessed: streamWriter(new KinesisClient({ region: 'us-east-1' }), PROCESSED_STREAM),
    sendDeadLetters: messageBatchSender(new SQSClient({ region: 'us-east-1' }), DLQ_URL),
    now: () => NOW,
    retry: { clock: { now: () => 0, sleep: async () => {}, random: () => 0.5 } },
    ...overrides,
  };
}

export function envelope(event: unknown, receivedAt = SAMPLE_RECEIVED_AT, requestId = 'req-1') {
  return { received_at: receivedAt.toISOString(), request_id: requestId, event };
}

export function putAll(input: PutRecordsCommandInput): PutRecordsCommandOutput {
  return {
    $metadata: {},
    FailedRecordCount: 0,
    Records: (input.Records ?? []).map((_, i) => ({ SequenceNumber: `5000${i}`, ShardId: 'shardId-000000000000' })),
  };
}

export function sendAll(input: SendMessageBatchCommandInput): SendMessageBatchCommandOutput {
  return {
    $metadata: {},
    Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id!, MessageId: `m-${entry.Id}`, MD5OfMessageBody: 'x' })),
    Failed: [],
  };
}

export const putCalls = () => kinesisMock.commandCalls(PutRecordsCommand).map((call) => call.args[0].input);
export const sendCalls = () => sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);

export function processedEvents() {
  return putCalls()
    .flatMap((input) => input.Records ?? [])
    .map((record) => ({
      partitionKey: record.PartitionKey,
      event: enrichedEventSchema.parse(JSON.parse(Buffer.from(record.Data!).toString('utf8'))),
    }));
}

export function deadLetters() {
  return sendCalls()
    .flatMap((input) => input.Entries ?? [])
    .map((entry) => ({
      body: DeadLetterMessageSchema.parse(JSON.parse(entry.MessageBody!)),
      attributes: entry.MessageAttributes,
    }));
}

/** Fresh mocks before each test: every record is written and every message sent unless a test says otherwise. */
export function resetMocks(): void {
  kinesisMock.reset();
  sqsMock.reset();
  kinesisMock.on(PutRecordsCommand).callsFake(putAll);
  sqsMock.on(SendMessageBatchCommand).callsFake(sendAll);
}
