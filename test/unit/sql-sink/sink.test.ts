import { describe, expect, it } from 'vitest';
import type { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { isDataRefusal, isTransientDataApiError } from '../../../lambdas/shared/data-api';
import { splitStatements } from '../../../lambdas/sql-migrations/migrate';
import { MIGRATIONS } from '../../../lambdas/sql-migrations/migrations';
import { INSERT_EVENT_SQL, eventParameters } from '../../../lambdas/sql-sink/rows';
import { sinkRecords, type SinkDeps } from '../../../lambdas/sql-sink/sink';
import type { SqlEventStore, SqlWriteResult, StoreEntry } from '../../../lambdas/sql-sink/store';
import type { BatchMetricsRow } from '../../../lambdas/sql-sink/rows';
import { toPositional } from '../../../tools/local-cloud/services/rds-data-sql';
import { enrichedEvent, kinesisRecord, sequenceNumber } from '../loader/helpers';

// The SqlSink's batch logic against an in-memory store: exactly-once outcomes, retries then the
// hand-back point, refused events found by halving and dead-lettered, the batch's quality row.
const noSleep = { now: () => 0, sleep: async () => undefined, random: () => 0 };

class MemoryStore implements SqlEventStore {
  readonly maxEntriesPerWrite = 3;
  readonly owners = new Map<string, string>();
  readonly rows: BatchMetricsRow[] = [];
  writes = 0;
  failWrites = 0;
  refuse = new Set<string>();
  async write(entries: readonly StoreEntry[]): Promise<SqlWriteResult> {
    this.writes += 1;
    if (this.failWrites > 0) {
      this.failWrites -= 1;
      throw Object.assign(new Error('resuming'), { name: 'DatabaseResumingException', $metadata: {} });
    }
    const refused = entries.find((entry) => this.refuse.has(entry.event.event_id));
    if (refused) return { kind: 'invalid', message: `ERROR: refused ${refused.event.event_id}; SQLState: 23514` };
    const before = new Map(this.owners);
    for (const entry of entries) if (!this.owners.has(entry.event.event_id)) this.owners.set(entry.event.event_id, entry.source);
    return {
      kind: 'committed',
      outcomes: entries.map((entry) => {
        const owner = this.owners.get(entry.event.event_id);
        if (owner !== entry.source) return 'duplicate';
        return before.has(entry.event.event_id) ? 'rewritten' : 'created';
      }),
    };
  }
  async recordBatch(row: BatchMetricsRow): Promise<void> {
    if (!this.rows.some((r) => r.shardId === row.shardId && r.firstSequenceNumber === row.firstSequenceNumber)) this.rows.push(row);
  }
}

function sqsRecorder() {
  const sent: unknown[] = [];
  const sqs = {
    send: async (command: SendMessageBatchCommand) => {
      const entries = command.input.Entries ?? [];
      sent.push(...entries.map((e) => JSON.parse(e.MessageBody!)));
      return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
    },
  } as unknown as SinkDeps['sqs'];
  return { sqs, sent };
}

const records = (n: number) => Array.from({ length: n }, (_, i) => kinesisRecord(enrichedEvent(), sequenceNumber(i + 1)));

describe('sinkRecords', () => {
  it('stores each event once; a retried batch rewrites, a resend is a duplicate', async () => {
    const store = new MemoryStore();
    const { sqs } = sqsRecorder();
    const batch = records(5);
    const first = await sinkRecords(batch, { store, sqs, deadLetterQueueUrl: 'q', retryClock: noSleep });
    expect(first.summary).toMatchObject({ stored: 5, rewritten: 0, duplicates: 0, retried: 0 });
    expect(store.writes).toBe(2); // 3 + 2 entries
    const again = await sinkRecords(batch, { store, sqs, deadLetterQueueUrl: 'q', retryClock: noSleep });
    expect(again.summary).toMatchObject({ stored: 0, rewritten: 5 });
    const resend = kinesisRecord(JSON.parse(Buffer.from(batch[0]!.kinesis.data, 'base64').toString()), sequenceNumber(99), 'shardId-000000000009');
    expect((await sinkRecords([resend], { store, sqs, deadLetterQueueUrl: 'q', retryClock: noSleep })).summary).toMatchObject({ stored: 0, duplicates: 1 });
    expect(store.rows.map((r) => [r.shardId, r.records, r.stored, r.duplicates])).toEqual([
      ['shardId-000000000000', 5, 5, 0],
      ['shardId-000000000009', 1, 0, 1],
    ]);
  });

  it('retries a transient failure, then hands back the failed write and everything after it', async () => {
    const store = new MemoryStore();
    const { sqs } = sqsRecorder();
    const batch = records(5);
    store.failWrites = 1; // first write fails once, then succeeds
    const recovered = await sinkRecords(batch, { store, sqs, deadLetterQueueUrl: 'q', retryClock: noSleep });
    expect(recovered.batchItemFailures).toEqual([]);
    const fresh = new MemoryStore();
    const policy = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 1_000 };
    // The second write (records 4 and 5) keeps failing.
    const original = fresh.write.bind(fresh);
    fresh.write = async (entries) => (entries[0]!.source.endsWith(sequenceNumber(4)) ? Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' })) : original(entries));
    const result = await sinkRecords(batch, { store: fresh, sqs, deadLetterQueueUrl: 'q', retryClock: noSleep, retryPolicy: policy });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: sequenceNumber(4) }, { itemIdentifier: sequenceNumber(5) }]);
    expect(result.summary).toMatchObject({ stored: 3, retried: 2 });
    // The quality row covers the records before the hand-back point only.
    expect(result.metrics).toMatchObject({ records: 3, firstSequenceNumber: sequenceNumber(1), lastSequenceNumber: sequenceNumber(3) });
  });

  it('finds a refused event by halving, dead-letters it and stores the others', async () => {
    const store = new MemoryStore();
    const { sqs, sent } = sqsRecorder();
    const batch = records(3);
    const refusedId = (JSON.parse(Buffer.from(batch[1]!.kinesis.data, 'base64').toString()) as { event_id: string }).event_id;
    store.refuse.add(refusedId);
    const result = await sinkRecords(batch, { store, sqs, deadLetterQueueUrl: 'q', retryClock: noSleep });
    expect(result.batchItemFailures).toEqual([]);
    expect(result.summary).toMatchObject({ stored: 2, deadLettered: 1 });
    expect(sent).toEqual([expect.objectContaining({ reason: 'load_failed', errors: [expect.objectContaining({ code: 'item_rejected' })], record: expect.objectContaining({ event_id: refusedId }) })]);
  });

  it('hands back nothing and records nothing for an empty batch', async () => {
    const store = new MemoryStore();
    const result = await sinkRecords([], { store, sqs: sqsRecorder().sqs, deadLetterQueueUrl: 'q', retryClock: noSleep });
    expect(result).toEqual({ batchItemFailures: [], summary: expect.objectContaining({ records: 0 }) });
    expect(store.rows).toEqual([]);
  });
});

describe('SQL building', () => {
  it('names one parameter per column and casts times, in INSERT ... ON CONFLICT DO NOTHING', () => {
    const parameters = eventParameters(enrichedEvent({ price: 19.99 }), 'shard/1');
    const names = parameters.map((p) => p.name);
    for (const name of names) expect(INSERT_EVENT_SQL).toContain(`:${name}`);
    expect(INSERT_EVENT_SQL).toMatch(/ON CONFLICT \(event_id\) DO NOTHING$/);
    expect(INSERT_EVENT_SQL).toContain(':event_time::timestamptz');
    expect(parameters.find((p) => p.name === 'price')).toEqual({ name: 'price', value: { stringValue: '19.99' }, typeHint: 'DECIMAL' });
    expect(parameters.find((p) => p.name === 'search_query')).toEqual({ name: 'search_query', value: { isNull: true } });
  });

  it('turns named parameters into positional ones outside quotes, comments and casts', () => {
    const { text, values } = toPositional("SELECT ':not', :a::int, /* :no */ :b, :a -- :c\n", [
      { name: 'a', value: { longValue: 1 } },
      { name: 'b', value: { stringValue: 'x' }, typeHint: 'DECIMAL' },
    ]);
    expect(text).toBe("SELECT ':not', $1::bigint::int, /* :no */ $2::numeric, $1::bigint -- :c\n");
    expect(values).toEqual(['1', 'x']);
  });

  it('splits each migration into statements, none empty', () => {
    expect(splitStatements("CREATE TABLE a (x text DEFAULT ';'); -- a; comment\nSELECT 1;")).toEqual(["CREATE TABLE a (x text DEFAULT ';')", 'SELECT 1']);
    for (const migration of MIGRATIONS) expect(splitStatements(migration.sql).length).toBeGreaterThan(1);
  });

  it('classifies Data API errors: data refusals are permanent, resuming and throttling transient', () => {
    const named = (name: string, message = '') => Object.assign(new Error(message), { name, $metadata: {} });
    expect(isDataRefusal(named('BadRequestException', 'ERROR: x; SQLState: 23514'))).toBe(true);
    expect(isDataRefusal(named('DatabaseErrorException', 'ERROR: x; SQLState: 22P02'))).toBe(true);
    expect(isDataRefusal(named('BadRequestException', 'ERROR: x; SQLState: 42P01'))).toBe(false);
    expect(isTransientDataApiError(named('DatabaseResumingException'))).toBe(true);
    expect(isTransientDataApiError(named('BadRequestException', 'ERROR: deadlock; SQLState: 40P01'))).toBe(true);
    expect(isTransientDataApiError(named('BadRequestException', 'ERROR: x; SQLState: 23505'))).toBe(false);
  });
});
