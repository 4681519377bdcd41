/**
 * A Kinesis event source mapping with Lambda's semantics: one poller per shard, records of a
 * shard delivered in order, batching window, partial batch responses, bisect on error, retry
 * and record-age limits, and the on-failure destination record AWS sends.
 *
 * Resharding: after a split or merge, a child shard is read only once its parent shards are
 * finished (every record read and handed on), so records of one partition key stay in order
 * across the reshard, as Lambda (like the KCL) processes parents before children
 * (https://docs.aws.amazon.com/streams/latest/dev/kinesis-using-sdk-java-after-resharding.html).
 * A throttled GetRecords (ProvisionedThroughputExceededException) is retried with the same
 * iterator after a growing back-off, so nothing is skipped or read twice.
 *
 * Records read from the shard stay in the poller's memory until they are handed on (the function
 * succeeded, or they went to the on-failure destination), which is where Lambda would checkpoint.
 */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { listShards } from '../shared/kinesis-shards';
import { errorMessageOf } from '../../lambdas/shared/error-message';
import { exponentialDelay } from '../../lambdas/shared/retry';
import { ERROR_BACKOFF_MS, KinesisBatchDelivery } from './kinesis-delivery';
import { StopSignal } from './stop-signal';
import type { EventSourceMappingSpec, Invoker } from './types';

export interface KinesisMappingOptions {
  spec: EventSourceMappingSpec;
  invoker: Invoker;
  kinesis: KinesisClient;
  sqs: SQSClient;
  region: string;
  functionArn: string;
  /** The function's execution role: Lambda puts it in every record as invokeIdentityArn. */
  roleArn: string;
  /** SQS queue URL of a queue ARN (the on-failure destination). */
  queueUrlOf: (queueArn: string) => Promise<string>;
  /** Epoch seconds for StartingPosition AT_TIMESTAMP. */
  startingPositionTimestamp?: number;
  /** How often the stream's shard list is read again (default 5 s; a finished shard also triggers a read). */
  shardDiscoveryMs?: number;
  log?: (line: string) => void;
}

export interface KinesisMapping {
  stop(): Promise<void>;
}

// Fast enough that local end-to-end latency stays well under a second, slow enough to stay idle.
const IDLE_POLL_MS = 150;
const SHARD_DISCOVERY_MS = 5_000;
const THROTTLE_BACKOFF_MS = 250;
const MAX_THROTTLE_BACKOFF_MS = 5_000;
/**
 * A batch stops growing at Lambda's 6 MB synchronous payload
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html, "Polling and batching streams").
 */
const MAX_BATCH_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** What one record adds to the event besides its base64 data (names, ids, ARNs, JSON). */
const RECORD_OVERHEAD_BYTES = 512;

export function startKinesisMapping(opts: KinesisMappingOptions): KinesisMapping {
  const streamName = streamNameOf(opts.spec.eventSourceArn);
  const pollers = new Map<string, ShardPoller>();
  const stopSignal = new StopSignal();
  let wakeDiscovery: (() => void) | undefined;
  let firstRound = true;

  const discovery = (async () => {
    while (!stopSignal.stopped) {
      try {
        const shards = await listShards(opts.kinesis, streamName);
        const listed = new Set(shards.map((shard) => shard.shardId));
        const created: ShardPoller[] = [];
        for (const shard of shards) {
          if (pollers.has(shard.shardId)) continue;
          // A parent that is no longer listed (past retention) has nothing left to wait for.
          const parents = shard.parentShardIds.filter((parentId) => listed.has(parentId) || pollers.has(parentId));
          const poller = new ShardPoller(opts, streamName, shard.shardId, stopSignal, {
            parents: () => parents.map((parentId) => pollers.get(parentId)),
            // A shard born after the mapping started is read from its beginning, whatever the
            // starting position: its records follow the parents' ones.
            fromTrimHorizon: !firstRound,
            onFinished: () => wakeDiscovery?.(),
          });
          pollers.set(shard.shardId, poller);
          created.push(poller);
        }
        for (const poller of created) poller.start();
        firstRound = false;
      } catch (error) {
        opts.log?.(`[${opts.spec.logicalId}] cannot list shards of ${streamName}: ${errorMessageOf(error)}`);
      }
      const interval = pollers.size > 0 ? (opts.shardDiscoveryMs ?? SHARD_DISCOVERY_MS) : ERROR_BACKOFF_MS;
      await new Promise<void>((resolve) => {
        wakeDiscovery = resolve;
        void stopSignal.sleep(interval).then(resolve);
      });
      wakeDiscovery = undefined;
    }
  })();

  return {
    async stop() {
      stopSignal.stop();
      await discovery;
      await Promise.all([...pollers.values()].map((poller) => poller.done));
    },
  };
}

interface ShardLineage {
  /** The pollers of the shard's parents (undefined: not polled, nothing to wait for). */
  parents: () => Array<ShardPoller | undefined>;
  fromTrimHorizon: boolean;
  onFinished: () => void;
}

class ShardPoller {
  done: Promise<void> = Promise.resolve();
  /** The shard is closed and every record of it was handed on: its children may be read. */
  finished = false;
  private buffer: KinesisRecord[] = [];
  private iterator?: string;
  private lastReadSequence?: string;
  private shardClosed = false;
  private throttled = 0;
  private readonly label: string;
  private readonly delivery: KinesisBatchDelivery;

  constructor(
    private readonly opts: KinesisMappingOptions,
    private readonly streamName: string,
    private readonly shardId: string,
    private readonly stopSignal: StopSignal,
    private readonly lineage: ShardLineage = { parents: () => [], fromTrimHorizon: false, onFinished: () => undefined },
  ) {
    this.label = `[${opts.spec.logicalId}] ${shardId}`;
    this.delivery = new KinesisBatchDelivery(opts, shardId, this.label, stopSignal);
  }

  start(): void {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    await this.waitForParents();
    while (!this.stopSignal.stopped) {
      try {
        const batch = await this.nextBatch();
        if (batch) await this.delivery.deliver(batch);
        else if (this.shardClosed && this.buffer.length === 0) {
          this.finished = true;
          this.opts.log?.(`${this.label} finished: closed and every record handed on`);
          this.lineage.onFinished();
          return;
        }
      } catch (error) {
        this.opts.log?.(`${this.label} poller error: ${errorMessageOf(error)}`);
        await this.stopSignal.sleep(ERROR_BACKOFF_MS);
      }
    }
  }

  /** A child shard waits until the pollers of its parents have handed on their last record. */
  private async waitForParents(): Promise<void> {
    let logged = false;
    while (!this.stopSignal.stopped) {
      const pending = this.lineage.parents().filter((parent) => parent !== undefined && !parent.finished);
      if (pending.length === 0) return;
      if (!logged) {
        this.opts.log?.(`${this.label} waits for its parent shard(s) to finish`);
        logged = true;
      }
      await this.stopSignal.sleep(IDLE_POLL_MS);
    }
  }

  /** Up to BatchSize records (and at most 6 MB of event), gathered for at most MaximumBatchingWindowInSeconds; undefined when idle. */
  private async nextBatch(): Promise<KinesisRecord[] | undefined> {
    const { batchSize, maximumBatchingWindowInSeconds } = this.opts.spec;
    if (this.buffer.length === 0) {
      await this.read(batchSize);
      if (this.buffer.length === 0) {
        await this.stopSignal.sleep(IDLE_POLL_MS);
        return undefined;
      }
    }
    const windowEnds = Date.now() + maximumBatchingWindowInSeconds * 1000;
    while (this.buffer.length < batchSize && Date.now() < windowEnds && !this.shardClosed && !this.stopSignal.stopped) {
      const before = this.buffer.length;
      await this.read(batchSize - this.buffer.length);
      if (this.buffer.length === before) await this.stopSignal.sleep(Math.min(IDLE_POLL_MS, Math.max(0, windowEnds - Date.now())));
    }
    return this.buffer.splice(0, this.fittingCount(batchSize));
  }

  /** How many buffered records fit one invocation: BatchSize, and no more than 6 MB of event (at least one). */
  private fittingCount(batchSize: number): number {
    let bytes = 0;
    let count = 0;
    for (const record of this.buffer) {
      if (count >= batchSize) break;
      bytes += Math.ceil((record.Data?.length ?? 0) / 3) * 4 + RECORD_OVERHEAD_BYTES;
      if (count > 0 && bytes > MAX_BATCH_PAYLOAD_BYTES) break;
      count += 1;
    }
    return count;
  }

  private async read(limit: number): Promise<void> {
    if (this.shardClosed) return;
    this.iterator ??= await this.freshIterator();
    let page;
    try {
      page = await this.opts.kinesis.send(new GetRecordsCommand({ ShardIterator: this.iterator, Limit: Math.min(10_000, limit) }));
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'ExpiredIteratorException') {
        this.iterator = undefined;
        return;
      }
      if (name === 'ProvisionedThroughputExceededException') {
        // Throttled: back off and ask again with the same iterator, so no record is skipped or
        // read twice (an iterator that expires meanwhile resumes after the last record read).
        this.throttled += 1;
        const backoff = exponentialDelay(this.throttled, THROTTLE_BACKOFF_MS, MAX_THROTTLE_BACKOFF_MS);
        if (this.throttled === 1 || this.throttled % 10 === 0) {
          this.opts.log?.(`${this.label} GetRecords throttled (${this.throttled} in a row), retrying in ${backoff} ms`);
        }
        await this.stopSignal.sleep(backoff);
        return;
      }
      throw error;
    }
    this.throttled = 0;
    for (const record of page.Records ?? []) {
      this.buffer.push(record);
      this.lastReadSequence = record.SequenceNumber;
    }
    if (page.NextShardIterator) this.iterator = page.NextShardIterator;
    else this.shardClosed = true;
  }

  private async freshIterator(): Promise<string> {
    const input: GetShardIteratorCommandInput = { StreamName: this.streamName, ShardId: this.shardId, ShardIteratorType: 'TRIM_HORIZON' };
    if (this.lastReadSequence) {
      input.ShardIteratorType = 'AFTER_SEQUENCE_NUMBER';
      input.StartingSequenceNumber = this.lastReadSequence;
    } else if (this.lineage.fromTrimHorizon) {
      // TRIM_HORIZON (the default above).
    } else if (this.opts.spec.startingPosition === 'LATEST') {
      input.ShardIteratorType = 'LATEST';
    } else if (this.opts.spec.startingPosition === 'AT_TIMESTAMP') {
      input.ShardIteratorType = 'AT_TIMESTAMP';
      input.Timestamp = new Date((this.opts.startingPositionTimestamp ?? 0) * 1000);
    }
    const { ShardIterator } = await this.opts.kinesis.send(new GetShardIteratorCommand(input));
    if (!ShardIterator) throw new Error(`no shard iterator for ${this.shardId}`);
    return ShardIterator;
  }
}

export function streamNameOf(streamArn: string): string {
  const name = streamArn.split(':stream/')[1];
  if (!name) throw new Error(`Not a Kinesis stream ARN: ${streamArn}`);
  return name.split('/')[0]!;
}
