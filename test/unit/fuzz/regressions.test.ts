import { describe, expect, it } from 'vitest';
import type { MessageEntry, StreamEntry } from '../../../lambdas/shared/delivery';
import { enrichedEventSchema, validateEvent } from '../../../lambdas/shared/events';
import { validateBatch, type ValidatorDeps } from '../../../lambdas/validator/validate-batch';
import { kinesisEvent, kinesisRecord } from '../../fixtures/kinesis';
import { instantRetry } from './ports';

// Examples the properties in this folder found, kept as plain tests.

const ARRIVED_AT = new Date('2026-11-22T10:00:00.500Z');
const NOW = new Date('2026-11-22T10:00:02.000Z');

async function route(records: unknown[], ports: Partial<ValidatorDeps> = {}) {
  const processed: StreamEntry[] = [];
  const deadLetters: MessageEntry[] = [];
  const deps: ValidatorDeps = {
    putProcessed: async (entries) => entries.map((entry) => (processed.push(entry), true)),
    sendDeadLetters: async (entries) => entries.map((entry) => (deadLetters.push(entry), true)),
    now: () => NOW,
    retry: instantRetry,
    ...ports,
  };
  const event = kinesisEvent(
    records.map((record, i) => kinesisRecord(JSON.stringify(record), { sequenceNumber: `4959${i}`, arrivalSeconds: ARRIVED_AT.getTime() / 1000 })),
  );
  const outcome = await validateBatch(event, deps);
  return {
    outcome,
    processed: processed.map((entry) => JSON.parse(Buffer.from(entry.data).toString('utf8')) as Record<string, unknown>),
    deadLetters: deadLetters.map((entry) => JSON.parse(entry.body) as { reason: string; errors: Array<{ path: string; code: string }> }),
  };
}

describe('found by fuzzing', () => {
  it('a raw record received_at past year 9999 in UTC (9999-12-31T23:58:00-05:00) no longer makes a stored event the stored-event schema refuses', async () => {
    // Before: the event was valid against that receipt and went on with received_at
    // "+010000-01-01T04:58:00.000Z", which the stored-event schema (and so the loader) refuses.
    const { processed, deadLetters } = await route([
      {
        received_at: '9999-12-31T23:58:00-05:00',
        request_id: '',
        event: { schema_version: 1, event_type: 'page_view', event_id: '0000FADE-0000-4000-8000-000000000000', event_time: '9999-12-25T04:58:00Z' },
      },
    ]);
    // Such a received_at is no receipt time: the record's arrival time stands in, as for one that is no date.
    expect(processed).toEqual([]);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]!.reason).toBe('validation_failed');
    expect(deadLetters[0]!.errors).toEqual([expect.objectContaining({ path: 'event_time', code: 'in_future' })]);
  });

  it('an event_time in year 10000 or year -1 in UTC (written with an offset inside 0000-9999) is invalid_format, not a stored event with event_date "+010000-01"', () => {
    // Before: valid, enriched to event_date "+010000-01", which the stored-event schema refuses.
    const late = validateEvent(
      { event_id: '0000fade-0000-4000-8000-000000000001', event_type: 'page_view', event_time: '9999-12-31T19:03:00-05:00' },
      new Date('9999-12-31T23:58:00Z'),
    );
    expect(late.ok).toBe(false);
    expect(late.ok ? [] : late.errors).toEqual([expect.objectContaining({ path: 'event_time', code: 'invalid_format' })]);

    const early = validateEvent(
      { event_id: '0000fade-0000-4000-8000-000000000002', event_type: 'page_view', event_time: '0000-01-01T03:00:00+05:00' },
      new Date('0000-01-01T00:01:00Z'),
    );
    expect(early.ok ? [] : early.errors).toEqual([expect.objectContaining({ path: 'event_time', code: 'invalid_format' })]);

    // The last instant of year 9999 stays valid and stores.
    const edge = validateEvent(
      { event_id: '0000fade-0000-4000-8000-000000000003', event_type: 'page_view', event_time: '9999-12-31T18:59:59.999-05:00' },
      new Date('9999-12-31T23:58:00Z'),
    );
    expect(edge.ok).toBe(true);
  });

  it('a valid record at the end of year 9999 still goes on, and its stored event passes the stored-event schema', async () => {
    const { processed } = await route([
      {
        received_at: '9999-12-31T23:58:00Z',
        request_id: 'r',
        event: { event_type: 'page_view', event_id: '0000fade-0000-4000-8000-000000000004', event_time: '9999-12-31T18:59:00-05:00' },
      },
    ]);
    expect(processed).toHaveLength(1);
    expect(enrichedEventSchema.safeParse(processed[0]).success).toBe(true);
    expect(processed[0]).toMatchObject({ received_at: '9999-12-31T23:58:00.000Z', event_date: '9999-12-31', event_hour: 23 });
  });

  it('documented, not a bug (README "At least once"): a dead letter that cannot be sent cuts the batch there, and a later record whose dead letter was sent is reported too and dead-lettered again on the retry', async () => {
    // The validator property's first counterexample: SendMessageBatch takes the second entry and
    // never the first. A sent entry cannot be taken back, so nothing stricter is possible per batch.
    let attempts = 0;
    const sent: string[] = [];
    const { outcome } = await route(
      [
        { received_at: '2026-11-22T10:00:00Z', request_id: 'a', event: { nope: 1 } },
        { received_at: '2026-11-22T10:00:00Z', request_id: 'b', event: { nope: 2 } },
      ],
      {
        sendDeadLetters: async (entries) =>
          entries.map((entry) => {
            attempts++;
            const sequenceNumber = (JSON.parse(entry.body) as { source: { sequence_number: string } }).source.sequence_number;
            if (sequenceNumber === '49590') return false;
            sent.push(sequenceNumber);
            return true;
          }),
      },
    );
    expect(attempts).toBeGreaterThan(2);
    expect(outcome.response.batchItemFailures).toEqual([{ itemIdentifier: '49590' }, { itemIdentifier: '49591' }]);
    // Counted once: neither record is counted in this invocation, only on the retry that hands it on.
    expect(outcome.tally).toMatchObject({ invalid: 0, valid: 0 });
    expect(sent).toEqual(['49591']);
  });
});
