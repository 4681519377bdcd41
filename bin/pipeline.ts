#!/usr/bin/env -S npx tsx
import { CommanderError } from 'commander';
import { buildProgram, quietOnClosedOutput } from '../tools/cli/program';
import { CliError } from '../tools/cli/errors';
import { escapeControl } from '../tools/cli/terminal-text';

// The AWS SDK's notice that a future release will need Node 22 would precede every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `pipeline cost | head -1`: the reader left; end quietly with the command's exit code.
quietOnClosedOutput();

/** An error message may quote client data (a file's content, a value from a queue): escaped, line by line. */
const safeLines = (text: string) => text.split('\n').map(escapeControl).join('\n');

const program = buildProgram().exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the usage problem (or the help, with exit code 0).
    process.exitCode = error.exitCode;
  } else if (error instanceof CliError) {
    process.stderr.write(`error: ${safeLines(error.message)}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`error: ${safeLines(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
    process.exitCode = 1;
  }
}
