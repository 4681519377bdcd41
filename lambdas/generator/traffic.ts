/**
 * A seedable model of shop traffic: interleaved sessions that walk the funnel
 * page_view -> search -> cart / wishlist -> purchase, abandoning at every step with odds that
 * depend on the user's segment, in all three schema versions, plus a configurable share of
 * invalid events of several kinds. Pure: the same seed and clock give the same events.
 * Used by the Generator function and by `pipeline send`.
 */

import type { EventType, SchemaVersion, UserSegment } from '../shared/events';
import { BROWSERS, CATEGORIES, DEVICES, MARKETS, SEGMENT_FUNNEL, TRAFFIC_SOURCES, type Category, type Market } from './shop';

export interface GeneratedEvent {
  event: Record<string, unknown>;
  /** What the producer meant: the schema should accept it (true) or reject it (false). */
  intendedValid: boolean;
  invalidKind?: InvalidKind;
}

export interface TrafficOptions {
  /** Same seed, same clock: same events. Random when absent. */
  seed?: number;
  /** Share of events built to be invalid, 0 to 1. */
  invalidShare: number;
  now?: () => Date;
}

export interface TrafficGenerator {
  next(): GeneratedEvent;
  batch(count: number): GeneratedEvent[];
}

export const INVALID_KINDS = [
  'non_positive_price',
  'missing_product_id',
  'unknown_field',
  'bad_currency',
  'anonymous_purchase',
  'future_event_time',
  'too_old_event_time',
  'bad_event_type',
  'malformed_event_id',
  'bad_quantity',
] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

/** mulberry32: a tiny, fast PRNG with a 32-bit state; plenty for traffic simulation. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Random = () => number;

function pick<T>(rng: Random, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

function weighted<T>(rng: Random, entries: ReadonlyArray<readonly [T, number]>): T {
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = rng() * total;
  for (const [value, weight] of entries) {
    roll -= weight;
    if (roll < 0) return value;
  }
  return entries[entries.length - 1]![0];
}

function intBetween(rng: Random, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

/** A version 4 UUID from the PRNG, so seeded runs are reproducible. */
function uuid(rng: Random): string {
  const bytes = Array.from({ length: 16 }, () => Math.floor(rng() * 256));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---- The catalog (the shop's tables are in shop.ts) ----------------------------------------

interface Product {
  id: string;
  category: Category;
  /** USD; converted per market. */
  price: number;
}

const PRODUCTS_PER_CATEGORY = 25;

/** The same catalog for every generator, so a product keeps its price across runs. */
export const CATALOG: readonly Product[] = (() => {
  const rng = mulberry32(0x5eed);
  return CATEGORIES.flatMap((category) =>
    Array.from({ length: PRODUCTS_PER_CATEGORY }, (_, i) => {
      // Log-uniform: most products are cheap, a few are expensive, as in a real catalog.
      const raw = Math.exp(Math.log(category.minPrice) + rng() * (Math.log(category.maxPrice) - Math.log(category.minPrice)));
      const price = Math.max(category.minPrice, Math.floor(raw) + (rng() < 0.7 ? 0.99 : 0.49));
      return { id: `${category.prefix}-${String(i + 1).padStart(4, '0')}`, category, price };
    }),
  );
})();

const USER_COUNT = 3_000;
const ANONYMOUS_SHARE = 0.25;
const VERSION_WEIGHTS = [[3, 82], [2, 11], [1, 7]] as const;
/** Sessions in progress at once: their events interleave as on a live site. */
const CONCURRENT_SESSIONS = 8;

// ---- Sessions ------------------------------------------------------------------------------

interface Step {
  type: EventType;
  product?: Product;
  quantity?: number;
  query?: string;
}

interface Visitor {
  userNumber?: number;
  segment?: UserSegment;
  version: SchemaVersion;
  sessionId: string;
  market: Market;
  city: string;
  device: string;
  browser: string;
  source: { referrer?: string; campaign_id?: string };
}

interface Session {
  visitor: Visitor;
  steps: Array<{ step: Step; at: Date }>;
  cursor: number;
}

function funnel(rng: Random, anonymous: boolean, segment: UserSegment | undefined): Step[] {
  const odds = SEGMENT_FUNNEL[segment ?? 'new'];
  const category = pick(rng, CATEGORIES);
  const inCategory = CATALOG.filter((p) => p.category === category);
  const steps: Step[] = [];
  const seen: Product[] = [];
  const view = () => {
    if (rng() < 0.3) {
      steps.push({ type: 'page_view' }); // home or listing page
    } else {
      const product = pick(rng, inCategory);
      seen.push(product);
      steps.push({ type: 'page_view', product });
    }
  };
  for (let i = intBetween(rng, 1, 3); i > 0; i -= 1) view();
  if (rng() < odds.search) {
    steps.push({ type: 'search', query: pick(rng, category.queries) });
    for (let i = intBetween(rng, 0, 3); i > 0; i -= 1) view();
  }
  if (anonymous || seen.length === 0) return steps;

  if (rng() < 0.12) steps.push({ type: 'wishlist', product: pick(rng, seen) });
  if (rng() >= odds.cart) return steps;
  const cart = new Map<string, { product: Product; quantity: number }>();
  for (let i = intBetween(rng, 1, 2); i > 0; i -= 1) {
    const product = pick(rng, seen);
    const quantity = weighted(rng, [[1, 70], [2, 20], [3, 10]] as const);
    steps.push({ type: 'add_to_cart', product, quantity });
    const line = cart.get(product.id);
    cart.set(product.id, { product, quantity: (line?.quantity ?? 0) + quantity });
  }
  if (rng() < 0.18) {
    const line = pick(rng, [...cart.values()]);
    steps.push({ type: 'remove_from_cart', product: line.product, quantity: line.quantity });
    cart.delete(line.product.id);
  }
  if (cart.size === 0 || rng() >= odds.purchase) return steps;
  for (const line of cart.values()) steps.push({ type: 'purchase', product: line.product, quantity: line.quantity });
  return steps;
}

function localPrice(product: Product, market: Market): number {
  const factor = 10 ** market.decimals;
  return Math.max(1 / factor, Math.round(product.price * market.rate * factor) / factor);
}

/** ISO-8601 in the market's local offset, as some clients send it. */
function withOffset(date: Date, offsetHours: number): string {
  const local = new Date(date.getTime() + offsetHours * 3_600_000).toISOString().slice(0, 23);
  const sign = offsetHours < 0 ? '-' : '+';
  const abs = Math.abs(offsetHours);
  const hh = String(Math.floor(abs)).padStart(2, '0');
  const mm = String(Math.round((abs % 1) * 60)).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}

function shape(rng: Random, visitor: Visitor, step: Step, at: Date): Record<string, unknown> {
  const { version, market } = visitor;
  const event: Record<string, unknown> = {};
  if (version !== 3 || rng() < 0.7) event.schema_version = version; // absent means 3
  event.event_id = uuid(rng);
  event.event_type = version === 1 && step.type === 'page_view' && rng() < 0.5 ? 'view' : step.type;
  event.event_time = version === 3 && rng() < 0.2 ? withOffset(at, market.utcOffset) : at.toISOString();
  if (visitor.userNumber === undefined) {
    if (rng() < 0.5) event.user_id = null;
  } else {
    event.user_id = version === 1 ? visitor.userNumber : `user-${visitor.userNumber}`;
  }
  const priced = step.type !== 'page_view' && step.type !== 'search';
  if (step.product) {
    event.product_id = step.product.id;
    if (priced) event.price = version === 3 ? localPrice(step.product, market) : step.product.price;
  }
  if (version >= 2) {
    event.session_id = visitor.sessionId;
    if (step.product) event.category = step.product.category.name;
    if (step.quantity !== undefined) event.quantity = step.quantity;
    if (visitor.segment) event.user_segment = visitor.segment;
  }
  if (version === 3) {
    if (event.price !== undefined) event.currency = market.currency;
    event.device_type = visitor.device;
    event.browser = visitor.browser;
    event.geo_country = market.country;
    event.geo_city = visitor.city;
    if (visitor.source.referrer) event.referrer = visitor.source.referrer;
    if (visitor.source.campaign_id) event.campaign_id = visitor.source.campaign_id;
    if (step.query) event.search_query = step.query;
  }
  return event;
}

const USER_SEGMENT_OF: readonly UserSegment[] = (() => {
  const rng = mulberry32(0xc0ffee);
  const entries = Object.entries(SEGMENT_FUNNEL).map(([segment, odds]) => [segment as UserSegment, odds.weight] as const);
  return Array.from({ length: USER_COUNT }, () => weighted(rng, entries));
})();

function newSession(rng: Random, now: Date): Session {
  const anonymous = rng() < ANONYMOUS_SHARE;
  const userNumber = anonymous ? undefined : intBetween(rng, 1, USER_COUNT);
  const segment = userNumber === undefined ? undefined : USER_SEGMENT_OF[userNumber - 1];
  const market = weighted(rng, MARKETS.map((m) => [m, m.weight] as const));
  const visitor: Visitor = {
    ...(userNumber === undefined ? {} : { userNumber }),
    ...(segment === undefined ? {} : { segment }),
    version: weighted(rng, VERSION_WEIGHTS),
    sessionId: `sess-${uuid(rng).slice(0, 13)}`,
    market,
    city: pick(rng, market.cities),
    device: weighted(rng, DEVICES),
    browser: weighted(rng, BROWSERS),
    source: weighted(rng, TRAFFIC_SOURCES),
  };
  const steps = funnel(rng, anonymous, segment);
  // Think time between steps; the session ends just before now, or (an offline mobile app
  // syncing later) up to two days before.
  const gaps = steps.map((_, i) => (i === 0 ? 0 : intBetween(rng, 3_000, 120_000)));
  const duration = gaps.reduce((sum, gap) => sum + gap, 0);
  const endsAgo = rng() < 0.03 ? intBetween(rng, 15 * 60_000, 48 * 3_600_000) : intBetween(rng, 0, 30_000);
  let at = now.getTime() - endsAgo - duration;
  return {
    visitor,
    steps: steps.map((step, i) => {
      at += gaps[i]!;
      return { step, at: new Date(at) };
    }),
    cursor: 0,
  };
}

// ---- Invalid events ------------------------------------------------------------------------

/** A valid v3 event of the given type, then broken in one specific way. */
function invalidEvent(rng: Random, now: Date, kind: InvalidKind): Record<string, unknown> {
  const product = pick(rng, CATALOG);
  const market = MARKETS[0]!;
  const visitor: Visitor = {
    userNumber: intBetween(rng, 1, USER_COUNT),
    segment: 'returning',
    version: 3,
    sessionId: `sess-${uuid(rng).slice(0, 13)}`,
    market,
    city: pick(rng, market.cities),
    device: weighted(rng, DEVICES),
    browser: weighted(rng, BROWSERS),
    source: {},
  };
  const at = new Date(now.getTime() - intBetween(rng, 0, 60_000));
  const purchase = (): Record<string, unknown> =>
    shape(rng, visitor, { type: 'purchase', product, quantity: intBetween(rng, 1, 3) }, at);
  switch (kind) {
    case 'non_positive_price':
      return { ...purchase(), price: rng() < 0.5 ? 0 : -Math.round(product.price * 100) / 100 };
    case 'missing_product_id': {
      const { product_id: _dropped, ...event } = shape(rng, visitor, { type: 'add_to_cart', product, quantity: 1 }, at);
      return event;
    }
    case 'unknown_field':
      return { ...purchase(), [pick(rng, ['coupon_code', 'prodcut_id', 'discount'])]: 'SAVE10' };
    case 'bad_currency':
      return { ...purchase(), currency: pick(rng, ['usd', 'EURO', 'US$']) };
    case 'anonymous_purchase': {
      const { user_id: _dropped, user_segment: _segment, ...event } = purchase();
      return rng() < 0.5 ? event : { ...event, user_id: null };
    }
    case 'future_event_time':
      return { ...purchase(), event_time: new Date(now.getTime() + intBetween(rng, 10, 120) * 60_000).toISOString() };
    case 'too_old_event_time':
      return { ...purchase(), event_time: new Date(now.getTime() - intBetween(rng, 8, 30) * 86_400_000).toISOString() };
    case 'bad_event_type':
      return { ...purchase(), event_type: pick(rng, ['checkout', 'PageView', 'click']) };
    case 'malformed_event_id':
      return { ...purchase(), event_id: pick(rng, [`evt-${intBetween(rng, 1, 99_999)}`, '', 'not-a-uuid']) };
    case 'bad_quantity':
      return { ...purchase(), quantity: pick(rng, [0, 1.5, 5_000]) };
  }
}

// ---- The generator -------------------------------------------------------------------------

export function createTrafficGenerator(options: TrafficOptions): TrafficGenerator {
  if (!(options.invalidShare >= 0 && options.invalidShare <= 1)) {
    throw new Error(`invalidShare must be between 0 and 1, got ${options.invalidShare}`);
  }
  const rng = mulberry32(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  const now = options.now ?? (() => new Date());
  const active: Session[] = [];

  const next = (): GeneratedEvent => {
    if (rng() < options.invalidShare) {
      const kind = pick(rng, INVALID_KINDS);
      return { event: invalidEvent(rng, now(), kind), intendedValid: false, invalidKind: kind };
    }
    while (active.length < CONCURRENT_SESSIONS) active.push(newSession(rng, now()));
    const index = Math.floor(rng() * active.length);
    const session = active[index]!;
    const { step, at } = session.steps[session.cursor]!;
    session.cursor += 1;
    if (session.cursor >= session.steps.length) active.splice(index, 1);
    return { event: shape(rng, session.visitor, step, at), intendedValid: true };
  };

  return {
    next,
    batch: (count) => Array.from({ length: count }, next),
  };
}
