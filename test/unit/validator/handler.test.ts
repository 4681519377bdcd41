import { KinesisClient, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { logger, metrics } from '../../../lambdas/shared/powertools';
import { sampleSearchEventV3 } from '../../fixtures/events';
import { kinesisEvent, kinesisJsonRecord, kinesisRecord } from '../../fixtures/kinesis';
import { sqsEvent, sqsJsonRecord, sqsRecord } from '../../fixtures/sqs';

const kinesisMock = mockClient(KinesisClient);
const sqsMock = mockClient(SQSClient);
const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/dlq-from-env';
let validator: typeof import('../../../lambdas/validator/handler');

beforeAll(async () => {
  vi.stubEnv('PROCESSED_STREAM_NAME', 'processed-from-env');
  vi.stubEnv('DEAD_LETTER_QUEUE_URL', DLQ_URL);
  validator = await import('../../../lambdas/validator/handler');
});

beforeEach(() => {
  kinesisMock.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => ({
    FailedRecordCount: 0,
    Records: (input.Records ?? []).map(() => ({ SequenceNumber: '1', ShardId: 'shardId-000000000000' })),
  }));
  sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
    Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
    Failed: [],
  }));
});

afterEach(() => {
  kinesisMock.reset();
  sqsMock.reset();
  vi.restoreAllMocks();
});

function freshEnvelope() {
  const now = new Date();
  return {
    received_at: now.toISOString(),
    request_id: 'req',
    event: sampleSearchEventV3({ event_time: new Date(now.getTime() - 1_000).toISOString() }),
  };
}

function counted(addMetric: { mock: { calls: unknown[][] } }) {
  return Object.fromEntries(addMetric.mock.calls.map(([name, , value]) => [name, value]));
}

describe('validator handler', () => {
  it('routes a Kinesis batch to the configured stream and queue and counts it', async () => {
    const addMetric = vi.spyOn(metrics, 'addMetric');
    const result = await validator.validate(
      kinesisEvent([kinesisJsonRecord(freshEnvelope()), kinesisRecord('not json')]),
    );

    expect(result).toEqual({ batchItemFailures: [] });
    expect(kinesisMock.commandCalls(PutRecordsCommand)[0]?.args[0].input.StreamName).toBe('processed-from-env');
    expect(sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.QueueUrl).toBe(DLQ_URL);
    expect(counted(addMetric)).toEqual({
      EventsValid: 1,
      EventsInvalid: 0,
      RecordsUnparseable: 1,
      EventsRedriven: 0,
      EventsRedriveFailed: 0,
      EventsReplayed: 0,
      RecordsIn: 2,
      BatchValidShare: 100,
    });
  });

  it('routes an SQS batch from the RedriveQueue as redrives', async () => {
    const addMetric = vi.spyOn(metrics, 'addMetric');
    const envelope = freshEnvelope();
    const deadLetter = {
      reason: 'validation_failed',
      errors: [],
      record: envelope.event,
      source: { received_at: envelope.received_at },
      first_failed_at: envelope.received_at,
      attempts: 1,
    };
    const result = await validator.validate(sqsEvent([sqsJsonRecord(deadLetter), sqsRecord('{}', { messageId: 'x' })]));

    expect(result).toEqual({ batchItemFailures: [] });
    // No first-pass record judged: no valid share.
    expect(counted(addMetric)).toEqual({ EventsValid: 0, EventsInvalid: 0, RecordsUnparseable: 1, EventsRedriven: 1, EventsRedriveFailed: 0, EventsReplayed: 0, RecordsIn: 2 });
  });

  it('works through the middy-wrapped handler Lambda calls', async () => {
    const context = {
      functionName: 'Validator',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:Validator',
      memoryLimitInMB: '256',
      awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
      logGroupName: '/aws/lambda/Validator',
      logStreamName: '2026/11/22/[$LATEST]abc',
      getRemainingTimeInMillis: () => 30_000,
    } as unknown as Context;
    const result = await validator.handler(kinesisEvent([kinesisJsonRecord(freshEnvelope())]), context);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(kinesisMock.commandCalls(PutRecordsCommand)).toHaveLength(1);
  });
});

describe('validator data quality and correlation', () => {
  it('publishes records in, the valid share and ValidationErrors per known code (dimension code), first pass only', async () => {
    const addMetric = vi.spyOn(metrics, 'addMetric');
    const singles: Array<{ dimensions: Record<string, string>; name: string; value: number }> = [];
    vi.spyOn(metrics, 'singleMetric').mockImplementation(() => {
      const dimensions: Record<string, string> = {};
      const single = {
        addDimension: (name: string, value: string) => void (dimensions[name] = value),
        addMetric: (name: string, _unit: unknown, value: number) => void singles.push({ dimensions: { ...dimensions }, name, value }),
      };
      return single as unknown as ReturnType<typeof metrics.singleMetric>;
    });
    const good = freshEnvelope();
    const bad = freshEnvelope();
    const twoErrors = { ...bad, event: { ...bad.event, event_type: 'teleport', user_segment: 'vip' } };
    const oneError = { ...bad, event: { ...bad.event, event_type: 'teleport' } };
    await validator.validate(
      kinesisEvent([kinesisJsonRecord(good), kinesisJsonRecord(twoErrors), kinesisJsonRecord(oneError), kinesisRecord('not json')]),
    );

    expect(counted(addMetric)).toMatchObject({ RecordsIn: 4, EventsValid: 1, EventsInvalid: 2, BatchValidShare: 100 / 3 });
    // Each record counts once per code it has: two records with invalid_value, one not_json.
    expect(singles.sort((a, b) => a.dimensions.code!.localeCompare(b.dimensions.code!))).toEqual([
      { dimensions: { code: 'invalid_value' }, name: 'ValidationErrors', value: 2 },
      { dimensions: { code: 'not_json' }, name: 'ValidationErrors', value: 1 },
    ]);
  });

  it("logs each record handed on with its event_id and the API request id, for one Logs Insights query", async () => {
    const info = vi.spyOn(logger, 'info');
    const good = { ...freshEnvelope(), request_id: 'api-request-1' };
    const bad = { ...freshEnvelope(), request_id: 'api-request-2' };
    bad.event = { ...bad.event, event_type: 'teleport' };
    await validator.validate(kinesisEvent([kinesisJsonRecord(good), kinesisJsonRecord(bad)]));

    const handedOn = info.mock.calls.filter(([message]) => message === 'Record handed on').map(([, fields]) => fields);
    expect(handedOn).toEqual([
      { event_id: good.event.event_id, request_id: 'api-request-1', to: 'processed_stream', pass: 'first' },
      {
        event_id: bad.event.event_id,
        request_id: 'api-request-2',
        to: 'dead_letter_queue',
        pass: 'first',
        reason: 'validation_failed',
        error_codes: ['invalid_value'],
      },
    ]);
    // The dead letter carries the same request id (contract §3 source.request_id).
    const body = JSON.parse(sqsMock.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries![0]!.MessageBody!);
    expect(body.source.request_id).toBe('api-request-2');
  });
});
