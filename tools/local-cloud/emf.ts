import type { MetricTotals } from './types';

/**
 * Reads CloudWatch Embedded Metric Format lines (what Powertools Metrics prints) so the local
 * cloud can count the same metrics CloudWatch would: one running sum per metric name.
 */

interface EmfDirective {
  Metrics?: Array<{ Name?: unknown }>;
}

/** The metric values one EMF line carries, by metric name; undefined when the line is not EMF. */
export function parseEmfLine(line: string): Record<string, number> | undefined {
  const text = line.trim();
  // Cheap filter first: most lines are plain logs and must not pay for JSON.parse.
  if (!text.startsWith('{') || !text.includes('"CloudWatchMetrics"')) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(doc) || !isRecord(doc._aws) || !Array.isArray(doc._aws.CloudWatchMetrics)) return undefined;
  const values: Record<string, number> = {};
  for (const directive of doc._aws.CloudWatchMetrics as EmfDirective[]) {
    for (const metric of directive?.Metrics ?? []) {
      const name = metric?.Name;
      if (typeof name !== 'string' || name in values) continue;
      values[name] = sumOf(doc[name]);
    }
  }
  return values;
}

/** Running totals over many EMF lines. */
export class MetricAccumulator {
  private readonly totals: MetricTotals = {};

  /** Counts the line when it is EMF; says whether it was. */
  add(line: string): boolean {
    const values = parseEmfLine(line);
    if (!values) return false;
    for (const [name, value] of Object.entries(values)) {
      this.totals[name] = (this.totals[name] ?? 0) + value;
    }
    return true;
  }

  snapshot(): MetricTotals {
    return { ...this.totals };
  }
}

// Powertools prints a single value as a number and several values of one flush as an array.
function sumOf(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + sumOf(item), 0);
  return 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
