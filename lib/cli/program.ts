import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createTrafficGenerator } from '../../lambdas/generator/traffic';
import { DEFAULT_MAX_ATTEMPTS, runAggregates } from './aggregates';
import {
  cents,
  compareCosts,
  configOf,
  costInputsFromConfig,
  DEFAULT_COST_INPUTS,
  estimateCost,
  formatComparison,
  readCdkContext,
  type CostInputs,
  type CostReport,
} from './cost';
import {
  formatDeadLetter,
  formatDeadLetterList,
  formatDeadLetterStats,
  groupDeadLetters,
  listDeadLetters,
  parseFilter,
  peekQueue,
  queueDepth,
  shownDeadLetter,
} from './dlq';
import { CliError, explainError } from './errors';
import { formatAge, formatMs, printJson, table } from './format';
import { DEFAULT_OUTPUTS_FILE, openTarget, type Target, type TargetOptions } from './outputs';
import { createProgress } from './progress';
import { formatRedrive, redrive, type RedriveSummary } from './redrive';
import {
  expectedRecordsOfFailureRecord,
  parseDate,
  rangeFromFailureRecord,
  replayFailureQueue,
  replayRanges,
  type ReplayRange,
  type ReplaySummary,
} from './replay';
import { readEventsFrom, sendEvents, sendSucceeded, type SendSummary } from './send';
import {
  cloudWatchSignals,
  DEFAULT_THRESHOLDS,
  evaluateStatus,
  formatStatus,
  localSignals,
  STATUS_EXIT_CODES,
} from './status';

interface GlobalOptions extends TargetOptions {
  progress: boolean;
}

const integer = (name: string, min: number, max = Number.MAX_SAFE_INTEGER) => (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new InvalidArgumentError(`${name} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}.`);
  }
  return parsed;
};

const number = (name: string, min: number, max = Number.POSITIVE_INFINITY) => (value: string) => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
    throw new InvalidArgumentError(`${name} must be a number from ${min}${max < Number.POSITIVE_INFINITY ? ` to ${max}` : ''}.`);
  }
  return parsed;
};

function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

/** The target of the running command, so an error can say where it could not get to. */
let currentTarget: Target | undefined;

async function target(command: Command): Promise<Target> {
  currentTarget = await openTarget(globals(command));
  return currentTarget;
}

/** Runs an action; turns network and credential failures into clear messages. */
function action<A extends unknown[]>(run: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      throw explainError(error, currentTarget?.endpointLabel);
    }
  };
}

/**
 * `pipeline ... | head -1`: when the reader of stdout (or stderr) goes away, end quietly with the
 * command's exit code (0 unless it had already set one) instead of an EPIPE stack trace. Installed
 * once, by bin/pipeline.ts, for every command.
 */
export function quietOnClosedOutput(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    if (stream.listeners('error').includes(onClosedOutput)) continue;
    stream.on('error', onClosedOutput);
  }
}

function onClosedOutput(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') process.exit(process.exitCode ?? 0);
  throw error;
}

export function buildProgram(): Command {
  const program = new Command('pipeline')
    .description(
      'Operate the e-commerce event pipeline: the local cloud, LocalStack or a deployed stack, from its outputs file.',
    )
    .option('--outputs <file>', 'stack outputs file (.local/outputs.json, or cdk-outputs.json from cdk deploy --outputs-file)', DEFAULT_OUTPUTS_FILE)
    .option('--stack <name>', 'stack in the outputs file when it holds several')
    .option('--region <region>', 'AWS region (default: AWS_REGION or the profile)')
    .option('--profile <profile>', 'AWS profile (default: AWS_PROFILE or the default chain)')
    .option('--endpoint <url>', 'endpoint for every AWS client (LocalStack; AWS_ENDPOINT_URL works too)')
    .option('--no-progress', 'no progress output on stderr')
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true });

  program
    .command('send')
    .description('send events to IngestUrl from a file (JSON or JSON Lines), stdin (-) or the traffic generator (--count)')
    .argument('[file]', 'events file, or - for stdin')
    .option('--count <n>', 'generate this many events with the generator Lambda\'s traffic model', integer('--count', 1))
    .option('--rate <eventsPerSecond>', 'pace the sending (default: as fast as --concurrency allows)', number('--rate', 0))
    .option('--batch <n>', 'events per request (1 to 500)', integer('--batch', 1, 500), 100)
    .option('--invalid-share <share>', 'share of generated events built to be invalid (0 to 1)', number('--invalid-share', 0, 1), 0)
    .option('--seed <n>', 'seed for the generator: same seed, same events', integer('--seed', 0))
    .option('--concurrency <n>', 'requests in flight', integer('--concurrency', 1, 64), 4)
    .option('--max-attempts <n>', 'attempts per event for retry results and transient failures', integer('--max-attempts', 1, 20), 5)
    .option('--api-key <key>', 'API key (default: PIPELINE_API_KEY, the outputs file, the ApiKeySecret, API Gateway)')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nRetry results are resent with the same event_id; the pipeline stores each event_id once.')
    .action(
      action(async (file: string | undefined, options, command: Command) => {
        if (file !== undefined && options.count !== undefined) throw new CliError('give either a file or --count, not both');
        let events: unknown[];
        let intendedInvalid: number | undefined;
        if (options.count !== undefined) {
          const generator = createTrafficGenerator({ seed: options.seed, invalidShare: options.invalidShare });
          const generated = generator.batch(options.count);
          events = generated.map((g) => g.event);
          intendedInvalid = generated.filter((g) => !g.intendedValid).length;
        } else if (file !== undefined) {
          events = await readEventsFrom(file);
        } else if (!process.stdin.isTTY) {
          events = await readEventsFrom('-');
        } else {
          throw new CliError('nothing to send: give a file, - for stdin, or --count N');
        }
        const t = await target(command);
        const apiKey = await t.apiKey();
        const progress = createProgress({ label: 'send', total: events.length, enabled: globals(command).progress });
        let summary: SendSummary;
        try {
          summary = await sendEvents(events, {
            ingestUrl: t.output('IngestUrl'),
            apiKey,
            batchSize: options.batch,
            rate: options.rate,
            concurrency: options.concurrency,
            maxAttempts: options.maxAttempts,
            progress,
          });
        } finally {
          progress.stop();
        }
        if (options.json) printJson({ ...summary, ...(intendedInvalid !== undefined ? { generatedInvalid: intendedInvalid } : {}) });
        else printSendSummary(summary, intendedInvalid);
        if (!sendSucceeded(summary)) process.exitCode = 1;
      }),
    );

  const dlq = program
    .command('dlq')
    .description('read the DeadLetterQueue without consuming it (messages become visible again at once)')
    .addHelpText(
      'after',
      '\nEach read adds one to a message\'s ApproximateReceiveCount; the DeadLetterQueue has no redrive policy, so nothing moves because of it.',
    );

  dlq
    .command('stats')
    .description('counts by reason and by error code, with the oldest age and a few samples')
    .option('--samples <n>', 'samples per group', integer('--samples', 0, 50), 2)
    .option('--json', 'print JSON')
    .action(
      action(async (options, command: Command) => {
        const t = await target(command);
        const messages = await peek(t, command);
        const stats = groupDeadLetters(messages, new Date(), options.samples);
        if (options.json) printJson(stats);
        else console.log(formatDeadLetterStats(stats));
      }),
    );

  dlq
    .command('list')
    .description('one line per dead letter: id, age, reason, codes, event_id')
    .option('--filter <filter>', 'reason=<reason> or code=<error code>')
    .option('--limit <n>', 'at most this many', integer('--limit', 1))
    .option('--json', 'print JSON')
    .action(
      action(async (options, command: Command) => {
        const filter = parseFilter(options.filter);
        const t = await target(command);
        const now = new Date();
        const rows = listDeadLetters(await peek(t, command), now, { filter, limit: options.limit });
        if (options.json) printJson(rows);
        else console.log(formatDeadLetterList(rows));
      }),
    );

  dlq
    .command('show')
    .description('one dead letter in full (the oldest when no id is given)')
    .argument('[messageId]', 'message id from dlq list')
    .option('--json', 'print JSON')
    .action(
      action(async (messageId: string | undefined, options, command: Command) => {
        const t = await target(command);
        const messages = await peek(t, command);
        const message = messageId
          ? messages.find((m) => m.messageId === messageId)
          : [...messages].sort((a, b) => (a.sentAt?.getTime() ?? 0) - (b.sentAt?.getTime() ?? 0))[0];
        if (!message) {
          throw new CliError(messageId ? `no message ${messageId} in the DeadLetterQueue` : 'the DeadLetterQueue is empty');
        }
        const shown = shownDeadLetter(message);
        if (options.json) printJson(shown);
        else console.log(formatDeadLetter(shown));
      }),
    );

  program
    .command('redrive')
    .description('move DeadLetterQueue messages to the RedriveQueue, where the validator checks them again')
    .option('--filter <filter>', 'only reason=<reason> or code=<error code> (others stay in the DeadLetterQueue)')
    .option('--max <n>', 'move at most this many', integer('--max', 1))
    .option('--dry-run', 'list what would move; move nothing')
    .addOption(
      new Option('--mode <mode>', 'auto: StartMessageMoveTask where the endpoint has it, else copy; move-task: StartMessageMoveTask only (fails where unsupported); copy: receive, send, delete')
        .choices(['auto', 'move-task', 'copy'])
        .default('auto'),
    )
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nThe console way: SQS console -> DeadLetterQueue -> Start DLQ redrive -> Redrive to a custom destination -> RedriveQueue.',
    )
    .action(
      action(async (options, command: Command) => {
        const filter = parseFilter(options.filter);
        const t = await target(command);
        const progress = createProgress({ label: options.dryRun ? 'reading' : 'redrive', total: 0, enabled: globals(command).progress });
        let summary: RedriveSummary;
        try {
          summary = await redrive(t.sqs(), {
            deadLetterQueueUrl: t.output('DeadLetterQueueUrl'),
            redriveQueueUrl: t.output('RedriveQueueUrl'),
            filter,
            max: options.max,
            dryRun: Boolean(options.dryRun),
            mode: options.mode,
            progress,
          });
        } finally {
          progress.stop();
        }
        if (options.json) printJson(summary);
        else console.log(formatRedrive(summary));
        if (summary.failed > 0 || summary.notDeleted > 0) process.exitCode = 1;
      }),
    );

  program
    .command('replay')
    .description('put a range of a stream back through validation; the loader stores each event_id once')
    .option('--from <time>', 'ISO-8601 start of a time range (every shard of the raw stream)')
    .option('--to <time>', 'ISO-8601 end of the time range (default: now)')
    .option('--failure-record <file>', 'an on-failure destination record (JSON file, or - for stdin)')
    .option('--shard <shardId>', 'shard of a sequence range')
    .option('--start-seq <sequenceNumber>', 'first sequence number of the range')
    .option('--end-seq <sequenceNumber>', 'last sequence number of the range')
    .addOption(new Option('--stream <stream>', 'stream of --from/--shard ranges').choices(['raw', 'processed']).default('raw'))
    .option('--from-failure-queue', 'replay every range named in the StreamFailureQueue, deleting a message only once its whole range is back (one that reads nothing stays)')
    .option(
      '--include-invalid',
      'with --from on the raw stream: put back invalid and unparseable records too (default: only events valid now; the others are in the DeadLetterQueue from the first pass)',
    )
    .option('--dry-run', 'count the records; put nothing')
    .option('--json', 'print the summary as JSON')
    .action(
      action(async (options, command: Command) => {
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
        if (options.fromFailureQueue) {
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

  const aggregates = program
    .command('aggregates')
    .description('check the hourly Aggregates against the stored events (verify) or repair them (rebuild)')
    .addHelpText(
      'after',
      '\nBoth recompute each hour from the Events table (one consistent Scan) and show every item that differs,' +
        '\nper field: what the table holds and what the stored events imply. Safe while the pipeline writes.',
    );

  aggregates
    .command('verify')
    .description('show every Aggregates item that differs from what the stored events imply (exit 0 all equal, 1 differences)')
    .option('--from <hour>', 'first hour, 2026-11-30T07 or any ISO-8601 time (truncated to its UTC hour; UTC when it names no offset)')
    .option('--to <hour>', 'last hour, inclusive (same forms)')
    .option('--max-attempts <n>', 'reads of an hour the loader keeps writing to before giving up on it', integer('--max-attempts', 1, 100), DEFAULT_MAX_ATTEMPTS)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nDefault: every hour present in either table. Exit codes: 0 all equal, 1 differences (or an hour still being written, or an error).')
    .action(
      action(async (options, command: Command) => {
        const t = await target(command);
        await runAggregates(t, 'verify', { ...options, progress: globals(command).progress });
      }),
    );

  aggregates
    .command('rebuild')
    .description('set every differing Aggregates item to what the stored events imply (conditional writes; idempotent)')
    .option('--from <hour>', 'first hour, 2026-11-30T07 or any ISO-8601 time (truncated to its UTC hour; UTC when it names no offset)')
    .option('--to <hour>', 'last hour, inclusive (same forms)')
    .option('--max-attempts <n>', 'attempts at an hour the loader keeps writing to before reporting it not repaired', integer('--max-attempts', 1, 100), DEFAULT_MAX_ATTEMPTS)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nEach write is conditioned on the count it read (the loader adds to count with every change), so a' +
        '\nconcurrent loader write makes it fail and the hour is redone. Exit codes: 0 repaired or nothing to do,' +
        '\n1 an hour not repaired (or an error).',
    )
    .action(
      action(async (options, command: Command) => {
        const t = await target(command);
        await runAggregates(t, 'rebuild', { ...options, progress: globals(command).progress });
      }),
    );

  program
    .command('status')
    .description('HEALTHY / DEGRADED / NO_DATA with the reasons (exit 0 / 2 / 3; 1 when status cannot be read)')
    .option('--min-validity <share>', 'validity rate under this is DEGRADED', number('--min-validity', 0, 1), DEFAULT_THRESHOLDS.minValidity)
    .option('--max-dlq-age <seconds>', 'oldest dead letter older than this is DEGRADED', number('--max-dlq-age', 0), DEFAULT_THRESHOLDS.maxDlqAgeSeconds)
    .option('--max-iterator-age <seconds>', 'stream iterator age over this is DEGRADED (AWS)', number('--max-iterator-age', 0), DEFAULT_THRESHOLDS.maxIteratorAgeSeconds)
    .option('--window <seconds>', 'recent window: nothing received or stored in it is NO_DATA (AWS)', number('--window', 60), DEFAULT_THRESHOLDS.windowSeconds)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nLocally the counters are totals since the local cloud started (GET <AwsEndpoint>/_local/metrics);' +
        '\non AWS they are CloudWatch sums over --window. Exit codes: 0 HEALTHY, 2 DEGRADED, 3 NO_DATA, 1 error.',
    )
    .action(
      action(async (options, command: Command) => {
        const t = await target(command);
        const thresholds = {
          minValidity: options.minValidity,
          maxDlqAgeSeconds: options.maxDlqAge,
          maxIteratorAgeSeconds: options.maxIteratorAge,
          windowSeconds: options.window,
        };
        const now = new Date();
        const signals = t.isLocal ? await localSignals(t, now) : await cloudWatchSignals(t, thresholds, now);
        const report = evaluateStatus(signals, thresholds, now);
        if (options.json) printJson(report);
        else console.log(formatStatus(report));
        process.exitCode = STATUS_EXIT_CODES[report.status];
      }),
    );

  program
    .command('cost')
    .description('monthly cost of a configuration at a given rate and batch size, per component and per million events')
    .option('-c, --context <key=value>', 'CDK context, as cdk deploy takes it (repeatable); on top of cdk.json\'s "context"', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--compare', 'the context, each cost knob alone and the cheapest documented configuration, side by side')
    .option('--rate <eventsPerSecond>', 'average events per second', number('--rate', 0), DEFAULT_COST_INPUTS.eventsPerSecond)
    .option('--batch <n>', 'events per ingest request', integer('--batch', 1, 500), DEFAULT_COST_INPUTS.batchSize)
    .option('--event-bytes <n>', 'average event size as sent', integer('--event-bytes', 1), DEFAULT_COST_INPUTS.eventBytes)
    .option('--invalid-share <share>', 'share of invalid events', number('--invalid-share', 0, 1), DEFAULT_COST_INPUTS.invalidShare)
    .option(
      '--anonymous-share <share>',
      'share of stored events without a user_id (the others are written to the ByUser index too; default: what the traffic generator produces)',
      number('--anonymous-share', 0, 1),
      DEFAULT_COST_INPUTS.anonymousShare,
    )
    .addOption(new Option('--kinesis <mode>', 'Kinesis capacity mode (default: the context\'s streamMode)').choices(['provisioned', 'on-demand']))
    .option('--shards <n>', 'provisioned: at least this many shards per stream (default: the context\'s shardCount)', integer('--shards', 1))
    .option('--stream-batch <n>', 'records per validator/loader invocation at most (default: the context\'s streamBatchSize)', integer('--stream-batch', 1, 10_000))
    .option('--collector-ms <ms>', 'collector billed duration per request', number('--collector-ms', 1), DEFAULT_COST_INPUTS.collector.durationMs)
    .option('--validator-ms <ms>', 'validator billed duration per batch of up to 100', number('--validator-ms', 1), DEFAULT_COST_INPUTS.validator.durationMs)
    .option('--loader-ms <ms>', 'loader billed duration per batch of up to 100', number('--loader-ms', 1), DEFAULT_COST_INPUTS.loader.durationMs)
    .option('--aggregate-keys <n>', 'aggregate items the loader writes per 100 stored events', number('--aggregate-keys', 0), DEFAULT_COST_INPUTS.aggregateItemsPer100Events)
    .addOption(new Option('--sink <sink>', 'where events are stored').choices(['dynamodb', 'aurora']).default(DEFAULT_COST_INPUTS.sink))
    .option('--acu <n>', 'Aurora Serverless v2 average ACUs', number('--acu', 0), DEFAULT_COST_INPUTS.auroraAverageAcu)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nNeeds no outputs file. The stack\'s knobs (streamMode, shardCount, tableCapacity and its bounds, eventsTtlDays,' +
        '\nbyUserProjection, streamBatchingWindowSeconds, streamBatchSize) come from cdk.json\'s "context" and -c key=value,' +
        '\nvalidated as cdk synth validates them. Prices: lib/cli/prices.ts (us-east-1, list prices, no free tier).',
    )
    .action(
      action(async (options) => {
        const context = readCdkContext(options.context);
        const inputsOf = (config: Parameters<typeof costInputsFromConfig>[0]): CostInputs => {
          const fromContext = costInputsFromConfig(config);
          return {
            ...fromContext,
            eventsPerSecond: options.rate,
            batchSize: options.batch,
            eventBytes: options.eventBytes,
            invalidShare: options.invalidShare,
            anonymousShare: options.anonymousShare,
            kinesisMode: options.kinesis ?? fromContext.kinesisMode,
            minShards: options.shards ?? fromContext.minShards,
            streamBatchSize: options.streamBatch ?? fromContext.streamBatchSize,
            collector: { ...DEFAULT_COST_INPUTS.collector, durationMs: options.collectorMs },
            validator: { ...DEFAULT_COST_INPUTS.validator, durationMs: options.validatorMs },
            loader: { ...DEFAULT_COST_INPUTS.loader, durationMs: options.loaderMs },
            aggregateItemsPer100Events: options.aggregateKeys,
            sink: options.sink,
            auroraAverageAcu: options.acu,
          };
        };
        if (options.compare) {
          const comparison = compareCosts(context, inputsOf);
          if (options.json) printJson(comparison);
          else console.log(formatComparison(comparison));
          return;
        }
        const report = estimateCost(inputsOf(configOf(context)));
        if (options.json) printJson(report);
        else printCost(report);
      }),
    );

  return program;
}

async function peek(t: Target, command: Command) {
  const queueUrl = t.output('DeadLetterQueueUrl');
  const depth = await queueDepth(t.sqs(), queueUrl);
  const progress = createProgress({ label: 'reading DLQ', total: depth.visible, enabled: globals(command).progress && depth.visible > 0 });
  try {
    return await peekQueue(t.sqs(), queueUrl, { onMessages: (fresh) => progress.increment(fresh.length) });
  } finally {
    progress.stop();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function printSendSummary(s: SendSummary, generatedInvalid?: number): void {
  console.log(
    table(
      ['events', 'accepted', 'valid', 'invalid', 'rejected', 'failed', 'resent', 'requests', 'p50', 'p99'],
      [[s.events, s.accepted, s.valid, s.invalid, s.rejected, s.failed, s.resent, s.requests, formatMs(s.latencyMs.p50), formatMs(s.latencyMs.p99)]],
    ),
  );
  console.log(`\n${s.durationSeconds} s, ${s.eventsPerSecond} events/s`);
  if (generatedInvalid !== undefined) console.log(`generated ${generatedInvalid} invalid on purpose`);
  const codes = (label: string, counts: Record<string, number>) => {
    const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
    if (entries.length > 0) console.log(`${label}: ${entries.map(([code, count]) => `${code} ${count}`).join(', ')}`);
  };
  codes('invalid by code', s.invalidCodes);
  codes('rejected by code', s.rejectedCodes);
  codes('request errors by status', s.requestErrors);
  if (s.splitRequests > 0) console.log(`${s.splitRequests} request(s) too large (413) were split in halves and sent again`);
  if (s.invalid > 0) console.log('Invalid events go on to the DeadLetterQueue: pipeline dlq stats');
  if (s.notWritten > 0) {
    console.log(
      `NOT WRITTEN: ${s.notWritten} of ${s.events} event(s): the API refused their whole request ` +
        `(${Object.entries(s.notWrittenByStatus).map(([status, n]) => `${n} by ${status}`).join(', ')}); ` +
        'nothing was stored for them. Fix them and send them again.',
    );
  }
  if (s.failed > 0) console.log(`NOT WRITTEN: ${s.failed} event(s) still to be retried after every attempt. Send them again.`);
}

function printReplay(s: ReplaySummary): void {
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

function printCost(report: CostReport): void {
  const i = report.inputs;
  console.log(
    `${i.eventsPerSecond} events/s (${Math.round(report.eventsPerMonth).toLocaleString('en-US')} a month), ${i.batchSize} per request, ` +
      `${i.eventBytes} B each, ${percent(i.invalidShare)} invalid, ${i.sink === 'dynamodb' ? `${percent(i.anonymousShare)} anonymous, ` : ''}` +
      `Kinesis ${i.kinesisMode}, sink ${i.sink}`,
  );
  if (i.sink === 'dynamodb') {
    console.log(
      `tables ${i.tableCapacity}${i.tableCapacity === 'provisioned' ? ` (WCU ${i.tableMinWriteCapacity}-${i.tableMaxWriteCapacity}, RCU ${i.tableMinReadCapacity}-${i.tableMaxReadCapacity})` : ''}, ` +
        `events ${i.eventsTtlDays > 0 ? `kept ${i.eventsTtlDays} days (TTL)` : 'kept forever'}, ByUser ${i.byUserProjection}, ` +
        `stream batches of up to ${i.streamBatchSize}, window ${i.streamBatchingWindowSeconds} s`,
    );
  }
  console.log('');
  console.log(
    table(
      ['component', '$/month', '$/M events', 'basis'],
      [
        ...report.lines.map((l) => [l.component, money(l.monthly), money(l.perMillionEvents, 4), l.basis]),
        ['total', money(report.totalMonthly), money(report.totalPerMillionEvents, 4), ''],
      ],
    ),
  );
  console.log(`\nPrices: ${report.prices.region} list prices as of ${report.prices.asOf}, no free tier, from:`);
  for (const page of report.prices.sources) console.log(`  ${page}`);
}

/** 0.02 -> "2%", 0.215 -> "21.5%", without float noise (0.07 * 100 = 7.000000000000001). */
function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

function money(value: number, digits = 2): string {
  return digits === 2 ? cents(value).toFixed(2) : value.toFixed(digits);
}
