import { describe, expect, it } from 'vitest';
import { groupDeadLetters, type PeekedMessage } from '../../../tools/cli/dlq';
import { dlqReasons, MAX_TEXT, recentHours, segmentMix, summariseAggregates, cached } from '../../../tools/local-cloud/dashboard/data';
import { RateRing } from '../../../tools/local-cloud/dashboard/rates';

// The dashboard's pure parts: counter samples to rates, Aggregates items to revenue and rankings,
// stored events to the segment mix, dead letters to bounded samples.

const counts = (accepted: number, valid = 0, invalid = 0, stored = 0) => ({ accepted, valid, invalid, stored });

describe('RateRing', () => {
  it('turns counter totals into events per second per stage, between consecutive samples', () => {
    const ring = new RateRing(10);
    ring.add({ at: 0, counts: counts(0) });
    ring.add({ at: 1_000, counts: counts(10, 8, 2, 0) });
    ring.add({ at: 3_000, counts: counts(30, 26, 4, 20) });
    expect(ring.series()).toEqual({
      at: [1_000, 3_000],
      rates: { accepted: [10, 10], valid: [8, 9], invalid: [2, 1], stored: [0, 10] },
    });
    expect(ring.recentRates(2_000)).toEqual({ accepted: 10, valid: 9, invalid: 1, stored: 10 });
  });

  it('over a moving window, spreads a burst counted at once over the window', () => {
    const ring = new RateRing();
    const accepted = [0, 0, 50, 50, 50, 50, 50, 100];
    accepted.forEach((n, i) => ring.add({ at: i * 1_000, counts: counts(n) }));
    expect(ring.series(1_000).rates.accepted).toEqual([0, 50, 0, 0, 0, 0, 50]);
    expect(ring.series(5_000).rates.accepted).toEqual([0, 25, 16.67, 12.5, 10, 10, 10]);
  });

  it('keeps at most its capacity, drops the oldest, and never shows a negative rate', () => {
    const ring = new RateRing(3);
    for (let i = 0; i < 5; i++) ring.add({ at: i * 1_000, counts: counts(i === 4 ? 0 : i * 5) });
    expect(ring.size).toBe(3);
    expect(ring.series().at).toEqual([3_000, 4_000]);
    expect(ring.series().rates.accepted).toEqual([5, 0]);
  });

  it('starts again when the clock steps back', () => {
    const ring = new RateRing();
    ring.add({ at: 5_000, counts: counts(1) });
    ring.add({ at: 4_000, counts: counts(2) });
    expect(ring.size).toBe(1);
  });
});

describe('summariseAggregates', () => {
  const hours = ['2026-11-30T06', '2026-11-30T07', '2026-11-30T08'];
  const item = (hour: string, sk: string, count: number, units = 0, revenue: Record<string, number> = {}) => ({ pk: `HOUR#${hour}`, sk, count, units, revenue });

  it('charts revenue per currency per hour in major units, never adding currencies', () => {
    const summary = summariseAggregates(
      [
        item('2026-11-30T06', 'TYPE#purchase', 2, 3, { USD: 12_345, JPY: 1_500 }),
        item('2026-11-30T08', 'TYPE#purchase', 1, 1, { USD: 5 }),
        item('2026-11-30T08', 'TYPE#page_view', 9),
        item('2026-11-29T08', 'TYPE#purchase', 1, 1, { USD: 999 }), // outside the hours asked for
      ],
      hours,
    );
    expect(summary.revenue).toEqual({ hours, currencies: { JPY: [1_500, 0, 0], USD: [123.45, 0, 0.05] } });
    expect(summary.lastStoredHour).toBe('2026-11-30T08:00:00.000Z');
  });

  it('ranks products and categories by events over the last hours only, units alongside', () => {
    const summary = summariseAggregates(
      [
        item('2026-11-30T06', 'PRODUCT#OLD', 100), // before the top window of 2 hours
        item('2026-11-30T07', 'PRODUCT#A', 3, 1),
        item('2026-11-30T08', 'PRODUCT#A', 2, 2),
        item('2026-11-30T08', 'PRODUCT#B', 4),
        item('2026-11-30T08', 'CATEGORY#books', 6, 3),
        item('2026-11-30T08', `PRODUCT#${'x'.repeat(200)}`, 1),
      ],
      hours,
      2,
    );
    expect(summary.topProducts.slice(0, 2)).toEqual([
      { key: 'A', events: 5, units: 3 },
      { key: 'B', events: 4, units: 0 },
    ]);
    expect(summary.topProducts.map((p) => p.key)).not.toContain('OLD');
    expect(Array.from(summary.topProducts[2]!.key).length).toBe(MAX_TEXT.key);
    expect(summary.topCategories).toEqual([{ key: 'books', events: 6, units: 3 }]);
  });

  it('lists the hours up to now, oldest first', () => {
    expect(recentHours(new Date('2026-11-30T08:30:00Z'), 3)).toEqual(hours);
  });
});

describe('segmentMix', () => {
  it('counts user_segment, and says anonymous or known without a segment otherwise', () => {
    expect(
      segmentMix([
        { user_segment: 'premium', user_id: 'u-1' },
        { user_segment: 'new', user_id: 'u-2' },
        { user_segment: 'premium', user_id: 'u-3' },
        { user_id: '42' },
        {},
      ]),
    ).toEqual([
      { segment: 'new', count: 1 },
      { segment: 'premium', count: 2 },
      { segment: 'known, no segment', count: 1 },
      { segment: 'anonymous', count: 1 },
    ]);
  });
});

describe('dlqReasons', () => {
  const message = (id: string, reason: string, record: unknown, errors: unknown[]): PeekedMessage => ({
    messageId: id,
    receiptHandle: id,
    body: '',
    parsed: { reason, record, errors },
    attributes: {},
    reason,
    codes: (errors as Array<{ code: string }>).map((e) => e.code),
    sentAt: new Date('2026-11-30T08:00:00Z'),
  });

  it('gives each top reason its codes and samples, every client value bounded and control characters escaped', () => {
    const hostile = `<script>alert(1)</script>\u001b[2J${'A'.repeat(500)}`;
    const stats = groupDeadLetters(
      [
        message('m-1', 'validation_failed', { event_id: hostile }, [{ path: 'event_id', code: 'invalid_format', message: `bad ${'B'.repeat(500)}` }]),
        message('m-2', 'validation_failed', { event_id: 42 }, [{ path: 'price', code: 'too_small', message: 'price must be > 0' }]),
        message('m-3', 'load_failed', {}, []),
      ],
      new Date('2026-11-30T08:01:00Z'),
    );
    const reasons = dlqReasons(stats);
    expect(reasons.map((r) => [r.reason, r.count, r.oldest_age_seconds])).toEqual([
      ['validation_failed', 2, 60],
      ['load_failed', 1, 60],
    ]);
    expect(reasons[0]!.codes).toEqual([
      { code: 'invalid_format', count: 1 },
      { code: 'too_small', count: 1 },
    ]);
    const [first, second] = reasons[0]!.samples;
    expect(first!.event_id.startsWith('<script>alert(1)</script>\\x1b[2J')).toBe(true);
    expect(Array.from(first!.event_id).length).toBe(MAX_TEXT.id);
    expect(Array.from(first!.error).length).toBe(MAX_TEXT.error);
    expect(first!.error.startsWith('event_id: bad BBB')).toBe(true);
    expect(second).toMatchObject({ event_id: '42', error: 'price: price must be > 0' });
    expect(reasons[1]!.samples[0]).toMatchObject({ event_id: '-', error: '' });
  });
});

describe('cached', () => {
  it('reads once per interval, shares a read in progress and tries again after a failure', async () => {
    let reads = 0;
    let fail = true;
    const read = cached(60_000, async () => {
      reads++;
      if (fail) throw new Error('down');
      return reads;
    });
    await expect(Promise.all([read(), read()])).rejects.toThrow('down');
    expect(reads).toBe(1);
    fail = false;
    expect(await read()).toBe(2);
    expect(await read()).toBe(2);
  });
});
