import { LIMITS, type SchemaVersion } from './constants';
import { decimalOf } from './numbers';
import { ENRICHMENT_FIELDS, type EnrichedEvent, type EventV3 } from './schemas';

export interface EnrichmentContext {
  receivedAt: Date;
  processedAt: Date;
  originalVersion: SchemaVersion;
}

/**
 * price x quantity rounded half-up to the cent, computed in integers on the decimal digits of the
 * price (a valid price has at most 4: ten-thousandths), so binary floating point cannot shift it:
 * 0.1 x 3 is 0.3, 19.99 x 3 is 59.97, 1.005 x 1 is 1.01.
 */
export function amountToCents(price: number, quantity: number): number {
  const { digits: magnitude, scale, negative } = decimalOf(price);
  const digits = magnitude * BigInt(quantity); // value = digits / 10^scale
  let cents: bigint;
  if (scale <= 2) {
    cents = digits * 10n ** BigInt(2 - scale);
  } else {
    const divisor = 10n ** BigInt(scale - 2);
    cents = (digits + divisor / 2n) / divisor;
  }
  return (negative ? -Number(cents) : Number(cents)) / 100;
}

/** The stored event: the v3 event plus the fields derived from it and from its receipt. */
export function enrichEvent(event: EventV3, ctx: EnrichmentContext): EnrichedEvent {
  const eventTime = new Date(event.event_time);
  const iso = eventTime.toISOString();
  return {
    ...event,
    schema_version: 3,
    received_at: ctx.receivedAt.toISOString(),
    processed_at: ctx.processedAt.toISOString(),
    total_amount: event.price === undefined ? null : amountToCents(event.price, event.quantity ?? 1),
    late_arrival: ctx.receivedAt.getTime() - eventTime.getTime() > LIMITS.lateArrivalMs,
    original_schema_version: ctx.originalVersion,
    event_date: iso.slice(0, 10),
    event_hour: eventTime.getUTCHours(),
  };
}

/**
 * Turn a stored/enriched event back into the event it came from plus its received_at (used when
 * a load_failed dead letter is redriven). Drops the derived fields and `_`-prefixed storage
 * bookkeeping (such as the loader's `_source`; no event field starts with `_`). An event that
 * arrived as v1 or v2 goes back to that version (undoing what migration added), so validating it
 * again applies the rules it was accepted under and keeps its original_schema_version.
 */
export function stripEnrichment(record: Record<string, unknown>): {
  event: Record<string, unknown>;
  receivedAt?: string;
} {
  const event: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (ENRICHMENT_FIELDS.includes(key) || key.startsWith('_')) continue;
    event[key] = value;
  }
  const original = record.original_schema_version;
  if (original === 1 || original === 2) {
    event.schema_version = original;
    // Values other than the ones migration adds were put there by hand: keep them, so
    // validation names them instead of silently dropping an operator's edit.
    if (event.currency === 'USD') delete event.currency;
    if (original === 1 && event.quantity === 1) delete event.quantity;
  }
  const receivedAt = record.received_at;
  return typeof receivedAt === 'string' ? { event, receivedAt } : { event };
}

function keyPart(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Used only when an event has none of the keyed fields, which the collector prevents. */
const FALLBACK_PARTITION_KEY = 'unkeyed';

/**
 * Partition key for both streams: session_id, else user_id, else event_id, as a string, so a
 * session's events stay in order on one shard. Kinesis allows 256 Unicode characters; cutting
 * by code point never leaves half a surrogate pair.
 */
export function partitionKeyOf(event: Record<string, unknown>): string {
  const key =
    keyPart(event.session_id) ?? keyPart(event.user_id) ?? keyPart(event.event_id) ?? FALLBACK_PARTITION_KEY;
  const codePoints = Array.from(key);
  return codePoints.length <= LIMITS.maxString ? key : codePoints.slice(0, LIMITS.maxString).join('');
}
