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
  let nextStep = 1;
  return {
    increment(by = 1, detail) {
      done += by;
      // A quarter at a time keeps logs readable however many items there are.
      while (currentTotal > 0 && nextStep <= PLAIN_STEPS && done >= (currentTotal * nextStep) / PLAIN_STEPS) {
        stream.write(`${label}: ${done}/${currentTotal}${detail ? ` (${detail})` : ''}\n`);
        nextStep++;
      }
    },
    setTotal(value) {
      currentTotal = value;
    },
    stop() {},
  };
}
