import type { FieldError } from '../records';

export type { FieldError } from '../records';

/**
 * Every code validateEvent can report. Stable: DLQ message attributes, the console and the CLI
 * filter on them, so a code is never renamed, only added.
 */
export const ERROR_CODES = {
  not_an_object: 'the event is not a JSON object',
  too_large: 'the event is larger than LIMITS.maxEventBytes (32 KiB) serialised as JSON',
  unsupported_schema_version: 'schema_version is present but not 1, 2 or 3',
  unknown_field: 'a field the schema of that version does not know (path names the field)',
  required: 'a field that is missing but required (always, for this event type, or with another field)',
  invalid_type: 'a field of the wrong JSON type (e.g. a string where a number belongs, or null)',
  invalid_value: 'a value outside the allowed set (event_type, user_segment)',
  invalid_format: 'a string in the wrong format (UUID, ISO-8601 date-time, currency, country)',
  too_small: 'a number below its minimum, or a string shorter than allowed (also: purchase with price 0)',
  too_big: 'a number above its maximum, or a string longer than allowed',
  too_precise: 'a number with more decimal places than allowed (price: at most 4), which a sink could not store exactly',
  in_future: 'event_time is more than 5 minutes after the event was received',
  too_old: 'event_time is more than 7 days before the event was received',
  too_many_errors: 'the event has more errors than LIMITS.maxErrorsPerEvent; the last entry counts the ones not listed',
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export function fieldError(path: string, code: ErrorCode, message: string): FieldError {
  return { path, code, message };
}

/** Dotted string path as the contract wants it: `price`, `items.0.sku`. */
export function dottedPath(path: readonly PropertyKey[]): string {
  return path.map((segment) => String(segment)).join('.');
}
