/** The human output of `pipeline aggregates`: one row per differing field (escaped, bounded), then the summary. */
import { hourOfPartitionKey } from '../../lambdas/shared/aggregates';
import type { AggregatesReport } from './aggregates';
import { table } from './format';
import { terminalText } from './terminal-text';

const SORT_KEY_WIDTH = 48;
const FIELD_WIDTH = 24;

function hourLabel(pk: string | undefined): string {
  return pk === undefined ? '' : (hourOfPartitionKey(pk) ?? pk);
}

/** The human output: one row per differing field, then the summary. */
export function formatAggregates(report: AggregatesReport): string {
  const lines: string[] = [];
  const show = (value: number | null) => (value === null ? '-' : String(value));
  const rows: string[][] = [];
  // An hour never read at rest has no reliable differences: --json shows its last attempt's.
  for (const difference of report.differences) {
    difference.fields.forEach((field, i) => {
      rows.push([
        i === 0 ? terminalText(difference.pk, SORT_KEY_WIDTH) : '',
        i === 0 ? terminalText(difference.sk, SORT_KEY_WIDTH) : '',
        i === 0 ? difference.state : '',
        terminalText(field.field, FIELD_WIDTH),
        show(field.table),
        show(field.events),
      ]);
    });
  }
  if (rows.length > 0) {
    const headers = ['pk', 'sk', 'state', 'field', 'table', 'events'];
    // Numbers right-aligned ("-" for absent), headers too, so the two columns read as numbers.
    for (const column of [4, 5]) {
      const width = Math.max(headers[column]!.length, ...rows.map((r) => r[column]!.length));
      headers[column] = headers[column]!.padStart(width);
      for (const row of rows) row[column] = row[column]!.padStart(width);
    }
    lines.push(table(headers, rows), '');
  }
  const range =
    report.from === undefined && report.to === undefined
      ? 'every hour in either table'
      : `${hourLabel(report.from) || 'first'}..${hourLabel(report.to) || 'last'}`;
  const differing = report.differences.length;
  const differingHours = new Set(report.differences.map((d) => d.pk)).size;
  lines.push(
    `${report.hours} hour(s) (${range}), ${report.items} aggregate item(s), ${report.events} stored event(s): ` +
      (differing > 0
        ? `${differing} item(s) differ in ${differingHours} hour(s).`
        : report.unsettled.length > 0
          ? 'no difference in the hours read at rest.'
          : 'every item equals what the stored events imply.'),
  );
  if (report.unreadableEvents > 0) {
    lines.push(`${report.unreadableEvents} stored item(s) without a readable event_type / event_time were left out.`);
  }
  if (report.repaired) {
    const { updated, created, deleted } = report.repaired;
    const total = updated + created + deleted;
    lines.push(
      total === 0 && differing === 0 && report.unsettled.length === 0
        ? 'Nothing to repair.'
        : `Repaired ${total} item(s): ${updated} updated, ${created} created, ${deleted} deleted.`,
    );
  }
  if (report.redoneHours.length > 0) {
    lines.push(`${report.redoneHours.length} hour(s) read again: the loader wrote to them meanwhile (${report.redoneHours.map(hourLabel).join(', ')}).`);
  }
  for (const hour of report.unsettled) {
    lines.push(
      `${report.mode === 'rebuild' ? 'NOT REPAIRED' : 'NOT VERIFIED'}: ${hourLabel(hour.pk)} after ${hour.attempts} attempt(s): ` +
        'the loader kept writing to it. Run the command again (or with --to before the current hour).',
    );
  }
  if (report.mode === 'verify' && differing > 0) lines.push('pipeline aggregates rebuild repairs them.');
  return lines.join('\n');
}

export function printAggregates(report: AggregatesReport): void {
  process.stdout.write(`${formatAggregates(report)}\n`);
}
