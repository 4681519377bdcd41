/**
 * Aggregates table keys and what one stored event adds to them. One source of truth for the
 * loader (which writes them), the CLI (which reads, verifies and rebuilds them) and the tests
 * (which check that the aggregates equal the sum of the stored events).
 *
 * pk = `HOUR#yyyy-mm-ddThh` (UTC hour of event_time), sk = `TYPE#<event_type>`,
 * `CATEGORY#<category>` or `PRODUCT#<product_id>`. Every item carries `count` and `units`, and one
 * `revenue_<CUR>` attribute per currency seen in that hour (integer minor units of that currency,
 * e.g. `revenue_USD` in cents, `revenue_JPY` in yen): amounts in different currencies are never
 * added together. Revenue (sum of total_amount) and units (sum of quantity) come from purchases
 * only, so a TYPE#purchase item holds the hour's revenue per currency.
 *
 * Write shards: with `aggregateWriteShards` W > 1 the loader of Kinesis shard s adds to its own
 * part of each item, sk `W<n>#<sk>` with n = writeShardOf(s, W), so loaders of different shards
 * do not contend for one item (DynamoDB's 1,000 write units per second per item, and transaction
 * conflicts). An item's value is the sum of its parts (`mergeWriteShards`); one Query of the hour's
 * partition returns them all. The unprefixed sk is the part W = 1 writes, and the part
 * `pipeline aggregates rebuild` folds the others into.
 */

/** The fields of a stored (enriched) event that aggregates read. */
export interface AggregateSource {
  event_type: string;
  event_time: string;
  category?: string | null;
  product_id?: string | null;
  quantity?: number | null;
  currency?: string | null;
  total_amount?: number | null;
}

/** What one event adds to one item, or what an item holds. */
export interface AggregateContribution {
  pk: string;
  sk: string;
  count: number;
  units: number;
  /** Integer minor units per ISO-4217 currency code; empty when no revenue. */
  revenue: Record<string, number>;
}

export const REVENUE_PREFIX = 'revenue_';

export function revenueAttribute(currency: string): string {
  return `${REVENUE_PREFIX}${currency}`;
}

export function hourPartitionKey(eventTime: string): string {
  const date = new Date(eventTime);
  if (Number.isNaN(date.getTime())) {
    throw new Error(`event_time is not a date-time: ${eventTime}`);
  }
  return `HOUR#${date.toISOString().slice(0, 13)}`;
}

/** The hour (`yyyy-mm-ddThh`) of a partition key, or undefined for another kind of key. */
export function hourOfPartitionKey(pk: string): string | undefined {
  return /^HOUR#(\d{4}-\d{2}-\d{2}T\d{2})$/.exec(pk)?.[1];
}

const WRITE_SHARD_PREFIX = /^W(\d{1,3})#/;

/** The sort key of write shard `writeShard`'s part of an item (the plain sort key when W = 1). */
export function writeShardSortKey(sk: string, writeShard: number, writeShards: number): string {
  return writeShards <= 1 ? sk : `W${writeShard}#${sk}`;
}

/** The item a part belongs to: the sort key without its write-shard prefix. */
export function baseSortKey(sk: string): string {
  return sk.replace(WRITE_SHARD_PREFIX, '');
}

/** The write shard of a Kinesis shard: FNV-1a of its id, modulo W (stable across invocations). */
export function writeShardOf(shardId: string, writeShards: number): number {
  if (writeShards <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < shardId.length; i += 1) {
    hash ^= shardId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % writeShards;
}

/** Items as read from the table, their write-shard parts added up into one value per item. */
export function mergeWriteShards(parts: Iterable<AggregateContribution>): AggregateContribution[] {
  return sumContributions([...parts].map((part) => ({ ...part, sk: baseSortKey(part.sk), revenue: { ...part.revenue } })));
}

export function aggregateKey(pk: string, sk: string): string {
  return `${pk}|${sk}`;
}

const minorDigitsCache = new Map<string, number>();

/** ISO-4217 minor unit digits (USD 2, JPY 0, BHD 3); codes Intl does not know get 2. */
export function minorUnitDigits(currency: string): number {
  let digits = minorDigitsCache.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    minorDigitsCache.set(currency, digits);
  }
  return digits;
}

/**
 * An amount (at most 4 decimal places, as the schemas allow) in integer minor units of its
 * currency, half away from zero. Computed from integer ten-thousandths so that no float error
 * (1.005 * 100 = 100.49999...) decides a rounding.
 */
export function toMinorUnits(amount: number, currency: string): number {
  const tenThousandths = Math.round(amount * 10_000);
  const divisor = 10 ** (4 - Math.min(4, minorUnitDigits(currency)));
  const sign = tenThousandths < 0 ? -1 : 1;
  return sign * Math.round(Math.abs(tenThousandths) / divisor);
}

/** Minor units back to an amount of the currency, for display. */
export function fromMinorUnits(minor: number, currency: string): number {
  return minor / 10 ** minorUnitDigits(currency);
}

/** The items one stored event adds to: its type, and its category and product when present. */
export function aggregateContributions(event: AggregateSource): AggregateContribution[] {
  const pk = hourPartitionKey(event.event_time);
  const isPurchase = event.event_type === 'purchase';
  const revenue: Record<string, number> = {};
  if (isPurchase && typeof event.currency === 'string' && typeof event.total_amount === 'number') {
    revenue[event.currency] = toMinorUnits(event.total_amount, event.currency);
  }
  const units = isPurchase ? (event.quantity ?? 1) : 0;
  const sortKeys = [`TYPE#${event.event_type}`];
  if (typeof event.category === 'string' && event.category !== '') sortKeys.push(`CATEGORY#${event.category}`);
  if (typeof event.product_id === 'string' && event.product_id !== '') sortKeys.push(`PRODUCT#${event.product_id}`);
  return sortKeys.map((sk) => ({ pk, sk, count: 1, units, revenue: { ...revenue } }));
}

/** Adds `b` into `a` (same item). */
export function addInto(a: AggregateContribution, b: AggregateContribution): void {
  a.count += b.count;
  a.units += b.units;
  for (const [currency, minor] of Object.entries(b.revenue)) a.revenue[currency] = (a.revenue[currency] ?? 0) + minor;
}

/** Adds contributions up per item; the result is sorted by pk, then sk. */
export function sumContributions(contributions: Iterable<AggregateContribution>): AggregateContribution[] {
  const totals = new Map<string, AggregateContribution>();
  for (const c of contributions) {
    const key = aggregateKey(c.pk, c.sk);
    let total = totals.get(key);
    if (total === undefined) {
      total = { pk: c.pk, sk: c.sk, count: 0, units: 0, revenue: {} };
      totals.set(key, total);
    }
    addInto(total, c);
  }
  return [...totals.values()].sort((a, b) => (a.pk === b.pk ? compareStrings(a.sk, b.sk) : compareStrings(a.pk, b.pk)));
}

/** What the Aggregates table must hold for these stored events (each counted once). */
export function expectedAggregates(events: Iterable<AggregateSource>): AggregateContribution[] {
  const all: AggregateContribution[] = [];
  for (const event of events) all.push(...aggregateContributions(event));
  return sumContributions(all);
}

/** The item attributes that hold an aggregate's values (what the loader adds to). */
export function aggregateAttributes(value: Pick<AggregateContribution, 'count' | 'units' | 'revenue'>): Record<string, number> {
  const attributes: Record<string, number> = { count: value.count, units: value.units };
  for (const [currency, minor] of Object.entries(value.revenue)) attributes[revenueAttribute(currency)] = minor;
  return attributes;
}

/** An Aggregates table item (as the document client returns it) read back as values. */
export function aggregateFromItem(item: Record<string, unknown>): AggregateContribution {
  const revenue: Record<string, number> = {};
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith(REVENUE_PREFIX) && typeof value === 'number' && value !== 0) revenue[name.slice(REVENUE_PREFIX.length)] = value;
  }
  return {
    pk: String(item.pk),
    sk: String(item.sk),
    count: typeof item.count === 'number' ? item.count : 0,
    units: typeof item.units === 'number' ? item.units : 0,
    revenue,
  };
}

/** True when two aggregates hold the same values (a zero revenue equals an absent one). */
export function sameAggregate(a: AggregateContribution, b: AggregateContribution): boolean {
  if (a.count !== b.count || a.units !== b.units) return false;
  const currencies = new Set([...Object.keys(a.revenue), ...Object.keys(b.revenue)]);
  for (const currency of currencies) if ((a.revenue[currency] ?? 0) !== (b.revenue[currency] ?? 0)) return false;
  return true;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
