import type { Logger } from '@aws-lambda-powertools/logger';
import type { KinesisStreamBatchResponse, KinesisStreamRecord } from 'aws-lambda';
import { aggregateContributions, aggregateKey, sumContributions, writeShardOf, writeShardSortKey, type AggregateContribution } from '../shared/aggregates';
import { errorMessageOf } from '../shared/error-message';
import { backoffDelay, DEFAULT_RETRY_POLICY, systemClock, type RetryClock, type RetryPolicy } from '../shared/retry';
import { sendDeadLetters, type MessageSender, type PermanentFailure } from './dead-letters';
import { decodeRecord, type DecodedRecord } from './records';
import type { EntryRefusal, EventStore, StoreEntry } from './store';

export interface LoaderDeps {
  store: EventStore;
  sqs: MessageSender;
  deadLetterQueueUrl: string;
  now?: () => Date;
  log?: Pick<Logger, 'warn' | 'error'>;
  /** Backoff for transient store failures and DeadLetterQueue sends (tests pass a clock that does not sleep). */
  retryClock?: RetryClock;
  retryPolicy?: RetryPolicy;
  /** Aggregate write shards W (lambdas/shared/aggregates.ts); default 1. */
  aggregateWriteShards?: number;
}

export interface LoadSummary {
  records: number;
  /** Events stored (and counted in the aggregates) by this invocation. */
  stored: number;
  /** Events an earlier attempt of the same record had stored and counted. */
  rewritten: number;
  /** Events another record had already stored (client resend, replay). */
  duplicates: number;
  deadLettered: number;
  /** Records handed back to Lambda for a retry. */
  retried: number;
  /** Store writes (transactions) this invocation made, retries included. */
  writes: number;
}

/** Seconds from event_time to stored, over the events this invocation stored (none: undefined). */
export interface StoreLag {
  averageSeconds: number;
  maxSeconds: number;
}

export interface LoadResult extends KinesisStreamBatchResponse {
  summary: LoadSummary;
  storeLag?: StoreLag;
}

type Outcome = { kind: 'created' } | EntryRefusal;

interface Candidate extends StoreEntry {
  /** Position in the batch (one shard's records, in sequence order). */
  index: number;
  /** What the event adds to the aggregates (this shard's parts), worked out once per invocation. */
  contributions: AggregateContribution[];
  aggregateKeys: string[];
}

/**
 * Processed stream -> Events and Aggregates tables, each event stored and counted exactly once:
 * 1. decode every record; a record that is not a stored event is a permanent failure;
 * 2. group the events, in record order, into writes of at most `store.maxItemsPerWrite` items
 *    (events + the aggregate items they add to, each item once per write);
 * 3. each write stores its new events and adds them to their aggregates atomically: an event is
 *    never stored without being counted, so a retry, a replay or a resend that finds it stored
 *    (by this record: rewritten; by another: duplicate) has nothing left to count;
 * 4. a transient failure is retried with backoff; when that does not help, the write's first
 *    record and everything after it go back to Lambda, which retries from there;
 * 5. permanent failures before that point go to the DeadLetterQueue (load_failed).
 * A Kinesis batch holds one shard's records in order, which is what makes "everything after it" exact.
 */
export async function loadRecords(records: readonly KinesisStreamRecord[], deps: LoaderDeps): Promise<LoadResult> {
  const now = deps.now ?? (() => new Date());
  const clock = deps.retryClock ?? systemClock;
  const policy = deps.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const decoded: DecodedRecord[] = records.map((record) => decodeRecord(record));
  const summary: LoadSummary = { records: records.length, stored: 0, rewritten: 0, duplicates: 0, deadLettered: 0, retried: 0, writes: 0 };
  const outcomes = new Map<number, Outcome>();
  let retryFrom = records.length;

  // This shard's part of each aggregate item (one part per item when there is one write shard).
  const writeShards = deps.aggregateWriteShards ?? 1;
  const writeShard = decoded.length > 0 ? writeShardOf(decoded[0]!.position.shardId, writeShards) : 0;
  const contributionsOf = (event: Candidate['event']): AggregateContribution[] =>
    aggregateContributions(event).map((c) => ({ ...c, sk: writeShardSortKey(c.sk, writeShard, writeShards) }));

  const candidates: Candidate[] = [];
  decoded.forEach((d, index) => {
    if (!d.ok) return;
    const contributions = contributionsOf(d.event);
    const keys = [...new Set(contributions.map((c) => aggregateKey(c.pk, c.sk)))];
    candidates.push({ event: d.event, source: d.position.source, index, contributions, aggregateKeys: keys });
  });

  /** One write, retried with backoff while it fails transiently. */
  const writeWithRetries = async (entries: Candidate[]) => {
    const aggregates = sumContributions(entries.flatMap((entry) => entry.contributions));
    const started = clock.now();
    for (let attempt = 1; ; attempt += 1) {
      summary.writes += 1;
      try {
        return await deps.store.write(entries, aggregates);
      } catch (error) {
        const outOfTries = attempt >= policy.maxAttempts || clock.now() - started >= policy.budgetMs;
        deps.log?.warn(outOfTries ? 'Write failed, records handed back to Lambda' : 'Write failed, retrying', {
          attempt,
          events: entries.length,
          first_sequence_number: decoded[entries[0]!.index]!.position.sequenceNumber,
          error: errorMessageOf(error),
        });
        if (outOfTries) throw error;
        await clock.sleep(backoffDelay(attempt, policy, clock.random));
      }
    }
  };

  /** Writes a group until each of its events has an outcome; throws when a write keeps failing. */
  const storeGroup = async (group: Candidate[]): Promise<void> => {
    let pending = group;
    while (pending.length > 0) {
      const result = await writeWithRetries(pending);
      if (result.kind === 'committed') {
        for (const entry of pending) outcomes.set(entry.index, { kind: 'created' });
        return;
      }
      if (result.kind === 'invalid') {
        if (pending.length === 1) {
          outcomes.set(pending[0]!.index, { kind: 'rejected', message: result.message });
          return;
        }
        // One of them is refused by the sink: write them one by one to find it.
        for (const entry of pending) await storeGroup([entry]);
        return;
      }
      for (const [position, refusal] of result.refusals) outcomes.set(pending[position]!.index, refusal);
      pending = pending.filter((_, position) => !result.refusals.has(position));
    }
  };

  for (const group of planWrites(candidates, deps.store.maxItemsPerWrite)) {
    try {
      await storeGroup(group);
    } catch {
      retryFrom = group.find((entry) => !outcomes.has(entry.index))?.index ?? group[0]!.index;
      break;
    }
  }

  // Permanent failures before the retry point, in record order.
  const permanent: PermanentFailure[] = [];
  decoded.forEach((d, index) => {
    if (index >= retryFrom) return;
    if (!d.ok) permanent.push({ position: d.position, record: d.record, errors: d.errors });
    const outcome = outcomes.get(index);
    if (d.ok && outcome?.kind === 'rejected') {
      permanent.push({
        position: d.position,
        record: d.event,
        errors: [{ path: '', code: 'item_rejected', message: `the sink refused the item: ${outcome.message}` }],
      });
    }
  });
  if (permanent.length > 0) {
    let lastError: unknown;
    const { sent, unsent } = await sendDeadLetters(deps.sqs, deps.deadLetterQueueUrl, permanent, now(), {
      clock,
      onError: (error) => {
        lastError = error;
      },
    });
    summary.deadLettered = sent.length;
    for (const failure of sent) {
      const eventId = (failure.record as { event_id?: unknown } | null)?.event_id;
      deps.log?.error('Record could not be stored: sent to the DeadLetterQueue', {
        reason: 'load_failed',
        ...(typeof eventId === 'string' ? { event_id: eventId } : {}),
        shard_id: failure.position.shardId,
        sequence_number: failure.position.sequenceNumber,
        errors: failure.errors.slice(0, 3),
      });
    }
    for (const failure of unsent) {
      const index = decoded.findIndex((d) => d.position.sequenceNumber === failure.position.sequenceNumber);
      retryFrom = Math.min(retryFrom, index);
      deps.log?.warn('Dead letter not sent, record handed back to Lambda', { sequence_number: failure.position.sequenceNumber, error: errorMessageOf(lastError) });
    }
  }

  const storedAt = now().getTime();
  const lags: number[] = [];
  for (const [index, outcome] of outcomes) {
    if (outcome.kind === 'created') {
      summary.stored += 1;
      const d = decoded[index];
      const eventTime = d?.ok ? Date.parse(d.event.event_time) : Number.NaN;
      if (Number.isFinite(eventTime)) lags.push(Math.max(0, (storedAt - eventTime) / 1000));
    }
    else if (index < retryFrom && outcome.kind === 'rewritten') summary.rewritten += 1;
    else if (index < retryFrom && outcome.kind === 'duplicate') summary.duplicates += 1;
  }

  // Lambda checkpoints before the lowest reported record: report it and everything after it.
  const batchItemFailures = decoded.slice(retryFrom).map((d) => ({ itemIdentifier: d.position.sequenceNumber }));
  summary.retried = batchItemFailures.length;
  const storeLag = lags.length > 0 ? { averageSeconds: lags.reduce((a, b) => a + b, 0) / lags.length, maxSeconds: Math.max(...lags) } : undefined;
  return { batchItemFailures, summary, ...(storeLag ? { storeLag } : {}) };
}

/**
 * Groups events, in record order, into writes of at most `maxItems` items: the events plus the
 * distinct aggregate items they add to. An event_id seen twice in a batch (a client resend read
 * in the same batch) starts a new write, since one write may touch an item only once.
 */
export function planWrites<C extends Pick<Candidate, 'event' | 'aggregateKeys'>>(candidates: readonly C[], maxItems: number): C[][] {
  const groups: C[][] = [];
  let current: C[] = [];
  let keys = new Set<string>();
  let ids = new Set<string>();
  for (const candidate of candidates) {
    const newKeys = candidate.aggregateKeys.filter((key) => !keys.has(key));
    const fits = current.length + 1 + keys.size + newKeys.length <= maxItems && !ids.has(candidate.event.event_id);
    if (!fits && current.length > 0) {
      groups.push(current);
      current = [];
      keys = new Set();
      ids = new Set();
    }
    current.push(candidate);
    ids.add(candidate.event.event_id);
    for (const key of candidate.aggregateKeys) keys.add(key);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
