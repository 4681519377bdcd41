import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../../tools/local-cloud/cloud';

// Issue 9: a new user's first steps. The README's "Send events" examples, run as a user runs them:
// its bash blocks in order, in one bash, from a folder whose .local/outputs.json is a running local
// cloud's (so the README's own INGEST_URL/API_KEY lines set them), each curl answer compared with
// the JSON answer the README shows after it. No example may hard-code an event_time (copied a week
// later it would answer too_old).

const PROJECT = path.resolve(__dirname, '../..');
const README = readFileSync(path.join(PROJECT, 'README.md'), 'utf8');
const workDir = mkdtempSync(path.join(tmpdir(), 'readme-examples-'));
let cloud: LocalCloud;

interface Block {
  lang: string;
  text: string;
}

/** The fenced blocks of one `## ` section, in order. */
function blocksOf(section: string): Block[] {
  const start = README.indexOf(`\n## ${section}\n`);
  expect(start, `README has a "## ${section}" section`).toBeGreaterThan(-1);
  const end = README.indexOf('\n## ', start + 1);
  const body = README.slice(start, end === -1 ? undefined : end);
  return [...body.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((match) => ({ lang: match[1]!, text: match[2]! }));
}

interface Example {
  command: string;
  expected?: unknown;
}

/** Each bash block, with the JSON answer the README shows after it (before the next bash block). */
function examplesOf(blocks: Block[]): Example[] {
  const examples: Example[] = [];
  for (const block of blocks) {
    if (block.lang === 'bash') examples.push({ command: block.text });
    else if (block.lang === 'json' && examples.length > 0 && examples.at(-1)!.expected === undefined && /\bcurl\b/.test(examples.at(-1)!.command)) {
      examples.at(-1)!.expected = JSON.parse(block.text);
    }
  }
  return examples;
}

type Answer = {
  accepted?: number;
  invalid?: number;
  error?: { code?: string };
  results?: Array<{ index: number; event_id: unknown; status: string; valid: boolean; errors: Array<{ code: string }> }>;
};

/** What must match: counts, the error code, and per result its status, validity, error codes and id (when the client chose it). */
function shape(answer: Answer, command: string) {
  return {
    accepted: answer.accepted,
    invalid: answer.invalid,
    error: answer.error?.code,
    results: answer.results?.map((result) => ({
      index: result.index,
      status: result.status,
      valid: result.valid,
      codes: result.errors.map((error) => error.code).sort(),
      event_id: typeof result.event_id === 'string' && command.includes(result.event_id) ? result.event_id : typeof result.event_id,
    })),
  };
}

function bash(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.INGEST_URL;
  delete env.API_KEY;
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { cwd: workDir, env, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  mkdirSync(path.join(workDir, '.local'));
  cloud = await startLocalCloud({
    port: 0,
    projectDir: PROJECT,
    cdkOut: path.join(workDir, 'cdk.out'),
    outputsFile: path.join(workDir, '.local', 'outputs.json'),
    generator: false,
    log: () => undefined,
    functionLog: () => undefined,
  });
}, 180_000);

afterAll(async () => {
  await cloud?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('README "Send events"', () => {
  const examples = examplesOf(blocksOf('Send events'));

  it('has curl examples with the answers they give, none with a fixed event_time', () => {
    const curls = examples.filter((example) => /\bcurl\b/.test(example.command));
    expect(curls.length).toBeGreaterThanOrEqual(3);
    for (const example of curls) {
      expect(example.expected, `an answer follows:\n${example.command}`).toBeDefined();
      expect(example.command).not.toMatch(/"event_time"\s*:\s*"\d{4}-/);
    }
  });

  it('answers each curl example as the README shows, run in one bash as a user would', { timeout: 60_000 }, async () => {
    const marker = (index: number) => `@@README-EXAMPLE ${index}@@`;
    const script = ['set -u', ...examples.map((example, index) => `echo '${marker(index)}'\n${example.command}\necho`)].join('\n');
    const run = await bash(script);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    let checked = 0;
    examples.forEach((example, index) => {
      const start = run.stdout.indexOf(marker(index)) + marker(index).length;
      const end = index + 1 < examples.length ? run.stdout.indexOf(marker(index + 1)) : undefined;
      const output = run.stdout.slice(start, end).trim();
      if (example.expected === undefined) {
        expect(output, `no output expected from:\n${example.command}`).toBe('');
        return;
      }
      const answer = JSON.parse(output) as Answer;
      expect(shape(answer, example.command), example.command).toEqual(shape(example.expected as Answer, example.command));
      checked++;
    });
    expect(checked).toBeGreaterThanOrEqual(3);
  });

  it('stores the valid events the examples sent: their valid:true answers are real', { timeout: 30_000 }, async () => {
    // One valid event, then a batch with two valid ones (and one invalid, for the DeadLetterQueue).
    const deadline = Date.now() + 25_000;
    let totals: Record<string, number> = {};
    while (Date.now() < deadline) {
      const metrics = (await (await fetch(`${cloud.endpoint}/_local/metrics`)).json()) as { totals?: Record<string, number> };
      totals = metrics.totals ?? {};
      if ((totals.EventsStored ?? 0) >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(totals.EventsStored ?? 0).toBeGreaterThanOrEqual(3);
  });
});
