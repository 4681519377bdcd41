import { formatNumber, formatTable, goalLine, type Goal } from './stats';

/** The shape of bench/results.json, and how it is printed. Pure. */

export interface BenchResults {
  validator: { events_per_s: number; floor_events_per_s: number; alternative_events_per_s: number; [extra: string]: unknown };
  loader: { cpu_ms_per_event: number; requests_per_event: number; [extra: string]: unknown };
  e2e: { events_per_s: number; p50_ms: number; p95_ms: number; p99_ms: number; offered_rate: number; [extra: string]: unknown };
  functions: Record<string, { bundle_bytes: number; init_ms_median: number; peak_rss_mb: number }>;
  machine: { cpu: string; cores: number; memory_gb: number; node: string; os: string; date: string };
  quick?: boolean;
}

export function goalsOf(r: BenchResults): Goal[] {
  return [
    { name: 'validator vs floor (decode + JSON.parse)', value: r.validator.events_per_s / r.validator.floor_events_per_s, comparison: '>=', target: 0.5, unit: 'x' },
    { name: 'validator vs Powertools BatchProcessor + parser', value: r.validator.events_per_s / r.validator.alternative_events_per_s, comparison: '>=', target: 3, unit: 'x' },
    { name: 'loader CPU per event', value: r.loader.cpu_ms_per_event, comparison: '<=', target: 0.1, unit: 'ms' },
    { name: 'e2e sustained', value: r.e2e.events_per_s, comparison: '>=', target: 5_000, unit: 'events/s' },
    { name: `e2e p99 accept->stored at ${formatNumber(r.e2e.offered_rate)} events/s offered`, value: r.e2e.p99_ms, comparison: '<', target: 2_000, unit: 'ms' },
  ];
}

/** The rows of the results table: [section, metric, value]. */
export function resultRows(r: BenchResults): Array<[string, string, number | string]> {
  const rows: Array<[string, string, number | string]> = [
    ['validator', 'validateBatch events/s (500-record batches, 1 core)', r.validator.events_per_s],
    ['validator', 'floor: base64 + JSON.parse events/s', r.validator.floor_events_per_s],
    ['validator', 'alternative: Powertools BatchProcessor + parser events/s', r.validator.alternative_events_per_s],
    ['validator', 'ratio to floor', r.validator.events_per_s / r.validator.floor_events_per_s],
    ['validator', 'ratio to alternative', r.validator.events_per_s / r.validator.alternative_events_per_s],
    ['loader', 'CPU ms per event (loader process only)', r.loader.cpu_ms_per_event],
    ['loader', 'DynamoDB requests per event', r.loader.requests_per_event],
  ];
  if (typeof r.loader.endpoint_cpu_ms_per_event === 'number') rows.push(['loader', 'endpoint (dynalite) CPU ms per event', r.loader.endpoint_cpu_ms_per_event]);
  rows.push(
    ['e2e', 'sustained events/s (HTTP accept -> stored)', r.e2e.events_per_s],
    ['e2e', 'offered rate for latency (events/s)', r.e2e.offered_rate],
    ['e2e', 'accept->stored p50 ms', r.e2e.p50_ms],
    ['e2e', 'accept->stored p95 ms', r.e2e.p95_ms],
    ['e2e', 'accept->stored p99 ms', r.e2e.p99_ms],
  );
  return rows;
}

export function functionRows(r: BenchResults): Array<[string, number, number, number]> {
  return Object.entries(r.functions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, f]) => [name, f.bundle_bytes, f.init_ms_median, f.peak_rss_mb]);
}

export function machineLine(r: BenchResults): string {
  const m = r.machine;
  return `${m.cpu}, ${m.cores} cores, ${m.memory_gb} GB, Node ${m.node}, ${m.os}, ${m.date}`;
}

export function renderReport(r: BenchResults): string {
  return [
    formatTable(['stage', 'metric', 'value'], resultRows(r)),
    '',
    formatTable(['function', 'bundle bytes', 'init ms (median)', 'peak RSS MB'], functionRows(r)),
    '',
    ...goalsOf(r).map(goalLine),
    '',
    `machine: ${machineLine(r)}`,
  ].join('\n');
}
