import type { z } from 'zod';
import {
  LIMITS,
  QUANTITY_REQUIRED_EVENT_TYPES,
  SCHEMA_VERSIONS,
  type EventType,
  type SchemaVersion,
} from './constants';
import { dottedPath, fieldError, type ErrorCode, type FieldError } from './errors';
import {
  EVENT_SCHEMAS,
  FIELDS_BY_VERSION,
  fieldRule,
  type EventV1,
  type EventV2,
  type EventV3,
} from './schemas';

export type ValidationResult =
  | { ok: true; event: EventV3; originalVersion: SchemaVersion }
  | { ok: false; errors: FieldError[]; originalVersion?: number };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const segment of path) {
    if (!isRecord(current) && !Array.isArray(current)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/** A short rendering of the offending value, so the producer sees what was sent. */
function shown(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length <= 60 ? JSON.stringify(value) : `a string of ${value.length} characters`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function firstVersionWith(field: string): SchemaVersion | undefined {
  return SCHEMA_VERSIONS.find((version) => FIELDS_BY_VERSION[version].includes(field));
}

const ZOD_CODES: Partial<Record<string, ErrorCode>> = {
  invalid_type: 'invalid_type',
  invalid_union: 'invalid_type',
  invalid_value: 'invalid_value',
  invalid_format: 'invalid_format',
  too_small: 'too_small',
  too_big: 'too_big',
};

function toFieldErrors(issue: z.core.$ZodIssue, input: unknown, version: SchemaVersion): FieldError[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const path = dottedPath([...issue.path, key]);
      const since = firstVersionWith(key);
      const message =
        since !== undefined && since > version
          ? `${key} is not a schema_version ${version} field (it exists from version ${since}; send schema_version ${since} or leave it out)`
          : `unknown field ${key}`;
      return fieldError(path, 'unknown_field', message);
    });
  }
  const path = dottedPath(issue.path);
  if (issue.code === 'custom') {
    const code = (issue.params?.code as ErrorCode | undefined) ?? 'invalid_value';
    return [fieldError(path, code, issue.message)];
  }
  const value = valueAt(input, issue.path);
  if (value === undefined) return [fieldError(path, 'required', `${path} is required`)];
  const field = String(issue.path[issue.path.length - 1] ?? '');
  const rule = fieldRule(field, version);
  const code = ZOD_CODES[issue.code] ?? 'invalid_value';
  const message = rule ? `${path} must be ${rule} (got ${shown(value)})` : `${path}: ${issue.message}`;
  return [fieldError(path, code, message)];
}

/** The instants ISO-8601 writes with a four-digit year in UTC. */
const FIRST_ISO_INSTANT_MS = Date.parse('0000-01-01T00:00:00.000Z');
const LAST_ISO_INSTANT_MS = Date.parse('9999-12-31T23:59:59.999Z');

function timeWindowErrors(eventTime: unknown, receivedAt: Date): FieldError[] {
  if (typeof eventTime !== 'string') return [];
  const eventMs = Date.parse(eventTime);
  // The format check passed but the calendar date does not exist (e.g. February 30).
  if (Number.isNaN(eventMs)) {
    return [fieldError('event_time', 'invalid_format', `event_time must be a real date-time (got ${shown(eventTime)})`)];
  }
  // Written with an offset, a date-time of year 0000 or 9999 can fall outside them in UTC, where the
  // stored event's event_date (yyyy-mm-dd) could not be written.
  if (eventMs < FIRST_ISO_INSTANT_MS || eventMs > LAST_ISO_INSTANT_MS) {
    return [fieldError('event_time', 'invalid_format', `event_time must fall in the years 0000 to 9999 in UTC (got ${shown(eventTime)})`)];
  }
  const receivedMs = receivedAt.getTime();
  if (eventMs - receivedMs > LIMITS.maxFutureSkewMs) {
    return [
      fieldError(
        'event_time',
        'in_future',
        `event_time ${eventTime} is more than 5 minutes after the event was received (${receivedAt.toISOString()})`,
      ),
    ];
  }
  if (receivedMs - eventMs > LIMITS.maxAgeMs) {
    return [
      fieldError(
        'event_time',
        'too_old',
        `event_time ${eventTime} is more than 7 days before the event was received (${receivedAt.toISOString()})`,
      ),
    ];
  }
  return [];
}

function serialisedBytes(input: unknown): number | undefined {
  try {
    return Buffer.byteLength(JSON.stringify(input), 'utf8');
  } catch {
    return undefined;
  }
}

function capped(errors: FieldError[]): FieldError[] {
  if (errors.length <= LIMITS.maxErrorsPerEvent) return errors;
  const kept = errors.slice(0, LIMITS.maxErrorsPerEvent - 1);
  const omitted = errors.length - kept.length;
  return [...kept, fieldError('', 'too_many_errors', `${omitted} more errors not listed (${errors.length} in all)`)];
}

/**
 * Validate one event as received (any version; absent schema_version means 3) against its own
 * version's schema and the business rules, with receivedAt as the reference time for every time
 * rule; on success migrate to v3. Reports every problem of the event. Never throws for bad input;
 * throws a TypeError only for an invalid receivedAt (a caller bug, not bad input).
 */
export function validateEvent(input: unknown, receivedAt: Date): ValidationResult {
  if (!(receivedAt instanceof Date) || Number.isNaN(receivedAt.getTime())) {
    throw new TypeError('validateEvent needs a valid receivedAt Date');
  }
  if (!isRecord(input)) {
    return { ok: false, errors: [fieldError('', 'not_an_object', `an event must be a JSON object, got ${shown(input)}`)] };
  }
  const declared = input.schema_version;
  if (declared !== undefined && !(SCHEMA_VERSIONS as readonly unknown[]).includes(declared)) {
    return {
      ok: false,
      errors: [
        fieldError(
          'schema_version',
          'unsupported_schema_version',
          `schema_version must be 1, 2 or 3 (or absent, meaning 3); got ${shown(declared)}`,
        ),
      ],
    };
  }
  const version = (declared ?? 3) as SchemaVersion;
  const errors: FieldError[] = [];

  const bytes = serialisedBytes(input);
  if (bytes !== undefined && bytes > LIMITS.maxEventBytes) {
    errors.push(
      fieldError('', 'too_large', `the event is ${bytes} bytes serialised; at most ${LIMITS.maxEventBytes} are allowed`),
    );
  }

  const parsed = EVENT_SCHEMAS[version].safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) errors.push(...toFieldErrors(issue, input, version));
  }
  const timeFieldFailed = errors.some((error) => error.path === 'event_time');
  if (!timeFieldFailed) errors.push(...timeWindowErrors(input.event_time, receivedAt));

  if (errors.length > 0 || !parsed.success) return { ok: false, errors: capped(errors), originalVersion: version };
  return { ok: true, event: migrateToV3(parsed.data, version), originalVersion: version };
}

/**
 * Migrate a valid event of any version to v3, one step at a time (v1 -> v2 -> v3):
 * v1 -> v2: `view` becomes `page_view`, a numeric user_id becomes a string, cart events and
 * purchase get quantity 1. v2 -> v3: currency `USD` when a price is present.
 */
export function migrateToV3(event: EventV1 | EventV2 | EventV3, fromVersion: SchemaVersion): EventV3 {
  let current: Record<string, unknown> = { ...event };
  if (fromVersion === 1) current = migrateV1ToV2(current);
  if (fromVersion <= 2) current = migrateV2ToV3(current);
  return { ...current, schema_version: 3 } as EventV3;
}

function migrateV1ToV2(event: Record<string, unknown>): Record<string, unknown> {
  const next: Record<string, unknown> = { ...event, schema_version: 2 };
  if (next.event_type === 'view') next.event_type = 'page_view';
  if (typeof next.user_id === 'number') next.user_id = String(next.user_id);
  if (next.quantity === undefined && QUANTITY_REQUIRED_EVENT_TYPES.has(next.event_type as EventType)) {
    next.quantity = 1;
  }
  return next;
}

function migrateV2ToV3(event: Record<string, unknown>): Record<string, unknown> {
  const next: Record<string, unknown> = { ...event, schema_version: 3 };
  if (next.price !== undefined && next.currency === undefined) next.currency = 'USD';
  return next;
}
