// Event schemas v1..v3, business rules, migration and enrichment: the one source of truth for
// the collector, the validator, the generator, the CLI, the tests and docs/events.md.
export {
  ANONYMOUS_EVENT_TYPES,
  EVENT_TYPES,
  LATEST_SCHEMA_VERSION,
  LIMITS,
  PRICE_REQUIRED_EVENT_TYPES,
  PRODUCT_REQUIRED_EVENT_TYPES,
  QUANTITY_REQUIRED_EVENT_TYPES,
  SCHEMA_VERSIONS,
  USER_SEGMENTS,
  V1_EVENT_TYPES,
  type EventType,
  type EventTypeV1,
  type SchemaVersion,
  type UserSegment,
} from './constants';
export { ERROR_CODES, type ErrorCode, type FieldError } from './errors';
export {
  ENRICHMENT_FIELDS,
  EVENT_SCHEMAS,
  FIELDS_BY_VERSION,
  FIELD_RULES,
  FIELD_RULES_V1,
  enrichedEventSchema,
  eventRuleIssues,
  eventV1Schema,
  eventV2Schema,
  eventV3Schema,
  type EnrichedEvent,
  type EventV1,
  type EventV2,
  type EventV3,
} from './schemas';
export {
  NUMBER_LIMITS,
  decimalPlaces,
  isDynamoStorable,
  significantDigits,
} from './numbers';
export { migrateToV3, validateEvent, type ValidationResult } from './validate';
export {
  amountToCents,
  enrichEvent,
  partitionKeyOf,
  stripEnrichment,
  type EnrichmentContext,
} from './enrich';
