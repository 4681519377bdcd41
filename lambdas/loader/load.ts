import type { Logger } from '@aws-lambda-powertools/logger';
import type { KinesisStreamBatchResponse, KinesisStreamRecord } from 'aws-lambda';
import { aggregateContributions, aggregateKey } from '../shared/aggregates';
import { decodeRecord, type RecordPosition } from './records';
import { applyAggregate, isPermanentItemError, putEvent, type DocumentSender, type SequencedContribution } from './store';
import { sendDeadLetters, type MessageSender, type PermanentFailure } from './dead-letters';
import { mapWithConcurrency } from './concurrency';
import type { RetryClock } from '../shared/retry';

export interface LoaderDeps {
  dynamo: DocumentSender;
  sqs: MessageSender;
  eventsTableName: string;
  aggregatesTableName: string;
  deadLetterQueueUrl: string;
  now?: () => Date;
  /** Parallel DynamoDB requests per batch. */
  concurrency?: number;
  log?: Pick<Logger, 'warn'>;
  /** Backoff for DeadLetterQueue sends (tests pass a clock that does not sleep). */
  retryClock?: RetryClock;
}

export interface LoadSummary {
  records: number;
  /** Items created by this invocation. */
  stored: number;
  /** Items an earlier attempt of the same record had created (not counted in `stored` again). */
  rewritten: number;
  /** Events another record had already stored (client resend, replay). */
  duplicates: number;
  deadLettered: number;
  /** Records handed back to Lambda for a retry. */
  retried: number;
}

export interface LoadResult extends KinesisStreamBatchResponse {
  summary: LoadSummary;
}

const DEFAULT_CONCURRENCY = 16;

/**
 * Processed stream -> Events and Aggregates tables, each event counted once:
 * 1. decode every record; a record that is not a stored event is a permanent failure;
 * 2. put each event if its event_id is new; an existing item written by this same record
 *    (`_source`) is an earlier attempt and counts as newly stored, any other is a duplicate;
 * 3. add the newly stored events to their aggregates, one update per item, guarded by the
 *    item's per-shard high-water mark;
 * 4. send permanent failures to the DeadLetterQueue (load_failed);
 * 5. hand everything from the first transient failure on back to Lambda, which retries from
 *    there: stored items are recognised by `_source`, counted aggregates by the marks.
 */
export async function loadRecords(records: readonly KinesisStreamRecord[], deps: LoaderDeps): Promise<LoadResult> {
  const concurrency = deps.concurrency ?? DEFAULT_CONCURRENCY;
  const now = deps.now ?? (() => new Date());
  const decoded = records.map((record) => decodeRecord(record));

  // Per shard, the lowest record that must be retried: nothing at or above it may move a mark
  // before it is stored, or its retry would find its contribution already "counted".
  const retryFrom = new Map<string, string>();
  const markForRetry = (position: RecordPosition, reason: string, error?: unknown) => {
    const current = retryFrom.get(position.shardId);
    if (current === undefined || position.paddedSequence < current) retryFrom.set(position.shardId, position.paddedSequence);
    deps.log?.warn('record will be retried', {
      reason,
      shard_id: position.shardId,
      sequence_number: position.sequenceNumber,
      error: error instanceof Error ? `${error.name}: ${error.message}` : error,
    });
  };
  const beforeRetry = (position: RecordPosition) => {
    const from = retryFrom.get(position.shardId);
    return from === undefined || position.paddedSequence < from;
  };

  const permanent: PermanentFailure[] = [];
  const toStore = decoded.flatMap((d) => {
    if (!d.ok) {
      permanent.push({ position: d.position, record: d.record, errors: d.errors });
      return [];
    }
    return [d];
  });

  const summary: LoadSummary = { records: records.length, stored: 0, rewritten: 0, duplicates: 0, deadLettered: 0, retried: 0 };

  // 2. Store.
  const putResults = await mapWithConcurrency(toStore, concurrency, async (d) => {
    try {
      return { d, outcome: await putEvent(deps.dynamo, deps.eventsTableName, d.event, d.position.source) };
    } catch (error) {
      if (isPermanentItemError(error)) {
        permanent.push({
          position: d.position,
          record: d.event,
          errors: [{ path: '', code: 'item_rejected', message: `DynamoDB rejected the item: ${(error as Error).message}` }],
        });
      } else {
        markForRetry(d.position, 'put_failed', error);
      }
      return { d, outcome: undefined };
    }
  });

  // 3. Aggregates, from the newly stored events below the retry point.
  const groups = new Map<string, { shardId: string; pk: string; sk: string; items: SequencedContribution[] }>();
  for (const { d, outcome } of putResults) {
    if (outcome === undefined || outcome.kind === 'duplicate' || !beforeRetry(d.position)) continue;
    for (const contribution of aggregateContributions(d.event)) {
      const key = `${d.position.shardId}|${aggregateKey(contribution.pk, contribution.sk)}`;
      const group = groups.get(key) ?? { shardId: d.position.shardId, pk: contribution.pk, sk: contribution.sk, items: [] };
      group.items.push({ paddedSequence: d.position.paddedSequence, contribution });
      groups.set(key, group);
    }
  }
  await mapWithConcurrency([...groups.values()], concurrency, async (group) => {
    let failure: unknown;
    try {
      const outcome = await applyAggregate(deps.dynamo, deps.aggregatesTableName, group.shardId, { pk: group.pk, sk: group.sk }, group.items);
      if (outcome.kind === 'conflict') failure = new Error(`aggregate ${group.pk} ${group.sk} kept changing`);
    } catch (error) {
      failure = error;
    }
    if (failure !== undefined) {
      // Its events are stored: on retry they count as newly stored and the mark skips the rest.
      const lowest = group.items.reduce((min, item) => (item.paddedSequence < min ? item.paddedSequence : min), group.items[0]!.paddedSequence);
      const position = decoded.find((d) => d.position.shardId === group.shardId && d.position.paddedSequence === lowest)!.position;
      markForRetry(position, 'aggregate_failed', failure);
    }
  });

  // 4. Dead letters, in record order, for the records that are not retried anyway.
  const deadLetters = permanent
    .filter((failure) => beforeRetry(failure.position))
    .sort((a, b) => (a.position.paddedSequence < b.position.paddedSequence ? -1 : 1));
  if (deadLetters.length > 0) {
    let lastError: unknown;
    const { sent, unsent } = await sendDeadLetters(deps.sqs, deps.deadLetterQueueUrl, deadLetters, now(), {
      ...(deps.retryClock ? { clock: deps.retryClock } : {}),
      onError: (error) => {
        lastError = error;
      },
    });
    summary.deadLettered = sent.length;
    for (const failure of unsent) markForRetry(failure.position, 'dead_letter_failed', lastError);
  }

  // Counted once the retry point is final: what is retried is counted by the retry.
  for (const { d, outcome } of putResults) {
    if (outcome?.kind === 'created') summary.stored += 1;
    else if (outcome !== undefined && beforeRetry(d.position)) {
      if (outcome.kind === 'duplicate') summary.duplicates += 1;
      else summary.rewritten += 1;
    }
  }

  // 5. Lambda checkpoints before the lowest reported record; report it and everything after it.
  const batchItemFailures = decoded
    .filter((d) => !beforeRetry(d.position))
    .map((d) => ({ itemIdentifier: d.position.sequenceNumber }));
  summary.retried = batchItemFailures.length;
  return { batchItemFailures, summary };
}
