// validateBatch: raw stream records, replayed records, dead letters SQS can take, stream names.
import { KinesisDataStreamSchema, SqsSchema } from '@aws-lambda-powertools/parser/schemas';
import { beforeEach, describe, expect, it } from 'vitest';
import { validateEvent } from '../../../lambdas/shared/events';
import { validateBatch } from '../../../lambdas/validator/validate-batch';
import { SAMPLE_RECEIVED_AT, sampleEventV1, sampleEventV3 } from '../../fixtures/events';
import { kinesisEvent, kinesisJsonRecord, kinesisRecord, RAW_STREAM_ARN } from '../../fixtures/kinesis';
import { sqsEvent, sqsRecord } from '../../fixtures/sqs';
import {
  PROCESSED_STREAM,
  DLQ_URL,
  NOW,
  makeDeps,
  envelope,
  putCalls,
  sendCalls,
  processedEvents,
  deadLetters,
  resetMocks,
} from './validate-batch-setup';

beforeEach(resetMocks);

describe('fixtures', () => {
  it('builds real Kinesis and SQS event source mapping events', () => {
    const kinesis = KinesisDataStreamSchema.parse(kinesisEvent([kinesisJsonRecord(envelope(sampleEventV3()))]));
    expect(kinesis.Records[0]?.kinesis.data).toMatchObject({ request_id: 'req-1' });
    const sqs = SqsSchema.parse(sqsEvent([sqsRecord('hello')]));
    expect(sqs.Records[0]?.body).toBe('hello');
  });
});

describe('raw stream records', () => {
  it('enriches a valid event and puts it on the processed stream', async () => {
    const event = sampleEventV3();
    const { response, tally } = await validateBatch(kinesisEvent([kinesisJsonRecord(envelope(event))]), makeDeps());

    expect(response.batchItemFailures).toEqual([]);
    expect(tally).toEqual({ valid: 1, invalid: 0, unparseable: 0, redriven: 0, redriveFailed: 0, replayed: 0 });
    expect(putCalls()[0]?.StreamName).toBe(PROCESSED_STREAM);
    const [stored] = processedEvents();
    expect(stored?.partitionKey).toBe(event.session_id);
    expect(stored?.event).toMatchObject({
      ...event,
      received_at: SAMPLE_RECEIVED_AT.toISOString(),
      processed_at: NOW.toISOString(),
      total_amount: 59.97,
      original_schema_version: 3,
    });
    expect(sendCalls()).toHaveLength(0);
  });

  it('migrates an older version before enriching it', async () => {
    const v1 = sampleEventV1({ event_type: 'view', product_id: undefined, price: undefined });
    await validateBatch(kinesisEvent([kinesisJsonRecord(envelope(v1))]), makeDeps());
    expect(processedEvents()[0]?.event).toMatchObject({
      event_type: 'page_view',
      user_id: '1042',
      schema_version: 3,
      original_schema_version: 1,
    });
  });

  it('dead-letters an invalid event with its errors, the event as received and where it came from', async () => {
    const invalid = sampleEventV3({ price: 0, colour: 'red' });
    const record = kinesisJsonRecord(envelope(invalid, SAMPLE_RECEIVED_AT, 'req-77'), {
      shardId: 'shardId-000000000003',
      sequenceNumber: '4959001',
    });
    const { response, tally } = await validateBatch(kinesisEvent([record]), makeDeps());

    expect(response.batchItemFailures).toEqual([]);
    expect(tally).toEqual({ valid: 0, invalid: 1, unparseable: 0, redriven: 0, redriveFailed: 0, replayed: 0 });
    expect(putCalls()).toHaveLength(0);
    const [letter] = deadLetters();
    expect(letter?.body).toEqual({
      reason: 'validation_failed',
      errors: expect.arrayContaining([
        expect.objectContaining({ path: 'price', code: 'too_small' }),
        expect.objectContaining({ path: 'colour', code: 'unknown_field' }),
      ]),
      record: invalid,
      source: {
        stream: 'EcommercePipeline-test-RawStream',
        shard_id: 'shardId-000000000003',
        sequence_number: '4959001',
        request_id: 'req-77',
        received_at: SAMPLE_RECEIVED_AT.toISOString(),
      },
      first_failed_at: NOW.toISOString(),
      attempts: 1,
    });
    expect(letter?.attributes?.reason).toEqual({ DataType: 'String', StringValue: 'validation_failed' });
    expect(letter?.attributes?.error_codes?.StringValue?.split(',').sort()).toEqual(['too_small', 'unknown_field']);
    expect(sendCalls()[0]?.QueueUrl).toBe(DLQ_URL);
  });

  it.each([
    ['text that is not JSON', 'not { json', 'not_json'],
    ['JSON that is not a raw record', JSON.stringify(sampleEventV3()), 'not_an_envelope'],
  ])('dead-letters %s as unparseable with the raw text', async (_case, text, code) => {
    const { response, tally } = await validateBatch(
      kinesisEvent([kinesisRecord(text, { arrivalSeconds: SAMPLE_RECEIVED_AT.getTime() / 1000 })]),
      makeDeps(),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(tally.unparseable).toBe(1);
    const [letter] = deadLetters();
    expect(letter?.body).toMatchObject({
      reason: 'unparseable',
      record: text,
      errors: [expect.objectContaining({ code })],
      source: { stream: 'EcommercePipeline-test-RawStream', received_at: SAMPLE_RECEIVED_AT.toISOString() },
      attempts: 1,
    });
    expect(letter?.attributes?.reason?.StringValue).toBe('unparseable');
  });

  it('judges event_time against the envelope received_at, not the processing time', async () => {
    const receivedAt = new Date(NOW.getTime() - 6 * 24 * 3_600_000);
    const eventTime = new Date(receivedAt.getTime() - 60_000).toISOString();
    const event = sampleEventV3({ event_time: eventTime });
    const tooOldForNow = sampleEventV3({ event_time: new Date(NOW.getTime() - 8 * 24 * 3_600_000).toISOString() });

    expect(validateEvent(tooOldForNow, NOW).ok).toBe(false);

    const { tally } = await validateBatch(
      kinesisEvent([kinesisJsonRecord(envelope(event, receivedAt)), kinesisJsonRecord(envelope(tooOldForNow, receivedAt))]),
      makeDeps(),
    );
    expect(tally).toMatchObject({ valid: 2, invalid: 0 });
  });
});

describe('replayed records', () => {
  it('are validated and handed on like any other, but counted apart from first-pass traffic', async () => {
    const replayed = (event: unknown) => ({ ...envelope(event), replayed_at: NOW.toISOString() });
    const { response, tally } = await validateBatch(
      kinesisEvent([kinesisJsonRecord(replayed(sampleEventV3())), kinesisJsonRecord(replayed(sampleEventV3({ price: 0 })))]),
      makeDeps(),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(processedEvents()).toHaveLength(1);
    expect(deadLetters()).toHaveLength(1);
    expect(tally).toEqual({ valid: 0, invalid: 0, unparseable: 0, redriven: 0, redriveFailed: 0, replayed: 2 });
  });
});

describe('dead letters SQS can take', () => {
  // SQS refuses U+FFFF; a plain JSON body would fail its whole SendMessageBatch group every time.
  const SQS_ALLOWED = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

  it('escapes characters SQS refuses, so the record still reaches the DeadLetterQueue unchanged', async () => {
    const event = sampleEventV3({ category: 'bad\uffff', price: 0 });
    const { response } = await validateBatch(kinesisEvent([kinesisJsonRecord(envelope(event))]), makeDeps());
    expect(response.batchItemFailures).toEqual([]);
    const [entry] = sendCalls().flatMap((input) => input.Entries ?? []);
    expect(SQS_ALLOWED.test(entry!.MessageBody!)).toBe(true);
    expect(deadLetters()[0]?.body.record).toEqual(event);
  });

  it('keeps the dead letter of an event with thousands of unknown fields under the SQS size limit', async () => {
    const unknown = Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`f${i}`, 1]));
    const event = sampleEventV3(unknown);
    const { response } = await validateBatch(kinesisEvent([kinesisJsonRecord(envelope(event))]), makeDeps());
    expect(response.batchItemFailures).toEqual([]);
    const [letter] = deadLetters();
    expect(letter?.body.record).toEqual(event);
    expect(letter?.body.errors.at(-1)?.code).toBe('too_many_errors');
  });
});

describe('stream names in the source', () => {
  it('takes the stream name from the event source ARN and the shard from the event id', async () => {
    const record = kinesisRecord('x', { streamArn: RAW_STREAM_ARN.replace('RawStream', 'Other'), shardId: 'shardId-000000000009' });
    await validateBatch(kinesisEvent([record]), makeDeps());
    expect(deadLetters()[0]?.body.source).toMatchObject({ stream: 'EcommercePipeline-test-Other', shard_id: 'shardId-000000000009' });
  });
});
