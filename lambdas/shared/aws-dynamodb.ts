import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { withoutRequestLogging } from './sdk-middleware';

// Apart from aws.ts so that only the functions that use DynamoDB bundle it (see there).
let dynamo: DynamoDBClient | undefined;

/**
 * Built once per container and reused by every invocation, like the clients in aws.ts. The plain
 * client, not the document client: the loader writes its items in wire format itself
 * (lambdas/loader/wire.ts), so nothing walks the whole request again to marshal it.
 */
export function dynamoClient(): DynamoDBClient {
  dynamo ??= leanDynamoClient(new DynamoDBClient({ maxAttempts: 3 }));
  return dynamo;
}

/** The client the loader writes with (the bench builds its own on the same terms). */
export function leanDynamoClient(client: DynamoDBClient): DynamoDBClient {
  return withoutRequestLogging(client);
}
