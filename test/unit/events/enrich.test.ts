import { describe, expect, it } from 'vitest';
import {
  ENRICHMENT_FIELDS,
  LIMITS,
  amountToCents,
  enrichEvent,
  enrichedEventSchema,
  partitionKeyOf,
  stripEnrichment,
  validateEvent,
  type EventV3,
} from '../../../lambdas/shared/events';
import {
  SAMPLE_RECEIVED_AT,
  sampleEventV1,
  sampleEventV2,
  sampleEventV3,
  sampleSearchEventV3,
} from '../../fixtures/events';
import { expectValid } from './helpers';

const receivedAt = SAMPLE_RECEIVED_AT;
const processedAt = new Date(receivedAt.getTime() + 1_500);

function validV3(overrides: Record<string, unknown> = {}): EventV3 {
  return expectValid(validateEvent(sampleEventV3(overrides), receivedAt)).event;
}

const enrich = (event: EventV3, originalVersion: 1 | 2 | 3 = 3) =>
  enrichEvent(event, { receivedAt, processedAt, originalVersion });

describe('enrichEvent', () => {
  it('adds every derived field and keeps the event', () => {
    const event = validV3();
    const enriched = enrich(event, 2);
    expect(enriched).toEqual({
      ...event,
      received_at: '2026-11-22T10:00:00.000Z',
      processed_at: '2026-11-22T10:00:01.500Z',
      total_amount: 59.97,
      late_arrival: false,
      original_schema_version: 2,
      event_date: '2026-11-22',
      event_hour: 9,
    });
    expect(Object.keys(enriched).filter((key) => !(key in event)).sort()).toEqual([...ENRICHMENT_FIELDS].sort());
    expect(enrichedEventSchema.safeParse(enriched).success).toBe(true);
  });

  it('total_amount is null without a price and price x 1 without a quantity', () => {
    expect(enrich(validV3({ event_type: 'wishlist', price: undefined, currency: undefined })).total_amount).toBeNull();
    expect(enrich(validV3({ event_type: 'wishlist', price: 12.5, quantity: undefined })).total_amount).toBe(12.5);
  });

  it.each([
    [19.99, 3, 59.97],
    [0.1, 3, 0.3],
    [1.005, 1, 1.01],
    [0.125, 1, 0.13],
    [0.124, 1, 0.12],
    [33.333, 3, 100],
    [2.675, 2, 5.35],
    [0.0049, 1, 0],
    [0.005, 1, 0.01],
    [0.0001, 1000, 0.1],
    [0.3333, 3, 1],
    [999_999.9999, 1000, 999_999_999.9],
    [1_000_000, 1000, 1_000_000_000],
    [0, 5, 0],
  ])('total of %d x %d is %d to the cent', (price, quantity, expected) => {
    expect(amountToCents(price, quantity)).toBe(expected);
    expect(enrich(validV3({ event_type: 'add_to_cart', price, quantity })).total_amount).toBe(expected);
  });

  it('total_amount is exact for every valid price: ten-thousandths times quantity, rounded once to the cent', () => {
    expect(0.1 * 3).not.toBe(0.3); // what floating point would have stored
    expect(enrich(validV3({ event_type: 'add_to_cart', price: 0.1, quantity: 3 })).total_amount).toBe(0.3);
    for (let tenThousandths = 0; tenThousandths < 20_000; tenThousandths += 7) {
      const price = tenThousandths / 10_000;
      for (const quantity of [1, 3, 7, 1000]) {
        const units = tenThousandths * quantity; // exact integer ten-thousandths
        const cents = Math.floor((units + 50) / 100); // half-up
        const enriched = enrich(validV3({ event_type: 'add_to_cart', price, quantity }));
        expect(enriched.total_amount, `${price} x ${quantity}`).toBe(cents / 100);
        // The schema check is the slow part: every 10th price is enough to hold it to every form.
        if (tenThousandths % 70 === 0) expect(enrichedEventSchema.safeParse(enriched).success).toBe(true);
      }
    }
  }, 30_000);

  it('amountToCents still reads any decimal the JSON number carries', () => {
    expect(amountToCents(1e-7, 1000)).toBe(0);
    expect(amountToCents(5e-324, 1)).toBe(0);
  });

  it('the stored-event schema refuses a total_amount no sink stores as computed', () => {
    const stored = enrich(validV3());
    for (const total_amount of [5e-324, 0.001, -1, 1e126]) {
      expect(enrichedEventSchema.safeParse({ ...stored, total_amount }).success, String(total_amount)).toBe(false);
    }
    expect(enrichedEventSchema.safeParse({ ...stored, price: 5e-324 }).success).toBe(false);
  });

  it('late_arrival: exactly 10 minutes before receipt is on time, 1 ms earlier is late', () => {
    const tenMinutesBefore = new Date(receivedAt.getTime() - LIMITS.lateArrivalMs);
    expect(enrich(validV3({ event_time: tenMinutesBefore.toISOString() })).late_arrival).toBe(false);
    const justLate = new Date(tenMinutesBefore.getTime() - 1);
    expect(enrich(validV3({ event_time: justLate.toISOString() })).late_arrival).toBe(true);
  });

  it('an event from slightly in the future is not late', () => {
    const ahead = new Date(receivedAt.getTime() + 60_000).toISOString();
    expect(enrich(validV3({ event_time: ahead })).late_arrival).toBe(false);
  });

  it('event_date and event_hour are the UTC day and hour of an offset event_time', () => {
    // 01:30 at +03:00 is 22:30 UTC the day before.
    const event = validV3({ event_time: '2026-11-22T01:30:00+03:00' });
    const enriched = enrichEvent(event, {
      receivedAt: new Date('2026-11-21T22:31:00Z'),
      processedAt,
      originalVersion: 3,
    });
    expect(enriched.event_date).toBe('2026-11-21');
    expect(enriched.event_hour).toBe(22);
    expect(enriched.event_time).toBe('2026-11-22T01:30:00+03:00');
  });

  it('a search migrated from v1/v2 (no search_query) is a valid stored event; a v3 one is not', () => {
    const v2Search = expectValid(validateEvent(sampleEventV2({ event_type: 'search', quantity: undefined }), receivedAt));
    const stored = enrichEvent(v2Search.event, { receivedAt, processedAt, originalVersion: 2 });
    expect(enrichedEventSchema.safeParse(stored).success).toBe(true);
    expect(enrichedEventSchema.safeParse({ ...stored, original_schema_version: 3 }).success).toBe(false);
  });

  it('records the original schema version of a migrated event', () => {
    const v1 = expectValid(validateEvent(sampleEventV1(), receivedAt));
    const enriched = enrichEvent(v1.event, { receivedAt, processedAt, originalVersion: v1.originalVersion });
    expect(enriched.original_schema_version).toBe(1);
    expect(enriched.total_amount).toBe(19.99);
    expect(enrichedEventSchema.safeParse(enriched).success).toBe(true);
  });
});

describe('stripEnrichment', () => {
  it.each([
    ['v1', sampleEventV1],
    ['v2', sampleEventV2],
    ['v3', sampleEventV3],
    ['v3 anonymous search', sampleSearchEventV3],
    ['v1 anonymous view', () => sampleEventV1({ event_type: 'view', user_id: null, price: undefined })],
    ['v2 search without search_query', () => sampleEventV2({ event_type: 'search', quantity: undefined })],
  ] as const)('round trip (%s): validate, enrich, store as JSON, strip, validate again gives the same event', (_, sample) => {
    const first = expectValid(validateEvent(sample(), receivedAt));
    const stored = JSON.parse(
      JSON.stringify({ ...enrichEvent(first.event, { receivedAt, processedAt, originalVersion: first.originalVersion }), _source: 'shardId-000000000000/4955' }),
    ) as Record<string, unknown>;

    const { event, receivedAt: strippedReceivedAt } = stripEnrichment(stored);
    expect(strippedReceivedAt).toBe(receivedAt.toISOString());
    for (const field of [...ENRICHMENT_FIELDS, '_source']) expect(event).not.toHaveProperty(field);

    const again = expectValid(validateEvent(event, new Date(strippedReceivedAt!)));
    expect(again.event).toEqual(first.event);
    expect(again.originalVersion).toBe(first.originalVersion);
  });

  it('returns a v1 event as v1, without the quantity and currency migration added', () => {
    const input = sampleEventV1({ event_type: 'purchase' });
    const first = expectValid(validateEvent(input, receivedAt));
    const { event } = stripEnrichment(enrich(first.event, 1));
    expect(event).toEqual({ ...input, user_id: '1042' });
  });

  it('keeps a hand-edited currency on a v2 event, so validation names it instead of dropping it', () => {
    const first = expectValid(validateEvent(sampleEventV2(), receivedAt));
    const stored = { ...enrich(first.event, 2), currency: 'EUR' };
    const { event } = stripEnrichment(stored);
    expect(event.currency).toBe('EUR');
    const result = validateEvent(event, receivedAt);
    expect(result.ok === false && result.errors.map((e) => `${e.path}:${e.code}`)).toEqual(['currency:unknown_field']);
  });

  it('judges the stripped event against its original receipt time, so an old event stays valid', () => {
    const first = expectValid(validateEvent(sampleEventV3(), receivedAt));
    const stored = enrich(first.event);
    const { event, receivedAt: original } = stripEnrichment(stored);
    const muchLater = new Date(receivedAt.getTime() + 30 * 86_400_000);
    expect(validateEvent(event, muchLater).ok).toBe(false);
    expect(validateEvent(event, new Date(original!)).ok).toBe(true);
  });

  it('leaves receivedAt out when the record has no received_at string', () => {
    const result = stripEnrichment({ event_id: 'x', received_at: 5 });
    expect(result).toEqual({ event: { event_id: 'x' } });
  });

  it('does not modify the record it is given', () => {
    const record = { event_id: 'x', total_amount: 1, received_at: '2026-11-22T10:00:00.000Z' };
    stripEnrichment(record);
    expect(record).toEqual({ event_id: 'x', total_amount: 1, received_at: '2026-11-22T10:00:00.000Z' });
  });
});

describe('partitionKeyOf', () => {
  it('prefers session_id, then user_id, then event_id', () => {
    expect(partitionKeyOf({ session_id: 's', user_id: 'u', event_id: 'e' })).toBe('s');
    expect(partitionKeyOf({ user_id: 'u', event_id: 'e' })).toBe('u');
    expect(partitionKeyOf({ session_id: '', user_id: null, event_id: 'e' })).toBe('e');
  });

  it('turns a numeric (v1) user_id into a string', () => {
    expect(partitionKeyOf({ user_id: 1042, event_id: 'e' })).toBe('1042');
  });

  it('skips values that are not strings or numbers', () => {
    expect(partitionKeyOf({ session_id: { a: 1 }, user_id: ['u'], event_id: 'e' })).toBe('e');
  });

  it('always returns a non-empty key, even for an event with none of the fields', () => {
    expect(partitionKeyOf({}).length).toBeGreaterThan(0);
  });

  it('cuts to 256 characters without splitting a surrogate pair', () => {
    expect(partitionKeyOf({ session_id: 'a'.repeat(300) })).toBe('a'.repeat(256));
    const key = partitionKeyOf({ session_id: '😀'.repeat(300) });
    expect(Array.from(key)).toHaveLength(256);
    expect(key).toBe('😀'.repeat(256));
    expect(key).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('keeps a session on one key whatever the event', () => {
    const a = sampleEventV3({ event_type: 'add_to_cart' });
    const b = sampleEventV3({ event_type: 'purchase' });
    expect(partitionKeyOf(a)).toBe(partitionKeyOf(b));
  });
});
