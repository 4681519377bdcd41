import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { leanDynamoClient } from '../../../lambdas/shared/aws-dynamodb';
import { kinesisClient, sqsClient } from '../../../lambdas/shared/aws';
import { SDK_LOGGER_MIDDLEWARE, withoutRequestLogging } from '../../../lambdas/shared/sdk-middleware';

const names = (client: { middlewareStack: { identify(): string[] } }) => client.middlewareStack.identify().map((entry) => entry.split(' ')[0]);

describe('clients without the SDK request logger', () => {
  it('a plain client has the logger middleware, one passed through withoutRequestLogging does not', () => {
    expect(names(new DynamoDBClient({ region: 'us-east-1' }))).toContain(SDK_LOGGER_MIDDLEWARE);
    expect(names(withoutRequestLogging(new DynamoDBClient({ region: 'us-east-1' })))).not.toContain(SDK_LOGGER_MIDDLEWARE);
  });

  it('the functions\' clients (DynamoDB, Kinesis, SQS) are built without it', () => {
    const dynamo = leanDynamoClient({ region: 'us-east-1' });
    expect(names(dynamo)).not.toContain(SDK_LOGGER_MIDDLEWARE);
    expect(names(dynamo)).toContain('serializerMiddleware');
    expect(names(kinesisClient())).not.toContain(SDK_LOGGER_MIDDLEWARE);
    expect(names(sqsClient())).not.toContain(SDK_LOGGER_MIDDLEWARE);
  });
});
