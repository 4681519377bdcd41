import { Command, InvalidArgumentError } from 'commander';
import { explainError } from '../errors';
import { openTarget, type Target, type TargetOptions } from '../outputs';

/** What every command reads and shares: option parsers, the global options, the target, error handling. */
export interface GlobalOptions extends TargetOptions {
  progress: boolean;
}

export const integer = (name: string, min: number, max = Number.MAX_SAFE_INTEGER) => (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new InvalidArgumentError(`${name} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}.`);
  }
  return parsed;
};

export const number = (name: string, min: number, max = Number.POSITIVE_INFINITY) => (value: string) => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
    throw new InvalidArgumentError(`${name} must be a number from ${min}${max < Number.POSITIVE_INFINITY ? ` to ${max}` : ''}.`);
  }
  return parsed;
};

export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

/** The target of the running command, so an error can say where it could not get to. */
let currentTarget: Target | undefined;

export async function target(command: Command): Promise<Target> {
  currentTarget = await openTarget(globals(command));
  return currentTarget;
}

/** Runs an action; turns network and credential failures into clear messages. */
export function action<A extends unknown[]>(run: (...args: A) => Promise<void>) {
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

