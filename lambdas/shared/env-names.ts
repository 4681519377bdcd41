/**
 * Every environment variable the constructs set (lib/constructs: the `bind*` helpers,
 * `environment`, `addEnvironment`) and the handlers read (`getStringFromEnv`,
 * `getNumberFromEnv`), by the one name both sides import, grouped per function. A test greps
 * lambdas/ and lib/constructs for name literals outside this module.
 */
export const ENV = {
  /** Set on every function by PipelineFunction; read by Powertools (and powertools.ts). */
  common: {
    POWERTOOLS_SERVICE_NAME: 'POWERTOOLS_SERVICE_NAME',
    POWERTOOLS_METRICS_NAMESPACE: 'POWERTOOLS_METRICS_NAMESPACE',
    POWERTOOLS_LOG_LEVEL: 'POWERTOOLS_LOG_LEVEL',
    NODE_OPTIONS: 'NODE_OPTIONS',
  },
  collector: {
    RAW_STREAM_NAME: 'RAW_STREAM_NAME',
    /** JSON array of context `corsAllowedOrigins`. */
    CORS_ALLOWED_ORIGINS: 'CORS_ALLOWED_ORIGINS',
  },
  validator: {
    PROCESSED_STREAM_NAME: 'PROCESSED_STREAM_NAME',
    DEAD_LETTER_QUEUE_URL: 'DEAD_LETTER_QUEUE_URL',
  },
  loader: {
    EVENTS_TABLE_NAME: 'EVENTS_TABLE_NAME',
    AGGREGATES_TABLE_NAME: 'AGGREGATES_TABLE_NAME',
    DEAD_LETTER_QUEUE_URL: 'DEAD_LETTER_QUEUE_URL',
    EVENTS_TTL_DAYS: 'EVENTS_TTL_DAYS',
    AGGREGATE_WRITE_SHARDS: 'AGGREGATE_WRITE_SHARDS',
  },
  /** The SQL sink (context auroraSink) and its schema migrations: the Data API's target. */
  sqlSink: {
    AURORA_CLUSTER_ARN: 'AURORA_CLUSTER_ARN',
    AURORA_SECRET_ARN: 'AURORA_SECRET_ARN',
    AURORA_DATABASE_NAME: 'AURORA_DATABASE_NAME',
    DEAD_LETTER_QUEUE_URL: 'DEAD_LETTER_QUEUE_URL',
  },
  generator: {
    INGEST_URL: 'INGEST_URL',
    API_KEY_SECRET_ARN: 'API_KEY_SECRET_ARN',
    GENERATOR_EVENTS_PER_RUN: 'GENERATOR_EVENTS_PER_RUN',
    GENERATOR_INVALID_SHARE: 'GENERATOR_INVALID_SHARE',
  },
} as const;

/** Every name, once (DEAD_LETTER_QUEUE_URL is both the validator's and the loader's). */
export const ENV_NAMES: readonly string[] = [...new Set(Object.values(ENV).flatMap((group) => Object.values(group)))];
