import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { withoutRequestLogging } from './sdk-middleware';

// Apart from aws.ts so that only the functions that use DynamoDB bundle it (see there).
let dynamo: DynamoDBDocumentClient | undefined;

/** Built once per container and reused by every invocation, like the clients in aws.ts. */
export function documentClient(): DynamoDBDocumentClient {
  dynamo ??= leanDocumentClient(new DynamoDBClient({ maxAttempts: 3 }));
  return dynamo;
}

/** The document client the loader writes with (the bench builds its own on the same terms). */
export function leanDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(withoutRequestLogging(client), { marshallOptions: { removeUndefinedValues: true } });
}
