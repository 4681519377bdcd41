/** Reading for `pipeline aggregates`: the aggregate items of a scope of hours (Query per hour or one Scan) and the stored events of those hours (one Scan). */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { QueryCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { hourOfPartitionKey, hourPartitionKey, type AggregateSource } from '../../lambdas/shared/aggregates';
import type { AggregatesOptions } from './aggregates';

/** Bounded ranges up to a month are read with one Query per hour, longer ones with one Scan. */
const MAX_QUERIED_HOURS = 744;
/** An event_time's offset moves its local digits less than a day from its UTC hour. */
const OFFSET_MARGIN_MS = 24 * 3_600_000;
export const HOUR_MS = 3_600_000;

export type Item = Record<string, unknown>;
export type HourItems = Map<string, Map<string, Item>>;

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
export type Scope = { kind: 'hours'; pks: string[] } | { kind: 'bounds'; from?: string; to?: string };

function inScope(scope: Scope, pk: string): boolean {
  if (scope.kind === 'hours') return scope.pks.includes(pk);
  return (scope.from === undefined || pk >= scope.from) && (scope.to === undefined || pk <= scope.to);
}

/** The aggregate items of the scope, by hour then sort key (consistent reads). */
export async function readAggregates(dynamo: DynamoDBDocumentClient, options: AggregatesOptions, scope: Scope): Promise<HourItems> {
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
export async function scanEvents(
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
