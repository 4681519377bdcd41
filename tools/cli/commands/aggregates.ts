import { Command } from 'commander';
import { DEFAULT_MAX_ATTEMPTS, runAggregates } from '../aggregates';
import { action, globals, integer, target } from './kit';

export function registerAggregates(program: Command): void {
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
}
