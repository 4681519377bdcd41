import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_KEYS, ConfigError, parseConfig, type PipelineConfig } from '../../lib/config';
import { cents, DEFAULT_COST_INPUTS, estimateCost, type CostInputs, type CostReport } from './cost';
import { CliError } from './errors';
import { table } from './format';

/** What `pipeline cost` reads (cdk.json's context, as synth validates it) and `--compare`'s scenarios and table. */

/**
 * The CDK context `cdk deploy` would see: cdk.json's "context" (in `cwd`, as the CDK CLI reads
 * it; this repository's when there is none there) with `-c key=value` overrides on top.
 */
export function readCdkContext(overrides: readonly string[] = [], cwd = process.cwd()): Record<string, unknown> {
  const local = join(cwd, 'cdk.json');
  const file = existsSync(local) ? local : new URL('../../cdk.json', import.meta.url);
  let context: Record<string, unknown>;
  try {
    context = (JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
  } catch (error) {
    throw new CliError(`cannot read the context of ${String(file)}: ${(error as Error).message}`);
  }
  const result = { ...context };
  for (const override of overrides) {
    const at = override.indexOf('=');
    if (at <= 0) throw new CliError(`-c takes key=value, got "${override}"`);
    const key = override.slice(0, at);
    if (!(CONFIG_KEYS as string[]).includes(key)) throw new CliError(`-c ${key}: not a context key of this app (README "Configuration": ${CONFIG_KEYS.join(', ')})`);
    result[key] = override.slice(at + 1);
  }
  return result;
}

/** lib/config.ts's validation, with its problems as a CLI error. */
export function configOf(context: Record<string, unknown>): PipelineConfig {
  try {
    return parseConfig(context);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
}

/** The stack knobs of `config` over the traffic of `traffic` (rate, sizes, durations...). */
export function costInputsFromConfig(config: PipelineConfig, traffic: CostInputs = DEFAULT_COST_INPUTS): CostInputs {
  return {
    ...traffic,
    kinesisMode: config.streamMode === 'ON_DEMAND' ? 'on-demand' : 'provisioned',
    minShards: config.shardCount,
    streamBatchSize: config.streamBatchSize,
    streamBatchingWindowSeconds: config.streamBatchingWindowSeconds,
    tableCapacity: config.tableCapacity,
    tableMinWriteCapacity: config.tableMinWriteCapacity,
    tableMaxWriteCapacity: config.tableMaxWriteCapacity,
    tableMinReadCapacity: config.tableMinReadCapacity,
    tableMaxReadCapacity: config.tableMaxReadCapacity,
    eventsTtlDays: config.eventsTtlDays,
    byUserProjection: config.byUserProjection,
    archive: config.rawArchive
      ? { bufferMb: config.rawArchiveBufferMb, bufferSeconds: config.rawArchiveBufferSeconds, iaDays: config.rawArchiveIaDays, months: traffic.archive?.months ?? 12 }
      : undefined,
    sqlSink: config.auroraSink,
  };
}

export interface CostScenario {
  label: string;
  /** Context keys set on top of the context read. */
  context: Record<string, string | number>;
}

/** `pipeline cost --compare`: each knob alone, on top of the context read. */
export const COST_KNOBS: CostScenario[] = [
  { label: 'provisioned', context: { tableCapacity: 'provisioned' } },
  { label: 'TTL 7 d', context: { eventsTtlDays: 7 } },
  { label: 'KEYS_ONLY', context: { byUserProjection: 'KEYS_ONLY' } },
  { label: 'INCLUDE', context: { byUserProjection: 'INCLUDE' } },
  // A window only fills batches larger than what a second's poll brings: the two go together.
  { label: 'window 5 s, batch 500', context: { streamBatchingWindowSeconds: 5, streamBatchSize: 500 } },
];

/** The cheapest configuration the README documents (with what it gives up). */
export const CHEAPEST_DOCUMENTED: CostScenario = {
  label: 'cheapest documented',
  context: { tableCapacity: 'provisioned', eventsTtlDays: 7, byUserProjection: 'KEYS_ONLY', streamBatchingWindowSeconds: 5, streamBatchSize: 500 },
};

export interface CostComparison {
  columns: Array<{ label: string; context: Record<string, string | number>; report: CostReport }>;
}

/** The context as read, each knob alone on top of it, and the cheapest documented configuration. */
export function compareCosts(context: Record<string, unknown>, inputsOf: (config: PipelineConfig) => CostInputs): CostComparison {
  const scenarios: CostScenario[] = [{ label: 'context', context: {} }, ...COST_KNOBS, CHEAPEST_DOCUMENTED];
  return {
    columns: scenarios.map((scenario) => ({
      ...scenario,
      report: estimateCost(inputsOf(configOf({ ...context, ...scenario.context }))),
    })),
  };
}

/** The comparison as a table: $ per million events per component, then the totals. */
export function formatComparison(comparison: CostComparison): string {
  const { columns } = comparison;
  const components = [...new Set(columns.flatMap((column) => column.report.lines.map((line) => line.component)))];
  const first = columns[0]!.report;
  const cell = (value: number | undefined, digits: number) => (value === undefined ? '-' : value.toFixed(digits));
  const rows: string[][] = components.map((component) => [
    component,
    ...columns.map((column) => cell(column.report.lines.find((line) => line.component === component)?.perMillionEvents, 4)),
  ]);
  rows.push(['total $/M events', ...columns.map((column) => cell(column.report.totalPerMillionEvents, 4))]);
  rows.push(['total $/month', ...columns.map((column) => cell(cents(column.report.totalMonthly), 2))]);
  const headers = ['$ per million events', ...columns.map((column) => column.label)];
  // Right-align the figures under their headers.
  for (let c = 1; c < headers.length; c++) {
    const width = Math.max(headers[c]!.length, ...rows.map((row) => row[c]!.length));
    headers[c] = headers[c]!.padStart(width);
    for (const row of rows) row[c] = row[c]!.padStart(width);
  }
  const knobs = columns
    .slice(1)
    .map((column) => `  ${column.label}: ${Object.entries(column.context).map(([key, value]) => `-c ${key}=${value}`).join(' ')}`);
  return [
    `${first.inputs.eventsPerSecond} events/s (${Math.round(first.eventsPerMonth).toLocaleString('en-US')} a month), ${first.inputs.batchSize} per request, ` +
      `${first.inputs.eventBytes} B each; "context" is cdk.json with the -c given, each other column one change to it:`,
    ...knobs,
    '',
    table(headers, rows),
    '',
    `Prices: ${first.prices.region} list prices as of ${first.prices.asOf}, no free tier (tools/cli/prices.ts).`,
  ].join('\n');
}
