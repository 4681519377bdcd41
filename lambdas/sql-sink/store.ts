import type { SqlParameter } from '@aws-sdk/client-rds-data';
import { DATA_API_REQUEST_LIMIT_BYTES, isDataRefusal, sqlParam, type DataApi } from '../shared/data-api';
import { chunkByLimits } from '../shared/retry';
import type { StoreEntry } from '../loader/store';
import { INSERT_BATCH_METRICS_SQL, INSERT_EVENT_SQL, STORED_BY_SQL, batchMetricsParameters, eventParameters, type BatchMetricsRow } from './rows';

export type { StoreEntry } from '../loader/store';

/** What became of one entry of a committed write. */
export type SqlOutcome =
  /** Stored by this write. */
  | 'created'
  /** Stored earlier by the same record (an earlier attempt of this batch). */
  | 'rewritten'
  /** Stored earlier by another record (a client resend, a replay). */
  | 'duplicate';

export type SqlWriteResult =
  | { kind: 'committed'; outcomes: SqlOutcome[] }
  /** Nothing was written: the database refused one of the entries (find it by writing fewer). */
  | { kind: 'invalid'; message: string };

/**
 * The SQL sink's store port: events written all or nothing, each event_id at most once, and the
 * batch's data-quality row at most once. A transient failure (Aurora resuming, throttling, the
 * network) is thrown.
 */
export interface SqlEventStore {
  readonly maxEntriesPerWrite: number;
  write(entries: readonly StoreEntry[]): Promise<SqlWriteResult>;
  recordBatch(row: BatchMetricsRow): Promise<void>;
}

/** Parameter sets per BatchExecuteStatement: well under the Data API's 4 MiB request. */
const BATCH_LIMITS = { maxCount: 500, maxBytes: DATA_API_REQUEST_LIMIT_BYTES - 1024 * 1024 };
const byteSize = (set: SqlParameter[]) => Buffer.byteLength(JSON.stringify(set));

/** The store on PostgreSQL through the RDS Data API (Aurora, or the local cloud's PGlite). */
export class DataApiEventStore implements SqlEventStore {
  /** Also bounds the ownership query's answer (one row per entry) under the Data API's 1,000 rows. */
  readonly maxEntriesPerWrite = 500;

  constructor(private readonly api: DataApi) {}

  /**
   * One transaction: `INSERT ... ON CONFLICT (event_id) DO NOTHING` for every entry
   * (BatchExecuteStatement), then who stored each event_id; committed, or nothing at all.
   */
  async write(entries: readonly StoreEntry[]): Promise<SqlWriteResult> {
    if (entries.length === 0) return { kind: 'committed', outcomes: [] };
    if (entries.length > this.maxEntriesPerWrite) throw new RangeError(`at most ${this.maxEntriesPerWrite} entries per write, got ${entries.length}`);
    const sets = entries.map((entry) => eventParameters(entry.event, entry.source));
    try {
      return await this.api.inTransaction(async (transactionId) => {
        for (const chunk of chunkByLimits(sets, { ...BATCH_LIMITS, sizeOf: byteSize }).chunks) {
          await this.api.batch(INSERT_EVENT_SQL, chunk, transactionId);
        }
        const ids = [...new Set(entries.map((entry) => entry.event.event_id))];
        const answer = await this.api.execute(STORED_BY_SQL, [sqlParam.text('event_ids', ids.join(','))], { transactionId });
        const owners = new Map<string, { source: string; created: boolean }>();
        for (const row of answer.records ?? []) {
          owners.set(row[0]?.stringValue ?? '', { source: row[1]?.stringValue ?? '', created: row[2]?.booleanValue === true });
        }
        const outcomes = entries.map((entry): SqlOutcome => {
          const owner = owners.get(entry.event.event_id);
          if (!owner) throw new Error(`event ${entry.event.event_id} is neither inserted nor present`);
          if (owner.source !== entry.source) return 'duplicate';
          return owner.created ? 'created' : 'rewritten';
        });
        return { kind: 'committed' as const, outcomes };
      });
    } catch (error) {
      if (isDataRefusal(error)) return { kind: 'invalid', message: (error as Error).message };
      throw error;
    }
  }

  async recordBatch(row: BatchMetricsRow): Promise<void> {
    await this.api.execute(INSERT_BATCH_METRICS_SQL, batchMetricsParameters(row));
  }
}
