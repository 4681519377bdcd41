#!/usr/bin/env node
import { createWriteStream, mkdirSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_PORT, startLocalCloud, type LocalCloud } from '../tools/local-cloud/cloud';
import { parseFaultSet, type FaultSet } from '../tools/local-cloud/fault-set';
import { parseScheduleExpression } from '../tools/local-cloud/schedules';
import { formatSummary, sampleFrom, startProgressLine, type ProgressSample } from '../tools/local-cloud/progress';

/**
 * `npm start`: the whole synthesized app on this machine, no Docker. Prints the endpoints and the
 * API key, keeps one live progress line, and stops cleanly on Ctrl-C, on SIGINT or SIGTERM (from a
 * process manager or `kill`), or after --duration.
 *
 * Signals reach this process through `npm start` -> `sh -c` -> tsx -> node: npm forwards SIGINT
 * and SIGTERM to its script's shell, and the start script `exec`s tsx so that shell is tsx itself
 * (a non-interactive dash neither forwards a signal nor execs its last command: it died and left
 * the local cloud running). tsx relays both signals to this process.
 */

// The AWS SDK's notice that a future release will need Node 22 would break up the progress line.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function positiveInteger(name: string, allowZero = false) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < (allowZero ? 0 : 1)) throw new InvalidArgumentError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer`);
    return parsed;
  };
}

function rateExpression(value: string): string {
  const expression = /^\d/.test(value.trim()) ? `rate(${value.trim()})` : value.trim();
  try {
    parseScheduleExpression(expression);
  } catch (error) {
    throw new InvalidArgumentError(`expected an EventBridge expression such as "rate(10 seconds)" (${error instanceof Error ? error.message : String(error)})`);
  }
  return expression;
}

/** `--faults '<json>'`: the fault set of contract §5, every problem named. */
function faultSet(value: string): FaultSet {
  try {
    return parseFaultSet(value);
  } catch (error) {
    throw new InvalidArgumentError(`${error instanceof Error ? error.message : String(error)} (e.g. '{"seed":1,"dynamodb":{"throttle":0.05}}')`);
  }
}

/** `-c key=value`: one CDK context entry (the stage is always local). */
function contextEntry(value: string, previous: Record<string, string>): Record<string, string> {
  const match = /^([A-Za-z][A-Za-z0-9:_-]*)=(.*)$/s.exec(value);
  if (!match) throw new InvalidArgumentError(`expected key=value, e.g. -c auroraSink=true (got "${value}")`);
  if (match[1] === 'stage') throw new InvalidArgumentError('the local cloud always runs stage local');
  return { ...previous, [match[1]!]: match[2]! };
}

/** The active faults in one line for the banner. */
function describeFaults(cloud: LocalCloud): string {
  const active = cloud.faults.state().active;
  return Object.keys(active).some((key) => key !== 'seed') ? JSON.stringify(active) : 'none';
}

const program = new Command()
  .name('local')
  .description('Run the synthesized app locally: one AWS endpoint (Kinesis, DynamoDB, SQS, Secrets Manager), the API and the functions.')
  .option('--port <n>', 'port of the local AWS endpoint and API', positiveInteger('--port', true), DEFAULT_PORT)
  .option('--no-generator', 'do not run the generator schedule')
  .option('--generator-rate <expr>', 'run the generator on this schedule instead of the template\'s, e.g. "rate(10 seconds)"', rateExpression)
  .option('--duration <seconds>', 'run this many seconds, print a summary and exit', positiveInteger('--duration'))
  .option('--archive-interval <seconds>', "write the raw archive every this many seconds instead of the template's Firehose buffering interval", positiveInteger('--archive-interval'))
  .option('--skip-synth', 'use the cloud assembly already in <state-dir>/cdk.out')
  .option('--state-dir <dir>', 'folder for the cloud assembly (cdk.out), outputs.json and functions.log', '.local')
  .option('-c, --context <key=value>', 'CDK context for the synth, repeatable, e.g. -c auroraSink=true', contextEntry, {} as Record<string, string>)
  .option('--faults <json>', 'inject faults from the start, e.g. \'{"seed":1,"kinesis":{"putRecordsEntryFailure":0.05}}\' (change them later at AwsEndpoint/_local/faults)', faultSet)
  .parse();

const opts = program.opts<{
  port: number;
  generator: boolean;
  generatorRate?: string;
  duration?: number;
  archiveInterval?: number;
  skipSynth?: boolean;
  stateDir: string;
  faults?: FaultSet;
  context: Record<string, string>;
}>();

/**
 * SIGINT and SIGTERM from the start: while starting, the process exits at once (every socket and
 * worker goes with it); once running, the first one stops the cloud cleanly and prints the summary,
 * a second one exits without waiting.
 */
let stopRequested: NodeJS.Signals | undefined;
let requestStop: (() => void) | undefined;
function onSignal(signal: NodeJS.Signals): void {
  const code = 128 + (constants.signals[signal] ?? 0);
  if (stopRequested !== undefined || requestStop === undefined) {
    console.error(`\n${signal}: ${stopRequested !== undefined ? 'stopping at once' : 'stopped while starting'}.`);
    process.exit(code);
  }
  stopRequested = signal;
  requestStop();
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/** Errors and warnings from the functions and pollers reach the terminal; the rest goes to the log file. */
function isNoteworthy(line: string): boolean {
  if (line.includes('"_aws"')) return false;
  const level = /"level":"([A-Z]+)"/.exec(line)?.[1];
  if (level !== undefined) return level === 'WARN' || level === 'ERROR' || level === 'CRITICAL';
  return /\bERROR\b|Task timed out|poller error|failed|cannot|discarded|on-failure destination/.test(line);
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const logDir = path.resolve(opts.stateDir);
  mkdirSync(logDir, { recursive: true });
  const functionLogPath = path.join(logDir, 'functions.log');
  const functionLog = createWriteStream(functionLogPath, { flags: 'w' });
  let printLine: (line: string) => void = (line) => console.log(line);

  console.log('Starting the local cloud (synthesizing the app, then starting the services)...');
  let cloud: LocalCloud;
  try {
    cloud = await startLocalCloud({
      port: opts.port,
      generator: opts.generator,
      ...(opts.generatorRate ? { generatorRate: opts.generatorRate } : {}),
      ...(opts.archiveInterval !== undefined ? { archiveBufferSeconds: opts.archiveInterval } : {}),
      skipSynth: opts.skipSynth === true,
      ...(Object.keys(opts.context).length > 0 ? { context: opts.context } : {}),
      cdkOut: path.join(logDir, 'cdk.out'),
      outputsFile: path.join(logDir, 'outputs.json'),
      ...(opts.faults ? { faultSet: opts.faults } : {}),
      log: (line) => printLine(line),
      functionLog: (line) => {
        functionLog.write(`${new Date().toISOString()} ${line}\n`);
        if (isNoteworthy(line)) printLine(line);
      },
    });
  } catch (error) {
    functionLog.end();
    console.error(`\nThe local cloud did not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
    return;
  }

  const o = cloud.outputs;
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  console.log(
    [
      '',
      `Local cloud ready in ${seconds} s: ${cloud.stackName}`,
      `  AwsEndpoint     ${cloud.endpoint}   (AWS_ENDPOINT_URL, aws --endpoint-url)`,
      `  IngestUrl       ${o.IngestUrl}`,
      `  API key         ${cloud.apiKeyValue}`,
      `  Events table    ${o.EventsTableName}`,
      `  DeadLetterQueue ${o.DeadLetterQueueUrl}`,
      `  Dashboard       ${o.DashboardUrl}   (live, in a browser)`,
      `  Outputs         ${cloud.outputsFile ?? '(not written)'}`,
      `  Function logs   ${functionLogPath}`,
      `  Faults          ${describeFaults(cloud)}   (GET/POST/DELETE ${cloud.endpoint}/_local/faults)`,
      `  Functions       ${cloud.functionNames.length}; schedules: ${cloud.schedules.map((r) => `${r.logicalId} ${r.expression} ${r.enabled ? 'on' : 'off'}`).join(', ') || 'none'}`,
      '',
      'Try:',
      `  curl -s -X POST '${o.IngestUrl!.replace(/\/+$/, '')}/events' -H 'x-api-key: ${cloud.apiKeyValue}' -H 'content-type: application/json' \\`,
      `    -d '{"event_type":"page_view","event_time":"'$(date -u +%Y-%m-%dT%H:%M:%SZ)'","user_id":"u-1","session_id":"s-1"}'`,
      `  aws --endpoint-url ${cloud.endpoint} --region us-east-1 sqs receive-message --queue-url ${o.DeadLetterQueueUrl}`,
      '',
    ].join('\n'),
  );

  const read = async (): Promise<ProgressSample> => {
    const metrics = await cloud.metrics();
    return sampleFrom(metrics.totals, metrics.deadLetterQueueDepth, Date.now());
  };
  const first = await read();
  const progress = startProgressLine({ read });
  printLine = (line) => progress.log(line);

  await new Promise<void>((resolve) => {
    requestStop = () => resolve();
    if (opts.duration !== undefined) setTimeout(requestStop, opts.duration * 1000).unref();
  });

  const last = (await progress.stop()) ?? first;
  printLine = (line) => console.log(line);
  console.log(stopRequested ? `Stopping (${stopRequested})...` : 'Stopping...');
  await cloud.stop();
  await new Promise<void>((resolve) => functionLog.end(resolve));
  for (const line of formatSummary(first, last)) console.log(line);
  // Everything is closed; should any handle still hold the event loop, do not wait on it.
  setTimeout(() => process.exit(), 2_000).unref();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
