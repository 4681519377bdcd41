import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { childProfileArgs } from './profile';

export const BENCH_DIR = import.meta.dirname;

/** Forks a bench/*.ts script under tsx; resolves with the child and its first message. */
export async function forkTs<T>(script: string, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; first: T }> {
  const child = fork(path.join(BENCH_DIR, script), [], {
    execArgv: ['--import', 'tsx', ...childProfileArgs()],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const first = await new Promise<T>((resolve, reject) => {
    child.once('message', (message) => resolve(message as T));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  return { child, first };
}

/** Asks a forked endpoint for its CPU time in microseconds. */
export function childCpuMicros(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve((message as { cpuMicros: number }).cpuMicros));
    child.send('cpu');
  });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
