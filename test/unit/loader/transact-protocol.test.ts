import { DynamoDBClient, GetItemCommand, TransactWriteItemsCommand, type TransactWriteItemsCommandInput } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateContributions, sumContributions } from '../../../lambdas/shared/aggregates';
import { DynamoDbEventStore } from '../../../lambdas/loader/store';
import { leanDynamoClient } from '../../../lambdas/shared/aws-dynamodb';
import { fuzzParams, PROPERTY_TIMEOUT_MS } from '../fuzz/settings';
import { generatedEnrichedEvent } from './helpers';

// The loader's client writes TransactItems with JSON.stringify (TransactJsonProtocol, lambdas/shared/aws-dynamodb.ts).
// These hold its HTTP requests to the SDK's own: same target, headers and JSON.

interface Captured {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A client that stops each request just before it is sent and returns it. */
function capturing(client: DynamoDBClient): (command: TransactWriteItemsCommand | GetItemCommand) => Promise<Captured> {
  let request: Captured | undefined;
  const stop = new Error('captured');
  client.middlewareStack.add(
    () => async (args) => {
      const http = args.request as { method: string; path: string; headers: Record<string, string>; body: string | Uint8Array };
      const body = typeof http.body === 'string' ? http.body : new TextDecoder().decode(http.body);
      request = { method: http.method, path: http.path, headers: { ...http.headers }, body };
      throw stop;
    },
    { step: 'finalizeRequest', name: 'captureRequest', priority: 'low' },
  );
  return async (command) => {
    request = undefined;
    const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
    await expect(send(command)).rejects.toBe(stop);
    return request!;
  };
}

const config = { region: 'us-east-1', endpoint: 'http://localhost:4566', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };
const sdk = capturing(new DynamoDBClient(config));
const ours = capturing(leanDynamoClient(config));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The request as DynamoDB reads it: the parsed JSON body, and the headers that say what it is. */
function meaning(request: Captured, withoutToken = false) {
  const body = JSON.parse(request.body) as Record<string, unknown>;
  if (withoutToken) delete body.ClientRequestToken;
  // What differs per call anyway: the invocation id, and the signature over it and the body.
  const perCall = ['amz-sdk-invocation-id', 'content-length', 'authorization', 'x-amz-content-sha256', 'x-amz-date'];
  const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !perCall.includes(name.toLowerCase())));
  return { method: request.method, path: request.path, headers, body };
}

describe('the loader\'s DynamoDB client (TransactJsonProtocol)', () => {
  it('sends the same TransactWriteItems request as the SDK for the loader\'s writes of generated events', async () => {
    const batches = fc.sample(fc.array(generatedEnrichedEvent, { minLength: 1, maxLength: 30 }), fuzzParams(40));
    for (const events of batches) {
      const entries = events.map((event, i) => ({ event, source: `shardId-000000000000/${i}` }));
      const aggregates = sumContributions(events.flatMap((event) => aggregateContributions(event)));
      let input: TransactWriteItemsCommandInput | undefined;
      const store = new DynamoDbEventStore({ send: async (command: unknown) => void (input = (command as TransactWriteItemsCommand).input) } as never, 'Events', 'Aggregates', 7);
      await store.write(entries, aggregates);

      const theirs = await sdk(new TransactWriteItemsCommand(input!));
      const mine = await ours(new TransactWriteItemsCommand(input!));
      expect(meaning(mine, true)).toEqual(meaning(theirs, true));
      // Both carry a ClientRequestToken the SDK generated (one per call, so not the same one).
      expect(JSON.parse(mine.body).ClientRequestToken).toMatch(UUID);
      expect(JSON.parse(theirs.body).ClientRequestToken).toMatch(UUID);
      expect(Number(mine.headers['content-length'])).toBe(Buffer.byteLength(mine.body));
    }
  }, PROPERTY_TIMEOUT_MS);

  it('keeps a ClientRequestToken the caller gives, and text with escapes and lone surrogates', async () => {
    const odd = ['quote " backslash \\ slash /', 'controls \u0000\u0001\b\f\n\r\t\u001f\u007f', 'lone \ud800 and \udfff', 'pair 😀 ünï ✓', '\u2028\u2029'];
    const input: TransactWriteItemsCommandInput = {
      ClientRequestToken: 'my-token-1',
      ReturnConsumedCapacity: 'TOTAL',
      TransactItems: odd.map((text, i) => ({
        Put: { TableName: 'Events', Item: { event_id: { S: `id-${i}` }, text: { S: text }, list: { L: [{ S: text }, { N: '1.5' }, { NULL: true }, { BOOL: false }] }, map: { M: { [text]: { SS: [text] } } } } },
      })),
    };
    const theirs = await sdk(new TransactWriteItemsCommand(input));
    const mine = await ours(new TransactWriteItemsCommand(input));
    expect(meaning(mine)).toEqual(meaning(theirs));
    expect(JSON.parse(mine.body).ClientRequestToken).toBe('my-token-1');
  });

  it('leaves every other operation to the SDK, byte for byte', async () => {
    const command = () => new GetItemCommand({ TableName: 'Events', Key: { event_id: { S: 'e-1' } }, ConsistentRead: true, ProjectionExpression: '#s', ExpressionAttributeNames: { '#s': '_source' } });
    const theirs = await sdk(command());
    const mine = await ours(command());
    expect(mine.body).toBe(theirs.body);
    expect(meaning(mine)).toEqual(meaning(theirs));
  });
});
