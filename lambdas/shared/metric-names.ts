import { ERROR_CODES, type ErrorCode } from './events/errors';

/**
 * Every metric the functions publish (Powertools EMF, namespace = stack name, dimension
 * `service`), by the one name the handlers, the CLI (`pipeline status`), the local cloud and the
 * Observability construct (alarms, dashboard) all use. A test greps lambdas/ and lib/ for name
 * literals outside this module.
 */
export const METRIC = {
  // collector
  EventsReceived: 'EventsReceived',
  EventsAccepted: 'EventsAccepted',
  EventsRejected: 'EventsRejected',
  EventsRetry: 'EventsRetry',
  // validator (EventsValid / EventsInvalid: first pass only)
  EventsValid: 'EventsValid',
  EventsInvalid: 'EventsInvalid',
  RecordsUnparseable: 'RecordsUnparseable',
  EventsRedriven: 'EventsRedriven',
  EventsRedriveFailed: 'EventsRedriveFailed',
  EventsReplayed: 'EventsReplayed',
  // validator data quality, per batch
  RecordsIn: 'RecordsIn',
  BatchValidShare: 'BatchValidShare',
  ValidationErrors: 'ValidationErrors',
  // loader
  EventsStored: 'EventsStored',
  EventsDuplicate: 'EventsDuplicate',
  LoadFailed: 'LoadFailed',
  StoreLagSeconds: 'StoreLagSeconds',
  StoreLagMaxSeconds: 'StoreLagMaxSeconds',
  // sql sink (context auroraSink): the same counts for PostgreSQL
  SqlEventsStored: 'SqlEventsStored',
  SqlEventsDuplicate: 'SqlEventsDuplicate',
  SqlLoadFailed: 'SqlLoadFailed',
  // generator
  EventsGenerated: 'EventsGenerated',
  GeneratorErrors: 'GeneratorErrors',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The dimension of ValidationErrors: one of the known error codes, or `other`. */
export const ERROR_CODE_DIMENSION = 'code';

/** The codes of records the validator cannot read as an event (lambdas/validator/route.ts). */
export const UNPARSEABLE_CODES = ['not_json', 'not_an_envelope', 'not_a_dead_letter'] as const;

/**
 * ValidationErrors' `code` values: validateEvent's ERROR_CODES, the unparseable codes, and
 * `other` for anything else, so no record can mint a dimension value (each is a metric to pay for).
 */
export const VALIDATION_ERROR_CODES = [...(Object.keys(ERROR_CODES) as ErrorCode[]), ...UNPARSEABLE_CODES, 'other'] as const;
export type ValidationErrorCode = (typeof VALIDATION_ERROR_CODES)[number];

export function boundedErrorCode(code: string): ValidationErrorCode {
  return (VALIDATION_ERROR_CODES as readonly string[]).includes(code) ? (code as ValidationErrorCode) : 'other';
}

/**
 * Alarm names are `<StackName>-<AlarmId>` (lib/constructs/observability.ts); `pipeline status`
 * lists them by this prefix. Here rather than in the construct, so the CLI need not load aws-cdk-lib.
 */
export const alarmNamePrefix = (stackName: string) => `${stackName}-`;
