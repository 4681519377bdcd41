import type { MetricTotals } from './types';
import { METRIC } from '../../lambdas/shared/metric-names';

/**
 * The local cloud's one live progress line: what the functions counted (their EMF metric
 * totals) and what waits in the DeadLetterQueue, with the ingest rate over the last interval.
 */

export interface ProgressSample {
  accepted: number;
  valid: number;
  invalid: number;
  stored: number;
  inDlq: number;
  /** Milliseconds since the epoch when the sample was taken. */
  at: number;
}

export function sampleFrom(totals: MetricTotals, inDlq: number, at: number): ProgressSample {
  const count = (name: string) => totals[name] ?? 0;
  return {
    accepted: count(METRIC.EventsAccepted),
    valid: count(METRIC.EventsValid),
    invalid: count(METRIC.EventsInvalid),
    stored: count(METRIC.EventsStored),
    inDlq,
    at,
  };
}

/** Accepted events per second between two samples (0 when no time passed). */
export function eventsPerSecond(previous: ProgressSample | undefined, current: ProgressSample): number {
  if (!previous) return 0;
  const seconds = (current.at - previous.at) / 1000;
  return seconds > 0 ? Math.max(0, current.accepted - previous.accepted) / seconds : 0;
}

const integer = new Intl.NumberFormat('en-US');

export function formatProgress(current: ProgressSample, previous?: ProgressSample): string {
  const rate = eventsPerSecond(previous, current);
  return [
    `accepted ${integer.format(current.accepted)}`,
    `valid ${integer.format(current.valid)}`,
    `invalid ${integer.format(current.invalid)}`,
    `stored ${integer.format(current.stored)}`,
    `in DLQ ${integer.format(current.inDlq)}`,
    `${rate.toFixed(1)} events/s`,
  ].join(' | ');
}

/** The end-of-run summary: totals and the average rate over the whole run. */
export function formatSummary(first: ProgressSample, last: ProgressSample): string[] {
  const seconds = Math.max(0, (last.at - first.at) / 1000);
  const average = seconds > 0 ? (last.accepted - first.accepted) / seconds : 0;
  return [
    `Summary after ${seconds.toFixed(0)} s:`,
    `  accepted ${integer.format(last.accepted)}, valid ${integer.format(last.valid)}, invalid ${integer.format(last.invalid)}`,
    `  stored ${integer.format(last.stored)}, in the DeadLetterQueue ${integer.format(last.inDlq)}`,
    `  ${average.toFixed(1)} events/s accepted on average`,
  ];
}

export interface ProgressLine {
  /** Prints a log line without breaking the live line. */
  log(line: string): void;
  /** Stops updating; returns the last sample taken. */
  stop(): Promise<ProgressSample | undefined>;
}

/**
 * On a terminal: one line rewritten in place every second. Elsewhere (CI, pipes): a plain line
 * every `plainIntervalMs`, so logs stay readable.
 */
export function startProgressLine(opts: {
  read: () => Promise<ProgressSample>;
  stream?: NodeJS.WriteStream;
  intervalMs?: number;
  plainIntervalMs?: number;
}): ProgressLine {
  const stream = opts.stream ?? process.stdout;
  const tty = stream.isTTY === true;
  const intervalMs = tty ? (opts.intervalMs ?? 1_000) : (opts.plainIntervalMs ?? 5_000);
  let previous: ProgressSample | undefined;
  let last: ProgressSample | undefined;
  let shown = '';
  let busy: Promise<void> = Promise.resolve();

  const draw = (text: string) => {
    if (tty) stream.write(`\r\x1b[2K${text}`);
    else stream.write(`${text}\n`);
    shown = text;
  };
  const tick = async () => {
    try {
      const sample = await opts.read();
      draw(formatProgress(sample, previous));
      previous = sample;
      last = sample;
    } catch (error) {
      draw(`progress unavailable: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const timer = setInterval(() => {
    busy = busy.then(tick);
  }, intervalMs);
  busy = busy.then(tick);

  return {
    log(line) {
      if (tty && shown) stream.write(`\r\x1b[2K${line}\n${shown}`);
      else stream.write(`${line}\n`);
    },
    async stop() {
      clearInterval(timer);
      await busy;
      await tick();
      if (tty) stream.write('\n');
      return last;
    },
  };
}
