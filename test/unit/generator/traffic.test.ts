import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, validateEvent } from '../../../lambdas/shared/events';
import { createTrafficGenerator, INVALID_KINDS, type GeneratedEvent } from '../../../lambdas/generator/traffic';
import { CATEGORIES } from '../../../lambdas/generator/shop';

const NOW = new Date('2026-11-22T10:00:00.000Z');
const COUNT = 4_000;

function generate(seed: number, invalidShare: number, count = COUNT): GeneratedEvent[] {
  return createTrafficGenerator({ seed, invalidShare, now: () => NOW }).batch(count);
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

describe('traffic model', () => {
  const generated = generate(7, 0.1);
  const valid = generated.filter((g) => g.intendedValid).map((g) => g.event);

  it('is deterministic for a seed and differs between seeds', () => {
    expect(generate(7, 0.1, 200)).toEqual(generated.slice(0, 200));
    expect(generate(8, 0.1, 200)).not.toEqual(generated.slice(0, 200));
  });

  it('every event meant to be valid passes the schema, every other one fails it', () => {
    for (const { event, intendedValid, invalidKind } of generated) {
      const result = validateEvent(event, NOW);
      if (result.ok !== intendedValid) {
        throw new Error(`${invalidKind ?? 'valid'} event judged ${result.ok}: ${JSON.stringify(event)} ${JSON.stringify(result)}`);
      }
    }
  });

  it('produces the configured share of invalid events, of every kind', () => {
    for (const share of [0.02, 0.1, 0.3]) {
      const events = share === 0.1 ? generated : generate(11, share);
      const invalid = events.filter((g) => !g.intendedValid);
      expect(Math.abs(invalid.length / events.length - share)).toBeLessThan(0.02);
    }
    const kinds = countBy(generated.filter((g) => !g.intendedValid), (g) => g.invalidKind ?? 'none');
    expect([...kinds.keys()].sort()).toEqual([...INVALID_KINDS].sort());
    expect(generate(3, 0, 1_000).every((g) => g.intendedValid)).toBe(true);
  });

  it('covers every event type, every schema version and at least ten categories', () => {
    const types = countBy(valid, (e) => (e.event_type === 'view' ? 'page_view' : String(e.event_type)));
    for (const type of EVENT_TYPES) expect(types.get(type) ?? 0).toBeGreaterThan(20);
    // A funnel narrows: more views than cart adds, more cart adds than purchases.
    expect(types.get('page_view')!).toBeGreaterThan(types.get('add_to_cart')!);
    expect(types.get('add_to_cart')!).toBeGreaterThan(types.get('purchase')!);

    const versions = countBy(valid, (e) => String(e.schema_version ?? 3));
    expect(versions.get('3')! / valid.length).toBeGreaterThan(0.6);
    expect(versions.get('2') ?? 0).toBeGreaterThan(50);
    expect(versions.get('1') ?? 0).toBeGreaterThan(50);
    expect(valid.some((e) => e.schema_version === undefined)).toBe(true);

    const v1 = valid.filter((e) => e.schema_version === 1);
    expect(v1.some((e) => e.event_type === 'view')).toBe(true);
    expect(v1.some((e) => Number.isInteger(e.user_id))).toBe(true);

    const categories = new Set(valid.map((e) => e.category).filter((c) => c !== undefined));
    expect(categories.size).toBeGreaterThanOrEqual(10);
    expect(CATEGORIES.length).toBeGreaterThanOrEqual(10);
  });

  it('fills the v3 context fields', () => {
    const v3 = valid.filter((e) => e.schema_version === 3 || e.schema_version === undefined);
    for (const field of ['device_type', 'browser', 'geo_country', 'geo_city', 'session_id']) {
      expect(v3.every((e) => typeof e[field] === 'string'), field).toBe(true);
    }
    expect(v3.some((e) => typeof e.referrer === 'string')).toBe(true);
    expect(v3.some((e) => typeof e.campaign_id === 'string')).toBe(true);
    expect(new Set(v3.map((e) => e.geo_country)).size).toBeGreaterThan(5);
    expect(new Set(v3.map((e) => e.currency).filter(Boolean)).size).toBeGreaterThan(3);
  });

  it('anonymous users only view and search', () => {
    const anonymous = valid.filter((e) => e.user_id === undefined || e.user_id === null);
    expect(anonymous.length).toBeGreaterThan(100);
    expect(new Set(anonymous.map((e) => (e.event_type === 'view' ? 'page_view' : e.event_type)))).toEqual(
      new Set(['page_view', 'search']),
    );
  });

  it('keeps each session in time order and its user, converting better in better segments', () => {
    const sessions = new Map<string, Record<string, unknown>[]>();
    for (const event of valid) {
      if (typeof event.session_id !== 'string') continue;
      sessions.set(event.session_id, [...(sessions.get(event.session_id) ?? []), event]);
    }
    expect(sessions.size).toBeGreaterThan(200);
    for (const events of sessions.values()) {
      const times = events.map((e) => new Date(String(e.event_time)).getTime());
      for (let i = 1; i < times.length; i += 1) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
      expect(new Set(events.map((e) => e.user_id ?? null)).size).toBe(1);
      // A purchase follows a cart add of the same product in the same session.
      events.forEach((e, i) => {
        if (e.event_type !== 'purchase') return;
        expect(events.slice(0, i).some((p) => p.event_type === 'add_to_cart' && p.product_id === e.product_id)).toBe(true);
      });
    }

    const many = generate(21, 0, 20_000).map((g) => g.event);
    const rate = (segment: string) => {
      const events = many.filter((e) => e.user_segment === segment);
      return events.filter((e) => e.event_type === 'purchase').length / events.length;
    };
    expect(rate('premium')).toBeGreaterThan(rate('new'));
    expect(rate('returning')).toBeGreaterThan(rate('inactive'));
  });
});
