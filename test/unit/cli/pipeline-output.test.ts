import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputsAt } from '../../fixtures/cli';

// The real binary as an operator runs it, as a child process: `pipeline cost | head -1` and
// `pipeline dlq list | head -1` end quietly (exit 0, no EPIPE stack), and `dlq list` against a
// DeadLetterQueue full of hostile dead letters prints nothing a terminal would act on. The queue is
// a small SQS (JSON protocol) stand-in, so this needs no local cloud.

const PROJECT = resolve(__dirname, '../../..');
const TSX = join(PROJECT, 'node_modules/tsx/dist/cli.mjs');
const ESCAPES = '\u001b[2J\u001b]0;title\u0007';
const LONG_ID = 'L'.repeat(5_000);

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI with stdout on a pipe. `closeStdout`: 'never', 'at-once' (the reader is gone before
 * anything is written) or 'after-first-line' (as `| head -1`).
 */
function pipeline(args: string[], closeStdout: 'never' | 'at-once' | 'after-first-line' = 'never'): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [TSX, 'bin/pipeline.ts', ...args], {
      cwd: PROJECT,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    if (closeStdout === 'at-once') child.stdout.destroy();
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (closeStdout === 'after-first-line' && stdout.includes('\n')) {
        stdout = stdout.slice(0, stdout.indexOf('\n') + 1);
        child.stdout.destroy();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`pipeline ${args.join(' ')} did not end within 60 s`));
    }, 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // stderr may still be draining.
      setImmediate(() => done({ code, signal, stdout, stderr }));
    });
  });
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** Dead letters whose event_ids and field names are hostile, and enough of them to fill a pipe. */
function deadLetters(count: number) {
  const hostile: unknown[] = [ESCAPES, LONG_ID, 42, 'a\u009b31mb\u202ec'];
  return Array.from({ length: count }, (_, index) => {
    const eventId = hostile[index % hostile.length];
    const field = index % 2 === 0 ? ESCAPES : `field-${index}`;
    const errors = [{ path: field, code: 'unknown_field', message: `unknown field ${field}` }];
    const body = JSON.stringify({ reason: 'validation_failed', errors, record: { event_id: eventId, [field]: 1 }, source: {}, attempts: 1 });
    return {
      MessageId: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      ReceiptHandle: `rh-${index}`,
      Body: body,
      MD5OfBody: md5(body),
      Attributes: { SentTimestamp: String(Date.now() - (count - index) * 1000), ApproximateReceiveCount: '1' },
      MessageAttributes: { reason: { DataType: 'String', StringValue: 'validation_failed' } },
    };
  });
}

let dir: string;
let outputsFile: string;
let server: http.Server;
const MESSAGES = deadLetters(400);

beforeAll(async () => {
  // A DeadLetterQueue that hands each message out once per visibility reset.
  let handedOut = 0;
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      const action = String(req.headers['x-amz-target'] ?? '').replace('AmazonSQS.', '');
      let answer: unknown = {};
      if (action === 'GetQueueAttributes') {
        answer = { Attributes: { ApproximateNumberOfMessages: String(MESSAGES.length - handedOut), ApproximateNumberOfMessagesNotVisible: '0', QueueArn: 'arn:aws:sqs:us-east-1:000000000000:dlq' } };
      } else if (action === 'ReceiveMessage') {
        const max = Number(body.MaxNumberOfMessages ?? 1);
        answer = { Messages: MESSAGES.slice(handedOut, handedOut + max) };
        handedOut = Math.min(MESSAGES.length, handedOut + max);
      } else if (action === 'ChangeMessageVisibilityBatch') {
        const entries = (body.Entries as Array<{ Id: string }>) ?? [];
        handedOut = 0;
        answer = { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
      }
      const text = JSON.stringify(answer);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'pipeline-output-'));
  outputsFile = join(dir, 'outputs.json');
  await writeFile(outputsFile, outputsAt(endpoint));
});

afterAll(async () => {
  await new Promise((ok) => server?.close(ok));
  if (dir) await rm(dir, { recursive: true, force: true });
});

const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function expectQuietEnd(run: Run): void {
  expect(run.signal).toBeNull();
  expect(run.code).toBe(0);
  expect(run.stderr).not.toMatch(/EPIPE|Error|at .*\(/);
}

describe('pipeline output closed early (| head -1)', () => {
  it('cost: exits 0 without a stack trace when stdout is gone before it writes', { timeout: 60_000 }, async () => {
    expectQuietEnd(await pipeline(['cost'], 'at-once'));
  });

  it('cost: exits 0 without a stack trace when the reader leaves after the first line', { timeout: 60_000 }, async () => {
    const run = await pipeline(['cost'], 'after-first-line');
    expectQuietEnd(run);
    expect(run.stdout.split('\n')[0]).toMatch(/events\/s/);
  });

  it('dlq list: exits 0 without a stack trace when the reader leaves after the first line', { timeout: 60_000 }, async () => {
    const run = await pipeline(['--outputs', outputsFile, '--no-progress', 'dlq', 'list'], 'after-first-line');
    expectQuietEnd(run);
    expect(run.stdout).toMatch(/^message id/);
  });

  it('dlq list --json: exits 0 when stdout is gone before it writes', { timeout: 60_000 }, async () => {
    expectQuietEnd(await pipeline(['--outputs', outputsFile, '--no-progress', 'dlq', 'list', '--json'], 'at-once'));
  });
});

describe('pipeline dlq list with hostile dead letters', () => {
  it('prints no control character, bounds every row and shows a number event_id as 42', { timeout: 60_000 }, async () => {
    const run = await pipeline(['--outputs', outputsFile, '--no-progress', 'dlq', 'list']);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(UNSAFE);
    expect(run.stdout).toContain('\\x1b[2J\\x1b]0;title\\x07');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`${MESSAGES.length} message(s).`);
    expect(Math.max(...lines.map((line) => Array.from(line).length))).toBeLessThan(320);
    expect(lines.some((line) => / 42 {2}/.test(line))).toBe(true);
    expect(run.stdout).not.toContain(' null ');
  });

  it('keeps the data exact with --json', { timeout: 60_000 }, async () => {
    const run = await pipeline(['--outputs', outputsFile, '--no-progress', 'dlq', 'list', '--json']);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(UNSAFE);
    const rows = JSON.parse(run.stdout) as Array<{ event_id?: unknown }>;
    expect(rows.slice(0, 4).map((row) => row.event_id)).toEqual([ESCAPES, LONG_ID, 42, 'a\u009b31mb\u202ec']);
  });
});
