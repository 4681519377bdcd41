import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

// Apart from aws.ts so that only the functions that use DynamoDB bundle it (see there).
let dynamo: DynamoDBDocumentClient | undefined;

/** Built once per container and reused by every invocation, like the clients in aws.ts. */
export function documentClient(): DynamoDBDocumentClient {
  dynamo ??= DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 3 }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return dynamo;
}
