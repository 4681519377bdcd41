import * as z from 'zod';
import {
  ANONYMOUS_EVENT_TYPES,
  EVENT_TYPES,
  LIMITS,
  PRICE_REQUIRED_EVENT_TYPES,
  PRODUCT_REQUIRED_EVENT_TYPES,
  QUANTITY_REQUIRED_EVENT_TYPES,
  USER_SEGMENTS,
  V1_EVENT_TYPES,
  type EventType,
  type SchemaVersion,
} from './constants';
import type { ErrorCode } from './errors';
import { NUMBER_LIMITS, decimalPlaces } from './numbers';

/**
 * Text every sink stores as sent: PostgreSQL's text cannot hold the NUL character (U+0000), so a
 * string with one is `invalid_format` here rather than refused by the SQL sink later.
 */
const storable = (schema: z.ZodString) =>
  schema.refine((value) => !value.includes('\u0000'), {
    message: 'must not contain the NUL character (U+0000), which the SQL sink cannot store',
    params: { code: 'invalid_format' },
  });
const text = (max: number = LIMITS.maxString) => storable(z.string().max(max));
const nonEmptyText = (max: number = LIMITS.maxString) => storable(z.string().min(1).max(max));

/**
 * A number with at most `places` decimal places as written in JSON (`too_precise` otherwise), so
 * that every sink stores it exactly: without it 5e-324 or 1e-131 pass a range check and DynamoDB
 * refuses the item later.
 */
const decimal = (field: string, places: number) =>
  z.number().superRefine((value, ctx) => {
    if (decimalPlaces(value) > places) {
      ctx.addIssue({
        code: 'custom',
        message: `${field} must have at most ${places} decimal places (got ${String(value)})`,
        params: { code: 'too_precise' },
        input: value,
      });
    }
  });

const userIdV2 = nonEmptyText();
// v1 producers sent numeric user ids; migration turns them into strings.
const userIdV1 = z.union([nonEmptyText(), z.int().positive()]);

const commonShape = {
  event_id: z.uuid(),
  event_time: z.iso.datetime({ offset: true }),
  product_id: nonEmptyText().optional(),
  price: decimal('price', NUMBER_LIMITS.priceDecimals).min(0).max(NUMBER_LIMITS.priceMax).optional(),
};

export const v1Shape = {
  ...commonShape,
  schema_version: z.literal(1),
  event_type: z.enum(V1_EVENT_TYPES),
  // null means anonymous, allowed only for some event types (see eventRuleIssues).
  user_id: userIdV1.nullable().optional(),
};

const v2Fields = {
  session_id: nonEmptyText().optional(),
  category: text().optional(),
  quantity: z.int().min(1).max(NUMBER_LIMITS.quantityMax).optional(),
  user_segment: z.enum(USER_SEGMENTS).optional(),
};

export const v2Shape = {
  ...commonShape,
  schema_version: z.literal(2),
  event_type: z.enum(EVENT_TYPES),
  user_id: userIdV2.nullable().optional(),
  ...v2Fields,
};

const v3Fields = {
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional(),
  device_type: text().optional(),
  browser: text().optional(),
  geo_country: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .optional(),
  geo_city: text().optional(),
  referrer: text(LIMITS.maxReferrer).optional(),
  campaign_id: text().optional(),
  search_query: nonEmptyText().optional(),
};

export const v3Shape = {
  ...commonShape,
  // Absent means 3; the parsed (canonical) event always carries it.
  schema_version: z.literal(3).default(3),
  event_type: z.enum(EVENT_TYPES),
  user_id: userIdV2.nullable().optional(),
  ...v2Fields,
  ...v3Fields,
};

/** The field names each version knows, in contract order. */
export const FIELDS_BY_VERSION: Record<SchemaVersion, readonly string[]> = {
  1: Object.keys(v1Shape),
  2: Object.keys(v2Shape),
  3: Object.keys(v3Shape),
};

/** What each field must be, phrased to complete "<field> must be ...". Also the docs' rule column. */
export const FIELD_RULES: Record<string, string> = {
  schema_version: '1, 2 or 3 (absent means 3)',
  event_id: 'a UUID string',
  event_type: `one of ${EVENT_TYPES.join(', ')}`,
  event_time: 'an ISO-8601 date-time with Z or an offset, e.g. 2026-11-22T10:00:00Z',
  user_id: `a non-empty string of at most ${LIMITS.maxString} characters, or null for an anonymous event`,
  product_id: `a non-empty string of at most ${LIMITS.maxString} characters`,
  price: `a number from 0 to ${NUMBER_LIMITS.priceMax} with at most ${NUMBER_LIMITS.priceDecimals} decimal places`,
  currency: 'an ISO-4217 code of three capital letters, e.g. USD',
  session_id: `a non-empty string of at most ${LIMITS.maxString} characters`,
  category: `a string of at most ${LIMITS.maxString} characters`,
  quantity: `an integer from 1 to ${NUMBER_LIMITS.quantityMax}`,
  user_segment: `one of ${USER_SEGMENTS.join(', ')}`,
  device_type: `a string of at most ${LIMITS.maxString} characters`,
  browser: `a string of at most ${LIMITS.maxString} characters`,
  geo_country: 'an ISO-3166 alpha-2 code of two capital letters, e.g. DE',
  geo_city: `a string of at most ${LIMITS.maxString} characters`,
  referrer: `a string of at most ${LIMITS.maxReferrer} characters`,
  campaign_id: `a string of at most ${LIMITS.maxString} characters`,
  search_query: `a non-empty string of at most ${LIMITS.maxString} characters`,
};

/** Where v1 differs from the later versions. */
export const FIELD_RULES_V1: Record<string, string> = {
  event_type: `one of ${V1_EVENT_TYPES.join(', ')}`,
  user_id: `a non-empty string of at most ${LIMITS.maxString} characters or a positive integer, or null for an anonymous event`,
};

export function fieldRule(field: string, version: SchemaVersion): string | undefined {
  return (version === 1 ? FIELD_RULES_V1[field] : undefined) ?? FIELD_RULES[field];
}

export interface RuleIssue {
  path: string;
  code: ErrorCode;
  message: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Cross-field business rules of one version (the ones that need more than one field).
 * Reads defensively: it also runs when some fields failed their own checks, so every problem
 * of an event is reported at once. A missing field means `undefined`; a `null` where a field
 * needs a value is the field check's invalid_type, so it is not reported twice.
 */
export function eventRuleIssues(
  event: Record<string, unknown>,
  version: SchemaVersion,
  originalVersion: SchemaVersion = version,
): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const rawType = event.event_type;
  const type = (version === 1 && rawType === 'view' ? 'page_view' : rawType) as EventType;
  if (!(EVENT_TYPES as readonly unknown[]).includes(type)) return issues;

  if ((event.user_id === undefined || event.user_id === null) && !ANONYMOUS_EVENT_TYPES.has(type)) {
    issues.push({
      path: 'user_id',
      code: 'required',
      message: `user_id is required for ${String(rawType)}; only page_view and search may be anonymous`,
    });
  }
  if (event.product_id === undefined && PRODUCT_REQUIRED_EVENT_TYPES.has(type)) {
    issues.push({ path: 'product_id', code: 'required', message: `product_id is required for ${type}` });
  }
  if (event.price === undefined && PRICE_REQUIRED_EVENT_TYPES.has(type)) {
    issues.push({ path: 'price', code: 'required', message: `price is required for ${type}` });
  }
  if (type === 'purchase' && event.price === 0) {
    issues.push({ path: 'price', code: 'too_small', message: 'purchase needs price > 0' });
  }
  if (version >= 2 && event.quantity === undefined && QUANTITY_REQUIRED_EVENT_TYPES.has(type)) {
    issues.push({ path: 'quantity', code: 'required', message: `quantity is required for ${type}` });
  }
  if (version === 3) {
    if (event.price !== undefined && event.currency === undefined) {
      issues.push({ path: 'currency', code: 'required', message: 'currency is required when price is present' });
    }
    // v1/v2 had no search_query, so a search migrated from them has none to carry.
    if (type === 'search' && event.search_query === undefined && originalVersion === 3) {
      issues.push({ path: 'search_query', code: 'required', message: 'search_query is required for search' });
    }
  }
  return issues;
}

function storedOriginalVersion(event: Record<string, unknown>): SchemaVersion {
  const original = event.original_schema_version;
  return original === 1 || original === 2 ? original : 3;
}

function withRules<T extends z.ZodObject>(schema: T, version: SchemaVersion, enriched = false): T {
  return schema.superRefine(
    (event, ctx) => {
      const record = event as Record<string, unknown>;
      const originalVersion = enriched ? storedOriginalVersion(record) : version;
      for (const issue of eventRuleIssues(record, version, originalVersion)) {
        ctx.addIssue({
          code: 'custom',
          path: [issue.path],
          message: issue.message,
          params: { code: issue.code },
          input: (event as Record<string, unknown>)[issue.path],
        });
      }
    },
    // Run even when field checks failed, so one response lists every problem.
    { when: (payload) => isRecord(payload.value) },
  );
}

/**
 * Strict per-version schemas: field checks plus the cross-field business rules. The time window
 * rules need the receipt time and live in validateEvent.
 */
export const eventV1Schema = withRules(z.strictObject(v1Shape), 1);
export const eventV2Schema = withRules(z.strictObject(v2Shape), 2);
export const eventV3Schema = withRules(z.strictObject(v3Shape), 3);

export type EventV1 = z.infer<typeof eventV1Schema>;
export type EventV2 = z.infer<typeof eventV2Schema>;
/** The canonical event every older version migrates to (schema_version: 3). */
export type EventV3 = z.infer<typeof eventV3Schema>;

export const EVENT_SCHEMAS = { 1: eventV1Schema, 2: eventV2Schema, 3: eventV3Schema } as const;

export const enrichmentShape = {
  received_at: z.iso.datetime({ offset: true }),
  processed_at: z.iso.datetime({ offset: true }),
  /** price x quantity (quantity defaults to 1) to the cent; null when the event has no price. */
  total_amount: decimal('total_amount', NUMBER_LIMITS.amountDecimals)
    .min(0)
    .max(NUMBER_LIMITS.priceMax * NUMBER_LIMITS.quantityMax)
    .nullable(),
  late_arrival: z.boolean(),
  original_schema_version: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  event_date: z.iso.date(),
  event_hour: z.int().min(0).max(23),
};

export const ENRICHMENT_FIELDS: readonly string[] = Object.keys(enrichmentShape);

/** The stored event: the v3 event plus the derived fields. */
export const enrichedEventSchema = withRules(
  z.strictObject({ ...v3Shape, schema_version: z.literal(3), ...enrichmentShape }),
  3,
  true,
);
export type EnrichedEvent = z.infer<typeof enrichedEventSchema>;
