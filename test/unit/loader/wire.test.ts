import { DynamoDBClient, TransactWriteItemsCommand, type TransactWriteItemsCommandInput } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { convertToAttr, marshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateContributions, aggregateAttributes, sumContributions, type AggregateContribution } from '../../../lambdas/shared/aggregates';
import { DynamoDbEventStore, storedItem, storedWireItem } from '../../../lambdas/loader/store';
import { attributeValue } from '../../../lambdas/loader/wire';
import { fuzzParams, PROPERTY_TIMEOUT_MS } from '../fuzz/settings';
import { generatedEnrichedEvent as enrichedEvent } from './helpers';

// The loader writes DynamoDB's wire format itself (lambdas/loader/wire.ts) instead of through the
// document client. These hold it to exactly what the document client (marshallOptions
// removeUndefinedValues) wrote before: the same AttributeValues, in the same attribute order.

const OPTIONS = { removeUndefinedValues: true };

/** convertToAttr's result or its error message, to compare both ways of failing too. */
function outcome(convert: () => unknown): { value: string } | { error: string } {
  try {
    return { value: JSON.stringify(convert()) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function expectSameAsUtilDynamodb(value: unknown): void {
  const ours = outcome(() => attributeValue(value));
  expect(ours).toEqual(outcome(() => convertToAttr(value, OPTIONS)));
  if ('value' in ours) expect(attributeValue(value)).toEqual(convertToAttr(value, OPTIONS));
}

class Point {
  constructor(readonly x = 1) {}
}

describe('attributeValue is util-dynamodb convertToAttr with removeUndefinedValues', () => {
  it('for edge values: numbers it writes and numbers it refuses, text, null, containers, and types it hands back', () => {
    const values: unknown[] = [
      '', 'a', 'ünïcødé ✓', '\u0000', 'x'.repeat(1000),
      0, -0, 1, -1, 0.1, 1.005, 123.4567, 5e-324, 1e-7, 1e21, 1.7976931348623157e308, -1e21,
      Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, Number.MIN_SAFE_INTEGER - 2,
      Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
      true, false, null,
      [], [1, 'a', null, undefined, () => 1, [true]], { a: 1, b: undefined, c: null, d: { e: [] }, f: () => 1 }, {},
      new Set(['a', 'b']), new Set([1, 2]), new Set(), new Map([['k', 1]]), new Uint8Array([1, 2]), 10n,
      Object.assign(Object.create(null) as object, { a: 'b' }), new Point(), new Date(0), new String('boxed'), new Number(3), new Boolean(false),
      { constructor: 'not a function' }, Symbol('s'),
    ];
    for (const value of values) expectSameAsUtilDynamodb(value);
  });

  it('for any JSON value and any number', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.double(), fc.integer(), fc.object({ withNullPrototype: true, withBoxedValues: true, withTypedArray: true, withMap: true, withSet: true })), (value) => {
        expectSameAsUtilDynamodb(value);
      }),
      fuzzParams(2_000),
    );
  }, PROPERTY_TIMEOUT_MS);
});

describe('the Events item in wire format', () => {
  it('is marshall(storedItem(...)) for generated stored events, with and without a TTL, attribute order included', () => {
    fc.assert(
      fc.property(enrichedEvent, fc.constantFrom(0, 1, 30), (event, ttlDays) => {
        const wire = storedWireItem(event, 'shardId-000000000000/49', ttlDays);
        const documentClientItem = marshall(storedItem(event, 'shardId-000000000000/49', ttlDays), OPTIONS);
        expect(wire).toEqual(documentClientItem);
        expect(JSON.stringify(wire)).toBe(JSON.stringify(documentClientItem));
        if (event.user_id === null) expect(wire).not.toHaveProperty('user_id');
      }),
      fuzzParams(300),
    );
  }, PROPERTY_TIMEOUT_MS);
});

/**
 * A client that stops each request after its marshalling, before anything is signed or sent, and
 * returns the input it would have put on the wire.
 */
function capturing(client: DynamoDBClient | DynamoDBDocumentClient): (command: TransactWriteItemsCommand | TransactWriteCommand) => Promise<TransactWriteItemsCommandInput> {
  let input: unknown;
  const captured = new Error('captured');
  (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
    () => async (args) => {
      input = args.input;
      throw captured;
    },
    { step: 'build', name: 'captureInput' },
  );
  return async (command) => {
    input = undefined;
    const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
    await expect(send(command)).rejects.toBe(captured);
    return input as TransactWriteItemsCommandInput;
  };
}

describe('the whole TransactWriteItems request', () => {
  const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
  const plain = capturing(new DynamoDBClient({ region: 'us-east-1', credentials }));
  const document = capturing(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials }), { marshallOptions: OPTIONS }));

  it('is what the document client sent for the same events and aggregate additions', async () => {
    const batches = fc.sample(fc.array(enrichedEvent, { minLength: 1, maxLength: 20 }), fuzzParams(40));
    for (const events of batches) {
      const entries = events.map((event, i) => ({ event, source: `shardId-000000000000/${i}` }));
      const aggregates: AggregateContribution[] = sumContributions(events.flatMap((event) => aggregateContributions(event)));
      let wireCommand: TransactWriteItemsCommand | undefined;
      const store = new DynamoDbEventStore({ send: async (command: unknown) => void (wireCommand = command as TransactWriteItemsCommand) } as never, 'Events', 'Aggregates', 7);
      expect(await store.write(entries, aggregates)).toEqual({ kind: 'committed' });
      expect(wireCommand).toBeInstanceOf(TransactWriteItemsCommand);

      // The same write as the document client's input: plain values, marshalled by lib-dynamodb.
      const documentCommand = new TransactWriteCommand({
        TransactItems: [
          ...entries.map((entry) => ({
            Put: {
              TableName: 'Events',
              Item: storedItem(entry.event, entry.source, 7),
              ConditionExpression: 'attribute_not_exists(event_id)',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
            },
          })),
          ...aggregates.map((aggregate) => {
            const attributes = Object.entries(aggregateAttributes(aggregate));
            return {
              Update: {
                TableName: 'Aggregates',
                Key: { pk: aggregate.pk, sk: aggregate.sk },
                UpdateExpression: `ADD ${attributes.map((_, i) => `#a${i} :a${i}`).join(', ')}`,
                ExpressionAttributeNames: Object.fromEntries(attributes.map(([name], i) => [`#a${i}`, name])),
                ExpressionAttributeValues: Object.fromEntries(attributes.map(([, value], i) => [`:a${i}`, value])),
              },
            };
          }),
        ],
      });
      const ours = await plain(wireCommand!);
      const theirs = await document(documentCommand);
      expect(ours.TransactItems).toHaveLength(entries.length + aggregates.length);
      expect(ours).toEqual(theirs);
      expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
    }
  }, PROPERTY_TIMEOUT_MS);
});
