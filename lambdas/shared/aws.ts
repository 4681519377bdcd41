import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

// Clients are built once per container (module scope, lazily) and reused by every invocation.
// The SDK reads AWS_ENDPOINT_URL itself, so LocalStack and the local cloud need no code path.
// Kinesis defaults to HTTP/2, which plain-HTTP emulators do not speak: an HTTP/1.1 handler
// works everywhere, AWS included.

let kinesis: KinesisClient | undefined;
let sqs: SQSClient | undefined;
let dynamo: DynamoDBDocumentClient | undefined;
let secrets: SecretsManagerClient | undefined;

export function kinesisClient(): KinesisClient {
  kinesis ??= new KinesisClient({
    requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000, requestTimeout: 10_000 }),
    maxAttempts: 3,
  });
  return kinesis;
}

export function sqsClient(): SQSClient {
  sqs ??= new SQSClient({ maxAttempts: 3 });
  return sqs;
}

export function documentClient(): DynamoDBDocumentClient {
  dynamo ??= DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 3 }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return dynamo;
}

export function secretsClient(): SecretsManagerClient {
  secrets ??= new SecretsManagerClient({ maxAttempts: 3 });
  return secrets;
}
