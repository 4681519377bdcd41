import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { listShards } from '../shared/kinesis-shards';
import { CliError } from './errors';
import type { Progress } from './progress';
import { compareSequence, putBack, vetRawRecord } from './replay-put';

/** A stretch of one shard, as an on-failure destination record names it. */
export interface SequenceRange {
  kind: 'sequence';
  streamName: string;
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  /** How many records the range holds, when known (a failure record's `batchSize`). */
  expectedRecords?: number;
}

/** Every shard of a stream between two arrival times. */
export interface TimeRange {
  kind: 'time';
  streamName: string;
  from: Date;
  to: Date;
}

export type ReplayRange = SequenceRange | TimeRange;

export interface RangeOutcome {
  stream: string;
  shard_id: string;
  range: string;
  read: number;
  replayed: number;
  failed: number;
  /** Raw records left out because their event is invalid now (see `vetRawRecord`). */
  skipped_invalid: number;
  /** Raw records left out because they are not a raw record envelope at all. */
  skipped_unparseable: number;
  /** A sequence range's record count when known (a failure record's `batchSize`). */
  expected?: number;
  /**
   * Set when a sequence range could not be read whole: it read nothing, or fewer records than it
   * names (records past the stream's retention are gone). Such a range is not replayed.
   */
  incomplete?: string;
}

/** A sequence range that was not read whole: what it names stays to be dealt with by hand. */
export interface NotReplayed {
  stream: string;
  shard_id: string;
  range: string;
  read: number;
  expected?: number;
  reason: string;
  /** The StreamFailureQueue message that names the range (kept in the queue). */
  message_id?: string;
}

export interface ReplaySummary {
  dryRun: boolean;
  read: number;
  replayed: number;
  failed: number;
  skippedInvalid: number;
  skippedUnparseable: number;
  /** Error codes of the records skipped as invalid, with counts. */
  skippedInvalidCodes: Record<string, number>;
  ranges: RangeOutcome[];
  /** Sequence ranges not read whole (read nothing or less than they name): exit non-zero. */
  notReplayed: NotReplayed[];
  failureMessages?: { read: number; deleted: number; unreadable: number };
}

/** The stream name in `arn:aws:kinesis:<region>:<account>:stream/<name>`. */
export function streamNameFromArn(arn: string): string {
  const match = /:stream\/([^/]+)$/.exec(arn);
  if (!match?.[1]) throw new CliError(`not a Kinesis stream ARN: ${arn}`);
  return match[1];
}

/**
 * Reads an on-failure destination message (what AWS sends for a Kinesis event source mapping):
 * `KinesisBatchInfo` names the stream, the shard and the first and last sequence numbers.
 */
export function rangeFromFailureRecord(document: unknown, knownStreams: readonly string[]): SequenceRange {
  const info = (document as { KinesisBatchInfo?: Record<string, unknown> } | null)?.KinesisBatchInfo;
  if (!info || typeof info !== 'object') {
    throw new CliError('not a stream failure record: it has no KinesisBatchInfo');
  }
  const { shardId, startSequenceNumber, endSequenceNumber, streamArn } = info;
  if (typeof shardId !== 'string' || typeof startSequenceNumber !== 'string' || typeof endSequenceNumber !== 'string') {
    throw new CliError('the failure record lacks KinesisBatchInfo.shardId, startSequenceNumber or endSequenceNumber');
  }
  const streamName = typeof streamArn === 'string' ? streamNameFromArn(streamArn) : knownStreams[0];
  if (!streamName || !knownStreams.includes(streamName)) {
    throw new CliError(`the failure record names stream ${streamName ?? '(none)'}, not one of this stack's: ${knownStreams.join(', ')}`);
  }
  return { kind: 'sequence', streamName, shardId, startSequenceNumber, endSequenceNumber };
}

/** The number of records a failure record's range holds (`KinesisBatchInfo.batchSize`), when it says. */
export function expectedRecordsOfFailureRecord(document: unknown): number | undefined {
  const batchSize = (document as { KinesisBatchInfo?: { batchSize?: unknown } } | null)?.KinesisBatchInfo?.batchSize;
  return typeof batchSize === 'number' && Number.isInteger(batchSize) && batchSize > 0 ? batchSize : undefined;
}

export function parseDate(text: string, option: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new CliError(`${option} must be an ISO-8601 date-time, got "${text}"`);
  return date;
}

interface ReplayOptions {
  dryRun: boolean;
  /**
   * The raw stream. A time range of it is vetted before it goes back: only records whose event
   * is valid now are put back (each marked with `replayed_at`), unless `includeInvalid`.
   */
  rawStreamName?: string;
  /** Put back invalid and unparseable raw records too (they are dead-lettered again). */
  includeInvalid?: boolean;
  now?: () => Date;
  progress?: Progress;
  /** Pause between GetRecords calls on one shard (5 reads per second per shard on AWS). */
  readPauseMs?: number;
}




/**
 * Re-reads ranges of a stream and puts the same records (same Data, same PartitionKey) back into
 * it. The loader stores an event_id once, so a replay fills gaps and doubles nothing.
 */
export async function replayRanges(
  kinesis: KinesisClient,
  ranges: readonly ReplayRange[],
  options: ReplayOptions,
): Promise<ReplaySummary> {
  const summary = emptySummary(options.dryRun);
  for (const range of ranges) addOutcomes(summary, await replayRange(kinesis, range, options, summary.skippedInvalidCodes));
  return summary;
}

function emptySummary(dryRun: boolean): ReplaySummary {
  return { dryRun, read: 0, replayed: 0, failed: 0, skippedInvalid: 0, skippedUnparseable: 0, skippedInvalidCodes: {}, ranges: [], notReplayed: [] };
}

function addOutcomes(summary: ReplaySummary, outcomes: readonly RangeOutcome[], messageId?: string): void {
  for (const outcome of outcomes) {
    summary.ranges.push(outcome);
    if (outcome.incomplete !== undefined) {
      summary.notReplayed.push({
        stream: outcome.stream,
        shard_id: outcome.shard_id,
        range: outcome.range,
        read: outcome.read,
        ...(outcome.expected !== undefined ? { expected: outcome.expected } : {}),
        reason: outcome.incomplete,
        ...(messageId !== undefined ? { message_id: messageId } : {}),
      });
    }
    summary.read += outcome.read;
    summary.replayed += outcome.replayed;
    summary.failed += outcome.failed;
    summary.skippedInvalid += outcome.skipped_invalid;
    summary.skippedUnparseable += outcome.skipped_unparseable;
  }
}

/**
 * Which records go back: a time range of the raw stream is vetted (`vetRawRecord`). A sequence
 * range (a failure record, the StreamFailureQueue, --shard by hand) goes back whole and unmarked
 * (no `replayed_at`), so its records count as first-pass records. That is right for a range
 * Lambda gave up on: when the validator fails a batch part way, it reports the first record it
 * could not hand on and every record after it, and emits its first-pass metrics
 * (EventsValid / EventsInvalid) and dead letters only for the records before that point. Lambda
 * checkpoints before the first reported record and retries from it, so the range it finally names
 * starts at the first failed record of the last attempt: none of its records was counted or
 * dead-lettered by any attempt. (Valid records after the failure point may already be on the
 * processed stream; the loader stores each event_id once, so putting them back doubles nothing.)
 * A range made by hand from records the validator did judge is counted a second time.
 * The processed stream is put back as it is.
 *
 * A sequence range that reads nothing, or fewer records than it names (`expectedRecords`), is
 * marked `incomplete`: the records are gone (past the stream's retention) or the range is wrong.
 */
export async function replayRange(
  kinesis: KinesisClient,
  range: ReplayRange,
  options: ReplayOptions,
  skippedCodes: Record<string, number> = {},
): Promise<RangeOutcome[]> {
  const vetted = range.kind === 'time' && options.rawStreamName !== undefined && range.streamName === options.rawStreamName;
  const now = (options.now ?? (() => new Date()))();
  // The first sequence number this run wrote per shard: reading stops there, so a replay never
  // reads back its own records.
  const written = new Map<string, string>();
  const pages: Array<{ shardId: string; startPosition: () => Promise<string | undefined>; label: string; stopAt: (r: _Record) => boolean }> = [];
  if (range.kind === 'sequence') {
    pages.push({
      shardId: range.shardId,
      label: `${range.startSequenceNumber}..${range.endSequenceNumber}`,
      startPosition: async () => {
        try {
          return await iterator(kinesis, range.streamName, range.shardId, {
            ShardIteratorType: 'AT_SEQUENCE_NUMBER',
            StartingSequenceNumber: range.startSequenceNumber,
          });
        } catch (error) {
          // A sequence number Kinesis no longer knows reads as nothing: reported as incomplete below.
          if ((error as { name?: string }).name === 'InvalidArgumentException') return undefined;
          throw error;
        }
      },
      stopAt: (r) => compareSequence(r.SequenceNumber ?? '0', range.endSequenceNumber) > 0,
    });
  } else {
    for (const { shardId } of await listShards(kinesis, range.streamName)) {
      pages.push({
        shardId,
        label: `${range.from.toISOString()}..${range.to.toISOString()}`,
        startPosition: () => iterator(kinesis, range.streamName, shardId, { ShardIteratorType: 'AT_TIMESTAMP', Timestamp: range.from }),
        stopAt: (r) => (r.ApproximateArrivalTimestamp?.getTime() ?? 0) > range.to.getTime(),
      });
    }
  }
  const outcomes: RangeOutcome[] = [];
  for (const shard of pages) {
    const outcome: RangeOutcome = {
      stream: range.streamName,
      shard_id: shard.shardId,
      range: shard.label,
      read: 0,
      replayed: 0,
      failed: 0,
      skipped_invalid: 0,
      skipped_unparseable: 0,
      ...(range.kind === 'sequence' && range.expectedRecords !== undefined ? { expected: range.expectedRecords } : {}),
    };
    let shardIterator = await shard.startPosition();
    let done = false;
    while (shardIterator && !done) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: shardIterator, Limit: 1000 }));
      const records: _Record[] = [];
      for (const record of page.Records ?? []) {
        const ownWrite = written.get(shard.shardId);
        if (shard.stopAt(record) || (ownWrite && compareSequence(record.SequenceNumber ?? '0', ownWrite) >= 0)) {
          done = true;
          break;
        }
        records.push(record);
      }
      outcome.read += records.length;
      const toPut: _Record[] = [];
      for (const record of records) {
        if (!vetted) {
          toPut.push(record);
          continue;
        }
        const verdict = vetRawRecord(record.Data ?? new Uint8Array(), { includeInvalid: Boolean(options.includeInvalid), now });
        if (verdict.put) {
          toPut.push({ ...record, Data: verdict.data });
        } else if (verdict.why === 'invalid') {
          outcome.skipped_invalid++;
          for (const code of verdict.codes) skippedCodes[code] = (skippedCodes[code] ?? 0) + 1;
        } else {
          outcome.skipped_unparseable++;
        }
      }
      if (toPut.length > 0 && !options.dryRun) {
        const { ok, failed } = await putBack(kinesis, range.streamName, toPut, written);
        outcome.replayed += ok;
        outcome.failed += failed;
      }
      options.progress?.increment(records.length, `${shard.shardId} read ${outcome.read}`);
      // Caught up with the tip of the shard: nothing more to read in this range.
      if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) done = true;
      shardIterator = page.NextShardIterator;
      if (!done && options.readPauseMs) await new Promise((resolve) => setTimeout(resolve, options.readPauseMs));
    }
    if (range.kind === 'sequence') {
      if (outcome.read === 0) outcome.incomplete = 'read 0 records (past retention?)';
      else if (outcome.expected !== undefined && outcome.read < outcome.expected) {
        outcome.incomplete = `read ${outcome.read} of ${outcome.expected} records (past retention?)`;
      }
    }
    outcomes.push(outcome);
  }
  return outcomes;
}

async function iterator(
  kinesis: KinesisClient,
  streamName: string,
  shardId: string,
  position: { ShardIteratorType: 'AT_SEQUENCE_NUMBER'; StartingSequenceNumber: string } | { ShardIteratorType: 'AT_TIMESTAMP'; Timestamp: Date },
): Promise<string | undefined> {
  const result = await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ...position }));
  return result.ShardIterator;
}


/**
 * Replays every range the StreamFailureQueue names. A failure message is deleted only when every
 * record of its range was read and put back: none failed, and the range read as many records as
 * it names (`batchSize`). A message whose range read nothing (past retention) or less than it
 * names stays in the queue, the only trace of that gap, and is reported in `notReplayed`; one
 * whose puts failed stays for the next run.
 */
export async function replayFailureQueue(
  sqs: SQSClient,
  kinesis: KinesisClient,
  queueUrl: string,
  knownStreams: readonly string[],
  options: ReplayOptions & { max?: number },
): Promise<ReplaySummary> {
  const summary: ReplaySummary = { ...emptySummary(options.dryRun), failureMessages: { read: 0, deleted: 0, unreadable: 0 } };
  const seen = new Set<string>();
  const counts = summary.failureMessages!;
  // Messages not deleted (dry run, unreadable, a failed range) stay hidden while the run lasts so
  // each is read once, then become visible again at once.
  const kept: string[] = [];
  const startedAt = Date.now();
  try {
    await drainFailureQueue();
  } finally {
    for (const receiptHandle of kept) {
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: 0 }));
    }
  }
  return summary;

  async function drainFailureQueue(): Promise<void> {
    for (;;) {
      if (options.max !== undefined && counts.read >= options.max) break;
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 1,
          VisibilityTimeout: 300,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['SentTimestamp'],
        }),
      );
      const message = Messages[0];
      if (!message || seen.has(message.MessageId ?? '')) break;
      seen.add(message.MessageId ?? '');
      // A range that fails again is reported as a new message: leave those to the next run.
      if (Number(message.Attributes?.SentTimestamp ?? 0) > startedAt) {
        kept.push(message.ReceiptHandle ?? '');
        continue;
      }
      counts.read++;
      let range: SequenceRange;
      try {
        const document: unknown = JSON.parse(message.Body ?? '');
        range = rangeFromFailureRecord(document, knownStreams);
        const expectedRecords = expectedRecordsOfFailureRecord(document);
        if (expectedRecords !== undefined) range = { ...range, expectedRecords };
      } catch (error) {
        counts.unreadable++;
        kept.push(message.ReceiptHandle ?? '');
        process.stderr.write(`skipping failure message ${message.MessageId}: ${(error as Error).message}\n`);
        continue;
      }
      const outcomes = await replayRange(kinesis, range, options, summary.skippedInvalidCodes);
      addOutcomes(summary, outcomes, message.MessageId);
      const wholeRangeBack = outcomes.every((o) => o.incomplete === undefined && o.failed === 0 && o.replayed === o.read);
      if (!options.dryRun && wholeRangeBack) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
        counts.deleted++;
      } else {
        kept.push(message.ReceiptHandle ?? '');
      }
    }
  }
}
