import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { logger, metrics } from '../../../lambdas/shared/powertools';
import { jsonPost } from '../../fixtures/apigw';
import { sampleEventV3 } from '../../fixtures/events';

const kinesisMock = mockClient(KinesisClient);
let collector: typeof import('../../../lambdas/collector/handler');

beforeAll(async () => {
  vi.stubEnv('RAW_STREAM_NAME', 'raw-from-env');
  collector = await import('../../../lambdas/collector/handler');
});

afterEach(() => {
  kinesisMock.reset();
  vi.restoreAllMocks();
});

describe('collector handler', () => {
  it('writes to the stream named by RAW_STREAM_NAME and counts what happened', async () => {
    const addMetric = vi.spyOn(metrics, 'addMetric');
    kinesisMock.on(PutRecordsCommand).resolves({
      FailedRecordCount: 0,
      Records: [{ SequenceNumber: '1', ShardId: 'shardId-000000000000' }],
    });

    // Event time is relative to the real clock here: the handler uses the wall clock.
    const event = sampleEventV3({ event_time: new Date().toISOString(), event_id: undefined });
    const response = await collector.collect(jsonPost({ events: [event, 7] }));

    expect(response.statusCode).toBe(207);
    // No CORS_ALLOWED_ORIGINS: no CORS headers at all (never `*`).
    expect(response.headers?.['Access-Control-Allow-Origin']).toBeUndefined();
    expect(response.headers?.Vary).toBeUndefined();
    const body = JSON.parse(response.body);
    expect(body.results[0]).toMatchObject({ status: 'accepted', valid: true });
    expect(body.results[0].event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(kinesisMock.commandCalls(PutRecordsCommand)[0]?.args[0].input.StreamName).toBe('raw-from-env');
    const counted = Object.fromEntries(addMetric.mock.calls.map(([name, , value]) => [name, value]));
    expect(counted).toEqual({ EventsReceived: 2, EventsAccepted: 1, EventsRejected: 1, EventsRetry: 0 });
  });

  it('answers JSON when something unexpected throws', async () => {
    const event = jsonPost(sampleEventV3());
    // A request without requestContext cannot happen behind API Gateway; it stands in for a bug.
    const broken = { ...event, requestContext: undefined } as unknown as typeof event;
    const response = await collector.collect(broken);
    expect(response.statusCode).toBe(500);
    expect(response.headers?.['Content-Type']).toMatch(/^application\/json/);
    expect(response.headers?.['Access-Control-Allow-Origin']).toBeUndefined();
    expect(JSON.parse(response.body).error.code).toBe('internal_error');
  });

  it('works through the middy-wrapped handler Lambda calls', async () => {
    kinesisMock.on(PutRecordsCommand).resolves({
      FailedRecordCount: 0,
      Records: [{ SequenceNumber: '1', ShardId: 'shardId-000000000000' }],
    });
    const context = {
      functionName: 'Collector',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:Collector',
      memoryLimitInMB: '256',
      awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
      logGroupName: '/aws/lambda/Collector',
      logStreamName: '2026/11/22/[$LATEST]abc',
      getRemainingTimeInMillis: () => 10_000,
    } as unknown as Context;
    const event = sampleEventV3({ event_time: new Date().toISOString() });
    const response = await collector.handler(jsonPost(event), context);
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body).results[0]).toMatchObject({ event_id: event.event_id, status: 'accepted', valid: true });
  });
});

describe('collector correlation log', () => {
  it('appends the API request id to its log keys and logs the accepted event ids', async () => {
    kinesisMock.on(PutRecordsCommand).resolves({ FailedRecordCount: 0, Records: [{ SequenceNumber: '1', ShardId: 'shardId-000000000000' }] });
    const appendKeys = vi.spyOn(logger, 'appendKeys');
    const info = vi.spyOn(logger, 'info');
    const request = jsonPost({ events: [sampleEventV3({ event_time: new Date().toISOString() })] });
    const response = await collector.collect(request);

    expect(appendKeys).toHaveBeenCalledWith({ request_id: request.requestContext.requestId });
    const eventId = JSON.parse(response.body).results[0].event_id;
    const ingested = info.mock.calls.find(([message]) => message === 'Request ingested');
    expect(ingested?.[1]).toMatchObject({ accepted: 1, accepted_event_ids: [eventId] });
  });
});
