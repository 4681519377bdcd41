import { Command, Option } from 'commander';
import { parseFilter } from '../dlq';
import { printJson } from '../format';
import { createProgress } from '../progress';
import { formatRedrive, redrive, type RedriveSummary } from '../redrive';
import { action, globals, integer, target } from './kit';

export function registerRedrive(program: Command): void {
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
}
