import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// Issue 9: `npm start` stops on SIGTERM and SIGINT sent to the npm process, as a process manager
// or a script sends them (not only on Ctrl-C in a terminal, which signals the whole process group):
// the whole tree (npm, node, its Lambda workers) ends within seconds, the summary is printed
// and nothing keeps the port. Run as a user runs it, through npm, with its own state directory so
// a developer's `npm start` (.local/outputs.json) is left alone.

const PROJECT = path.resolve(__dirname, '../..');
const stateDir = mkdtempSync(path.join(tmpdir(), 'npm-start-signals-'));
const started: number[] = [];

interface Started {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number }>;
  signalAt: { ms: number };
}

/** Every descendant of a process, from ps. */
function descendants(pid: number): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

/** A process's command line, from ps. */
const commandOf = (pid: number) => {
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function npmStart(extraArgs: string[], readyWithinMs: number): Promise<Started> {
  const child = spawn('npm', ['start', '--', '--port', '0', '--no-generator', '--state-dir', stateDir, ...extraArgs], {
    cwd: PROJECT,
    env: { ...process.env, NO_COLOR: '1', CI: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  started.push(child.pid!);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const signalAt = { ms: 0 };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, afterMs: Date.now() - signalAt.ms }));
  });
  const began = Date.now();
  while (!/Local cloud ready/.test(output)) {
    if (child.exitCode !== null) throw new Error(`npm start ended before it was ready:\n${output}`);
    if (Date.now() - began > readyWithinMs) throw new Error(`npm start was not ready within ${readyWithinMs} ms:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const port = Number(/AwsEndpoint\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
  for (const pid of descendants(child.pid!)) started.push(pid);
  return { child, output: () => output, port, exited, signalAt };
}

/** Whether something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function expectCleanStop(run: Started, signal: NodeJS.Signals): Promise<void> {
  const tree = [run.child.pid!, ...descendants(run.child.pid!)];
  // npm and node (`exec node --import tsx`: no tsx process between them), and any Lambda workers.
  expect(tree.length).toBeGreaterThanOrEqual(2);
  expect(tree.slice(1).some((pid) => /--import tsx bin\/local\.ts/.test(commandOf(pid)))).toBe(true);
  expect(await listening(run.port)).toBe(true);
  run.signalAt.ms = Date.now();
  process.kill(run.child.pid!, signal);
  const exit = await Promise.race([
    run.exited,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000)),
  ]);
  expect(exit, `npm start did not end within 15 s of ${signal}:\n${run.output()}`).toBeDefined();
  expect(exit!.afterMs).toBeLessThan(15_000);
  expect(run.output()).toContain(`Stopping (${signal})...`);
  expect(run.output()).toMatch(/Summary after \d+ s:/);
  expect(await listening(run.port)).toBe(false);
  // Give the last workers a moment to go, then nothing of the tree is left.
  const deadline = Date.now() + 5_000;
  while (tree.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(tree.filter(alive)).toEqual([]);
  expect(existsSync(path.join(stateDir, 'outputs.json'))).toBe(false);
}

afterAll(() => {
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(stateDir, { recursive: true, force: true });
});

describe('npm start and signals sent to the npm process', () => {
  it('stops the whole tree on SIGTERM, printing the summary and freeing the port', { timeout: 240_000 }, async () => {
    // The first run synthesizes into the state directory, as npm start does.
    const run = await npmStart([], 180_000);
    await expectCleanStop(run, 'SIGTERM');
  });

  it('stops the whole tree on SIGINT the same way', { timeout: 120_000 }, async () => {
    const run = await npmStart(['--skip-synth'], 60_000);
    await expectCleanStop(run, 'SIGINT');
  });
});
