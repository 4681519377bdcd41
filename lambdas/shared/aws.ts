import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { withoutRequestLogging } from './sdk-middleware';

// Clients are built once per container (module scope, lazily) and reused by every invocation.
// The SDK reads AWS_ENDPOINT_URL itself, so LocalStack and the local cloud need no code path.
// Kinesis defaults to HTTP/2, which plain-HTTP emulators do not speak: an HTTP/1.1 handler
// works everywhere, AWS included.
// The DynamoDB document client lives in aws-dynamodb.ts: @aws-sdk/lib-dynamodb has top-level code
// (its paginators) that tree shaking cannot drop, so importing it here put the DynamoDB client
// into every function's bundle (42 KB minified), not only the loader's.

let kinesis: KinesisClient | undefined;
let sqs: SQSClient | undefined;
let secrets: SecretsManagerClient | undefined;

export interface KinesisClientOptions {
  /** Per-request timeout; the collector keeps it short so one hung call cannot outlast API Gateway's 29 s. */
  requestTimeoutMs?: number;
  /** SDK-level attempts per call (our own retry of failed entries comes on top). */
  maxAttempts?: number;
}

/** The options apply when the container's client is first built. */
export function kinesisClient(options: KinesisClientOptions = {}): KinesisClient {
  kinesis ??= withoutRequestLogging(new KinesisClient({
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 3_000,
      requestTimeout: options.requestTimeoutMs ?? 10_000,
    }),
    maxAttempts: options.maxAttempts ?? 3,
  }));
  return kinesis;
}

export function sqsClient(): SQSClient {
  sqs ??= withoutRequestLogging(new SQSClient({ maxAttempts: 3 }));
  return sqs;
}

export function secretsClient(): SecretsManagerClient {
  secrets ??= withoutRequestLogging(new SecretsManagerClient({ maxAttempts: 3 }));
  return secrets;
}
