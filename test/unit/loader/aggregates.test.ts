import { describe, expect, it } from 'vitest';
import {
  aggregateAttributes,
  aggregateContributions,
  aggregateFromItem,
  baseSortKey,
  expectedAggregates,
  mergeWriteShards,
  writeShardOf,
  writeShardSortKey,
  hourPartitionKey,
  minorUnitDigits,
  sameAggregate,
  toMinorUnits,
} from '../../../lambdas/shared/aggregates';

describe('aggregate keys and contributions', () => {
  it('keys by the UTC hour of event_time, whatever its offset', () => {
    expect(hourPartitionKey('2026-11-22T00:30:00+02:00')).toBe('HOUR#2026-11-21T22');
    expect(hourPartitionKey('2026-11-22T09:59:59.999Z')).toBe('HOUR#2026-11-22T09');
    expect(() => hourPartitionKey('yesterday')).toThrow(/event_time/);
  });

  it('a purchase adds count, revenue in minor units of its currency, and units to its type, category and product', () => {
    const contributions = aggregateContributions({
      event_type: 'purchase',
      event_time: '2026-11-22T09:00:00Z',
      category: 'books',
      product_id: 'SKU-1',
      quantity: 3,
      currency: 'USD',
      total_amount: 59.97,
    });
    expect(contributions).toEqual(
      ['TYPE#purchase', 'CATEGORY#books', 'PRODUCT#SKU-1'].map((sk) => ({
        pk: 'HOUR#2026-11-22T09',
        sk,
        count: 1,
        units: 3,
        revenue: { USD: 5997 },
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
      currency: 'EUR',
      total_amount: 10,
    });
    expect(cart.map((c) => [c.sk, c.count, c.revenue, c.units])).toEqual([
      ['TYPE#add_to_cart', 1, {}, 0],
      ['CATEGORY#books', 1, {}, 0],
      ['PRODUCT#SKU-1', 1, {}, 0],
    ]);
    const search = aggregateContributions({ event_type: 'search', event_time: '2026-11-22T09:00:00Z', total_amount: null });
    expect(search.map((c) => c.sk)).toEqual(['TYPE#search']);
  });

  it('keeps each currency apart and sums in integer minor units, so many small amounts add up exactly', () => {
    const purchase = (currency: string, total_amount: number) => ({
      event_type: 'purchase',
      event_time: '2026-11-22T09:00:00Z',
      product_id: 'SKU-1',
      quantity: 1,
      currency,
      total_amount,
    });
    const totals = expectedAggregates([
      ...Array.from({ length: 10 }, () => purchase('USD', 0.1)),
      purchase('JPY', 1500),
      purchase('BHD', 1.2345),
    ]);
    expect(totals.find((t) => t.sk === 'PRODUCT#SKU-1')).toEqual({
      pk: 'HOUR#2026-11-22T09',
      sk: 'PRODUCT#SKU-1',
      count: 12,
      units: 12,
      revenue: { USD: 100, JPY: 1500, BHD: 1235 },
    });
  });

  it('rounds to minor units half away from zero without float error', () => {
    expect(minorUnitDigits('USD')).toBe(2);
    expect(minorUnitDigits('JPY')).toBe(0);
    expect(minorUnitDigits('KWD')).toBe(3);
    expect(toMinorUnits(1.005, 'USD')).toBe(101);
    expect(toMinorUnits(0.3, 'USD')).toBe(30);
    expect(toMinorUnits(149.5, 'JPY')).toBe(150);
    expect(toMinorUnits(999_999_999.9999, 'USD')).toBe(100_000_000_000);
  });

  it('item attributes round-trip: revenue_<CUR> per currency beside count and units', () => {
    const value = { pk: 'HOUR#2026-11-22T09', sk: 'TYPE#purchase', count: 3, units: 4, revenue: { USD: 1250, EUR: 99 } };
    expect(aggregateAttributes(value)).toEqual({ count: 3, units: 4, revenue_USD: 1250, revenue_EUR: 99 });
    const read = aggregateFromItem({ pk: value.pk, sk: value.sk, ...aggregateAttributes(value), revenue_GBP: 0 });
    expect(read).toEqual(value);
    expect(sameAggregate(read, value)).toBe(true);
    expect(sameAggregate(read, { ...value, revenue: { USD: 1250 } })).toBe(false);
  });
});

describe('aggregate write shards', () => {
  it('prefixes a part with its write shard only when there are several, and merges parts back', () => {
    expect(writeShardSortKey('TYPE#purchase', 0, 1)).toBe('TYPE#purchase');
    expect(writeShardSortKey('PRODUCT#W1#odd', 3, 8)).toBe('W3#PRODUCT#W1#odd');
    expect(baseSortKey('W3#PRODUCT#W1#odd')).toBe('PRODUCT#W1#odd');
    expect(baseSortKey('PRODUCT#W1#odd')).toBe('PRODUCT#W1#odd');
    const part = (sk: string, count: number, usd: number) => ({ pk: 'HOUR#2026-11-22T09', sk, count, units: count, revenue: { USD: usd } });
    expect(mergeWriteShards([part('TYPE#purchase', 1, 100), part('W2#TYPE#purchase', 2, 250), part('W7#TYPE#purchase', 3, 1)])).toEqual([
      { pk: 'HOUR#2026-11-22T09', sk: 'TYPE#purchase', count: 6, units: 6, revenue: { USD: 351 } },
    ]);
  });

  it('maps a Kinesis shard to a stable write shard, spreading shards over all of them', () => {
    const shards = Array.from({ length: 64 }, (_, i) => `shardId-${String(i).padStart(12, '0')}`);
    expect(shards.map((s) => writeShardOf(s, 8))).toEqual(shards.map((s) => writeShardOf(s, 8)));
    expect(new Set(shards.map((s) => writeShardOf(s, 8))).size).toBe(8);
    expect(writeShardOf(shards[5]!, 1)).toBe(0);
  });
});
