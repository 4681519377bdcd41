import type { ColumnMetadata, Field } from '@aws-sdk/client-rds-data';
import { DataApi, fieldValue, type DataApiSender, type DataApiTarget } from '../../lambdas/shared/data-api';
import { errorMessageOf } from '../../lambdas/shared/error-message';
import { CliError } from './errors';
import { table } from './format';
import { terminalText } from './terminal-text';

/**
 * `pipeline sql "<query>"`: one read-only query through the RDS Data API (Aurora, or the local
 * cloud's PGlite), in a READ ONLY transaction that is always rolled back, so nothing it runs can
 * change the database. A SELECT / WITH / VALUES / TABLE query is fetched at most `maxRows` + 1 rows
 * at a time (the Data API answers at most 1 MiB); anything else (SHOW, EXPLAIN) as it comes.
 */

export const DEFAULT_MAX_ROWS = 100;
export const DEFAULT_MAX_WIDTH = 40;

export interface SqlQueryOptions {
  maxRows: number;
}

export interface SqlQueryResult {
  columns: string[];
  rows: Array<Array<string | number | boolean | null>>;
  /** More rows than maxRows came back (only the first maxRows are kept). */
  truncated: boolean;
}

const ROW_QUERY = /^\s*(select|with|values|table)\b/i;

/** The query without trailing semicolons and whitespace; refused when empty. */
export function normalizeQuery(sql: string): string {
  const query = sql.replace(/[\s;]+$/u, '');
  if (query.trim() === '') throw new CliError('the query is empty: pipeline sql "SELECT * FROM v_hourly_event_summary"');
  return query;
}

/** A row query wrapped to bring back at most `limit` rows; other statements as they are. */
export function boundedQuery(query: string, limit: number): string {
  return ROW_QUERY.test(query) ? `SELECT * FROM (\n${query}\n) AS query LIMIT ${limit}` : query;
}

export async function runReadOnlyQuery(sender: DataApiSender, target: DataApiTarget, sql: string, options: SqlQueryOptions): Promise<SqlQueryResult> {
  const query = boundedQuery(normalizeQuery(sql), options.maxRows + 1);
  const api = new DataApi(sender, target);
  const transactionId = await api.begin();
  try {
    await api.execute('SET TRANSACTION READ ONLY', [], { transactionId });
    const answer = await api.execute(query, [], { transactionId, metadata: true });
    const columns = (answer.columnMetadata ?? []).map((column: ColumnMetadata, index) => column.label ?? column.name ?? `column${index + 1}`);
    const rows = (answer.records ?? []).map((record: Field[]) => record.map(fieldValue));
    return { columns, rows: rows.slice(0, options.maxRows), truncated: rows.length > options.maxRows };
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'BadRequestException' || name === 'DatabaseErrorException') throw new CliError(`the database refused the query: ${errorMessageOf(error)}`);
    throw error;
  } finally {
    // Read only, and rolled back whatever happened.
    await api.rollback(transactionId).catch(() => undefined);
  }
}

/** A NULL is shown as NULL; every cell escaped and cut to `maxWidth` characters. */
export function formatQueryResult(result: SqlQueryResult, maxWidth = DEFAULT_MAX_WIDTH): string {
  if (result.columns.length === 0) return '(no result set)';
  const cell = (value: string | number | boolean | null): string | number =>
    value === null ? 'NULL' : typeof value === 'number' ? value : terminalText(value, maxWidth);
  const lines = [table(result.columns.map((column) => terminalText(column, maxWidth)), result.rows.map((row) => row.map(cell)))];
  const count = `${result.rows.length} row${result.rows.length === 1 ? '' : 's'}`;
  lines.push(result.truncated ? `(first ${count}; more exist: raise --max-rows or add a LIMIT)` : `(${count})`);
  return lines.join('\n');
}

/** For --json: one object per row, keyed by column (a repeated column name keeps its last value). */
export function queryResultJson(result: SqlQueryResult): object {
  return {
    columns: result.columns,
    rows: result.rows.map((row) => Object.fromEntries(result.columns.map((column, index) => [column, row[index] ?? null]))),
    truncated: result.truncated,
  };
}
