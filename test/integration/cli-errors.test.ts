import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputsAt, runCli } from '../fixtures/cli';

// The CLI's refusals, run as a child process: no outputs file, an endpoint nobody listens on,
// bad arguments, help on every command, and cost (which needs no stack).


const cli = (args: string[]) => runCli(args);

/** A port that was free a moment ago, so nothing answers on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

let dir: string;
let unreachable: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-errors-'));
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  unreachable = join(dir, 'unreachable.json');
  await writeFile(unreachable, outputsAt(endpoint));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('pipeline CLI errors', () => {
  it('a missing outputs file: a clear message and exit 1', async () => {
    const run = await cli(['dlq', 'stats', '--outputs', join(dir, 'nope.json')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: outputs file not found: .*nope\.json\. Start the local cloud \(npm start\)/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('an outputs file without the contract keys names them', async () => {
    const file = join(dir, 'partial.json');
    await writeFile(file, JSON.stringify({ S: { IngestUrl: 'http://x' } }));
    const run = await cli(['status', '--outputs', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/lacks the outputs ApiKeyId, RawStreamName, ProcessedStreamName, EventsTableName/);
  });

  it.each([
    [['send', '--count', '1']],
    [['dlq', 'stats']],
    [['redrive', '--dry-run']],
    [['status']],
  ])('an unreachable endpoint: %j says so and exits 1', async (args) => {
    const run = await cli([...args, '--outputs', unreachable]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: cannot reach .*\(ECONNREFUSED\)/);
  });

  it('bad arguments are refused before anything is sent', async () => {
    const batch = await cli(['send', '--count', '1', '--batch', '900', '--outputs', unreachable]);
    expect(batch.code).toBe(1);
    expect(batch.stderr).toMatch(/--batch must be a whole number from 1 to 500/);
    const filter = await cli(['redrive', '--filter', 'colour=red', '--outputs', unreachable]);
    expect(filter.code).toBe(1);
    expect(filter.stderr).toMatch(/--filter must be reason=<reason> or code=<error code>/);
    const replay = await cli(['replay', '--outputs', unreachable]);
    expect(replay.code).toBe(1);
    expect(replay.stderr).toMatch(/give exactly one of --from, --failure-record, --shard .* or --from-failure-queue/);
    const includeInvalid = await cli(['replay', '--from-failure-queue', '--include-invalid', '--outputs', unreachable]);
    expect(includeInvalid.code).toBe(1);
    expect(includeInvalid.stderr).toMatch(/--include-invalid applies to --from on the raw stream/);
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it.each([[['send']], [['dlq']], [['dlq', 'list']], [['dlq', 'show']], [['dlq', 'stats']], [['redrive']], [['replay']], [['status']], [['cost']]])(
    '%j --help describes the command and exits 0',
    async (command) => {
      const run = await cli([...command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^Usage: pipeline ${command.join(' ')}`));
      expect(run.stdout).toMatch(/--outputs <file>/);
    },
  );

  it('cost prints every component and the price source, without an outputs file', async () => {
    const run = await cli(['cost', '--rate', '10', '--batch', '10', '--outputs', join(dir, 'absent.json'), '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { lines: Array<{ component: string }>; prices: { sources: string[]; asOf: string; region: string } };
    expect(report.lines.map((l) => l.component)).toEqual([
      'API Gateway REST',
      'Lambda collector',
      'Lambda validator',
      'Lambda loader',
      'Kinesis provisioned',
      'SQS (dead letters)',
      'DynamoDB on-demand',
      'DynamoDB storage',
      // rawArchive is on in cdk.json's context.
      'Firehose (raw archive)',
      'S3 (raw archive)',
    ]);
    expect(report.prices.region).toBe('us-east-1');
    expect(report.prices.sources).toContain('https://aws.amazon.com/dynamodb/pricing/on-demand/');
    expect(report.prices.sources.every((page) => page.startsWith('https://aws.amazon.com/'))).toBe(true);
  });

  it('cost prints the pricing page of every component in its footer', async () => {
    const run = await cli(['cost', '--sink', 'aurora', '--outputs', join(dir, 'absent.json')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Prices: us-east-1 list prices as of \d{4}-\d{2}-\d{2}, no free tier, from:/);
    for (const page of ['api-gateway/pricing/', 'lambda/pricing/', 'kinesis/data-streams/pricing/', 'sqs/pricing/', 'rds/aurora/pricing/']) {
      expect(run.stdout).toContain(`  https://aws.amazon.com/${page}`);
    }
    expect(run.stdout).not.toContain('dynamodb');
  });
});
