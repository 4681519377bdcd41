import { CommanderError, type Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../tools/cli/program';

/** Parses argv in-process; usage errors surface as CommanderError with commander's message. */
async function parse(args: string[]): Promise<{ error?: CommanderError; stderr: string }> {
  let stderr = '';
  const program = buildProgram();
  const quiet = (command: Command) => {
    command.exitOverride().configureOutput({ writeErr: (text) => (stderr += text), writeOut: () => {} });
    command.commands.forEach(quiet);
  };
  quiet(program);
  try {
    await program.parseAsync(['node', 'pipeline', ...args]);
    return { stderr };
  } catch (error) {
    if (error instanceof CommanderError) return { error, stderr };
    throw error;
  }
}

describe('argument errors', () => {
  it.each([
    [['send', '--batch', '0'], /--batch must be a whole number from 1 to 500/],
    [['send', '--batch', 'ten'], /--batch must be a whole number from 1 to 500/],
    [['send', '--invalid-share', '1.5'], /--invalid-share must be a number from 0 to 1/],
    [['send', '--count', '-3'], /--count must be a whole number from 1/],
    [['redrive', '--mode', 'teleport'], /Allowed choices are auto, move-task, copy/],
    [['redrive', '--max', '0'], /--max must be a whole number from 1/],
    [['status', '--min-validity', '2'], /--min-validity must be a number from 0 to 1/],
    [['cost', '--kinesis', 'fast'], /Allowed choices are provisioned, on-demand/],
    [['replay', '--stream', 'both'], /Allowed choices are raw, processed/],
    [['dlq', 'nope'], /unknown command 'nope'/],
    [['send', '--colour', 'red'], /unknown option '--colour'/],
  ])('%j is refused with a clear message', async (args, message) => {
    const { error, stderr } = await parse(args);
    expect(error?.exitCode).toBe(1);
    expect(stderr).toMatch(message);
  });

  it('help is not an error', async () => {
    const { error } = await parse(['cost', '--help']);
    expect(error?.exitCode).toBe(0);
  });
});
