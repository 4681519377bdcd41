import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EnrichedEvent } from '../shared/events';
import { highWaterMarkAttribute, toCents, fromCents, type AggregateContribution } from '../shared/aggregates';

export type DocumentSender = Pick<DynamoDBDocumentClient, 'send'>;

export type PutOutcome =
  /** The put created the item now. */
  | { kind: 'created' }
  /** The item exists and an earlier attempt of this same record wrote it. */
  | { kind: 'rewritten' }
  /** Another record (a client resend or an earlier replay) stored this event_id. */
  | { kind: 'duplicate'; existingSource: string | undefined };

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

export function isConditionFailure(error: unknown): boolean {
  return errorName(error) === 'ConditionalCheckFailedException';
}

/** Only a ValidationException is about this item itself; everything else may pass on retry. */
export function isPermanentItemError(error: unknown): boolean {
  return errorName(error) === 'ValidationException';
}

/**
 * The item DynamoDB returned with a failed condition: the document client leaves it in wire
 * format (`{S: ...}`), and some emulators return none at all (then undefined).
 */
function stringAttribute(item: unknown, name: string): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const value = (item as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { S?: unknown }).S === 'string') {
    return (value as { S: string }).S;
  }
  return undefined;
}

/**
 * The Events table item: the enriched event plus where it came from. Attributes that are null
 * are left out: DynamoDB refuses a NULL value for an index key (an anonymous event's `user_id`
 * on the `ByUser` index), and an absent attribute keeps the item out of that sparse index.
 */
export function storedItem(event: EnrichedEvent, source: string): Record<string, unknown> {
  const item: Record<string, unknown> = { _source: source };
  for (const [key, value] of Object.entries(event)) if (value !== null && value !== undefined) item[key] = value;
  return item;
}

export async function putEvent(
  dynamo: DocumentSender,
  tableName: string,
  event: EnrichedEvent,
  source: string,
): Promise<PutOutcome> {
  try {
    await dynamo.send(
      new PutCommand({
        TableName: tableName,
        Item: storedItem(event, source),
        ConditionExpression: 'attribute_not_exists(event_id)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { kind: 'created' };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const returned = (error as { Item?: unknown }).Item;
    let existingSource = returned === undefined ? undefined : stringAttribute(returned, '_source');
    if (existingSource === undefined) {
      const existing = await dynamo.send(
        new GetCommand({
          TableName: tableName,
          Key: { event_id: event.event_id },
          ConsistentRead: true,
          ProjectionExpression: '#source',
          ExpressionAttributeNames: { '#source': '_source' },
        }),
      );
      existingSource = stringAttribute(existing.Item, '_source');
    }
    return existingSource === source ? { kind: 'rewritten' } : { kind: 'duplicate', existingSource };
  }
}

/** One record's share in one aggregate item. */
export interface SequencedContribution {
  paddedSequence: string;
  contribution: AggregateContribution;
}

export type AggregateOutcome =
  | { kind: 'applied'; counted: number; skipped: number }
  | { kind: 'conflict' };

const MAX_AGGREGATE_ATTEMPTS = 5;

/**
 * Adds the contributions of one shard to one aggregate item, counting only records above the
 * item's high-water mark for that shard, and moves the mark to the highest record counted.
 * The first attempt assumes every contribution is new; when the mark says otherwise, the mark is
 * read, the already counted contributions are dropped and the update is retried on that exact
 * mark (optimistic: another attempt of this shard may be racing).
 */
export async function applyAggregate(
  dynamo: DocumentSender,
  tableName: string,
  shardId: string,
  key: { pk: string; sk: string },
  contributions: readonly SequencedContribution[],
): Promise<AggregateOutcome> {
  const markAttribute = highWaterMarkAttribute(shardId);
  let pending = [...contributions].sort((a, b) => compare(a.paddedSequence, b.paddedSequence));
  let knownMark: string | undefined | null = null; // null: not read yet
  for (let attempt = 0; attempt < MAX_AGGREGATE_ATTEMPTS; attempt += 1) {
    if (pending.length === 0) {
      return { kind: 'applied', counted: 0, skipped: contributions.length };
    }
    const first = pending[0]!;
    const last = pending[pending.length - 1]!;
    let count = 0;
    let cents = 0;
    let units = 0;
    for (const { contribution } of pending) {
      count += contribution.count;
      cents += toCents(contribution.revenue);
      units += contribution.units;
    }
    const condition =
      knownMark === null
        ? { expression: 'attribute_not_exists(#mark) OR #mark < :minSeq', values: { ':minSeq': first.paddedSequence } }
        : knownMark === undefined
          ? { expression: 'attribute_not_exists(#mark)', values: {} }
          : { expression: '#mark = :knownMark', values: { ':knownMark': knownMark } };
    try {
      await dynamo.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: 'ADD #count :count, #revenue :revenue, #units :units SET #mark = :maxSeq',
          ConditionExpression: condition.expression,
          ExpressionAttributeNames: { '#count': 'count', '#revenue': 'revenue', '#units': 'units', '#mark': markAttribute },
          ExpressionAttributeValues: {
            ':count': count,
            ':revenue': fromCents(cents),
            ':units': units,
            ':maxSeq': last.paddedSequence,
            ...condition.values,
          },
        }),
      );
      return { kind: 'applied', counted: pending.length, skipped: contributions.length - pending.length };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const current = await dynamo.send(
      new GetCommand({
        TableName: tableName,
        Key: key,
        ConsistentRead: true,
        ProjectionExpression: '#mark',
        ExpressionAttributeNames: { '#mark': markAttribute },
      }),
    );
    const mark = stringAttribute(current.Item, markAttribute);
    knownMark = mark;
    if (mark !== undefined) pending = pending.filter((p) => p.paddedSequence > mark);
  }
  return { kind: 'conflict' };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
