/** Shared setup of the ingest tests: a mocked Kinesis client, the deps, sending a request and reading what was written. */
import { KinesisClient, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'vitest';
import { ingest, type CollectorDeps } from '../../../lambdas/collector/ingest';
import { streamWriter } from '../../../lambdas/shared/delivery';
import { RawRecordSchema } from '../../../lambdas/shared/records';
import { jsonPost } from '../../fixtures/apigw';
import { SAMPLE_RECEIVED_AT } from '../../fixtures/events';

export const kinesisMock = mockClient(KinesisClient);
export const STREAM = 'raw-stream-under-test';
export const ASSIGNED_ID = '0b0e5d2c-6f0e-4b8f-9f63-2a4c2f7a1c11';

export function makeDeps(overrides: Partial<CollectorDeps> = {}): CollectorDeps {
  return {
    putRecords: streamWriter(new KinesisClient({ region: 'us-east-1' }), STREAM),
    now: () => SAMPLE_RECEIVED_AT,
    uuid: () => ASSIGNED_ID,
    // Backoff without waiting; the clock never runs out of budget, so attempts bound the retries.
    retry: { clock: { now: () => 0, sleep: async () => {}, random: () => 0.5 } },
    ...overrides,
  };
}

/** Acknowledges every entry of every PutRecords call. */
export function acceptAll() {
  kinesisMock.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => ({
    FailedRecordCount: 0,
    Records: (input.Records ?? []).map((_, i) => ({ SequenceNumber: `4959${i}`, ShardId: 'shardId-000000000000' })),
  }));
}

export function putCalls(): PutRecordsCommandInput[] {
  return kinesisMock.commandCalls(PutRecordsCommand).map((call) => call.args[0].input);
}

export function writtenRecords() {
  return putCalls()
    .flatMap((input) => input.Records ?? [])
    .map((record) => ({
      partitionKey: record.PartitionKey,
      body: RawRecordSchema.parse(JSON.parse(Buffer.from(record.Data!).toString('utf8'))),
    }));
}

export async function send(event: ReturnType<typeof jsonPost>, deps = makeDeps()) {
  const { response, tally } = await ingest(event, { requestId: event.requestContext.requestId }, deps);
  // CORS is the handler's (withCors, for allowed origins only): ingest never answers `*`.
  expect(response.headers?.['Access-Control-Allow-Origin']).toBeUndefined();
  expect(response.headers?.['Content-Type']).toMatch(/^application\/json/);
  return { status: response.statusCode, body: JSON.parse(response.body), tally };
}

export async function expectRefused(event: ReturnType<typeof jsonPost>, status: number, code: string) {
  const { status: actual, body } = await send(event);
  expect(actual).toBe(status);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(kinesisMock.commandCalls(PutRecordsCommand)).toHaveLength(0);
}

/** A fresh mock before each test that acknowledges every record. */
export function resetMocks(): void {
  kinesisMock.reset();
  acceptAll();
}
