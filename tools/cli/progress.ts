import cliProgress from 'cli-progress';

/** A progress display on stderr: a bar on a terminal, a few plain lines otherwise (logs, CI, pipes). */
export interface Progress {
  /** Adds to the done count; `detail` is shown next to the bar. */
  increment(by?: number, detail?: string): void;
  setTotal(total: number): void;
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  enabled?: boolean;
  stream?: NodeJS.WriteStream;
}

const PLAIN_STEPS = 4;

export function createProgress({ label, total, enabled = true, stream = process.stderr }: ProgressOptions): Progress {
  if (!enabled) return { increment() {}, setTotal() {}, stop() {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {percentage}% | {value}/{total} | {detail}`,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(total, 1), 0, { detail: '' });
    return {
      increment: (by = 1, detail) => bar.increment(by, detail === undefined ? {} : { detail }),
      setTotal: (value) => bar.setTotal(Math.max(value, 1)),
      stop: () => bar.stop(),
    };
  }
  let done = 0;
  let currentTotal = total;
  let printedSteps = 0;
  return {
    increment(by = 1, detail) {
      done += by;
      if (currentTotal <= 0) return;
      // A quarter at a time keeps logs readable however many items there are; one line per call.
      const steps = Math.min(PLAIN_STEPS, Math.floor((done * PLAIN_STEPS) / currentTotal));
      if (steps > printedSteps) {
        printedSteps = steps;
        stream.write(`${label}: ${done}/${currentTotal}${detail ? ` (${detail})` : ''}\n`);
      }
    },
    setTotal(value) {
      currentTotal = value;
    },
    stop() {},
  };
}
