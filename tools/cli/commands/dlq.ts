import { Command } from 'commander';
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
} from '../dlq';
import { CliError } from '../errors';
import { printJson } from '../format';
import type { Target } from '../outputs';
import { createProgress } from '../progress';
import { action, globals, integer, target } from './kit';

export function registerDlq(program: Command): void {
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
