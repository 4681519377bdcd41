import fc from 'fast-check';
import {
  ANONYMOUS_EVENT_TYPES,
  EVENT_TYPES,
  LIMITS,
  NUMBER_LIMITS,
  PRICE_REQUIRED_EVENT_TYPES,
  PRODUCT_REQUIRED_EVENT_TYPES,
  QUANTITY_REQUIRED_EVENT_TYPES,
  USER_SEGMENTS,
  V1_EVENT_TYPES,
  type EventType,
} from '../../../lambdas/shared/events';

/**
 * Events generated from the schemas' rules (docs/events.md), relative to a receipt time: valid
 * ones of each version, and edge cases near every rule (a valid event with a few fields pushed to,
 * just inside or just past a limit, removed, retyped, or joined by an unknown field).
 */

export type Event = Record<string, unknown>;

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

// ---------------------------------------------------------------- strings

/**
 * Strings of `min`..`max` UTF-16 units: short ones of any code point but NUL (U+0000, which no
 * valid text holds: the SQL sink cannot store it), and ones at the length limit.
 */
export function text(min: number, max: number): fc.Arbitrary<string> {
  const atLimit = fc
    .tuple(fc.integer({ min: Math.max(min, max - 2), max }), fc.constantFrom('x', 'é', '€', '"', '\\', '\u0001', '\u2028', '\uFFFE'))
    .map(([length, c]) => c.repeat(length));
  if (min > 12) return atLimit;
  return fc
    .oneof(
      { weight: 6, arbitrary: fc.string({ minLength: min, maxLength: 12 }) },
      { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: min, maxLength: 12 }) },
      { weight: 1, arbitrary: atLimit },
    )
    .filter((s) => s.length >= min && s.length <= max && !s.includes('\u0000'));
}

/** Strings just past a length limit. */
function tooLong(max: number): fc.Arbitrary<string> {
  return fc.tuple(fc.integer({ min: max + 1, max: max + 3 }), fc.constantFrom('x', '€')).map(([n, c]) => c.repeat(n));
}

/** An RFC 9562 UUID (the versions zod's uuid accepts), in either letter case. */
export const uuid: fc.Arbitrary<string> = fc
  .tuple(fc.uuid({ version: [1, 2, 3, 4, 5, 6, 7, 8] }), fc.boolean())
  .map(([id, upper]) => (upper ? id.toUpperCase() : id));

// ---------------------------------------------------------------- times

/** An instant written as ISO-8601 with `Z` or an offset (the same instant either way). */
export function isoAt(ms: number, offsetMinutes: number, withMillis: boolean): string {
  if (offsetMinutes === 0 && withMillis) return new Date(ms).toISOString();
  const local = new Date(ms + offsetMinutes * MINUTE).toISOString();
  const clock = withMillis ? local.slice(0, 23) : local.slice(0, 19);
  if (offsetMinutes === 0) return `${clock}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${clock}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const offsetMinutes = fc.constantFrom(0, 0, 0, 60, -300, 330, -720, 840, 345);

/** A valid event_time for `receivedAt`: inside [receipt - 7 days, receipt + 5 minutes], bounds included. */
export function validEventTime(receivedAt: Date): fc.Arbitrary<string> {
  const t = receivedAt.getTime();
  const at = fc.oneof(
    fc.constantFrom(
      t + LIMITS.maxFutureSkewMs,
      t - LIMITS.maxAgeMs,
    ),
    fc.constantFrom(
      t,
      t + LIMITS.maxFutureSkewMs,
      t - LIMITS.maxAgeMs,
      t - LIMITS.lateArrivalMs,
      t - LIMITS.lateArrivalMs - 1,
      t - LIMITS.lateArrivalMs + 1,
      t - 1,
    ),
    fc.integer({ min: t - LIMITS.maxAgeMs, max: t + LIMITS.maxFutureSkewMs }),
  );
  // Written without milliseconds only when that is the same instant.
  return fc.tuple(at, offsetMinutes, fc.boolean()).map(([ms, offset, millis]) => isoAt(ms, offset, millis || ms % 1000 !== 0));
}

/** event_time values at and past both windows, and malformed ones. */
export function edgeEventTime(receivedAt: Date): fc.Arbitrary<unknown> {
  const t = receivedAt.getTime();
  const instants = fc.constantFrom(
    t + LIMITS.maxFutureSkewMs,
    t + LIMITS.maxFutureSkewMs + 1,
    t + LIMITS.maxFutureSkewMs + 1000,
    t - LIMITS.maxAgeMs,
    t - LIMITS.maxAgeMs - 1,
    t - LIMITS.maxAgeMs - 1000,
    t - LIMITS.lateArrivalMs,
    t - LIMITS.lateArrivalMs - 1,
    t + 400 * DAY,
    t - 400 * DAY,
  );
  return fc.oneof(
    fc.tuple(instants, offsetMinutes).map(([ms, offset]) => isoAt(ms, offset, true)),
    fc.constantFrom(
      '2026-11-22T10:00:00',
      '2026-11-22 10:00:00Z',
      '2026-02-30T10:00:00Z',
      '2026-11-22T24:00:00Z',
      '2026-11-22T10:00:00.123456789Z',
      '2026-11-22T10:00:00+25:00',
      '2026-11-22',
      '',
      '0000-01-01T00:00:00Z',
      '9999-12-31T23:59:59Z',
    ),
    fc.constantFrom(0, 1_795_341_600_000, null, true, [], {}),
  );
}

// ---------------------------------------------------------------- numbers

/** A decimal with `places` digits after the point, written as a string first so the double is exact. */
function decimalNumber(whole: number, fraction: number, places: number): number {
  return places === 0 ? whole : Number(`${whole}.${String(fraction).padStart(places, '0')}`);
}

/** A valid price: 0 to 1,000,000 with at most 4 decimal places (> 0 when `positive`). */
export function validPrice(positive = false): fc.Arbitrary<number> {
  const min = positive ? 0.0001 : 0;
  return fc
    .oneof(
      fc.constantFrom(0, 0.0001, 0.01, 0.1, 1, 19.99, 999_999.9999, 1_000_000),
      fc.integer({ min: 0, max: 4 }).chain((places) =>
        fc
          .tuple(fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 10 ** places - 1 }))
          .map(([whole, fraction]) => decimalNumber(whole, fraction, places)),
      ),
      fc
        .tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 9_999 }))
        .map(([places, fraction]) => decimalNumber(999_999, fraction % 10 ** places, places)),
    )
    .filter((price) => price >= min && price <= NUMBER_LIMITS.priceMax);
}

/** Prices with 0 to 6 decimals near 0 and 1,000,000, and the numbers no sink stores. */
export const edgePrice: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(0, 1, 999_999, 1_000_000),
      fc.integer({ min: 0, max: 6 }),
      fc.integer({ min: 0, max: 999_999 }),
    )
    .map(([whole, places, fraction]) => decimalNumber(whole, fraction % 10 ** places, places)),
  fc.integer({ min: 0, max: 6 }).map((places) => Number(`0.${'0'.repeat(Math.max(0, places - 1))}1`)),
  fc.integer({ min: 1, max: 6 }).map((places) => Number(`1000000.${'0'.repeat(places - 1)}1`)),
  fc.constantFrom(
    -0,
    -0.0001,
    -1,
    5e-324,
    1e-7,
    1e-131,
    1e125,
    1e126,
    1e21,
    Number.MAX_VALUE,
    Number.MAX_SAFE_INTEGER,
    0.1 + 0.2,
    '19.99',
    null,
    true,
  ),
);

export const edgeQuantity: fc.Arbitrary<unknown> = fc.constantFrom(0, 1, 2, 999, 1000, 1001, -1, 1.5, -0, 1e21, '1', null, 5e-324);

// ---------------------------------------------------------------- events

const USER_ID_STRING = text(1, LIMITS.maxString);

function needsUser(type: string): boolean {
  return !ANONYMOUS_EVENT_TYPES.has((type === 'view' ? 'page_view' : type) as EventType);
}

/** Optional fields: each present or absent. */
function optional<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arb, { nil: undefined, freq: 2 });
}

function compact(event: Record<string, unknown>): Event {
  return Object.fromEntries(Object.entries(event).filter(([, value]) => value !== undefined));
}

/** A valid v1 event (schema_version 1), by the v1 rules. */
export function validV1(receivedAt: Date): fc.Arbitrary<Event> {
  return fc.constantFrom(...V1_EVENT_TYPES).chain((type) => {
    const canonical = type === 'view' ? 'page_view' : type;
    return fc
      .record({
        event_id: uuid,
        event_time: validEventTime(receivedAt),
        user_id: needsUser(type)
          ? fc.oneof(USER_ID_STRING, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(1, Number.MAX_SAFE_INTEGER))
          : optional(fc.oneof(USER_ID_STRING, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.constant(null))),
        product_id: PRODUCT_REQUIRED_EVENT_TYPES.has(canonical) ? text(1, LIMITS.maxString) : optional(text(1, LIMITS.maxString)),
        price: PRICE_REQUIRED_EVENT_TYPES.has(canonical) ? validPrice(canonical === 'purchase') : optional(validPrice(canonical === 'purchase')),
      })
      .map((fields) => compact({ schema_version: 1, event_type: type, ...fields }));
  });
}

const v2Extras = (type: EventType) => ({
  session_id: optional(text(1, LIMITS.maxString)),
  category: optional(text(0, LIMITS.maxString)),
  quantity: QUANTITY_REQUIRED_EVENT_TYPES.has(type)
    ? fc.oneof(fc.integer({ min: 1, max: NUMBER_LIMITS.quantityMax }), fc.constantFrom(1, NUMBER_LIMITS.quantityMax))
    : optional(fc.integer({ min: 1, max: NUMBER_LIMITS.quantityMax })),
  user_segment: optional(fc.constantFrom(...USER_SEGMENTS)),
});

function v2Core(receivedAt: Date, type: EventType) {
  return {
    event_id: uuid,
    event_time: validEventTime(receivedAt),
    user_id: needsUser(type) ? USER_ID_STRING : optional(fc.oneof(USER_ID_STRING, fc.constant(null))),
    product_id: PRODUCT_REQUIRED_EVENT_TYPES.has(type) ? text(1, LIMITS.maxString) : optional(text(1, LIMITS.maxString)),
    price: PRICE_REQUIRED_EVENT_TYPES.has(type) ? validPrice(type === 'purchase') : optional(validPrice(type === 'purchase')),
  };
}

/** A valid v2 event (schema_version 2), by the v2 rules. */
export function validV2(receivedAt: Date): fc.Arbitrary<Event> {
  return fc
    .constantFrom(...EVENT_TYPES)
    .chain((type) =>
      fc
        .record({ ...v2Core(receivedAt, type), ...v2Extras(type) })
        .map((fields) => compact({ schema_version: 2, event_type: type, ...fields })),
    );
}

/** A valid v3 event (schema_version 3, or absent: absent means 3). */
export function validV3(receivedAt: Date): fc.Arbitrary<Event> {
  return fc.constantFrom(...EVENT_TYPES).chain((type) =>
    fc
      .record({
        ...v2Core(receivedAt, type),
        ...v2Extras(type),
        currency: fc.constantFrom('USD', 'EUR', 'JPY', 'XAU', 'ZZZ'),
        device_type: optional(text(0, LIMITS.maxString)),
        browser: optional(text(0, LIMITS.maxString)),
        geo_country: optional(fc.constantFrom('DE', 'US', 'ZZ')),
        geo_city: optional(text(0, LIMITS.maxString)),
        referrer: optional(text(0, LIMITS.maxReferrer)),
        campaign_id: optional(text(0, LIMITS.maxString)),
        search_query: type === 'search' ? text(1, LIMITS.maxString) : optional(text(1, LIMITS.maxString)),
        versioned: fc.boolean(),
      })
      .map(({ versioned, currency, ...fields }) =>
        compact({
          ...(versioned ? { schema_version: 3 } : {}),
          event_type: type,
          ...fields,
          // currency goes with a price (a currency without a price is allowed too).
          currency: fields.price !== undefined ? currency : undefined,
        }),
      ),
  );
}

export function validEvent(receivedAt: Date): fc.Arbitrary<Event> {
  return fc.oneof(validV1(receivedAt), validV2(receivedAt), validV3(receivedAt));
}

const KNOWN_FIELDS = [
  'schema_version',
  'event_id',
  'event_type',
  'event_time',
  'user_id',
  'product_id',
  'price',
  'currency',
  'session_id',
  'category',
  'quantity',
  'user_segment',
  'device_type',
  'browser',
  'geo_country',
  'geo_city',
  'referrer',
  'campaign_id',
  'search_query',
] as const;

type Mutation = (event: Event) => void;

/** Changes that put an event at, just inside or just past one of its rules. */
function mutation(receivedAt: Date): fc.Arbitrary<Mutation> {
  const set =
    (field: string, value: fc.Arbitrary<unknown>): fc.Arbitrary<Mutation> =>
      value.map((v) => (event: Event) => {
        event[field] = v;
      });
  return fc.oneof(
    set('price', edgePrice),
    set('quantity', edgeQuantity),
    set('event_time', edgeEventTime(receivedAt)),
    set('event_time', edgeEventTime(receivedAt)),
    fc.constantFrom(...KNOWN_FIELDS).map((field) => (event: Event) => {
      delete event[field];
    }),
    set('user_id', fc.constantFrom(null, '', 0, -1, 1.5, 42, Number.MAX_SAFE_INTEGER + 1, 'x'.repeat(257), [], {})),
    set('event_type', fc.constantFrom('view', 'PAGE_VIEW', '', 'checkout', 1, null, ...EVENT_TYPES)),
    set('schema_version', fc.constantFrom(0, 1, 2, 3, 4, '3', null, 3.5, -1)),
    set(
      'event_id',
      fc.oneof(
        uuid,
        fc.constantFrom('', 'not-a-uuid', '00000000-0000-0000-0000-000000000000', 'g0000000-0000-4000-8000-000000000000', 7, null),
      ),
    ),
    set('currency', fc.constantFrom('usd', 'US', 'USDD', 'EUR', '', 1)),
    set('geo_country', fc.constantFrom('de', 'DEU', 'DE', 'D', '')),
    set('user_segment', fc.constantFrom('vip', 'NEW', ...USER_SEGMENTS)),
    set('search_query', fc.oneof(fc.constant(''), text(1, LIMITS.maxString), tooLong(LIMITS.maxString))),
    fc
      .tuple(fc.constantFrom('product_id', 'session_id', 'category', 'device_type', 'browser', 'geo_city', 'campaign_id'), fc.oneof(text(0, LIMITS.maxString), tooLong(LIMITS.maxString)))
      .map(([field, value]) => (event: Event) => {
        event[field] = value;
      }),
    set('referrer', fc.oneof(text(LIMITS.maxReferrer - 1, LIMITS.maxReferrer), tooLong(LIMITS.maxReferrer))),
    // A field of the wrong JSON type.
    fc.tuple(fc.constantFrom(...KNOWN_FIELDS), fc.jsonValue({ maxDepth: 2 })).map(([field, value]) => (event: Event) => {
      event[field] = value;
    }),
    // A field the schema does not know (perhaps one of a later version).
    fc
      .tuple(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('Price', 'items', 'currency', 'search_query', 'quantity')), fc.jsonValue({ maxDepth: 2 }))
      .map(([field, value]) => (event: Event) => {
        event[field] = value;
      }),
  );
}

/** An event near the rules' edges: a valid event of any version with 0 to 3 mutations. */
export function edgeEvent(receivedAt: Date): fc.Arbitrary<Event> {
  return fc
    .tuple(validEvent(receivedAt), fc.array(mutation(receivedAt), { minLength: 0, maxLength: 3 }))
    .map(([event, mutations]) => {
      const copy = { ...event };
      for (const mutate of mutations) mutate(copy);
      return copy;
    });
}

/** Anything at all as an event: mostly near-valid events, some arbitrary JSON. */
export function anyEvent(receivedAt: Date): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: validEvent(receivedAt) },
    { weight: 6, arbitrary: edgeEvent(receivedAt) },
    { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );
}
