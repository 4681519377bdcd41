/**
 * Aggregates table keys and what one stored event adds to them. One source of truth for the
 * loader (which writes them), the CLI (which reads them) and the integration tests (which check
 * that the aggregates equal the sum of the stored events).
 *
 * pk = `HOUR#yyyy-mm-ddThh` (UTC hour of event_time), sk = `TYPE#<event_type>`,
 * `CATEGORY#<category>` or `PRODUCT#<product_id>`. Every item carries `count`, `revenue` and
 * `units`; revenue (sum of total_amount) and units (sum of quantity) come from purchases only,
 * so a TYPE#purchase item holds the hour's total revenue.
 */

/** The fields of a stored (enriched) event that aggregates read. */
export interface AggregateSource {
  event_type: string;
  event_time: string;
  category?: string | null;
  product_id?: string | null;
  quantity?: number | null;
  total_amount?: number | null;
}

export interface AggregateContribution {
  pk: string;
  sk: string;
  count: number;
  /** Currency units, rounded to the cent. */
  revenue: number;
  units: number;
}

export function hourPartitionKey(eventTime: string): string {
  const date = new Date(eventTime);
  if (Number.isNaN(date.getTime())) {
    throw new Error(`event_time is not a date-time: ${eventTime}`);
  }
  return `HOUR#${date.toISOString().slice(0, 13)}`;
}

export function aggregateKey(pk: string, sk: string): string {
  return `${pk}|${sk}`;
}

/** Integer cents, so sums of many amounts never drift the way float sums do. */
export function toCents(amount: number): number {
  return Math.round(amount * 100);
}

export function fromCents(cents: number): number {
  return cents / 100;
}

/** The items one stored event adds to: its type, and its category and product when present. */
export function aggregateContributions(event: AggregateSource): AggregateContribution[] {
  const pk = hourPartitionKey(event.event_time);
  const isPurchase = event.event_type === 'purchase';
  const revenue = isPurchase ? fromCents(toCents(event.total_amount ?? 0)) : 0;
  const units = isPurchase ? (event.quantity ?? 1) : 0;
  const sortKeys = [`TYPE#${event.event_type}`];
  if (typeof event.category === 'string' && event.category !== '') sortKeys.push(`CATEGORY#${event.category}`);
  if (typeof event.product_id === 'string' && event.product_id !== '') sortKeys.push(`PRODUCT#${event.product_id}`);
  return sortKeys.map((sk) => ({ pk, sk, count: 1, revenue, units }));
}

/** Adds contributions up per item, in integer cents; the result is sorted by pk, then sk. */
export function sumContributions(contributions: Iterable<AggregateContribution>): AggregateContribution[] {
  const totals = new Map<string, { pk: string; sk: string; count: number; cents: number; units: number }>();
  for (const c of contributions) {
    const key = aggregateKey(c.pk, c.sk);
    const total = totals.get(key) ?? { pk: c.pk, sk: c.sk, count: 0, cents: 0, units: 0 };
    total.count += c.count;
    total.cents += toCents(c.revenue);
    total.units += c.units;
    totals.set(key, total);
  }
  return [...totals.values()]
    .sort((a, b) => (a.pk === b.pk ? compareStrings(a.sk, b.sk) : compareStrings(a.pk, b.pk)))
    .map((t) => ({ pk: t.pk, sk: t.sk, count: t.count, revenue: fromCents(t.cents), units: t.units }));
}

/** What the Aggregates table must hold for these stored events (each counted once). */
export function expectedAggregates(events: Iterable<AggregateSource>): AggregateContribution[] {
  const all: AggregateContribution[] = [];
  for (const event of events) all.push(...aggregateContributions(event));
  return sumContributions(all);
}

/**
 * Per-shard high-water mark attribute: a flat top-level attribute `hwm_<shardId>` rather than a
 * nested `hwm.<shardId>` map entry, because DynamoDB rejects `SET hwm.#shard` while the map does
 * not exist yet and offers no single expression that creates the map and sets the entry.
 */
export function highWaterMarkAttribute(shardId: string): string {
  return `hwm_${shardId}`;
}

/** Kinesis sequence numbers are decimal strings of up to 56 digits: padded, they compare as strings. */
export function paddedSequenceNumber(sequenceNumber: string): string {
  if (!/^\d{1,64}$/.test(sequenceNumber)) {
    throw new Error(`not a Kinesis sequence number: ${sequenceNumber}`);
  }
  return sequenceNumber.padStart(64, '0');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
