import type { S3Client } from '@aws-sdk/client-s3';
import { hourOfPartitionKey, hourPartitionKey, type AggregateSource } from '../../lambdas/shared/aggregates';
import { enrichEvent, LIMITS, validateEvent, type EnrichedEvent } from '../../lambdas/shared/events';
import { archiveBucketOf, readArchive, type ArchiveReadCounts } from './archive';
import { aggregatesExitCode, checkAggregates, parseHourBound, type AggregatesReport } from './aggregates';
import { printAggregates } from './aggregates-format';
import { CliError } from './errors';
import { printJson } from './format';
import type { Target } from './outputs';
import { createProgress, type Progress } from './progress';
import { formatSqlRebuild, rebuildSqlSink, type SqlRebuildReport } from './rebuild-sql';

/**
 * `pipeline rebuild --from H --to H`: the hourly aggregates of those hours (of event_time)
 * recomputed from the raw archive, for when the Events table cannot say (events past
 * eventsTtlDays) or the aggregates were lost.
 *
 * The archive holds every raw record as the collector wrote it. Each is judged with the
 * validator's own code (validateEvent against its received_at, then enrichEvent), each event_id
 * counted once (the earliest received, as the loader stores the first), and the hours' items set
 * with the conditional writes of `pipeline aggregates rebuild` (tools/cli/aggregates.ts), so a
 * loader write meanwhile makes the hour be redone, never doubled. An event of an hour may be
 * received from 5 minutes before the hour (clock skew) to 7 days after it (the oldest event_time
 * the validator accepts), so those receipt times are read.
 *
 * What the archive cannot know: an event first refused and later stored through a redrive with an
 * edited record is in the archive as refused; an event is counted as it was received, not as
 * edited. Rebuild hours no redrive touched, or repair them from the Events table while it holds
 * them (`pipeline aggregates rebuild`). With the SQL sink on (context auroraSink), the same events
 * are put into it too (tools/cli/rebuild-sql.ts).
 */

export interface ArchiveEvents {
  /** The valid events of the hours, by hour partition key, each event_id once. */
  events: Map<string, AggregateSource[]>;
  /** The same events whole, as the validator enriches them (only when asked: `wholeEvents`). */
  whole: EnrichedEvent[];
  counts: ArchiveReadCounts & {
    bucket: string;
    receivedFrom: string;
    receivedTo: string;
    /** Archived records of the receipt window, one per line read (duplicates and replay copies left out). */
    records: number;
    valid: number;
    invalid: number;
    unparseable: number;
    /** Valid records of an event_id already counted (client resends). */
    duplicateEventIds: number;
    /** Valid events whose event_time is outside the hours asked for. */
    otherHours: number;
  };
}

const HOUR_MS = 3_600_000;

export async function eventsFromArchive(
  s3: S3Client,
  bucket: string,
  { from, to, now, progress, wholeEvents = false }: { from: string; to: string; now: Date; progress?: Progress; wholeEvents?: boolean },
): Promise<ArchiveEvents> {
  const firstHour = Date.parse(`${hourOfPartitionKey(from)}:00:00Z`);
  const lastHourEnd = Date.parse(`${hourOfPartitionKey(to)}:00:00Z`) + HOUR_MS;
  const receivedFrom = new Date(firstHour - LIMITS.maxFutureSkewMs);
  const receivedTo = new Date(Math.min(now.getTime(), lastHourEnd + LIMITS.maxAgeMs));
  const read: ArchiveReadCounts = { objects: 0, lines: 0, outOfRange: 0, duplicates: 0, replayedCopies: 0 };
  const counts: ArchiveEvents['counts'] = {
    bucket,
    receivedFrom: receivedFrom.toISOString(),
    receivedTo: receivedTo.toISOString(),
    ...read,
    records: 0,
    valid: 0,
    invalid: 0,
    unparseable: 0,
    duplicateEventIds: 0,
    otherHours: 0,
  };
  const byId = new Map<string, { receivedAt: number; event: AggregateSource & { event_id: string }; whole?: EnrichedEvent }>();
  for await (const { records } of readArchive(s3, { bucket, from: receivedFrom, to: receivedTo }, read, progress)) {
    for (const record of records) {
      counts.records++;
      if (!record.envelope) {
        counts.unparseable++;
        continue;
      }
      const receivedAt = new Date(record.envelope.received_at);
      const verdict = validateEvent(record.envelope.event, receivedAt);
      if (!verdict.ok) {
        counts.invalid++;
        continue;
      }
      counts.valid++;
      const event = enrichEvent(verdict.event, { receivedAt, processedAt: now, originalVersion: verdict.originalVersion });
      const known = byId.get(event.event_id);
      if (known) {
        counts.duplicateEventIds++;
        if (known.receivedAt <= receivedAt.getTime()) continue;
      }
      // Only what the aggregates read is kept: a long range stays small in memory.
      const { event_id, event_type, event_time, category, product_id, quantity, currency, total_amount } = event;
      byId.set(event_id, {
        receivedAt: receivedAt.getTime(),
        event: { event_id, event_type, event_time, category, product_id, quantity, currency, total_amount },
        ...(wholeEvents ? { whole: event } : {}),
      });
    }
  }
  const events = new Map<string, AggregateSource[]>();
  const whole: EnrichedEvent[] = [];
  for (const { event, whole: wholeEvent } of byId.values()) {
    const pk = hourPartitionKey(event.event_time);
    if (pk < from || pk > to) {
      counts.otherHours++;
      continue;
    }
    const hour = events.get(pk) ?? [];
    hour.push(event);
    events.set(pk, hour);
    if (wholeEvent) whole.push(wholeEvent);
  }
  Object.assign(counts, read);
  return { events, whole, counts };
}

export interface RebuildReport {
  archive: ArchiveEvents['counts'];
  aggregates: AggregatesReport;
  /** Present when the stack has the SQL sink. */
  sql?: SqlRebuildReport;
}

/** Runs `pipeline rebuild` against a target: reads the archive, then verifies (--dry-run) or rebuilds the hours. */
export async function runRebuild(
  target: Target,
  options: { from: string; to: string; dryRun?: boolean; maxAttempts?: number; json?: boolean; progress: boolean },
): Promise<void> {
  const from = parseHourBound(options.from, '--from');
  const to = parseHourBound(options.to, '--to');
  if (to < from) throw new CliError('--to is before --from');
  const now = new Date();
  if (from > hourPartitionKey(now.toISOString())) throw new CliError('--from is in the future: the archive holds nothing for it yet');
  const hasSqlSink = Boolean(target.outputs.values.AuroraClusterArn);
  const progress = createProgress({ label: 'archive objects', total: 0, enabled: options.progress && Boolean(process.stderr.isTTY) });
  let read: ArchiveEvents;
  try {
    read = await eventsFromArchive(target.s3(), archiveBucketOf(target.outputs), { from, to, now, progress, wholeEvents: hasSqlSink });
  } finally {
    progress.stop();
  }
  const dynamo = target.documents();
  const aggregates = await checkAggregates(dynamo, {
    eventsTableName: target.output('EventsTableName'),
    aggregatesTableName: target.output('AggregatesTableName'),
    mode: options.dryRun ? 'verify' : 'rebuild',
    from,
    to,
    maxAttempts: options.maxAttempts,
    events: read.events,
  });
  const sql = hasSqlSink
    ? await rebuildSqlSink(
        target.rdsData(),
        { resourceArn: target.output('AuroraClusterArn'), secretArn: target.output('AuroraSecretArn'), database: target.output('AuroraDatabaseName') },
        read.whole,
        { dryRun: Boolean(options.dryRun) },
      )
    : undefined;
  process.exitCode = Math.max(aggregatesExitCode(aggregates), sql?.dryRun && sql.present < sql.events ? 1 : 0);
  if (options.json) return printJson({ archive: read.counts, aggregates, ...(sql ? { sql } : {}) } satisfies RebuildReport);
  const c = read.counts;
  console.log(
    `archive s3://${c.bucket}, received ${c.receivedFrom} .. ${c.receivedTo}: ${c.objects} object(s), ${c.records} record(s): ` +
      `${c.valid} valid, ${c.invalid} invalid, ${c.unparseable} not a raw record; ${c.duplicateEventIds} repeated event_id(s) counted once, ` +
      `${c.otherHours} valid event(s) of other hours; left out ${c.duplicates} duplicate line(s) and ${c.replayedCopies} replay copies`,
  );
  printAggregates(aggregates);
  if (sql) console.log(formatSqlRebuild(sql));
}
