/**
 * `pipeline aggregates verify|rebuild`: the hourly Aggregates recomputed from the Events table
 * (`expectedAggregates`, the one definition of the format), every item that differs, and with
 * rebuild the repair.
 *
 * Safe while the pipeline writes because the loader writes each new event and its aggregate
 * additions in one transaction, so every loader change to an aggregate item adds at least 1 to
 * its `count`: `count` is a version. Per round, for the hours in scope: read the aggregate items
 * (consistent), then scan the stored events (consistent), then read the aggregate items again.
 * A difference found on an item whose count changed between the two reads may only be the loader
 * at work (an event the scan saw after the first read): its hour is read again in the next round
 * (bounded). Otherwise each differing item is written with one conditional request, conditioned
 * on the count read first (`attribute_not_exists` for an absent item): an event stored after that
 * read changed the item's count, so the write fails and the hour is redone. A write that succeeds
 * therefore sets the values of exactly the events stored at that moment. An item the loader keeps
 * writing to can keep failing: after the last attempt its hour is reported, not repaired.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { hourOfPartitionKey, hourPartitionKey, type AggregateSource } from '../../lambdas/shared/aggregates';
import { printAggregates } from './aggregates-format';
import { HOUR_MS, readAggregates, scanEvents, type Scope } from './aggregates-read';
import { compareHour, repairItem, versionOf } from './aggregates-repair';
import { configOf, readCdkContext } from './cost-context';
import { CliError } from './errors';
import { printJson } from './format';
import type { Target } from './outputs';
import { createProgress, type Progress } from './progress';

export type AggregatesMode = 'verify' | 'rebuild';

export interface FieldDifference {
  /** `count`, `units` or a `revenue_<CUR>` attribute. */
  field: string;
  /** What the Aggregates item holds; null when the item or the attribute is absent. */
  table: number | null;
  /** What the stored events imply; null when they imply no item or no such attribute. */
  events: number | null;
}

export interface ItemDifference {
  pk: string;
  sk: string;
  /** missing: no item but stored events; extra: an item no stored event implies; differs: both, unequal. */
  state: 'missing' | 'extra' | 'differs';
  fields: FieldDifference[];
}

export interface UnsettledHour {
  pk: string;
  attempts: number;
  /** The differences of the last attempt (the loader was writing to the hour meanwhile). */
  differences: ItemDifference[];
}

export interface AggregatesReport {
  mode: AggregatesMode;
  /** The bounds asked for (`HOUR#...`), absent for every hour present in either table. */
  from?: string;
  to?: string;
  /** Hours that hold aggregate items or stored events, within the bounds. */
  hours: number;
  /** Aggregate items compared: those in the table plus those the events imply, once each. */
  items: number;
  /** Stored events of those hours. */
  events: number;
  /** Stored items without a readable event_type / event_time (left out of the sums). */
  unreadableEvents: number;
  /** Every item that differed, as found (for rebuild: before it was repaired). */
  differences: ItemDifference[];
  /** Rebuild: the writes that succeeded. */
  repaired?: { updated: number; created: number; deleted: number };
  /** Hours read again because the loader wrote to them during a round. */
  redoneHours: string[];
  /** Hours still being written after the last attempt: not judged (verify) or not repaired (rebuild). */
  unsettled: UnsettledHour[];
  attempts: number;
}

export interface AggregatesOptions {
  eventsTableName: string;
  aggregatesTableName: string;
  mode: AggregatesMode;
  /** First and last hour (inclusive) as partition keys (`parseHourBound`); absent: unbounded. */
  from?: string;
  to?: string;
  /** Rounds per hour before it is reported as unsettled (default 5). */
  maxAttempts?: number;
  /** Items per Scan / Query page (default: DynamoDB's 1 MB pages). */
  pageSize?: number;
  progress?: Progress;
  /**
   * The events the aggregates must equal, by hour partition key, instead of a scan of the Events
   * table: `pipeline rebuild` reads them from the raw archive (tools/cli/rebuild.ts).
   */
  events?: ReadonlyMap<string, readonly AggregateSource[]>;
  /** For tests: what happens between the reads and before the writes of a round. */
  hooks?: {
    afterFirstRead?: (attempt: number) => Promise<void> | void;
    beforeWrite?: (pk: string, attempt: number) => Promise<void> | void;
  };
}

export const DEFAULT_MAX_ATTEMPTS = 5;

/** An hour (`2026-11-30T07`) or any ISO-8601 time (UTC when it names no offset), as its hour's partition key. */
export function parseHourBound(text: string, option: string): string {
  let iso = text.trim();
  if (/^\d{4}-\d{2}-\d{2}T\d{2}$/.test(iso)) iso = `${iso}:00:00Z`;
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(iso)) iso = `${iso}Z`;
  try {
    return hourPartitionKey(iso);
  } catch {
    throw new CliError(`${option} must be an hour (2026-11-30T07) or an ISO-8601 time, got "${text}"`);
  }
}

export async function checkAggregates(dynamo: DynamoDBDocumentClient, options: AggregatesOptions): Promise<AggregatesReport> {
  if (options.from !== undefined && options.to !== undefined && options.to < options.from) throw new CliError('--to is before --from');
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const report: AggregatesReport = {
    mode: options.mode,
    ...(options.from !== undefined ? { from: options.from } : {}),
    ...(options.to !== undefined ? { to: options.to } : {}),
    hours: 0,
    items: 0,
    events: 0,
    unreadableEvents: 0,
    differences: [],
    ...(options.mode === 'rebuild' ? { repaired: { updated: 0, created: 0, deleted: 0 } } : {}),
    redoneHours: [],
    unsettled: [],
    attempts: 0,
  };
  const found = new Map<string, ItemDifference[]>();
  const itemsPerHour = new Map<string, number>();
  const eventsPerHour = new Map<string, number>();
  const unreadable = { count: 0 };
  const scanProgress = { done: 0, estimate: 0 };
  let scope: Scope = { kind: 'bounds', from: options.from, to: options.to };
  let lastDifferences = new Map<string, ItemDifference[]>();

  for (let attempt = 1; ; attempt++) {
    report.attempts = attempt;
    const first = await readAggregates(dynamo, options, scope);
    await options.hooks?.afterFirstRead?.(attempt);
    const events = options.events
      ? eventsOfScope(options.events, scope)
      : await scanEvents(dynamo, options, scope, attempt === 1 ? unreadable : { count: 0 }, scanProgress);
    const second = await readAggregates(dynamo, options, scope);
    const hours = scope.kind === 'hours' ? scope.pks : [...new Set([...first.keys(), ...events.keys(), ...second.keys()])].sort();
    const redo: string[] = [];
    lastDifferences = new Map();
    for (const pk of hours) {
      const hourEvents = events.get(pk) ?? [];
      const compared = compareHour(pk, first.get(pk) ?? new Map(), hourEvents);
      itemsPerHour.set(pk, compared.items);
      eventsPerHour.set(pk, hourEvents.length);
      const before = first.get(pk);
      const after = second.get(pk);
      if (compared.differences.some(({ difference: { sk } }) => versionOf(before, sk) !== versionOf(after, sk))) {
        lastDifferences.set(pk, compared.differences.map((d) => d.difference));
        redo.push(pk);
        continue;
      }
      if (!found.has(pk)) found.set(pk, compared.differences.map((d) => d.difference));
      if (options.mode !== 'rebuild' || compared.differences.length === 0) continue;
      await options.hooks?.beforeWrite?.(pk, attempt);
      let conflict = false;
      for (const pending of compared.differences) {
        const outcome = await repairItem(dynamo, options.aggregatesTableName, pending);
        if (outcome === 'conflict') conflict = true;
        else report.repaired![outcome]++;
      }
      if (conflict) {
        lastDifferences.set(pk, compared.differences.map((d) => d.difference));
        redo.push(pk);
      }
    }
    if (redo.length === 0) break;
    if (attempt >= maxAttempts) {
      report.unsettled = redo.map((pk) => ({ pk, attempts: attempt, differences: lastDifferences.get(pk) ?? [] }));
      break;
    }
    for (const pk of redo) if (!report.redoneHours.includes(pk)) report.redoneHours.push(pk);
    scope = { kind: 'hours', pks: redo };
  }

  const allHours = [...new Set([...itemsPerHour.keys()])].sort();
  report.hours = allHours.length;
  report.items = allHours.reduce((sum, pk) => sum + (itemsPerHour.get(pk) ?? 0), 0);
  report.events = allHours.reduce((sum, pk) => sum + (eventsPerHour.get(pk) ?? 0), 0);
  report.unreadableEvents = unreadable.count;
  report.differences = allHours.flatMap((pk) => found.get(pk) ?? []);
  return report;
}

/** The given events of the scope's hours. */
function eventsOfScope(events: ReadonlyMap<string, readonly AggregateSource[]>, scope: Scope): Map<string, AggregateSource[]> {
  const wanted = (pk: string) =>
    scope.kind === 'hours' ? scope.pks.includes(pk) : (scope.from === undefined || pk >= scope.from) && (scope.to === undefined || pk <= scope.to);
  return new Map([...events].filter(([pk]) => wanted(pk)).map(([pk, list]) => [pk, [...list]]));
}

/** Exit code: verify 0 when every item equals what the events imply, else 1; rebuild 0 when repaired or nothing to do, else 1. */
export function aggregatesExitCode(report: AggregatesReport): number {
  if (report.unsettled.length > 0) return 1;
  return report.mode === 'verify' && report.differences.length > 0 ? 1 : 0;
}

/** Runs the command against a target: progress on a terminal only, JSON or a table, the exit code. */
export async function runAggregates(
  target: Target,
  mode: AggregatesMode,
  options: { from?: string; to?: string; maxAttempts?: number; json?: boolean; progress: boolean },
): Promise<void> {
  let from = options.from !== undefined ? parseHourBound(options.from, '--from') : undefined;
  const to = options.to !== undefined ? parseHourBound(options.to, '--to') : undefined;
  // eventsTtlDays (cdk.json): expired events leave the Events table, the aggregates keep counting
  // them. Hours that may have lost events are left out, so that verify does not report them and
  // rebuild does not "repair" the aggregates down to what is left.
  const ttlDays = configOf(readCdkContext()).eventsTtlDays;
  if (ttlDays > 0) {
    const first = firstHourWithinTtl(new Date(), ttlDays);
    if (to !== undefined && to < first) {
      throw new CliError(
        `every hour up to --to is older than eventsTtlDays (${ttlDays}, cdk.json): its events may have expired from the Events table, ` +
          `while the aggregates keep counting them. Hours from ${hourOfPartitionKey(first)} can be compared.`,
      );
    }
    if (from === undefined || from < first) {
      from = first;
      process.stderr.write(
        `note: eventsTtlDays is ${ttlDays} (cdk.json): hours before ${hourOfPartitionKey(first)} are left out; their events may have ` +
          'expired from the Events table while the aggregates keep counting them (they are not decremented).\n',
      );
    }
  }
  const dynamo = target.documents();
  const progress = createProgress({ label: 'scanning Events', total: 0, enabled: options.progress && Boolean(process.stderr.isTTY) });
  let report: AggregatesReport;
  try {
    report = await checkAggregates(dynamo, {
      eventsTableName: target.output('EventsTableName'),
      aggregatesTableName: target.output('AggregatesTableName'),
      mode,
      from,
      to,
      maxAttempts: options.maxAttempts,
      progress,
    });
  } finally {
    progress.stop();
  }
  process.exitCode = aggregatesExitCode(report);
  if (options.json) printJson(report);
  else printAggregates(report);
}

/**
 * The first hour none of whose events can have expired: an event expires eventsTtlDays after its
 * received_at, which is at most 5 minutes before its event_time (the validator's clock skew), so
 * every event of an hour starting later than now - ttlDays + 5 min is still there. Rounded up with
 * an hour to spare.
 */
export function firstHourWithinTtl(now: Date, ttlDays: number): string {
  return hourPartitionKey(new Date(now.getTime() - ttlDays * 86_400_000 + 2 * HOUR_MS).toISOString());
}
