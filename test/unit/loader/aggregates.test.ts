import { describe, expect, it } from 'vitest';
import {
  aggregateContributions,
  expectedAggregates,
  hourPartitionKey,
  paddedSequenceNumber,
} from '../../../lambdas/shared/aggregates';

describe('aggregate keys and contributions', () => {
  it('keys by the UTC hour of event_time, whatever its offset', () => {
    expect(hourPartitionKey('2026-11-22T00:30:00+02:00')).toBe('HOUR#2026-11-21T22');
    expect(hourPartitionKey('2026-11-22T09:59:59.999Z')).toBe('HOUR#2026-11-22T09');
    expect(() => hourPartitionKey('yesterday')).toThrow(/event_time/);
  });

  it('a purchase adds count, revenue and units to its type, category and product', () => {
    const contributions = aggregateContributions({
      event_type: 'purchase',
      event_time: '2026-11-22T09:00:00Z',
      category: 'books',
      product_id: 'SKU-1',
      quantity: 3,
      total_amount: 59.97,
    });
    expect(contributions).toEqual(
      ['TYPE#purchase', 'CATEGORY#books', 'PRODUCT#SKU-1'].map((sk) => ({
        pk: 'HOUR#2026-11-22T09',
        sk,
        count: 1,
        revenue: 59.97,
        units: 3,
      })),
    );
  });

  it('other events add only to the count; an anonymous search only to its type', () => {
    const cart = aggregateContributions({
      event_type: 'add_to_cart',
      event_time: '2026-11-22T09:00:00Z',
      category: 'books',
      product_id: 'SKU-1',
      quantity: 2,
      total_amount: 10,
    });
    expect(cart.map((c) => [c.sk, c.count, c.revenue, c.units])).toEqual([
      ['TYPE#add_to_cart', 1, 0, 0],
      ['CATEGORY#books', 1, 0, 0],
      ['PRODUCT#SKU-1', 1, 0, 0],
    ]);
    const search = aggregateContributions({ event_type: 'search', event_time: '2026-11-22T09:00:00Z', total_amount: null });
    expect(search.map((c) => c.sk)).toEqual(['TYPE#search']);
  });

  it('sums revenue in cents, so many small amounts add up exactly', () => {
    const purchases = Array.from({ length: 10 }, () => ({
      event_type: 'purchase',
      event_time: '2026-11-22T09:00:00Z',
      product_id: 'SKU-1',
      quantity: 1,
      total_amount: 0.1,
    }));
    const totals = expectedAggregates(purchases);
    expect(totals.find((t) => t.sk === 'PRODUCT#SKU-1')).toEqual({
      pk: 'HOUR#2026-11-22T09',
      sk: 'PRODUCT#SKU-1',
      count: 10,
      revenue: 1,
      units: 10,
    });
  });

  it('pads sequence numbers so that string order is numeric order', () => {
    expect(paddedSequenceNumber('9') < paddedSequenceNumber('10')).toBe(true);
    expect(paddedSequenceNumber('49590000000000000000000000000000000000000000000000000001')).toHaveLength(64);
    expect(() => paddedSequenceNumber('12a')).toThrow(/sequence number/);
  });
});
