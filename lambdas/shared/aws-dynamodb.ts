import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AwsJson1_0Protocol } from '@aws-sdk/core/protocols';
import { withoutRequestLogging } from './sdk-middleware';

// Apart from aws.ts so that only the functions that use DynamoDB bundle it (see there).
let dynamo: DynamoDBClient | undefined;

/**
 * Built once per container and reused by every invocation, like the clients in aws.ts: the client
 * the loader writes with. The plain client, not the document client: the loader writes its items
 * in wire format itself (lambdas/loader/wire.ts), so nothing walks the whole request to marshal it.
 */
export function dynamoClient(): DynamoDBClient {
  dynamo ??= leanDynamoClient({ maxAttempts: 3 });
  return dynamo;
}

/** The loader's client on these terms (the bench and tests build theirs with this too). */
export function leanDynamoClient(config: ConstructorParameters<typeof DynamoDBClient>[0] = {}): DynamoDBClient {
  return withoutRequestLogging(new DynamoDBClient({ ...config, protocol: TransactJsonProtocol }));
}

type SerializeArgs = Parameters<AwsJson1_0Protocol['serializeRequest']>;
type Request = Awaited<ReturnType<AwsJson1_0Protocol['serializeRequest']>>;

/**
 * DynamoDB's protocol (awsJson1_0) with one shortcut for the loader's writes: the `TransactItems`
 * of a TransactWriteItems request go into the body with `JSON.stringify` instead of the SDK's
 * schema-driven JSON writer, which walks every item, attribute and character one at a time (about
 * a sixth of the loader's CPU in `npm run bench`). Everything else is the SDK's: the endpoint, the
 * headers, the other members (the ClientRequestToken it generates), every other operation and
 * every response.
 *
 * The same JSON on the wire as long as the items are what the loader builds: plain objects of
 * known members with wire-format values (`S`, `N`, `BOOL`, `NULL`, `M`, `L`, sets of strings or
 * numbers), no null or undefined members and no binary values.
 * test/unit/loader/transact-protocol.test.ts holds the requests to the SDK's over generated events.
 */
export class TransactJsonProtocol extends AwsJson1_0Protocol {
  override async serializeRequest(operationSchema: SerializeArgs[0], input: SerializeArgs[1], context: SerializeArgs[2]): Promise<Request> {
    const items = operationSchema.name === 'TransactWriteItems' ? (input as { TransactItems?: unknown } | undefined)?.TransactItems : undefined;
    if (items === undefined) return super.serializeRequest(operationSchema, input, context);
    const { TransactItems: _, ...rest } = input as { TransactItems: unknown };
    const request = await super.serializeRequest(operationSchema, rest, context);
    const others = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body as Uint8Array);
    const transactItems = `"TransactItems":${JSON.stringify(items)}`;
    // As bytes, like the SDK's writer: signing and the socket then take them without encoding again.
    request.body = Buffer.from(others === '{}' ? `{${transactItems}}` : `{${transactItems},${others.slice(1)}`, 'utf8');
    return request;
  }
}
