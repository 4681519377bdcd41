export const EVENT_TYPES = [
  'page_view',
  'search',
  'add_to_cart',
  'remove_from_cart',
  'wishlist',
  'purchase',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** v1 also had `view`, which migration reads as `page_view`. */
export const V1_EVENT_TYPES = [...EVENT_TYPES, 'view'] as const;
export type EventTypeV1 = (typeof V1_EVENT_TYPES)[number];

export const USER_SEGMENTS = ['new', 'returning', 'premium', 'inactive', 'at_risk'] as const;
export type UserSegment = (typeof USER_SEGMENTS)[number];

export const SCHEMA_VERSIONS = [1, 2, 3] as const;
export type SchemaVersion = (typeof SCHEMA_VERSIONS)[number];
export const LATEST_SCHEMA_VERSION = 3;

export const LIMITS = {
  /** One event, serialised as JSON (UTF-8 bytes). */
  maxEventBytes: 32_768,
  maxBatchEvents: 500,
  /** Decoded request body. */
  maxBodyBytes: 1_048_576,
  maxDepth: 32,
  /**
   * Errors reported per event: the rest are summed up in one `too_many_errors` entry, so a
   * response or a dead letter stays small (an event with thousands of unknown keys would
   * otherwise produce an error list far larger than the event and than an SQS message may be).
   */
  maxErrorsPerEvent: 20,
  maxString: 256,
  maxReferrer: 2_048,
  /** event_time may be at most this far after receipt (clock skew). */
  maxFutureSkewMs: 300_000,
  /** event_time may be at most this far before receipt. */
  maxAgeMs: 604_800_000,
  /** event_time further than this before receipt marks the event late_arrival. */
  lateArrivalMs: 600_000,
} as const;

/** Event types that may come without a user (anonymous browsing). */
export const ANONYMOUS_EVENT_TYPES: ReadonlySet<EventType> = new Set(['page_view', 'search']);
export const PRODUCT_REQUIRED_EVENT_TYPES: ReadonlySet<EventType> = new Set([
  'add_to_cart',
  'remove_from_cart',
  'wishlist',
  'purchase',
]);
export const PRICE_REQUIRED_EVENT_TYPES: ReadonlySet<EventType> = new Set(['add_to_cart', 'purchase']);
/** v2 and later: cart events and purchase carry a quantity. */
export const QUANTITY_REQUIRED_EVENT_TYPES: ReadonlySet<EventType> = new Set([
  'add_to_cart',
  'remove_from_cart',
  'purchase',
]);
