import { describe, expect, it } from 'vitest';
import { formatMarkdownTable, formatNumber, formatTable, goalLine, goalMet, median, percentile, ratePerSecond } from '../../../bench/stats';
import { goalsOf, renderReport, type BenchResults } from '../../../bench/report';

describe('bench statistics', () => {
  it('median of odd and even counts, NaN when empty, input untouched', () => {
    const values = [5, 1, 3];
    expect(median(values)).toBe(3);
    expect(values).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('percentile by nearest rank is always one of the values', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100 shuffled order
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([10, 20], 1)).toBe(10);
    expect(percentile([], 50)).toBeNaN();
    expect(percentile([1, Number.POSITIVE_INFINITY], 99)).toBe(Number.POSITIVE_INFINITY);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('rates and number formatting', () => {
    expect(ratePerSecond(500, 250)).toBe(2000);
    expect(ratePerSecond(1, 0)).toBeNaN();
    expect(formatNumber(12345.6)).toBe('12,346');
    expect(formatNumber(0.0123456)).toBe('0.0123');
    expect(formatNumber(3.14159)).toBe('3.14');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(Number.NaN)).toBe('n/a');
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe('n/a');
  });
});

describe('goals', () => {
  it('PASS and MISS by comparison; a value that could not be measured is a MISS', () => {
    expect(goalMet({ name: 'x', value: 0.5, comparison: '>=', target: 0.5 })).toBe(true);
    expect(goalMet({ name: 'x', value: 0.1, comparison: '<=', target: 0.1 })).toBe(true);
    expect(goalMet({ name: 'x', value: 2000, comparison: '<', target: 2000 })).toBe(false);
    expect(goalMet({ name: 'x', value: Number.NaN, comparison: '<=', target: 1 })).toBe(false);
    expect(goalMet({ name: 'x', value: Number.POSITIVE_INFINITY, comparison: '>=', target: 1 })).toBe(false);
    expect(goalLine({ name: 'loader CPU per event', value: 0.328, comparison: '<=', target: 0.1, unit: 'ms' })).toBe(
      'MISS  loader CPU per event: 0.328 ms (goal <= 0.1 ms)',
    );
    expect(goalLine({ name: 'ratio', value: 6.13, comparison: '>=', target: 3, unit: 'x' })).toBe('PASS  ratio: 6.13 x (goal >= 3 x)');
  });
});

describe('tables', () => {
  it('pads columns, right-aligns numeric columns', () => {
    const table = formatTable(['name', 'n'], [
      ['a', 1],
      ['long name', 12345],
    ]);
    expect(table.split('\n')).toEqual(['name            n', 'a               1', 'long name  12,345']);
  });

  it('Markdown table with right-aligned numeric columns', () => {
    expect(formatMarkdownTable(['name', 'n'], [['a', 1.5]])).toBe('| name | n |\n|---|---:|\n| a | 1.5 |');
  });

  it('renders a report with every goal', () => {
    const results: BenchResults = {
      validator: { events_per_s: 10_000, floor_events_per_s: 100_000, alternative_events_per_s: 1_000 },
      loader: { cpu_ms_per_event: 0.05, requests_per_event: 0.02 },
      e2e: { events_per_s: 120, p50_ms: 900, p95_ms: 1500, p99_ms: Number.POSITIVE_INFINITY, offered_rate: 1000 },
      functions: { Loader: { bundle_bytes: 2_000_000, init_ms_median: 250, peak_rss_mb: 118 } },
      machine: { cpu: 'cpu', cores: 2, memory_gb: 8, node: 'v20', os: 'Linux', date: '2026-01-01T00:00:00.000Z' },
    };
    const verdicts = goalsOf(results).map(goalLine);
    expect(verdicts).toEqual([
      'MISS  validator vs floor (decode + JSON.parse): 0.1 x (goal >= 0.5 x)',
      'PASS  validator vs Powertools BatchProcessor + parser: 10 x (goal >= 3 x)',
      'PASS  loader CPU per event: 0.05 ms (goal <= 0.1 ms)',
      'MISS  e2e sustained: 120 events/s (goal >= 5,000 events/s)',
      'MISS  e2e p99 accept->stored at 1,000 events/s offered: n/a ms (goal < 2,000 ms)',
    ]);
    const report = renderReport(results);
    for (const line of verdicts) expect(report).toContain(line);
    expect(report).toContain('Loader');
    expect(report).toContain('machine: cpu, 2 cores, 8 GB, Node v20, Linux, 2026-01-01T00:00:00.000Z');
  });
});
