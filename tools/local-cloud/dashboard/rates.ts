import { METRIC } from '../../../lambdas/shared/metric-names';
import type { MetricTotals } from '../types';

/**
 * Events per second by stage for the dashboard: the functions' EMF counter totals (what
 * `cloud.metrics()` counts) sampled once a second into a small ring buffer kept in the local
 * cloud, and turned into rates between consecutive samples. The page only reads the buffer, so
 * a browser tab opened late still sees the last few minutes.
 */

/** The stages the dashboard charts, and the counter each one is. */
export const STAGES = [
  { key: 'accepted', metric: METRIC.EventsAccepted, label: 'accepted (collector)' },
  { key: 'valid', metric: METRIC.EventsValid, label: 'valid (validator)' },
  { key: 'invalid', metric: METRIC.EventsInvalid, label: 'invalid (validator)' },
  { key: 'stored', metric: METRIC.EventsStored, label: 'stored (loader)' },
] as const;

export type StageKey = (typeof STAGES)[number]['key'];

export interface TotalsSample {
  /** Milliseconds since the epoch. */
  at: number;
  counts: Record<StageKey, number>;
}

export interface RateSeries {
  /** End of each interval, milliseconds since the epoch. */
  at: number[];
  /** Events per second over each interval, per stage (same length as `at`). */
  rates: Record<StageKey, number[]>;
}

export function countsOf(totals: MetricTotals): Record<StageKey, number> {
  const counts = {} as Record<StageKey, number>;
  for (const stage of STAGES) counts[stage.key] = totals[stage.metric] ?? 0;
  return counts;
}

/** Fixed-size ring of samples: the oldest is dropped once `capacity` are held. */
export class RateRing {
  private readonly samples: TotalsSample[] = [];

  constructor(readonly capacity = 301) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new Error(`capacity must be an integer >= 2, got ${capacity}`);
  }

  add(sample: TotalsSample): void {
    const last = this.samples[this.samples.length - 1];
    // A clock step backwards would give a negative interval: start again from this sample.
    if (last && sample.at <= last.at) this.samples.length = 0;
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
  }

  get size(): number {
    return this.samples.length;
  }

  latest(): TotalsSample | undefined {
    return this.samples[this.samples.length - 1];
  }

  /**
   * Per sample, the rate over the `windowMs` before it (from the oldest sample held in that
   * window): the functions count in batches, so per-second differences are spikes and gaps, while
   * a few seconds' window shows the flow. A counter that went down (never expected) counts as 0.
   */
  series(windowMs = 1_000): RateSeries {
    const at: number[] = [];
    const rates = Object.fromEntries(STAGES.map((s) => [s.key, [] as number[]])) as Record<StageKey, number[]>;
    let from = 0;
    for (let i = 1; i < this.samples.length; i++) {
      const current = this.samples[i]!;
      while (from < i - 1 && this.samples[from + 1]!.at <= current.at - windowMs) from++;
      // The window's start: the newest sample at or before current.at - windowMs (or the oldest held).
      const previous = this.samples[from]!;
      const seconds = (current.at - previous.at) / 1000;
      at.push(current.at);
      for (const stage of STAGES) rates[stage.key].push(round(Math.max(0, current.counts[stage.key] - previous.counts[stage.key]) / seconds));
    }
    return { at, rates };
  }

  /** Average events per second per stage over the last `windowMs` (or as much of it as is held). */
  recentRates(windowMs: number): Record<StageKey, number> {
    const last = this.latest();
    const result = Object.fromEntries(STAGES.map((s) => [s.key, 0])) as Record<StageKey, number>;
    if (!last) return result;
    const first = this.samples.find((s) => s.at >= last.at - windowMs) ?? last;
    const seconds = (last.at - first.at) / 1000;
    if (seconds <= 0) return result;
    for (const stage of STAGES) result[stage.key] = round(Math.max(0, last.counts[stage.key] - first.counts[stage.key]) / seconds);
    return result;
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Samples `read()` every `intervalMs` into `ring` (first sample at once); `stop()` ends it. */
export function startSampling(ring: RateRing, read: () => MetricTotals, intervalMs = 1_000): { stop(): void } {
  const take = () => ring.add({ at: Date.now(), counts: countsOf(read()) });
  take();
  const timer = setInterval(take, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
