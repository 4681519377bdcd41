import { Command } from 'commander';
import { DEFAULT_MAX_ATTEMPTS } from '../aggregates';
import { runRebuild } from '../rebuild';
import { action, globals, integer, target } from './kit';

export function registerRebuild(program: Command): void {
  program
    .command('rebuild')
    .description('recompute the hourly Aggregates of a range of hours (and the SQL sink\'s events, when on) from the raw archive in S3 (for events past the Events table\'s TTL)')
    .requiredOption('--from <hour>', 'first hour of event_time, 2026-11-30T07 or any ISO-8601 time (truncated to its UTC hour; UTC when it names no offset)')
    .requiredOption('--to <hour>', 'last hour, inclusive (same forms)')
    .option('--dry-run', 'only show what differs from what the archive implies; write nothing')
    .option('--max-attempts <n>', 'attempts at an hour the loader keeps writing to before reporting it not repaired', integer('--max-attempts', 1, 100), DEFAULT_MAX_ATTEMPTS)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nReads every archived raw record received from 5 minutes before --from to 7 days after --to (an event' +
        '\nmay arrive that late), judges each with the validator\'s own code, counts each event_id once and sets' +
        '\nthe hours\' Aggregates items with the conditional writes of `pipeline aggregates rebuild`. The Events' +
        '\ntable is not read. With the SQL sink (auroraSink), the same events are inserted into ecommerce_events' +
        '\n(ON CONFLICT (event_id) DO NOTHING: missing ones are added). Events stored after a redrive with an edited' +
        '\nrecord are counted as first received. Exit codes: 0 rebuilt (or nothing to do), 1 differences with' +
        '\n--dry-run or an hour not repaired (or an error).',
    )
    .action(
      action(async (options, command: Command) => {
        const t = await target(command);
        await runRebuild(t, { ...options, progress: globals(command).progress });
      }),
    );
}
