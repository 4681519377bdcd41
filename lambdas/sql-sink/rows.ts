import type { SqlParameter } from '@aws-sdk/client-rds-data';
import { sqlParam } from '../shared/data-api';
import type { EnrichedEvent } from '../shared/events';

/**
 * An enriched event (contract §2) as a row of `ecommerce_events`
 * (lambdas/sql-migrations/migrations/001_events.ts): one named parameter per column. Times go as
 * their ISO text and are cast in the statement (the Data API binds strings as text), decimals as
 * DECIMAL text, so nothing passes through binary floating point on the way to NUMERIC.
 */

type ColumnKind = 'text' | 'long' | 'bool' | 'decimal' | 'timestamptz' | 'date';

const EVENT_COLUMNS: ReadonlyArray<readonly [keyof EnrichedEvent, ColumnKind]> = [
  ['event_id', 'text'],
  ['event_type', 'text'],
  ['event_time', 'timestamptz'],
  ['user_id', 'text'],
  ['product_id', 'text'],
  ['price', 'decimal'],
  ['currency', 'text'],
  ['session_id', 'text'],
  ['category', 'text'],
  ['quantity', 'long'],
  ['user_segment', 'text'],
  ['device_type', 'text'],
  ['browser', 'text'],
  ['geo_country', 'text'],
  ['geo_city', 'text'],
  ['referrer', 'text'],
  ['campaign_id', 'text'],
  ['search_query', 'text'],
  ['schema_version', 'long'],
  ['original_schema_version', 'long'],
  ['received_at', 'timestamptz'],
  ['processed_at', 'timestamptz'],
  ['total_amount', 'decimal'],
  ['late_arrival', 'bool'],
  ['event_date', 'date'],
  ['event_hour', 'long'],
];

const placeholder = ([name, kind]: readonly [string, ColumnKind]): string =>
  kind === 'timestamptz' ? `:${name}::timestamptz` : kind === 'date' ? `:${name}::date` : `:${name}`;

/** One event, stored once: a second insert of its event_id (retry, replay, resend) does nothing. */
export const INSERT_EVENT_SQL =
  `INSERT INTO ecommerce_events (${EVENT_COLUMNS.map(([name]) => name).join(', ')}, stored_source) ` +
  `VALUES (${EVENT_COLUMNS.map(placeholder).join(', ')}, :stored_source) ON CONFLICT (event_id) DO NOTHING`;

/**
 * Who stored each of the given event ids, and whether it was this transaction
 * (`stored_txid = pg_current_xact_id()`). The ids travel as one comma-separated text (UUIDs have
 * no commas): the Data API has no array parameters for PostgreSQL.
 */
export const STORED_BY_SQL =
  'SELECT event_id, stored_source, stored_txid = pg_current_xact_id() AS created ' +
  "FROM ecommerce_events WHERE event_id = ANY (string_to_array(:event_ids, ','))";

export function eventParameters(event: EnrichedEvent, source: string): SqlParameter[] {
  const values = event as Record<string, unknown>;
  const parameters = EVENT_COLUMNS.map(([name, kind]) => {
    const value = values[name];
    if (kind === 'long') return sqlParam.long(name, typeof value === 'number' ? value : null);
    if (kind === 'bool') return sqlParam.bool(name, typeof value === 'boolean' ? value : null);
    if (kind === 'decimal') return sqlParam.decimal(name, typeof value === 'number' ? value : null);
    // A v1 user id was a number; migration made it a string, so text is all that arrives here.
    return sqlParam.text(name, value === null || value === undefined ? null : String(value));
  });
  parameters.push(sqlParam.text('stored_source', source));
  return parameters;
}

/**
 * The batch's data-quality row (seed 002's data_quality_metrics), at most once per record: it is
 * left out when a row of the shard already covers its first record. Lambda retries a failed batch
 * from the same first record (the primary key makes that a no-op), but after a crash that came
 * after the row was written it may bisect the batch, and the second half starts inside the range
 * already recorded.
 */
export const INSERT_BATCH_METRICS_SQL =
  'INSERT INTO data_quality_metrics (shard_id, first_sequence_number, last_sequence_number, records, valid_records, ' +
  'invalid_records, invalid_by_code, stored, duplicates, lag_avg_seconds, lag_max_seconds) SELECT :shard_id, ' +
  ':first_sequence_number, :last_sequence_number, :records::integer, :valid_records::integer, :invalid_records::integer, ' +
  ':invalid_by_code::jsonb, :stored::integer, :duplicates::integer, :lag_avg_seconds::numeric, :lag_max_seconds::numeric ' +
  'WHERE NOT EXISTS (SELECT 1 FROM data_quality_metrics m WHERE m.shard_id = :shard_id ' +
  'AND m.first_sequence_number::numeric <= :first_sequence_number::numeric ' +
  'AND m.last_sequence_number::numeric >= :first_sequence_number::numeric) ' +
  'ON CONFLICT (shard_id, first_sequence_number) DO NOTHING';

export interface BatchMetricsRow {
  shardId: string;
  firstSequenceNumber: string;
  lastSequenceNumber: string;
  records: number;
  validRecords: number;
  invalidRecords: number;
  /** Records that were not stored events, per error code (a record counted once per code it has). */
  invalidByCode: Record<string, number>;
  /** Events of these records in the table by these records (this attempt or an earlier one). */
  stored: number;
  /** Events of these records another record had stored (client resend, replay). */
  duplicates: number;
  lagAvgSeconds?: number;
  lagMaxSeconds?: number;
}

export function batchMetricsParameters(row: BatchMetricsRow): SqlParameter[] {
  const seconds = (value: number | undefined) => (value === undefined ? null : value.toFixed(3));
  return [
    sqlParam.text('shard_id', row.shardId),
    sqlParam.text('first_sequence_number', row.firstSequenceNumber),
    sqlParam.text('last_sequence_number', row.lastSequenceNumber),
    sqlParam.long('records', row.records),
    sqlParam.long('valid_records', row.validRecords),
    sqlParam.long('invalid_records', row.invalidRecords),
    sqlParam.json('invalid_by_code', row.invalidByCode),
    sqlParam.long('stored', row.stored),
    sqlParam.long('duplicates', row.duplicates),
    sqlParam.decimal('lag_avg_seconds', seconds(row.lagAvgSeconds)),
    sqlParam.decimal('lag_max_seconds', seconds(row.lagMaxSeconds)),
  ];
}
