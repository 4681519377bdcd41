import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { documentClient, sqsClient } from '../shared/aws';
import { getStringFromEnv } from '../shared/env';
import { logger, metrics, tracer } from '../shared/powertools';
import { loadRecords, type LoaderDeps } from './load';

const deps: LoaderDeps = {
  dynamo: documentClient(),
  sqs: sqsClient(),
  eventsTableName: getStringFromEnv('EVENTS_TABLE_NAME'),
  aggregatesTableName: getStringFromEnv('AGGREGATES_TABLE_NAME'),
  deadLetterQueueUrl: getStringFromEnv('DEAD_LETTER_QUEUE_URL'),
  log: logger,
};

export async function load(event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> {
  const { batchItemFailures, summary } = await loadRecords(event.Records, deps);
  metrics.addMetric('EventsStored', MetricUnit.Count, summary.stored);
  metrics.addMetric('EventsDuplicate', MetricUnit.Count, summary.duplicates);
  metrics.addMetric('LoadFailed', MetricUnit.Count, summary.deadLettered);
  logger.info('Batch loaded', { ...summary });
  return { batchItemFailures };
}

export const handler = middy(load)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
