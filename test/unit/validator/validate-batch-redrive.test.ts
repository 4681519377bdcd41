// validateBatch: RedriveQueue messages.
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { beforeEach, describe, expect, it } from 'vitest';
import { enrichEvent, validateEvent, type EventV3 } from '../../../lambdas/shared/events';
import { type DeadLetterMessage } from '../../../lambdas/shared/records';
import { validateBatch } from '../../../lambdas/validator/validate-batch';
import { sampleEventV3, sampleSearchEventV3 } from '../../fixtures/events';
import { sqsEvent, sqsJsonRecord, sqsRecord } from '../../fixtures/sqs';
import { kinesisMock, NOW, makeDeps, envelope, sendCalls, processedEvents, deadLetters, resetMocks } from './validate-batch-setup';

beforeEach(resetMocks);

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
