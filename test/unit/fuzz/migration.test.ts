import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EVENT_TYPES,
  QUANTITY_REQUIRED_EVENT_TYPES,
  enrichEvent,
  enrichedEventSchema,
  eventV3Schema,
  migrateToV3,
  stripEnrichment,
  validateEvent,
  type EventType,
  type SchemaVersion,
} from '../../../lambdas/shared/events';
import { validV1, validV2, validV3, type Event } from './arbitraries';
import { PROPERTY_TIMEOUT_MS, fuzzParams } from './settings';

// Property-based: arbitrary valid v1 and v2 events (generated from their schemas' rules) migrate
// to a v3 event that validates and keeps every field the migration rules say it keeps.

const RECEIVED_AT = new Date('2026-11-22T10:00:00.000Z');
const PROCESSED_AT = new Date(RECEIVED_AT.getTime() + 2_000);

/** The v3 event docs/events.md's migration rules make of a valid v1/v2 event, written out independently. */
function expectedV3(event: Event, version: SchemaVersion): Event {
  const out: Event = { ...event, schema_version: 3 };
  if (version === 1) {
    if (out.event_type === 'view') out.event_type = 'page_view';
    if (typeof out.user_id === 'number') out.user_id = String(out.user_id);
    if (QUANTITY_REQUIRED_EVENT_TYPES.has(out.event_type as EventType)) out.quantity = 1;
  }
  if (version <= 2 && out.price !== undefined) out.currency = 'USD';
  return out;
}

const versioned = fc.oneof(
  validV1(RECEIVED_AT).map((event) => ({ event, version: 1 as const })),
  validV2(RECEIVED_AT).map((event) => ({ event, version: 2 as const })),
);

describe('migration (fast-check)', () => {
  it(
    'every valid v1/v2 event validates, migrates to exactly the v3 event the rules describe, and records its version',
    () => {
      fc.assert(
        fc.property(versioned, ({ event, version }) => {
          const before = structuredClone(event);
          const verdict = validateEvent(event, RECEIVED_AT);
          if (!verdict.ok) throw new Error(`generated v${version} event is invalid: ${JSON.stringify(verdict.errors)}`);
          expect(event).toEqual(before); // validation leaves the input alone
          expect(verdict.originalVersion).toBe(version);

          const migrated = verdict.event as Event;
          expect(migrated).toStrictEqual(expectedV3(event, version));
          // Identity, times, product, price, quantity and currency, as the rules say.
          for (const field of ['event_id', 'event_time', 'product_id', 'price', 'session_id', 'category', 'user_segment']) {
            expect(migrated[field]).toBe(event[field]);
          }
          expect(EVENT_TYPES).toContain(migrated.event_type);
          if (migrated.price !== undefined) expect(migrated.currency).toBe('USD');
          else expect(migrated).not.toHaveProperty('currency');

          // The v3 schema accepts it; the one thing v1/v2 could not carry is a search's search_query.
          const asV3 = migrated.event_type === 'search' && migrated.search_query === undefined ? { ...migrated, search_query: 'q' } : migrated;
          expect(eventV3Schema.safeParse(asV3).success).toBe(true);

          // The stored event records the original version and passes the stored-event schema.
          const enriched = enrichEvent(verdict.event, { receivedAt: RECEIVED_AT, processedAt: PROCESSED_AT, originalVersion: verdict.originalVersion });
          expect(enriched.original_schema_version).toBe(version);
          const stored = enrichedEventSchema.safeParse(JSON.parse(JSON.stringify(enriched)));
          if (!stored.success) throw new Error(`stored-event schema refused ${JSON.stringify(enriched)}: ${stored.error.message}`);
        }),
        fuzzParams(500),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'migrating is deterministic and does not change its input',
    () => {
      fc.assert(
        fc.property(versioned, ({ event, version }) => {
          const first = validateEvent(event, RECEIVED_AT);
          const second = validateEvent(structuredClone(event), RECEIVED_AT);
          expect(second).toStrictEqual(first);
          const input = { ...event };
          const once = migrateToV3(input as never, version);
          expect(migrateToV3(input as never, version)).toStrictEqual(once);
          expect(input).toStrictEqual(event);
          // Migrating a v3 event again changes nothing.
          expect(migrateToV3(once, 3)).toStrictEqual(once);
        }),
        fuzzParams(300),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'a stored v1/v2/v3 event taken back by stripEnrichment (load_failed redrive) validates under its original version to the same v3 event',
    () => {
      const anyVersion = fc.oneof(
        versioned,
        validV3(RECEIVED_AT).map((event) => ({ event, version: 3 as const })),
      );
      fc.assert(
        fc.property(anyVersion, ({ event, version }) => {
          const verdict = validateEvent(event, RECEIVED_AT);
          if (!verdict.ok) throw new Error(`generated v${version} event is invalid: ${JSON.stringify(verdict.errors)}`);
          const enriched = enrichEvent(verdict.event, { receivedAt: RECEIVED_AT, processedAt: PROCESSED_AT, originalVersion: verdict.originalVersion });
          const stored = JSON.parse(JSON.stringify(enriched)) as Record<string, unknown>;
          const { event: back, receivedAt } = stripEnrichment(stored);
          expect(receivedAt).toBe(RECEIVED_AT.toISOString());
          const again = validateEvent(back, new Date(receivedAt!));
          if (!again.ok) throw new Error(`stripped event is invalid: ${JSON.stringify(again.errors)} (${JSON.stringify(back)})`);
          expect(again.originalVersion).toBe(version);
          expect(again.event).toStrictEqual(verdict.event);
        }),
        fuzzParams(300),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
