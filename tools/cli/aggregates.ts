import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, QueryCommand, ScanCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  aggregateAttributes,
  aggregateFromItem,
  baseSortKey,
  expectedAggregates,
  mergeWriteShards,
  hourOfPartitionKey,
  hourPartitionKey,
  REVENUE_PREFIX,
  sameAggregate,
  type AggregateContribution,
  type AggregateSource,
} from '../../lambdas/shared/aggregates';
import { configOf, readCdkContext } from './cost';
import { CliError } from './errors';
import { printJson, table } from './format';
import type { Target } from './outputs';
import { createProgress, type Progress } from './progress';
import { terminalText } from './terminal-text';

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
  /** For tests: what happens between the reads and before the writes of a round. */
  hooks?: {
    afterFirstRead?: (attempt: number) => Promise<void> | void;
    beforeWrite?: (pk: string, attempt: number) => Promise<void> | void;
  };
}

export const DEFAULT_MAX_ATTEMPTS = 5;
/** Bounded ranges up to a month are read with one Query per hour, longer ones with one Scan. */
const MAX_QUERIED_HOURS = 744;
/** An event_time's offset moves its local digits less than a day from its UTC hour. */
const OFFSET_MARGIN_MS = 24 * 3_600_000;
const HOUR_MS = 3_600_000;

type Item = Record<string, unknown>;
type HourItems = Map<string, Map<string, Item>>;

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

function hourStart(pk: string): Date {
  const hour = hourOfPartitionKey(pk);
  if (hour === undefined) throw new Error(`not an hour partition key: ${pk}`);
  return new Date(`${hour}:00:00Z`);
}

function hoursBetween(from: string, to: string): string[] {
  const pks: string[] = [];
  for (let t = hourStart(from).getTime(); t <= hourStart(to).getTime(); t += HOUR_MS) pks.push(hourPartitionKey(new Date(t).toISOString()));
  return pks;
}

/** What one round reads: an explicit set of hours, or bounds (either may be open). */
type Scope = { kind: 'hours'; pks: string[] } | { kind: 'bounds'; from?: string; to?: string };

function inScope(scope: Scope, pk: string): boolean {
  if (scope.kind === 'hours') return scope.pks.includes(pk);
  return (scope.from === undefined || pk >= scope.from) && (scope.to === undefined || pk <= scope.to);
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
    const events = await scanEvents(dynamo, options, scope, attempt === 1 ? unreadable : { count: 0 }, scanProgress);
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

/** An item's version: its `count`, or whether it exists at all. */
function version(item: Item | undefined): string {
  if (item === undefined) return 'absent';
  return typeof item.count === 'number' ? String(item.count) : 'no count';
}

/** The version of an item with all its write-shard parts (lambdas/shared/aggregates.ts). */
function versionOf(items: Map<string, Item> | undefined, baseSk: string): string {
  const parts = [...(items ?? new Map<string, Item>()).entries()].filter(([sk]) => baseSortKey(sk) === baseSk).sort(([a], [b]) => (a < b ? -1 : 1));
  return parts.length === 0 ? 'absent' : parts.map(([sk, item]) => `${sk}=${version(item)}`).join(',');
}

interface PendingRepair {
  difference: ItemDifference;
  /** The item as read first (its count is the version the write is conditioned on). */
  item?: Item;
  /** Its write-shard parts (sk `W<n>#...`), as read first: folded into the item by a rebuild. */
  parts: Item[];
  /** What the events imply; absent when they imply no item. */
  expected?: AggregateContribution;
}

const ZERO = (pk: string, sk: string): AggregateContribution => ({ pk, sk, count: 0, units: 0, revenue: {} });

function compareHour(pk: string, items: Map<string, Item>, events: readonly AggregateSource[]): { items: number; differences: PendingRepair[] } {
  const expected = new Map(expectedAggregates(events).map((a) => [a.sk, a]));
  // An item is the sum of its write-shard parts (one part, its own sk, with one write shard).
  const partsOf = new Map<string, { item?: Item; parts: Item[] }>();
  for (const [sk, item] of items) {
    const base = baseSortKey(sk);
    const entry = partsOf.get(base) ?? { parts: [] };
    if (base === sk) entry.item = item;
    else entry.parts.push(item);
    partsOf.set(base, entry);
  }
  const sortKeys = [...new Set([...partsOf.keys(), ...expected.keys()])].sort();
  const differences: PendingRepair[] = [];
  for (const sk of sortKeys) {
    const found = partsOf.get(sk);
    const all = found ? [...(found.item ? [found.item] : []), ...found.parts] : [];
    const held = all.length > 0 ? mergeWriteShards(all.map(aggregateFromItem))[0] : undefined;
    const implied = expected.get(sk);
    if (sameAggregate(held ?? ZERO(pk, sk), implied ?? ZERO(pk, sk))) continue;
    const heldAttributes = held !== undefined ? aggregateAttributes(held) : {};
    const impliedAttributes = implied !== undefined ? aggregateAttributes(implied) : {};
    const fields = [...new Set([...Object.keys(heldAttributes), ...Object.keys(impliedAttributes)])]
      .sort(byField)
      .map((field) => ({ field, table: heldAttributes[field] ?? null, events: impliedAttributes[field] ?? null }))
      .filter((f) => f.table !== f.events);
    differences.push({
      difference: { pk, sk, state: held === undefined ? 'missing' : implied === undefined ? 'extra' : 'differs', fields },
      ...(found?.item !== undefined ? { item: found.item } : {}),
      parts: found?.parts ?? [],
      ...(implied !== undefined ? { expected: implied } : {}),
    });
  }
  return { items: sortKeys.length, differences };
}

/** count, units, then the revenue attributes by name. */
function byField(a: string, b: string): number {
  const rank = (field: string) => (field === 'count' ? 0 : field === 'units' ? 1 : 2);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** One conditional write: the item set to what the events imply, or deleted when they imply none. */
async function repairItem(
  dynamo: DynamoDBDocumentClient,
  tableName: string,
  { difference, item, parts, expected }: PendingRepair,
): Promise<'updated' | 'created' | 'deleted' | 'conflict'> {
  if (parts.length > 0) return foldParts(dynamo, tableName, { difference, item, parts, ...(expected ? { expected } : {}) });
  const key = { pk: difference.pk, sk: difference.sk };
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  let condition: string;
  if (item === undefined) {
    condition = 'attribute_not_exists(#pk)';
    names['#pk'] = 'pk';
  } else if (typeof item.count === 'number') {
    condition = '#count = :seen';
    names['#count'] = 'count';
    values[':seen'] = item.count;
  } else {
    condition = 'attribute_exists(#pk) AND attribute_not_exists(#count)';
    names['#pk'] = 'pk';
    names['#count'] = 'count';
  }
  try {
    if (expected === undefined) {
      await dynamo.send(
        new DeleteCommand({
          TableName: tableName,
          Key: key,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
        }),
      );
      return 'deleted';
    }
    const attributes = aggregateAttributes(expected);
    const set = Object.entries(attributes).map(([attribute, value], i) => {
      const name = attribute === 'count' ? '#count' : `#s${i}`;
      names[name] = attribute;
      values[`:s${i}`] = value;
      return `${name} = :s${i}`;
    });
    // Revenue attributes of currencies the events do not imply (zero ones included).
    const remove = Object.keys(item ?? {})
      .filter((attribute) => attribute.startsWith(REVENUE_PREFIX) && !(attribute in attributes))
      .map((attribute, i) => {
        names[`#r${i}`] = attribute;
        return `#r${i}`;
      });
    await dynamo.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return item === undefined ? 'created' : 'updated';
  } catch (error) {
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return 'conflict';
    throw error;
  }
}

/** The condition that an item (or a part) is still as it was read: its count is its version. */
function unchanged(item: Item | undefined): { ConditionExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues?: Record<string, unknown> } {
  if (item === undefined) return { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' } };
  if (typeof item.count !== 'number') {
    return { ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#count)', ExpressionAttributeNames: { '#pk': 'pk', '#count': 'count' } };
  }
  return { ConditionExpression: '#count = :seen', ExpressionAttributeNames: { '#count': 'count' }, ExpressionAttributeValues: { ':seen': item.count } };
}

/**
 * An item with write-shard parts: one transaction sets the unprefixed part to what the events
 * imply (or deletes it) and deletes the other parts, each conditioned on being as read. The
 * loaders' later additions create new parts, which add to the repaired value.
 */
async function foldParts(
  dynamo: DynamoDBDocumentClient,
  tableName: string,
  { difference, item, parts, expected }: PendingRepair,
): Promise<'updated' | 'created' | 'deleted' | 'conflict'> {
  const key = { pk: difference.pk, sk: difference.sk };
  const base = unchanged(item);
  const actions: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = parts.map((part) => ({
    Delete: { TableName: tableName, Key: { pk: part.pk, sk: part.sk }, ...unchanged(part) },
  }));
  if (expected === undefined) {
    if (item !== undefined) actions.push({ Delete: { TableName: tableName, Key: key, ...base } });
  } else {
    // A Put replaces the item whole: no revenue attribute of a currency the events do not imply survives.
    actions.push({ Put: { TableName: tableName, Item: { ...key, ...aggregateAttributes(expected) }, ...base } });
  }
  if (actions.length > 100) throw new CliError(`${difference.pk} ${difference.sk} has ${parts.length} write-shard parts: at most 99 can be folded in one transaction`);
  try {
    await dynamo.send(new TransactWriteCommand({ TransactItems: actions }));
  } catch (error) {
    if ((error as { name?: string }).name === 'TransactionCanceledException') return 'conflict';
    throw error;
  }
  return expected === undefined ? 'deleted' : item === undefined ? 'created' : 'updated';
}

/** The aggregate items of the scope, by hour then sort key (consistent reads). */
async function readAggregates(dynamo: DynamoDBDocumentClient, options: AggregatesOptions, scope: Scope): Promise<HourItems> {
  const byHour: HourItems = new Map();
  const keep = (item: Item) => {
    const pk = String(item.pk);
    if (hourOfPartitionKey(pk) === undefined || !inScope(scope, pk)) return;
    let hour = byHour.get(pk);
    if (hour === undefined) byHour.set(pk, (hour = new Map()));
    hour.set(String(item.sk), item);
  };
  let queried: string[] | undefined;
  if (scope.kind === 'hours') queried = scope.pks;
  else if (scope.from !== undefined && scope.to !== undefined && hoursBetween(scope.from, scope.to).length <= MAX_QUERIED_HOURS) {
    queried = hoursBetween(scope.from, scope.to);
  }
  if (queried !== undefined) {
    for (const pk of queried) {
      let start: Item | undefined;
      do {
        const page = await dynamo.send(
          new QueryCommand({
            TableName: options.aggregatesTableName,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': 'pk' },
            ExpressionAttributeValues: { ':pk': pk },
            ConsistentRead: true,
            ExclusiveStartKey: start,
            ...(options.pageSize !== undefined ? { Limit: options.pageSize } : {}),
          }),
        );
        for (const item of page.Items ?? []) keep(item);
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return byHour;
  }
  const filters: string[] = [];
  const values: Record<string, unknown> = {};
  if (scope.kind === 'bounds' && scope.from !== undefined) {
    filters.push('#pk >= :from');
    values[':from'] = scope.from;
  }
  if (scope.kind === 'bounds' && scope.to !== undefined) {
    filters.push('#pk <= :to');
    values[':to'] = scope.to;
  }
  let start: Item | undefined;
  do {
    const page = await dynamo.send(
      new ScanCommand({
        TableName: options.aggregatesTableName,
        ConsistentRead: true,
        ExclusiveStartKey: start,
        ...(filters.length > 0
          ? { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: { '#pk': 'pk' }, ExpressionAttributeValues: values }
          : {}),
        ...(options.pageSize !== undefined ? { Limit: options.pageSize } : {}),
      }),
    );
    for (const item of page.Items ?? []) keep(item);
    start = page.LastEvaluatedKey;
  } while (start);
  return byHour;
}

/**
 * The stored events of the scope's hours, by hour: ONE Scan of the Events table (it is keyed by
 * event_id and has no hour index), filtered on event_time as text. event_time may carry an
 * offset, so the filter is a day wider on each side and the hour is decided by hourPartitionKey.
 */
async function scanEvents(
  dynamo: DynamoDBDocumentClient,
  options: AggregatesOptions,
  scope: Scope,
  unreadable: { count: number },
  scanProgress: { done: number; estimate: number },
): Promise<Map<string, AggregateSource[]>> {
  let from: string | undefined;
  let to: string | undefined;
  if (scope.kind === 'hours') {
    const sorted = [...scope.pks].sort();
    from = sorted[0];
    to = sorted[sorted.length - 1];
  } else {
    ({ from, to } = scope);
  }
  const filters: string[] = [];
  const values: Record<string, unknown> = {};
  if (from !== undefined) {
    filters.push('#time >= :lo');
    values[':lo'] = new Date(hourStart(from).getTime() - OFFSET_MARGIN_MS).toISOString().slice(0, 13);
  }
  if (to !== undefined) {
    filters.push('#time < :hi');
    values[':hi'] = new Date(hourStart(to).getTime() + HOUR_MS + OFFSET_MARGIN_MS).toISOString().slice(0, 13);
  }
  const progress = options.progress;
  if (progress) {
    try {
      // DynamoDB updates ItemCount about every six hours: an estimate, raised to what was scanned.
      const described = await dynamo.send(new DescribeTableCommand({ TableName: options.eventsTableName }));
      scanProgress.estimate += described.Table?.ItemCount ?? 0;
    } catch {
      // Only an estimate for the progress bar.
    }
  }
  const byHour = new Map<string, AggregateSource[]>();
  let scanned = 0;
  let start: Item | undefined;
  do {
    const page = await dynamo.send(
      new ScanCommand({
        TableName: options.eventsTableName,
        ConsistentRead: true,
        ExclusiveStartKey: start,
        ...(filters.length > 0
          ? { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: { '#time': 'event_time' }, ExpressionAttributeValues: values }
          : {}),
        ...(options.pageSize !== undefined ? { Limit: options.pageSize } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      let pk: string;
      try {
        if (typeof item.event_type !== 'string' || typeof item.event_time !== 'string') throw new Error('unreadable');
        pk = hourPartitionKey(item.event_time);
      } catch {
        unreadable.count++;
        continue;
      }
      if (!inScope(scope, pk)) continue;
      let hour = byHour.get(pk);
      if (hour === undefined) byHour.set(pk, (hour = []));
      hour.push(item as unknown as AggregateSource);
    }
    scanned += page.ScannedCount ?? 0;
    scanProgress.done += page.ScannedCount ?? 0;
    progress?.setTotal(Math.max(scanProgress.estimate, scanProgress.done));
    progress?.increment(page.ScannedCount ?? 0, `${scanned} event item(s) scanned`);
    start = page.LastEvaluatedKey;
  } while (start);
  return byHour;
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
  const dynamo = DynamoDBDocumentClient.from(target.dynamodb(), { marshallOptions: { removeUndefinedValues: true } });
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
