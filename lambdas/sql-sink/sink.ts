import type { Logger } from '@aws-lambda-powertools/logger';
import type { KinesisStreamBatchResponse, KinesisStreamRecord } from 'aws-lambda';
import { errorMessageOf } from '../shared/error-message';
import { backoffDelay, DEFAULT_RETRY_POLICY, systemClock, type RetryClock, type RetryPolicy } from '../shared/retry';
import { sendDeadLetters, type MessageSender, type PermanentFailure } from '../loader/dead-letters';
import { decodeRecord, type DecodedRecord } from '../loader/records';
import type { BatchMetricsRow } from './rows';
import type { SqlEventStore, SqlOutcome, StoreEntry } from './store';

export interface SinkDeps {
  store: SqlEventStore;
  sqs: MessageSender;
  deadLetterQueueUrl: string;
  now?: () => Date;
  log?: Pick<Logger, 'warn' | 'error'>;
  retryClock?: RetryClock;
  retryPolicy?: RetryPolicy;
}

export interface SinkSummary {
  records: number;
  /** Events stored by this invocation. */
  stored: number;
  /** Events an earlier attempt of the same record had stored. */
  rewritten: number;
  /** Events another record had stored (client resend, replay). */
  duplicates: number;
  /** Records that are not stored events (the Loader dead-letters those; counted here only). */
  undecodable: number;
  /** Events the database refused, sent to the DeadLetterQueue (load_failed, item_rejected). */
  deadLettered: number;
  /** Records handed back to Lambda for a retry. */
  retried: number;
}

export interface SinkResult extends KinesisStreamBatchResponse {
  summary: SinkSummary;
  /** The batch's data-quality row as recorded (undefined when every record went back to Lambda). */
  metrics?: BatchMetricsRow;
}

type Outcome = SqlOutcome | { kind: 'rejected'; message: string };

interface Candidate extends StoreEntry {
  index: number;
}

/**
 * Processed stream -> PostgreSQL (`ecommerce_events`), each event_id stored once, independently
 * of the Loader (its own event source mapping, so a database outage holds back only this sink):
 * 1. decode every record (a record that is not a stored event is the Loader's to dead-letter;
 *    here it is counted in the batch's data-quality row);
 * 2. write the events in record order, at most `store.maxEntriesPerWrite` per transaction, each
 *    `INSERT ... ON CONFLICT (event_id) DO NOTHING`;
 * 3. a transient failure (Aurora resuming from zero, throttling, the network) is retried with
 *    backoff; when that does not help, the write's first record and everything after it go back
 *    to Lambda, which retries from there;
 * 4. a write the database refuses is halved until the refused event is found; that event goes to
 *    the DeadLetterQueue (load_failed, item_rejected), the others are written;
 * 5. the batch's data-quality row (records, valid, invalid by code, stored, duplicates, lag) is
 *    inserted once per shard and first sequence number, for the records before the retry point.
 */
export async function sinkRecords(records: readonly KinesisStreamRecord[], deps: SinkDeps): Promise<SinkResult> {
  const now = deps.now ?? (() => new Date());
  const clock = deps.retryClock ?? systemClock;
  const policy = deps.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const decoded: DecodedRecord[] = records.map((record) => decodeRecord(record));
  const summary: SinkSummary = { records: records.length, stored: 0, rewritten: 0, duplicates: 0, undecodable: 0, deadLettered: 0, retried: 0 };
  const outcomes = new Map<number, Outcome>();
  let retryFrom = records.length;

  const candidates: Candidate[] = [];
  decoded.forEach((d, index) => {
    if (d.ok) candidates.push({ event: d.event, source: d.position.source, index });
  });

  const withRetries = async <T>(what: string, first: Candidate | undefined, call: () => Promise<T>): Promise<T> => {
    const started = clock.now();
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await call();
      } catch (error) {
        const outOfTries = attempt >= policy.maxAttempts || clock.now() - started >= policy.budgetMs;
        deps.log?.warn(outOfTries ? `${what} failed, giving up` : `${what} failed, retrying`, {
          attempt,
          ...(first ? { first_sequence_number: decoded[first.index]!.position.sequenceNumber } : {}),
          error: errorMessageOf(error),
        });
        if (outOfTries) throw error;
        await clock.sleep(backoffDelay(attempt, policy, clock.random));
      }
    }
  };

  /** Writes a group until each of its events has an outcome; throws when a write keeps failing. */
  const storeGroup = async (group: Candidate[]): Promise<void> => {
    const result = await withRetries('SQL write', group[0], () => deps.store.write(group));
    if (result.kind === 'committed') {
      result.outcomes.forEach((outcome, position) => outcomes.set(group[position]!.index, outcome));
      return;
    }
    if (group.length === 1) {
      outcomes.set(group[0]!.index, { kind: 'rejected', message: result.message });
      return;
    }
    const half = Math.ceil(group.length / 2);
    await storeGroup(group.slice(0, half));
    await storeGroup(group.slice(half));
  };

  for (let start = 0; start < candidates.length; start += deps.store.maxEntriesPerWrite) {
    const group = candidates.slice(start, start + deps.store.maxEntriesPerWrite);
    try {
      await storeGroup(group);
    } catch {
      retryFrom = group.find((entry) => !outcomes.has(entry.index))?.index ?? group[0]!.index;
      break;
    }
  }

  // Events the database refused, before the retry point: dead letters, as the Loader sends them.
  const refused: PermanentFailure[] = [];
  for (const [index, outcome] of outcomes) {
    const d = decoded[index]!;
    if (index >= retryFrom || typeof outcome === 'string' || !d.ok) continue;
    refused.push({
      position: d.position,
      record: d.event,
      errors: [{ path: '', code: 'item_rejected', message: `the SQL sink refused the item: ${outcome.message}` }],
    });
  }
  if (refused.length > 0) {
    let lastError: unknown;
    const { sent, unsent } = await sendDeadLetters(deps.sqs, deps.deadLetterQueueUrl, refused, now(), {
      clock,
      onError: (error) => {
        lastError = error;
      },
    });
    summary.deadLettered = sent.length;
    for (const failure of sent) {
      deps.log?.error('Event refused by the SQL sink: sent to the DeadLetterQueue', {
        reason: 'load_failed',
        event_id: (failure.record as { event_id?: string }).event_id,
        shard_id: failure.position.shardId,
        sequence_number: failure.position.sequenceNumber,
        errors: failure.errors,
      });
    }
    for (const failure of unsent) {
      retryFrom = Math.min(retryFrom, decoded.findIndex((d) => d.position.sequenceNumber === failure.position.sequenceNumber));
      deps.log?.warn('Dead letter not sent, record handed back to Lambda', { sequence_number: failure.position.sequenceNumber, error: errorMessageOf(lastError) });
    }
  }

  // What the records before the retry point came to.
  const storedAt = now().getTime();
  const lags: number[] = [];
  const invalidByCode: Record<string, number> = {};
  decoded.forEach((d, index) => {
    if (index >= retryFrom) return;
    if (!d.ok) {
      summary.undecodable += 1;
      for (const code of new Set(d.errors.map((error) => error.code))) invalidByCode[code] = (invalidByCode[code] ?? 0) + 1;
      return;
    }
    const outcome = outcomes.get(index);
    if (outcome === 'created' || outcome === 'rewritten') {
      summary[outcome === 'created' ? 'stored' : 'rewritten'] += 1;
      const eventTime = Date.parse(d.event.event_time);
      if (Number.isFinite(eventTime)) lags.push(Math.max(0, (storedAt - eventTime) / 1000));
    } else if (outcome === 'duplicate') summary.duplicates += 1;
  });

  let metrics: BatchMetricsRow | undefined;
  if (retryFrom > 0) {
    const first = decoded[0]!.position;
    metrics = {
      shardId: first.shardId,
      firstSequenceNumber: first.sequenceNumber,
      lastSequenceNumber: decoded[retryFrom - 1]!.position.sequenceNumber,
      records: retryFrom,
      validRecords: retryFrom - summary.undecodable,
      invalidRecords: summary.undecodable,
      invalidByCode,
      stored: summary.stored + summary.rewritten,
      duplicates: summary.duplicates,
      ...(lags.length > 0 ? { lagAvgSeconds: lags.reduce((a, b) => a + b, 0) / lags.length, lagMaxSeconds: Math.max(...lags) } : {}),
    };
    const row = metrics;
    try {
      await withRetries('Batch metrics write', undefined, () => deps.store.recordBatch(row));
    } catch (error) {
      // The events are stored; a missing quality row shows as a gap in v_data_quality_dashboard.
      deps.log?.error('Batch metrics not recorded', { shard_id: row.shardId, first_sequence_number: row.firstSequenceNumber, error: errorMessageOf(error) });
      metrics = undefined;
    }
  }

  const batchItemFailures = decoded.slice(retryFrom).map((d) => ({ itemIdentifier: d.position.sequenceNumber }));
  summary.retried = batchItemFailures.length;
  return { batchItemFailures, summary, ...(metrics ? { metrics } : {}) };
}
