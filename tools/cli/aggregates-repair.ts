/** Comparing an hour's aggregate items with what its stored events imply, and the conditional writes that repair them (write-shard parts folded in one transaction). */
import { DeleteCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  aggregateAttributes,
  aggregateFromItem,
  baseSortKey,
  expectedAggregates,
  mergeWriteShards,
  REVENUE_PREFIX,
  sameAggregate,
  type AggregateContribution,
  type AggregateSource,
} from '../../lambdas/shared/aggregates';
import type { ItemDifference } from './aggregates';
import type { Item } from './aggregates-read';
import { CliError } from './errors';

/** An item's version: its `count`, or whether it exists at all. */
function version(item: Item | undefined): string {
  if (item === undefined) return 'absent';
  return typeof item.count === 'number' ? String(item.count) : 'no count';
}

/** The version of an item with all its write-shard parts (lambdas/shared/aggregates.ts). */
export function versionOf(items: Map<string, Item> | undefined, baseSk: string): string {
  const parts = [...(items ?? new Map<string, Item>()).entries()].filter(([sk]) => baseSortKey(sk) === baseSk).sort(([a], [b]) => (a < b ? -1 : 1));
  return parts.length === 0 ? 'absent' : parts.map(([sk, item]) => `${sk}=${version(item)}`).join(',');
}

export interface PendingRepair {
  difference: ItemDifference;
  /** The item as read first (its count is the version the write is conditioned on). */
  item?: Item;
  /** Its write-shard parts (sk `W<n>#...`), as read first: folded into the item by a rebuild. */
  parts: Item[];
  /** What the events imply; absent when they imply no item. */
  expected?: AggregateContribution;
}

const ZERO = (pk: string, sk: string): AggregateContribution => ({ pk, sk, count: 0, units: 0, revenue: {} });

export function compareHour(pk: string, items: Map<string, Item>, events: readonly AggregateSource[]): { items: number; differences: PendingRepair[] } {
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
export async function repairItem(
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
