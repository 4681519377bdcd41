import { describe, expect, it } from 'vitest';
import { enrichedEventSchema, isDynamoStorable } from '../../../lambdas/shared/events';
import { routeKinesisRecord } from '../../../lambdas/validator/route';
import { kinesisJsonRecord } from '../../fixtures/kinesis';
import { SAMPLE_RECEIVED_AT, sampleEventV1, sampleEventV2, sampleEventV3 } from '../../fixtures/events';

// Hole 5 at the validator: `"price": 5e-324` used to be valid, went on to the processed stream and
// was refused by DynamoDB (load_failed). Valid means storable: it must be dead-lettered here as
// validation_failed, with the reason, before any sink sees it.
const now = new Date(SAMPLE_RECEIVED_AT.getTime() + 2_000);
const raw = (event: Record<string, unknown>) =>
  kinesisJsonRecord({ received_at: SAMPLE_RECEIVED_AT.toISOString(), request_id: 'req-1', event });

describe('the validator applies the storable-number rules', () => {
  it.each([5e-324, 1e-131, 0.12345, 1e126])('price %d is dead-lettered as validation_failed', (price) => {
    for (const sample of [sampleEventV1, sampleEventV2, sampleEventV3]) {
      const routed = routeKinesisRecord(raw(sample({ price })), now);
      expect(routed.to).toBe('dead_letter');
      if (routed.to !== 'dead_letter') continue;
      expect(routed.message.reason).toBe('validation_failed');
      expect(routed.message.errors).toContainEqual({
        path: 'price',
        code: price === 1e126 ? 'too_big' : 'too_precise',
        message: expect.stringMatching(/^price must/),
      });
    }
  });

  it.each([0.0001, 999_999.9999])('price %d goes on, enriched with numbers every sink stores', (price) => {
    for (const sample of [sampleEventV1, sampleEventV2, sampleEventV3]) {
      const routed = routeKinesisRecord(raw(sample({ event_type: 'add_to_cart', price, quantity: sample === sampleEventV1 ? undefined : 1000 })), now);
      expect(routed.to).toBe('processed');
      if (routed.to !== 'processed') continue;
      expect(enrichedEventSchema.safeParse(routed.event).success).toBe(true);
      for (const value of Object.values(routed.event)) {
        if (typeof value === 'number') expect(isDynamoStorable(value), `${String(value)} in ${JSON.stringify(routed.event)}`).toBe(true);
      }
    }
  });

  it('enrichment keeps total_amount exact: 0.1 x 3 is 0.3', () => {
    const routed = routeKinesisRecord(raw(sampleEventV3({ price: 0.1, quantity: 3 })), now);
    expect(routed.to === 'processed' && routed.event.total_amount).toBe(0.3);
  });
});

// The SQL sink's PostgreSQL text cannot hold NUL (U+0000): such an event was "valid" and then
// refused by the SqlSink (load_failed). Valid means storable, so it is invalid_format here.
describe('the validator applies the storable-text rule', () => {
  it.each(['session_id', 'category', 'search_query', 'user_id'])('a NUL character in %s is dead-lettered as validation_failed', (field) => {
    const routed = routeKinesisRecord(raw(sampleEventV3({ event_type: 'search', search_query: 'lamp', [field]: 'a\u0000b' })), now);
    expect(routed.to).toBe('dead_letter');
    if (routed.to !== 'dead_letter') return;
    expect(routed.message.reason).toBe('validation_failed');
    expect(routed.message.errors).toContainEqual({ path: field, code: 'invalid_format', message: expect.stringContaining('NUL character (U+0000)') });
  });

  it('other control characters are stored as sent', () => {
    const routed = routeKinesisRecord(raw(sampleEventV3({ event_type: 'search', search_query: 'a\u0001\u001fb' })), now);
    expect(routed.to).toBe('processed');
    if (routed.to === 'processed') expect(routed.event.search_query).toBe('a\u0001\u001fb');
  });
});
