#!/usr/bin/env -S npx tsx
import { CommanderError } from 'commander';
import { buildProgram } from '../lib/cli/program';
import { CliError } from '../lib/cli/errors';

// The AWS SDK's notice that a future release will need Node 22 would precede every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = buildProgram().exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the usage problem (or the help, with exit code 0).
    process.exitCode = error.exitCode;
  } else if (error instanceof CliError) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
