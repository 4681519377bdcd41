import { GetItemCommand, TransactWriteItemsCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EnrichedEvent } from '../shared/events';
import { ENV } from '../shared/env-names';
import { aggregateAttributes, type AggregateContribution } from '../shared/aggregates';
import { attributeValue, numberValue } from './wire';

/** The plain DynamoDB client (items in wire format, see wire.ts). */
export type DynamoSender = Pick<DynamoDBClient, 'send'>;

/** One event to store, with the processed-stream record it came from (`<shardId>/<sequenceNumber>`). */
export interface StoreEntry {
  event: EnrichedEvent;
  source: string;
}

export type EntryRefusal =
  /** The item exists and an earlier attempt of this same record wrote it (and counted it). */
  | { kind: 'rewritten' }
  /** Another record (a client resend, a replay) stored this event_id. */
  | { kind: 'duplicate'; existingSource: string | undefined }
  /** The sink refused this item itself: retrying cannot help. */
  | { kind: 'rejected'; message: string };

export type WriteResult =
  /** Every entry was stored and every aggregate addition applied, in one atomic write. */
  | { kind: 'committed' }
  /** Nothing was written, because of these entries (by index); the others may be written again without them. */
  | { kind: 'refused'; refusals: Map<number, EntryRefusal> }
  /** Nothing was written and the request as a whole was invalid: one of the entries is (find it by writing them one by one). */
  | { kind: 'invalid'; message: string };

/**
 * The loader's store port: events and the aggregate additions they imply, written all or nothing.
 * A transient failure (throttling, a conflicting write, a 5xx, the network) is thrown.
 */
export interface EventStore {
  /** At most this many entries + aggregate items per write. */
  readonly maxItemsPerWrite: number;
  write(entries: readonly StoreEntry[], aggregates: readonly AggregateContribution[]): Promise<WriteResult>;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

/**
 * The Events table item: the enriched event plus where it came from. Attributes that are null
 * are left out: DynamoDB refuses a NULL value for an index key (an anonymous event's `user_id`
 * on the `ByUser` index), and an absent attribute keeps the item out of that sparse index.
 */
export function storedItem(event: EnrichedEvent, source: string, ttlDays = 0): Record<string, unknown> {
  const item: Record<string, unknown> = { _source: source };
  for (const [key, value] of Object.entries(event)) if (value !== null && value !== undefined) item[key] = value;
  if (ttlDays > 0) item[EVENTS_TTL_ATTRIBUTE] = expiresAt(event.received_at, ttlDays);
  return item;
}

/** `storedItem` in wire format, built directly: the item the document client wrote from `storedItem`. */
export function storedWireItem(event: EnrichedEvent, source: string, ttlDays = 0): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = { _source: { S: source } };
  const fields = event as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value !== null && value !== undefined) item[key] = attributeValue(value);
  }
  if (ttlDays > 0) item[EVENTS_TTL_ATTRIBUTE] = numberValue(expiresAt(event.received_at, ttlDays));
  return item;
}

/** The Events table's TTL attribute (cdk.json `eventsTtlDays`; the table names it too). */
export const EVENTS_TTL_ATTRIBUTE = 'expires_at';

/** When a stored event expires: received_at + `ttlDays` days, in epoch seconds (DynamoDB TTL's unit). */
export function expiresAt(receivedAt: string, ttlDays: number): number {
  return Math.floor(Date.parse(receivedAt) / 1000) + ttlDays * 86_400;
}

/** EVENTS_TTL_DAYS, as the loader construct sets it: absent or 0 keeps events forever. */
export function ttlDaysFromEnv(env: Record<string, string | undefined> = process.env): number {
  const raw = env[ENV.loader.EVENTS_TTL_DAYS];
  if (raw === undefined || raw.trim() === '') return 0;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 0) throw new Error(`Environment variable ${ENV.loader.EVENTS_TTL_DAYS} must be a whole number of days, got "${raw}"`);
  return days;
}

/**
 * A string attribute of an item DynamoDB returned (a cancellation reason's item, GetItem's item):
 * wire format (`{S: ...}`); a plain string is read too.
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

/** The update that adds one aggregate's values to its item: `ADD count, units, revenue_<CUR>...`. */
export function aggregateUpdate(tableName: string, aggregate: AggregateContribution) {
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  const adds: string[] = [];
  let index = 0;
  for (const [attribute, value] of Object.entries(aggregateAttributes(aggregate))) {
    names[`#a${index}`] = attribute;
    values[`:a${index}`] = numberValue(value);
    adds.push(`#a${index} :a${index}`);
    index += 1;
  }
  return {
    TableName: tableName,
    Key: { pk: { S: aggregate.pk }, sk: { S: aggregate.sk } },
    UpdateExpression: `ADD ${adds.join(', ')}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** TransactWriteItems takes at most 100 actions (each on a distinct item). */
export const MAX_TRANSACTION_ITEMS = 100;

/**
 * The DynamoDB adapter, on the plain client with items in wire format: one TransactWriteItems per write, a conditional Put per event
 * (`attribute_not_exists(event_id)`) and an `ADD` Update per aggregate item. Either every event
 * is created and counted, or nothing changes: an event is never stored without being counted.
 */
export class DynamoDbEventStore implements EventStore {
  readonly maxItemsPerWrite = MAX_TRANSACTION_ITEMS;

  constructor(
    private readonly dynamo: DynamoSender,
    private readonly eventsTableName: string,
    private readonly aggregatesTableName: string,
    /** Days a stored event lives (its expires_at); 0 keeps it. */
    private readonly ttlDays: number = ttlDaysFromEnv(),
  ) {}

  async write(entries: readonly StoreEntry[], aggregates: readonly AggregateContribution[]): Promise<WriteResult> {
    if (entries.length + aggregates.length > this.maxItemsPerWrite) {
      throw new Error(`${entries.length + aggregates.length} items in one write: at most ${this.maxItemsPerWrite}`);
    }
    try {
      await this.dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            ...entries.map((entry) => ({
              Put: {
                TableName: this.eventsTableName,
                Item: storedWireItem(entry.event, entry.source, this.ttlDays),
                ConditionExpression: 'attribute_not_exists(event_id)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
              },
            })),
            ...aggregates.map((aggregate) => ({ Update: aggregateUpdate(this.aggregatesTableName, aggregate) })),
          ],
        }),
      );
      return { kind: 'committed' };
    } catch (error) {
      if (errorName(error) === 'ValidationException') return { kind: 'invalid', message: (error as Error).message };
      if (errorName(error) !== 'TransactionCanceledException') throw error;
      const reasons = ((error as { CancellationReasons?: Array<{ Code?: string; Message?: string; Item?: unknown }> }).CancellationReasons ?? []);
      const refusals = new Map<number, EntryRefusal>();
      for (const [index, entry] of entries.entries()) {
        const reason = reasons[index];
        if (reason?.Code === 'ConditionalCheckFailed') {
          const existingSource = stringAttribute(reason.Item, '_source') ?? (await this.sourceOf(entry.event.event_id));
          refusals.set(index, existingSource === entry.source ? { kind: 'rewritten' } : { kind: 'duplicate', existingSource });
        } else if (reason?.Code === 'ValidationError') {
          refusals.set(index, { kind: 'rejected', message: reason.Message ?? 'the item was refused' });
        }
      }
      // Throttling, a conflicting transaction, or a refusal we cannot pin on an entry: transient.
      if (refusals.size === 0) throw error;
      return { kind: 'refused', refusals };
    }
  }

  /** When a cancellation reason carries no item (some emulators), read who stored it. */
  private async sourceOf(eventId: string): Promise<string | undefined> {
    const existing = await this.dynamo.send(
      new GetItemCommand({
        TableName: this.eventsTableName,
        Key: { event_id: { S: eventId } },
        ConsistentRead: true,
        ProjectionExpression: '#source',
        ExpressionAttributeNames: { '#source': '_source' },
      }),
    );
    return stringAttribute(existing.Item, '_source');
  }
}
