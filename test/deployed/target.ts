import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { openTarget, type Target } from '../../tools/cli/outputs';

/**
 * What `npm run test:deployed` hands its tests: the outputs file (and stack) to run against, in
 * these environment variables, set by test/deployed/run.ts.
 */
export const DEPLOYED_ENV = {
  outputs: 'PIPELINE_DEPLOYED_OUTPUTS',
  stack: 'PIPELINE_DEPLOYED_STACK',
  /** One endpoint for every AWS client (LocalStack); AWS_ENDPOINT_URL works too. */
  endpoint: 'PIPELINE_DEPLOYED_ENDPOINT',
} as const;

/** Waits on a deployed stack: AWS takes seconds where the local cloud takes milliseconds. */
export const DEPLOYED_TIMEOUT_MS = 5 * 60_000;

export interface Deployed {
  target: Target;
  outputs: Record<string, string>;
  ingestUrl: string;
  apiKey: string;
  sqs: SQSClient;
  dynamo: DynamoDBDocumentClient;
}

/** The stack named by the environment, with its clients and API key; a clear error without one. */
export async function openDeployed(): Promise<Deployed> {
  const file = process.env[DEPLOYED_ENV.outputs];
  if (!file) {
    throw new Error(`${DEPLOYED_ENV.outputs} is not set: run these tests with npm run test:deployed -- --outputs cdk-outputs.json`);
  }
  const stack = process.env[DEPLOYED_ENV.stack];
  const endpoint = process.env[DEPLOYED_ENV.endpoint];
  const target = await openTarget({ outputs: file, ...(stack ? { stack } : {}), ...(endpoint ? { endpoint } : {}) });
  return {
    target,
    outputs: target.outputs.values,
    ingestUrl: target.output('IngestUrl'),
    apiKey: await target.apiKey(),
    sqs: target.sqs(),
    dynamo: DynamoDBDocumentClient.from(target.dynamodb()),
  };
}
