import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { errorMessageOf } from '../../lambdas/shared/error-message';
import { exponentialDelay } from '../../lambdas/shared/retry';
import { listShards } from '../shared/kinesis-shards';
import type { LocalResource } from './types';

/**
 * A Firehose delivery stream with a Kinesis source and an S3 destination, as the template
 * declares it: every shard of the source is read from its start (the stream is created with the
 * local cloud, so that is where Firehose, which starts at LATEST, would start too), the records
 * are buffered until BufferingHints' size (of the records as read) or interval is reached, then
 * written as one object: each record's data as it is, plus a newline with AppendDelimiterToRecord,
 * gzip'ed with CompressionFormat GZIP, under the Prefix with `!{timestamp:...}` replaced by the
 * UTC time the oldest record of the object arrived (as Firehose does). A PutObject that fails is
 * retried (Firehose retries S3 for up to 24 hours) with the same records and key, so nothing is
 * lost or written twice. The buffer is in memory: what has not been written when the local cloud
 * stops is written on the way out, or lost if S3 still refuses it. Nothing goes to the
 * ErrorOutputPrefix locally: AppendDelimiterToRecord, the only processor run, cannot fail a
 * record, and S3 failures are retried (on AWS, too, S3 delivery is retried, not sent there).
 */

export interface DeliveryStreamSpec {
  logicalId: string;
  name: string;
  sourceStreamName: string;
  bucket: string;
  prefix: string;
  errorOutputPrefix?: string;
  compression: 'GZIP' | 'UNCOMPRESSED';
  bufferBytes: number;
  bufferSeconds: number;
  appendNewline: boolean;
}

/** Firehose's defaults for an S3 destination: 5 MB, 300 s. */
const DEFAULT_BUFFER_MB = 5;
const DEFAULT_BUFFER_SECONDS = 300;
const POLL_MS = 200;
const SHARD_DISCOVERY_MS = 5_000;
const MAX_RETRY_MS = 5_000;

export function deliveryStreamSpecFrom(resource: LocalResource): DeliveryStreamSpec {
  const p = resource.properties;
  const source = p.KinesisStreamSourceConfiguration as { KinesisStreamARN?: unknown } | undefined;
  const s3 = p.ExtendedS3DestinationConfiguration as Record<string, unknown> | undefined;
  const arn = String(source?.KinesisStreamARN ?? '');
  const streamName = /:stream\/(.+)$/.exec(arn)?.[1];
  const bucket = /^arn:aws[a-z-]*:s3:::(.+)$/.exec(String(s3?.BucketARN ?? ''))?.[1];
  if (!streamName || !s3 || !bucket) {
    throw new Error(`${resource.logicalId}: a local delivery stream needs KinesisStreamSourceConfiguration.KinesisStreamARN and ExtendedS3DestinationConfiguration.BucketARN`);
  }
  const hints = (s3.BufferingHints ?? {}) as { SizeInMBs?: unknown; IntervalInSeconds?: unknown };
  const processors = ((s3.ProcessingConfiguration as { Enabled?: unknown; Processors?: Array<{ Type?: unknown }> } | undefined) ?? {});
  const enabled = processors.Enabled === true || processors.Enabled === 'true';
  return {
    logicalId: resource.logicalId,
    name: resource.ref,
    sourceStreamName: streamName,
    bucket,
    prefix: String(s3.Prefix ?? ''),
    ...(s3.ErrorOutputPrefix !== undefined ? { errorOutputPrefix: String(s3.ErrorOutputPrefix) } : {}),
    compression: s3.CompressionFormat === 'GZIP' ? 'GZIP' : 'UNCOMPRESSED',
    bufferBytes: Number(hints.SizeInMBs ?? DEFAULT_BUFFER_MB) * 1024 * 1024,
    bufferSeconds: Number(hints.IntervalInSeconds ?? DEFAULT_BUFFER_SECONDS),
    appendNewline: enabled && (processors.Processors ?? []).some((processor) => processor.Type === 'AppendDelimiterToRecord'),
  };
}

/** `!{timestamp:yyyy-MM-dd}` and friends (the Java DateTimeFormatter letters Firehose takes), in UTC. */
export function expandPrefix(prefix: string, at: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const parts: Record<string, string> = {
    yyyy: String(at.getUTCFullYear()),
    MM: two(at.getUTCMonth() + 1),
    dd: two(at.getUTCDate()),
    HH: two(at.getUTCHours()),
    mm: two(at.getUTCMinutes()),
    ss: two(at.getUTCSeconds()),
  };
  return prefix.replace(/!\{timestamp:([^}]+)\}/g, (_, pattern: string) => pattern.replace(/yyyy|MM|dd|HH|mm|ss/g, (token) => parts[token]!));
}

/** Firehose's object name: `<prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<random>[.gz]`. */
export function objectKey(spec: DeliveryStreamSpec, oldestArrival: Date): string {
  const stamp = expandPrefix('!{timestamp:yyyy-MM-dd-HH-mm-ss}', oldestArrival);
  return `${expandPrefix(spec.prefix, oldestArrival)}${spec.name}-1-${stamp}-${randomUUID()}${spec.compression === 'GZIP' ? '.gz' : ''}`;
}

export interface DeliveryStreamOptions {
  spec: DeliveryStreamSpec;
  kinesis: KinesisClient;
  s3: S3Client;
  /** Replaces BufferingHints.IntervalInSeconds locally (quick tests, `npm start -- --archive-interval`). */
  bufferSecondsOverride?: number;
  now?: () => Date;
  log?: (line: string) => void;
}

export interface DeliveryStream {
  spec: DeliveryStreamSpec;
  /** Objects written so far. */
  written(): number;
  /** Writes what is buffered now, whatever the hints say. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

interface Buffered {
  data: Uint8Array;
  arrivedAt: Date;
}

export function startDeliveryStream(opts: DeliveryStreamOptions): DeliveryStream {
  const { spec } = opts;
  const now = opts.now ?? (() => new Date());
  const intervalMs = (opts.bufferSecondsOverride ?? spec.bufferSeconds) * 1000;
  const label = `[${spec.logicalId}]`;
  let buffer: Buffered[] = [];
  let bufferBytes = 0;
  let stopped = false;
  let objects = 0;
  let writing: Promise<void> = Promise.resolve();
  const readers = new Map<string, Promise<void>>();
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  /** Sleeps, but wakes within 100 ms of stop(). */
  const pause = async (ms: number) => {
    const end = Date.now() + ms;
    while (!stopped && Date.now() < end) await sleep(Math.min(100, end - Date.now()));
  };

  /** One object per call, with every record buffered when it was called; retried until S3 takes it. */
  const writeBuffered = (): Promise<void> => {
    if (buffer.length === 0) return writing;
    const records = buffer;
    buffer = [];
    bufferBytes = 0;
    writing = writing.then(async () => {
      const key = objectKey(spec, records[0]!.arrivedAt);
      const lines = records.map((r) => (spec.appendNewline ? Buffer.concat([r.data, Buffer.from('\n')]) : Buffer.from(r.data)));
      const raw = Buffer.concat(lines);
      const body = spec.compression === 'GZIP' ? gzipSync(raw) : raw;
      for (let attempt = 0; ; attempt++) {
        try {
          await opts.s3.send(new PutObjectCommand({ Bucket: spec.bucket, Key: key, Body: body }));
          objects++;
          return;
        } catch (error) {
          if (stopped && attempt >= 3) {
            opts.log?.(`${label} ${records.length} record(s) not archived: S3 refused ${key} until the local cloud stopped (${errorMessageOf(error)})`);
            return;
          }
          opts.log?.(`${label} PutObject ${key} failed, retrying: ${errorMessageOf(error)}`);
          await sleep(exponentialDelay(attempt, 200, MAX_RETRY_MS));
        }
      }
    });
    return writing;
  };

  const readShard = async (shardId: string): Promise<void> => {
    let iterator: string | undefined;
    let failures = 0;
    while (!stopped) {
      try {
        iterator ??= (await opts.kinesis.send(new GetShardIteratorCommand({ StreamName: spec.sourceStreamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' })))
          .ShardIterator;
        if (!iterator) return;
        const page = await opts.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        failures = 0;
        const arrivedAt = now();
        for (const record of page.Records ?? []) {
          const data = record.Data ?? new Uint8Array();
          buffer.push({ data, arrivedAt });
          bufferBytes += data.byteLength;
        }
        if (bufferBytes >= spec.bufferBytes) void writeBuffered();
        // A closed shard (after a reshard) has no next iterator: its children are read from their start.
        if (!page.NextShardIterator) return;
        iterator = page.NextShardIterator;
        if ((page.Records ?? []).length === 0) await pause(POLL_MS);
      } catch (error) {
        // A throttled GetRecords is retried with the same iterator: nothing skipped, nothing read twice.
        failures++;
        if (failures === 1) opts.log?.(`${label} reading ${shardId}: ${errorMessageOf(error)}`);
        await pause(exponentialDelay(failures, 250, MAX_RETRY_MS));
      }
    }
  };

  const discovery = (async () => {
    while (!stopped) {
      try {
        for (const { shardId } of await listShards(opts.kinesis, spec.sourceStreamName)) {
          if (!readers.has(shardId)) readers.set(shardId, readShard(shardId));
        }
      } catch (error) {
        opts.log?.(`${label} cannot list shards of ${spec.sourceStreamName}: ${errorMessageOf(error)}`);
      }
      await pause(SHARD_DISCOVERY_MS);
    }
  })();

  const timer = setInterval(() => {
    const oldest = buffer[0];
    if (oldest && now().getTime() - oldest.arrivedAt.getTime() >= intervalMs) void writeBuffered();
  }, Math.max(50, Math.min(POLL_MS, intervalMs)));

  return {
    spec,
    written: () => objects,
    flush: () => writeBuffered(),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await discovery.catch(() => undefined);
      await Promise.all(readers.values());
      await writeBuffered();
    },
  };
}
