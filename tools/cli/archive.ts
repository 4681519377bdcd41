import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { KinesisClient, _Record } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { partitionKeyOf } from '../../lambdas/shared/events';
import { RawRecordSchema, type RawRecord } from '../../lambdas/shared/records';
import { CliError } from './errors';
import type { Progress } from './progress';
import type { RangeOutcome, ReplaySummary } from './replay';
import { putBack, vetRawRecord } from './replay-put';

/**
 * The raw archive (lib/constructs/raw-archive.ts): what Firehose wrote of the raw stream, gzip
 * JSON Lines under `raw/dt=YYYY-MM-DD/hour=HH/`, by the UTC hour Firehose received the records.
 * Read here for `pipeline replay --from-archive` and `pipeline rebuild`.
 *
 * Which records a time range holds is decided by each record's own `received_at` (the
 * collector's clock), not by the object's hour: Firehose files an object under the arrival hour of
 * its oldest record, which comes after received_at and may be an hour earlier than a younger
 * record's, so the hours from one before `from` to one after `to` are read and filtered.
 */

const HOUR_MS = 3_600_000;
/** Firehose receives a record after the collector wrote it, by up to its buffering interval and some. */
const ARRIVAL_MARGIN_MS = HOUR_MS;

/** `raw/dt=2026-11-30/hour=07/`: the archive prefix of the UTC hour of `at`. */
export function hourPrefix(at: Date): string {
  const iso = at.toISOString();
  return `raw/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/`;
}

/** Every hour prefix that may hold records received from `from` to `to`. */
export function archivePrefixes(from: Date, to: Date): string[] {
  const first = Math.floor((from.getTime() - ARRIVAL_MARGIN_MS) / HOUR_MS) * HOUR_MS;
  const last = to.getTime() + ARRIVAL_MARGIN_MS;
  const prefixes: string[] = [];
  for (let t = first; t <= last; t += HOUR_MS) prefixes.push(hourPrefix(new Date(t)));
  return prefixes;
}

/** One line of an archived object: the raw stream record's data, as the collector wrote it. */
export interface ArchivedLine {
  key: string;
  data: Buffer;
  /** The envelope, when the line is one (RawRecordSchema). */
  envelope?: RawRecord;
}

/** Splits an object's body (gzip or not) into its records: one per line, the newline removed. */
export function linesOf(body: Buffer): Buffer[] {
  const text = body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body;
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== 0x0a) continue;
    lines.push(text.subarray(start, i));
    start = i + 1;
  }
  if (start < text.length) lines.push(text.subarray(start));
  return lines;
}

function envelopeOf(data: Buffer): RawRecord | undefined {
  try {
    const parsed = RawRecordSchema.safeParse(JSON.parse(data.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The archive bucket of a target's stack, or a clear error when it has none (rawArchive off). */
export function archiveBucketOf(outputs: { file: string; stackName: string; values: Record<string, string> }): string {
  const bucket = outputs.values.ArchiveBucketName;
  if (!bucket) {
    throw new CliError(
      `${outputs.file} (stack ${outputs.stackName}) has no ArchiveBucketName: the stack has no raw archive (deploy it with -c rawArchive=true, the default)`,
    );
  }
  return bucket;
}

export interface ArchiveRange {
  bucket: string;
  from: Date;
  to: Date;
}

/** What reading a range found besides the records it returns. */
export interface ArchiveReadCounts {
  objects: number;
  /** Lines of the objects read. */
  lines: number;
  /** Records received outside the range (in a neighbouring hour's object). */
  outOfRange: number;
  /** Byte-identical copies of a line already read (Firehose delivers at least once). */
  duplicates: number;
  /**
   * Records carrying `replayed_at`: a replay put them back on the raw stream, so the archive holds
   * them twice (the original and the copy). The original is what a replay or a rebuild reads.
   */
  replayedCopies: number;
}

/**
 * The archived raw records of a range, one object at a time (each object's lines in order), each
 * record once: envelopes received in [from, to], and lines that are not an envelope when their
 * object's hour lies in the range (they carry no received_at).
 */
export async function* readArchive(
  s3: S3Client,
  range: ArchiveRange,
  counts: ArchiveReadCounts,
  progress?: Progress,
): AsyncGenerator<{ key: string; records: ArchivedLine[] }> {
  const seen = new Set<string>();
  const inRangePrefixes = new Set(archivePrefixes(range.from, range.to).filter((prefix) => {
    const hour = Date.parse(`${prefix.slice(7, 17)}T${prefix.slice(23, 25)}:00:00Z`);
    return hour + HOUR_MS > range.from.getTime() && hour <= range.to.getTime();
  }));
  for (const prefix of archivePrefixes(range.from, range.to)) {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: range.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue;
        const got = await s3.send(new GetObjectCommand({ Bucket: range.bucket, Key: object.Key }));
        const body = Buffer.from(await got.Body!.transformToByteArray());
        let lines: Buffer[];
        try {
          lines = linesOf(body);
        } catch (error) {
          throw new CliError(`s3://${range.bucket}/${object.Key} is not a gzip JSON Lines object: ${(error as Error).message}`);
        }
        counts.objects++;
        counts.lines += lines.length;
        const records: ArchivedLine[] = [];
        for (const data of lines) {
          if (data.length === 0) continue;
          // A digest per line read, not the line: a long range stays small in memory.
          const digest = createHash('sha256').update(data).digest('base64');
          if (seen.has(digest)) {
            counts.duplicates++;
            continue;
          }
          seen.add(digest);
          const envelope = envelopeOf(data);
          if (envelope?.replayed_at !== undefined) {
            counts.replayedCopies++;
            continue;
          }
          const inRange = envelope
            ? Date.parse(envelope.received_at) >= range.from.getTime() && Date.parse(envelope.received_at) <= range.to.getTime()
            : inRangePrefixes.has(prefix);
          if (!inRange) {
            counts.outOfRange++;
            continue;
          }
          records.push({ key: object.Key, data, ...(envelope ? { envelope } : {}) });
        }
        progress?.increment(1, `${object.Key}: ${records.length} record(s)`);
        yield { key: object.Key, records };
      }
      token = page.NextContinuationToken;
    } while (token);
  }
}

export interface ArchiveReplayOptions {
  dryRun: boolean;
  includeInvalid: boolean;
  rawStreamName: string;
  now?: () => Date;
  progress?: Progress;
}

export type ArchiveReplaySummary = ReplaySummary & { archive: ArchiveReadCounts & { bucket: string } };

/**
 * `pipeline replay --from-archive`: every archived raw record received in the range goes back on
 * the raw stream as a stream replay puts it (vetRawRecord: only events valid now unless
 * includeInvalid, marked `replayed_at`; putBack: retried, chunked PutRecords) with the partition
 * key the collector gave it. The loader stores each event_id once, so records whose events are
 * stored already change nothing and the others are stored and counted once.
 */
export async function replayFromArchive(s3: S3Client, kinesis: KinesisClient, range: ArchiveRange, options: ArchiveReplayOptions): Promise<ArchiveReplaySummary> {
  const now = (options.now ?? (() => new Date()))();
  const counts: ArchiveReadCounts = { objects: 0, lines: 0, outOfRange: 0, duplicates: 0, replayedCopies: 0 };
  const summary: ArchiveReplaySummary = {
    dryRun: options.dryRun,
    read: 0,
    replayed: 0,
    failed: 0,
    skippedInvalid: 0,
    skippedUnparseable: 0,
    skippedInvalidCodes: {},
    ranges: [],
    notReplayed: [],
    archive: { bucket: range.bucket, ...counts },
  };
  const byHour = new Map<string, RangeOutcome>();
  for await (const { key, records } of readArchive(s3, range, counts, options.progress)) {
    const hour = key.split('/').slice(1, 3).join('/');
    let outcome = byHour.get(hour);
    if (!outcome) {
      outcome = { stream: `s3://${range.bucket}`, shard_id: hour, range: `${range.from.toISOString()}..${range.to.toISOString()}`, read: 0, replayed: 0, failed: 0, skipped_invalid: 0, skipped_unparseable: 0 };
      byHour.set(hour, outcome);
      summary.ranges.push(outcome);
    }
    const toPut: Array<Pick<_Record, 'Data' | 'PartitionKey'>> = [];
    for (const record of records) {
      outcome.read++;
      const verdict = vetRawRecord(record.data, { includeInvalid: options.includeInvalid, now });
      if (verdict.put) {
        const event = record.envelope?.event;
        const partitionKey = partitionKeyOf(typeof event === 'object' && event !== null ? (event as Record<string, unknown>) : {});
        toPut.push({ Data: verdict.data, PartitionKey: partitionKey });
      } else if (verdict.why === 'invalid') {
        outcome.skipped_invalid++;
        for (const code of verdict.codes) summary.skippedInvalidCodes[code] = (summary.skippedInvalidCodes[code] ?? 0) + 1;
      } else {
        outcome.skipped_unparseable++;
      }
    }
    if (toPut.length > 0 && !options.dryRun) {
      const { ok, failed } = await putBack(kinesis, options.rawStreamName, toPut, new Map());
      outcome.replayed += ok;
      outcome.failed += failed;
    }
  }
  for (const outcome of summary.ranges) {
    summary.read += outcome.read;
    summary.replayed += outcome.replayed;
    summary.failed += outcome.failed;
    summary.skippedInvalid += outcome.skipped_invalid;
    summary.skippedUnparseable += outcome.skipped_unparseable;
  }
  summary.archive = { bucket: range.bucket, ...counts };
  return summary;
}
