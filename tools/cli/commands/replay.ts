import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { CliError } from '../errors';
import { printJson, table } from '../format';
import { createProgress } from '../progress';
import {
  expectedRecordsOfFailureRecord,
  parseDate,
  rangeFromFailureRecord,
  replayFailureQueue,
  replayRanges,
  type ReplayRange,
  type ReplaySummary,
} from '../replay';
import { archiveBucketOf, replayFromArchive, type ArchiveReplaySummary } from '../archive';
import { action, globals, target } from './kit';

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('put a range of a stream back through validation; the loader stores each event_id once')
    .option('--from <time>', 'ISO-8601 start of a time range (every shard of the raw stream, or the raw archive with --from-archive)')
    .option('--to <time>', 'ISO-8601 end of the time range (default: now)')
    .option('--failure-record <file>', 'an on-failure destination record (JSON file, or - for stdin)')
    .option('--shard <shardId>', 'shard of a sequence range')
    .option('--start-seq <sequenceNumber>', 'first sequence number of the range')
    .option('--end-seq <sequenceNumber>', 'last sequence number of the range')
    .addOption(new Option('--stream <stream>', 'stream of --from/--shard ranges').choices(['raw', 'processed']).default('raw'))
    .option(
      '--from-archive',
      'with --from/--to: read the raw archive in S3 (ArchiveBucketName) instead of the stream, for records past its retention; records are picked by their received_at',
    )
    .option('--from-failure-queue', 'replay every range named in the StreamFailureQueue, deleting a message only once its whole range is back (one that reads nothing stays)')
    .option(
      '--include-invalid',
      'with --from on the raw stream: put back invalid and unparseable records too (default: only events valid now; the others are in the DeadLetterQueue from the first pass)',
    )
    .option('--dry-run', 'count the records; put nothing')
    .option('--json', 'print the summary as JSON')
    .action(
      action(async (options, command: Command) => {
        if (options.fromArchive && (options.from === undefined || options.stream !== 'raw')) {
          throw new CliError('--from-archive needs --from (and --to) and replays the raw stream');
        }
        const modes = [options.from !== undefined, options.failureRecord !== undefined, options.shard !== undefined, Boolean(options.fromFailureQueue)];
        if (modes.filter(Boolean).length !== 1) {
          throw new CliError('give exactly one of --from, --failure-record, --shard (with --start-seq and --end-seq) or --from-failure-queue');
        }
        if (options.includeInvalid && (options.from === undefined || options.stream !== 'raw')) {
          throw new CliError('--include-invalid applies to --from on the raw stream; other ranges are put back whole already');
        }
        const t = await target(command);
        const streams = [t.output('RawStreamName'), t.output('ProcessedStreamName')];
        const streamName = options.stream === 'processed' ? streams[1]! : streams[0]!;
        const progress = createProgress({ label: 'replay', total: 0, enabled: false });
        const replayOptions = {
          dryRun: Boolean(options.dryRun),
          progress,
          readPauseMs: t.isLocal ? 0 : 200,
          rawStreamName: streams[0],
          includeInvalid: Boolean(options.includeInvalid),
        };
        let summary: ReplaySummary;
        if (options.fromArchive) {
          const from = parseDate(options.from, '--from');
          const to = options.to !== undefined ? parseDate(options.to, '--to') : new Date();
          if (to < from) throw new CliError('--to is before --from');
          const archiveProgress = createProgress({ label: 'archive objects', total: 0, enabled: globals(command).progress && Boolean(process.stderr.isTTY) });
          try {
            summary = await replayFromArchive(
              t.s3(),
              t.kinesis(),
              { bucket: archiveBucketOf(t.outputs), from, to },
              { dryRun: Boolean(options.dryRun), includeInvalid: Boolean(options.includeInvalid), rawStreamName: streams[0]!, progress: archiveProgress },
            );
          } finally {
            archiveProgress.stop();
          }
        } else if (options.fromFailureQueue) {
          summary = await replayFailureQueue(t.sqs(), t.kinesis(), t.output('StreamFailureQueueUrl'), streams, replayOptions);
        } else {
          let range: ReplayRange;
          if (options.from !== undefined) {
            const from = parseDate(options.from, '--from');
            const to = options.to !== undefined ? parseDate(options.to, '--to') : new Date();
            if (to < from) throw new CliError('--to is before --from');
            range = { kind: 'time', streamName, from, to: to.getTime() > Date.now() ? new Date() : to };
          } else if (options.failureRecord !== undefined) {
            const text = options.failureRecord === '-' ? await readStdin() : await readFile(options.failureRecord, 'utf8').catch((error: Error) => {
              throw new CliError(`cannot read ${options.failureRecord}: ${error.message}`);
            });
            let document: unknown;
            try {
              document = JSON.parse(text);
            } catch (error) {
              throw new CliError(`the failure record is not JSON: ${(error as Error).message}`);
            }
            const expectedRecords = expectedRecordsOfFailureRecord(document);
            range = { ...rangeFromFailureRecord(document, streams), ...(expectedRecords !== undefined ? { expectedRecords } : {}) };
          } else {
            if (!options.startSeq || !options.endSeq) throw new CliError('--shard needs --start-seq and --end-seq');
            if (!/^\d+$/.test(options.startSeq) || !/^\d+$/.test(options.endSeq)) throw new CliError('sequence numbers are digits');
            range = { kind: 'sequence', streamName, shardId: options.shard, startSequenceNumber: options.startSeq, endSequenceNumber: options.endSeq };
          }
          summary = await replayRanges(t.kinesis(), [range], replayOptions);
        }
        if (options.json) printJson(summary);
        else printReplay(summary);
        if (summary.failed > 0 || summary.notReplayed.length > 0) process.exitCode = 1;
      }),
    );
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function printReplay(s: ReplaySummary | ArchiveReplaySummary): void {
  if ('archive' in s) {
    const a = s.archive;
    console.log(
      `archive s3://${a.bucket}: ${a.objects} object(s), ${a.lines} line(s); left out: ${a.outOfRange} received outside the range, ` +
        `${a.duplicates} duplicate line(s), ${a.replayedCopies} copies a replay had put back (their originals are read instead)`,
    );
  }
  if (s.ranges.length > 0) {
    console.log(
      table(
        ['stream', 'shard', 'range', 'read', 'replayed', 'skipped', 'failed'],
        s.ranges.map((r) => [r.stream, r.shard_id, r.range, r.read, r.replayed, r.skipped_invalid + r.skipped_unparseable, r.failed]),
      ),
    );
    console.log('');
  }
  if (s.failureMessages) {
    console.log(`failure messages: ${s.failureMessages.read} read, ${s.failureMessages.deleted} deleted, ${s.failureMessages.unreadable} unreadable`);
  }
  const skipped = s.skippedInvalid + s.skippedUnparseable;
  console.log(
    s.dryRun
      ? `Dry run: ${s.read} record(s) in range, ${s.read - skipped} would be put back; nothing was put.`
      : `${s.read} record(s) read, ${s.replayed} put back, ${s.failed} failed. The loader stores each event_id once.`,
  );
  if (s.skippedInvalid > 0) {
    const codes = Object.entries(s.skippedInvalidCodes).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ');
    console.log(
      `${s.skippedInvalid} skipped as invalid (${codes}): already in the DeadLetterQueue from the first pass; fix and redrive them instead ` +
        '(pipeline redrive), or --include-invalid to put them back anyway.',
    );
  }
  if (s.skippedUnparseable > 0) {
    console.log(`${s.skippedUnparseable} skipped as not a raw record: already in the DeadLetterQueue as unparseable.`);
  }
  for (const r of s.notReplayed) {
    console.log(
      `NOT REPLAYED: ${r.reason}: ${r.stream} ${r.shard_id} ${r.range}` +
        (r.message_id !== undefined ? `; its StreamFailureQueue message ${r.message_id} stays in the queue` : ''),
    );
  }
}
