import { Command } from 'commander';
import { printJson } from '../format';
import { DEFAULT_THRESHOLDS, evaluateStatus, formatStatus, STATUS_EXIT_CODES } from '../status';
import { cloudWatchSignals, localSignals } from '../status-signals';
import { action, number, target } from './kit';

export function registerStatus(program: Command): void {
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
}
