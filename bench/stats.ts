/**
 * The pure pieces of `npm run bench`: statistics, goal verdicts and the printed table.
 * No I/O here, so test/unit/bench can check them.
 */

/** The median of the values (mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The p-th percentile (0 < p <= 100) by the nearest-rank method: the smallest value such that
 * at least p% of the values are at or below it. Always one of the values; NaN when empty.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(1, rank) - 1]!;
}

export type Comparison = '>=' | '<=' | '<';

export interface Goal {
  /** What is measured, as printed. */
  name: string;
  /** The measured value (NaN when it could not be measured: always a MISS). */
  value: number;
  comparison: Comparison;
  target: number;
  unit?: string;
}

export function goalMet(goal: Goal): boolean {
  if (!Number.isFinite(goal.value)) return false;
  switch (goal.comparison) {
    case '>=':
      return goal.value >= goal.target;
    case '<=':
      return goal.value <= goal.target;
    case '<':
      return goal.value < goal.target;
  }
}

/** Rounds for display: 3 significant digits below 100, integers with thousands separators above. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return Math.round(value).toLocaleString('en-US');
  if (magnitude === 0) return '0';
  return String(Number(value.toPrecision(3)));
}

/** `PASS  validator vs floor  0.62 >= 0.5 x` or `MISS ...`. */
export function goalLine(goal: Goal): string {
  const unit = goal.unit ? ` ${goal.unit}` : '';
  return `${goalMet(goal) ? 'PASS' : 'MISS'}  ${goal.name}: ${formatNumber(goal.value)}${unit} (goal ${goal.comparison} ${formatNumber(goal.target)}${unit})`;
}

/** A plain text table: columns padded to their widest cell, numbers right-aligned. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((row) => header.map((_, i) => (typeof row[i] === 'number' ? formatNumber(row[i] as number) : String(row[i] ?? ''))));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}

/** A Markdown table of the same rows (for the README). */
export function formatMarkdownTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((row) => header.map((_, i) => (typeof row[i] === 'number' ? formatNumber(row[i] as number) : String(row[i] ?? ''))));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'));
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (numeric[i] ? '---:' : '---')).join('|')}|`,
    ...cells.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

/** Events per second from a count and a duration in milliseconds. */
export function ratePerSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : Number.NaN;
}
