import { Command } from 'commander';
import { createTrafficGenerator } from '../../../lambdas/generator/traffic';
import { CliError } from '../errors';
import { formatMs, printJson, table } from '../format';
import { createProgress } from '../progress';
import { readEventsFrom, sendEvents, sendSucceeded, type SendSummary } from '../send';
import { action, globals, integer, number, target } from './kit';

export function registerSend(program: Command): void {
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
