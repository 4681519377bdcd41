import {
  KinesisClient,
  PutRecordsCommand,
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';
import {
  SendMessageBatchCommand,
  SQSClient,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
} from '@aws-sdk/client-sqs';
import { KinesisDataStreamSchema, SqsSchema } from '@aws-lambda-powertools/parser/schemas';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { enrichedEventSchema, enrichEvent, validateEvent, type EventV3 } from '../../../lambdas/shared/events';
import { DeadLetterMessageSchema, type DeadLetterMessage } from '../../../lambdas/shared/records';
import { DEFAULT_RETRY_POLICY } from '../../../lambdas/shared/retry';
import { SEND_MESSAGE_BATCH_LIMITS, messageBatchSender, streamWriter } from '../../../lambdas/shared/delivery';
import {
  validateBatch,
  type ValidatorDeps,
} from '../../../lambdas/validator/validate-batch';
import { SAMPLE_RECEIVED_AT, sampleEventV1, sampleEventV3, sampleSearchEventV3 } from '../../fixtures/events';
import { kinesisEvent, kinesisJsonRecord, kinesisRecord, RAW_STREAM_ARN } from '../../fixtures/kinesis';
import { sqsEvent, sqsJsonRecord, sqsRecord } from '../../fixtures/sqs';

const kinesisMock = mockClient(KinesisClient);
const sqsMock = mockClient(SQSClient);
const PROCESSED_STREAM = 'processed-under-test';
const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/DeadLetterQueue';
const NOW = new Date(SAMPLE_RECEIVED_AT.getTime() + 2_000);

function makeDeps(overrides: Partial<ValidatorDeps> = {}): ValidatorDeps {
  return {
    putProcessed: streamWriter(new KinesisClient({ region: 'us-east-1' }), PROCESSED_STREAM),
    sendDeadLetters: messageBatchSender(new SQSClient({ region: 'us-east-1' }), DLQ_URL),
    now: () => NOW,
    retry: { clock: { now: () => 0, sleep: async () => {}, random: () => 0.5 } },
    ...overrides,
  };
}

function envelope(event: unknown, receivedAt = SAMPLE_RECEIVED_AT, requestId = 'req-1') {
  return { received_at: receivedAt.toISOString(), request_id: requestId, event };
}

function putAll(input: PutRecordsCommandInput): PutRecordsCommandOutput {
  return {
    $metadata: {},
    FailedRecordCount: 0,
    Records: (input.Records ?? []).map((_, i) => ({ SequenceNumber: `5000${i}`, ShardId: 'shardId-000000000000' })),
  };
}

function sendAll(input: SendMessageBatchCommandInput): SendMessageBatchCommandOutput {
  return {
    $metadata: {},
    Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id!, MessageId: `m-${entry.Id}`, MD5OfMessageBody: 'x' })),
    Failed: [],
  };
}

const putCalls = () => kinesisMock.commandCalls(PutRecordsCommand).map((call) => call.args[0].input);
const sendCalls = () => sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);

function processedEvents() {
  return putCalls()
    .flatMap((input) => input.Records ?? [])
    .map((record) => ({
      partitionKey: record.PartitionKey,
      event: enrichedEventSchema.parse(JSON.parse(Buffer.from(record.Data!).toString('utf8'))),
    }));
}

function deadLetters() {
  return sendCalls()
    .flatMap((input) => input.Entries ?? [])
    .map((entry) => ({
      body: DeadLetterMessageSchema.parse(JSON.parse(entry.MessageBody!)),
      attributes: entry.MessageAttributes,
    }));
}

beforeEach(() => {
  kinesisMock.reset();
  sqsMock.reset();
  kinesisMock.on(PutRecordsCommand).callsFake(putAll);
  sqsMock.on(SendMessageBatchCommand).callsFake(sendAll);
});

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

describe('handing on per batch', () => {
  it('puts N valid events in one PutRecords call and dead-letters in groups of 10', async () => {
    const valid = Array.from({ length: 7 }, () => kinesisJsonRecord(envelope(sampleSearchEventV3())));
    const invalid = Array.from({ length: 23 }, () => kinesisJsonRecord(envelope(sampleEventV3({ price: -1 }))));
    const { response, tally } = await validateBatch(kinesisEvent([...invalid.slice(0, 5), ...valid, ...invalid.slice(5)]), makeDeps());

    expect(response.batchItemFailures).toEqual([]);
    expect(tally).toMatchObject({ valid: 7, invalid: 23 });
    expect(putCalls()).toHaveLength(1);
    expect(putCalls()[0]?.Records).toHaveLength(7);
    expect(sendCalls().map((call) => call.Entries?.length)).toEqual([10, 10, 3]);
  });

  it('splits PutRecords at 500 records', async () => {
    const records = Array.from({ length: 501 }, () => kinesisJsonRecord(envelope(sampleSearchEventV3())));
    const { tally } = await validateBatch(kinesisEvent(records), makeDeps());
    expect(tally.valid).toBe(501);
    expect(putCalls().map((call) => call.Records?.length)).toEqual([500, 1]);
  });

  it('keeps every SendMessageBatch under the SQS batch size limit', async () => {
    // Each dead letter is about 30 KiB, so ten of them would exceed 256 KiB.
    const records = Array.from({ length: 10 }, () =>
      kinesisJsonRecord(envelope(sampleEventV3({ category: 'c'.repeat(30_000) }))),
    );
    const { response, tally } = await validateBatch(kinesisEvent(records), makeDeps());

    expect(response.batchItemFailures).toEqual([]);
    expect(tally.invalid).toBe(10);
    const calls = sendCalls();
    expect(calls.length).toBeGreaterThan(1);
    for (const call of calls) {
      const bytes = (call.Entries ?? []).reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody!), 0);
      expect(bytes).toBeLessThanOrEqual(SEND_MESSAGE_BATCH_LIMITS.maxBytes);
    }
    expect(deadLetters()).toHaveLength(10);
  });

  it('retries only failed entries, then cuts the batch at the first record not handed on: nothing from it on is dead-lettered or counted', async () => {
    const events = [sampleSearchEventV3(), sampleSearchEventV3(), sampleSearchEventV3()];
    const stuck = events[1]!.event_id as string;
    kinesisMock.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => ({
      FailedRecordCount: 1,
      Records: (input.Records ?? []).map((record) =>
        JSON.parse(Buffer.from(record.Data!).toString('utf8')).event_id === stuck
          ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' }
          : { SequenceNumber: '1', ShardId: 'shardId-000000000000' },
      ),
    }));
    const invalidRecords = [kinesisJsonRecord(envelope({ nope: true })), kinesisJsonRecord(envelope({ nope: 2 }))];
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: '0', MessageId: 'a', MD5OfMessageBody: 'x' }],
        Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }],
      })
      .resolves({ Successful: [{ Id: '0', MessageId: 'b', MD5OfMessageBody: 'x' }], Failed: [] });

    const validRecords = events.map((event) => kinesisJsonRecord(envelope(event)));
    const { response, tally } = await validateBatch(kinesisEvent([...validRecords, ...invalidRecords]), makeDeps());

    const all = [...validRecords, ...invalidRecords];
    expect(response.batchItemFailures).toEqual(all.slice(1).map((r) => ({ itemIdentifier: r.kinesis.sequenceNumber })));
    expect(tally).toMatchObject({ valid: 1, invalid: 0 });
    const puts = putCalls();
    expect(puts).toHaveLength(DEFAULT_RETRY_POLICY.maxAttempts);
    expect(puts.slice(1).every((call) => call.Records?.length === 1)).toBe(true);
    expect(sendCalls()).toHaveLength(0);
  });

  it('resends only failed dead letters, and a dead letter that is never sent cuts the batch there', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: '0', MessageId: 'a', MD5OfMessageBody: 'x' }],
        Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }],
      })
      .resolves({ Successful: [{ Id: '0', MessageId: 'b', MD5OfMessageBody: 'x' }], Failed: [] });
    const invalidRecords = [kinesisJsonRecord(envelope({ nope: true })), kinesisJsonRecord(envelope({ nope: 2 }))];
    const { response, tally } = await validateBatch(kinesisEvent(invalidRecords), makeDeps());
    expect(response.batchItemFailures).toEqual([]);
    expect(tally).toMatchObject({ invalid: 2 });
    const sends = sendCalls();
    expect(sends.map((call) => call.Entries?.length)).toEqual([2, 1]);
    expect(sends[1]?.Entries?.[0]?.MessageBody).toBe(sends[0]?.Entries?.[1]?.MessageBody);
  });

  it('hole 2: a stuck PutRecords entry followed by handed-on records: each record is dead-lettered and counted once across Lambda retries and the replay of the range given up on', async () => {
    const env = (event: unknown) => envelope(event);
    const records = [
      kinesisJsonRecord(env(sampleEventV3({ session_id: 'ok-1' }))),
      kinesisJsonRecord(env(sampleEventV3({ session_id: 'hot' }))),
      kinesisJsonRecord(env(sampleEventV3({ session_id: 'bad', price: -5 }))),
      kinesisJsonRecord(env(sampleEventV3({ session_id: 'ok-2' }))),
    ];
    let hotStuck = true;
    const dlq: string[] = [];
    const processed: string[] = [];
    const deps: ValidatorDeps = {
      ...makeDeps(),
      putProcessed: async (entries) =>
        entries.map((e) => {
          if (e.partitionKey === 'hot' && hotStuck) return false;
          processed.push(e.partitionKey);
          return true;
        }),
      sendDeadLetters: async (entries) =>
        entries.map((e) => {
          dlq.push(JSON.parse(e.body).record.session_id);
          return true;
        }),
    };
    const total = { valid: 0, invalid: 0 };
    let batch = records;
    for (let invocation = 0; invocation < 6 && batch.length > 0; invocation++) {
      const { response, tally } = await validateBatch(kinesisEvent(batch), deps);
      total.valid += tally.valid;
      total.invalid += tally.invalid;
      if (response.batchItemFailures.length === 0) batch = [];
      else batch = batch.slice(batch.findIndex((r) => r.kinesis.sequenceNumber === response.batchItemFailures[0]!.itemIdentifier));
    }
    // Lambda gave up on `batch`; `pipeline replay --failure-record` puts the range back unmarked.
    expect(batch.length).toBeGreaterThan(0);
    hotStuck = false;
    const replay = await validateBatch(kinesisEvent(batch), deps);
    expect(replay.response.batchItemFailures).toEqual([]);
    total.valid += replay.tally.valid;
    total.invalid += replay.tally.invalid;
    expect(dlq).toEqual(['bad']);
    expect(total).toEqual({ valid: 3, invalid: 1 });
    expect(new Set(processed)).toEqual(new Set(['ok-1', 'hot', 'ok-2']));
  });

  it('reports every dead-letter record when SendMessageBatch keeps throwing, and no valid one', async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(new Error('network down'));
    const valid = kinesisJsonRecord(envelope(sampleSearchEventV3()));
    const invalid = kinesisJsonRecord(envelope(sampleEventV3({ price: 0 })));
    const garbage = kinesisRecord('%%%');
    const { response, tally } = await validateBatch(kinesisEvent([valid, invalid, garbage]), makeDeps());

    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: invalid.kinesis.sequenceNumber },
      { itemIdentifier: garbage.kinesis.sequenceNumber },
    ]);
    expect(tally).toEqual({ valid: 1, invalid: 0, unparseable: 0, redriven: 0, redriveFailed: 0, replayed: 0 });
    expect(sendCalls()).toHaveLength(DEFAULT_RETRY_POLICY.maxAttempts);
  });

  it('reports a dead letter too large for any SQS request without sending it', async () => {
    const huge = kinesisRecord('x'.repeat(SEND_MESSAGE_BATCH_LIMITS.maxBytes + 1));
    const small = kinesisRecord('y');
    const { response } = await validateBatch(kinesisEvent([small, huge]), makeDeps());
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: huge.kinesis.sequenceNumber }]);
    expect(deadLetters().map((letter) => letter.body.record)).toEqual(['y']);
  });
});

describe('RedriveQueue messages', () => {
  const ORIGINAL_RECEIPT = new Date(NOW.getTime() - 9 * 24 * 3_600_000);

  function deadLetter(overrides: Partial<DeadLetterMessage> = {}): DeadLetterMessage {
    return {
      reason: 'validation_failed',
      errors: [{ path: 'price', code: 'too_small', message: 'purchase needs price > 0' }],
      record: sampleEventV3({ event_time: new Date(ORIGINAL_RECEIPT.getTime() - 60_000).toISOString() }),
      source: {
        stream: 'EcommercePipeline-test-RawStream',
        shard_id: 'shardId-000000000000',
        sequence_number: '4959',
        request_id: 'req-9',
        received_at: ORIGINAL_RECEIPT.toISOString(),
      },
      first_failed_at: new Date(ORIGINAL_RECEIPT.getTime() + 1_000).toISOString(),
      attempts: 2,
      ...overrides,
    };
  }

  it('puts a now valid record on the processed stream, judged against its first receipt', async () => {
    const message = deadLetter();
    const { response, tally } = await validateBatch(sqsEvent([sqsJsonRecord(message)]), makeDeps());

    expect(response.batchItemFailures).toEqual([]);
    expect(tally).toEqual({ valid: 0, invalid: 0, unparseable: 0, redriven: 1, redriveFailed: 0, replayed: 0 });
    expect(processedEvents()[0]?.event).toMatchObject({
      ...(message.record as object),
      received_at: ORIGINAL_RECEIPT.toISOString(),
      processed_at: NOW.toISOString(),
    });
    expect(sendCalls()).toHaveLength(0);
  });

  it('dead-letters a still invalid record again with attempts + 1, the same first_failed_at and fresh errors', async () => {
    const message = deadLetter({ record: { ...(deadLetter().record as object), quantity: 0 } });
    const { tally } = await validateBatch(sqsEvent([sqsJsonRecord(message)]), makeDeps());

    expect(tally).toMatchObject({ invalid: 0, redriveFailed: 1, redriven: 0 });
    const [letter] = deadLetters();
    expect(letter?.body).toEqual({
      reason: 'validation_failed',
      errors: [expect.objectContaining({ path: 'quantity', code: 'too_small' })],
      record: message.record,
      source: message.source,
      first_failed_at: message.first_failed_at,
      attempts: 3,
    });
    expect(letter?.attributes?.error_codes?.StringValue).toBe('too_small');
  });

  it('strips the derived fields of a load_failed enriched record before validating it', async () => {
    const event = sampleEventV3({ event_time: new Date(ORIGINAL_RECEIPT.getTime() - 60_000).toISOString() });
    const verdict = validateEvent(event, ORIGINAL_RECEIPT);
    if (!verdict.ok) throw new Error('sample event should be valid');
    const enriched = {
      ...enrichEvent(verdict.event as EventV3, {
        receivedAt: ORIGINAL_RECEIPT,
        processedAt: new Date(ORIGINAL_RECEIPT.getTime() + 500),
        originalVersion: 3,
      }),
      _source: 'shardId-000000000000/4960',
    };
    const message = deadLetter({ reason: 'load_failed', errors: [], record: enriched, attempts: 1 });

    const { tally } = await validateBatch(sqsEvent([sqsJsonRecord(message)]), makeDeps());

    expect(tally).toMatchObject({ valid: 0, redriven: 1 });
    const stored = processedEvents()[0]?.event;
    expect(stored).toMatchObject({ event_id: event.event_id, received_at: ORIGINAL_RECEIPT.toISOString(), processed_at: NOW.toISOString() });
    expect(stored).not.toHaveProperty('_source');
  });

  it('is judged against now when source.received_at is absent', async () => {
    const event = sampleSearchEventV3({ event_time: new Date(NOW.getTime() - 60_000).toISOString() });
    const message = deadLetter({ record: event, source: { stream: 'raw' } });
    await validateBatch(sqsEvent([sqsJsonRecord(message)]), makeDeps());
    expect(processedEvents()[0]?.event.received_at).toBe(NOW.toISOString());
  });

  it('reads an unparseable record whose raw text an operator fixed', async () => {
    const event = sampleSearchEventV3({ event_time: new Date(ORIGINAL_RECEIPT.getTime() - 60_000).toISOString() });
    const fixedText = JSON.stringify(envelope(event, ORIGINAL_RECEIPT));
    const message = deadLetter({ reason: 'unparseable', record: fixedText, source: { stream: 'raw', shard_id: 's' } });
    const { tally } = await validateBatch(sqsEvent([sqsJsonRecord(message)]), makeDeps());
    expect(tally.redriven).toBe(1);
    expect(processedEvents()[0]?.event).toMatchObject({ event_id: event.event_id, received_at: ORIGINAL_RECEIPT.toISOString() });
  });

  it.each([
    ['not JSON', 'hello there'],
    ['JSON that is not a dead letter', JSON.stringify({ reason: 'validation_failed', record: {} })],
  ])('dead-letters a message that is %s as redrive_unparseable with its body', async (_case, body) => {
    const message = sqsRecord(body, { messageId: 'msg-garbage' });
    const { response, tally } = await validateBatch(sqsEvent([message]), makeDeps());

    expect(response.batchItemFailures).toEqual([]);
    expect(tally.unparseable).toBe(1);
    expect(deadLetters()[0]?.body).toEqual({
      reason: 'redrive_unparseable',
      errors: [expect.objectContaining({ code: 'not_a_dead_letter' })],
      record: body,
      source: { queue: 'EcommercePipeline-test-RedriveQueue', message_id: 'msg-garbage' },
      first_failed_at: NOW.toISOString(),
      attempts: 1,
    });
  });

  it('reports SQS messages by messageId when they were not handed on', async () => {
    kinesisMock.on(PutRecordsCommand).rejects(new Error('stream unavailable'));
    const good = sqsJsonRecord(deadLetter(), { messageId: 'msg-valid' });
    const bad = sqsRecord('garbage', { messageId: 'msg-garbage' });
    const { response } = await validateBatch(sqsEvent([good, bad]), makeDeps());
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-valid' }]);
    expect(deadLetters()).toHaveLength(1);
  });
});

describe('stream names in the source', () => {
  it('takes the stream name from the event source ARN and the shard from the event id', async () => {
    const record = kinesisRecord('x', { streamArn: RAW_STREAM_ARN.replace('RawStream', 'Other'), shardId: 'shardId-000000000009' });
    await validateBatch(kinesisEvent([record]), makeDeps());
    expect(deadLetters()[0]?.body.source).toMatchObject({ stream: 'EcommercePipeline-test-Other', shard_id: 'shardId-000000000009' });
  });
});
