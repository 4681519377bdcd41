import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { sqsClient } from '../shared/aws';
import { dynamoClient } from '../shared/aws-dynamodb';
import { getNumberFromEnv, getStringFromEnv } from '../shared/env';
import { ENV } from '../shared/env-names';
import { METRIC } from '../shared/metric-names';
import { logger, metrics } from '../shared/powertools';
import { loadRecords, type LoaderDeps } from './load';
import { DynamoDbEventStore } from './store';

const deps: LoaderDeps = {
  store: new DynamoDbEventStore(dynamoClient(), getStringFromEnv(ENV.loader.EVENTS_TABLE_NAME), getStringFromEnv(ENV.loader.AGGREGATES_TABLE_NAME)),
  sqs: sqsClient(),
  deadLetterQueueUrl: getStringFromEnv(ENV.loader.DEAD_LETTER_QUEUE_URL),
  aggregateWriteShards: getNumberFromEnv(ENV.loader.AGGREGATE_WRITE_SHARDS, 1),
  log: logger,
};

export async function load(event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> {
  const { batchItemFailures, summary, storeLag } = await loadRecords(event.Records, deps);
  metrics.addMetric(METRIC.EventsStored, MetricUnit.Count, summary.stored);
  metrics.addMetric(METRIC.EventsDuplicate, MetricUnit.Count, summary.duplicates);
  metrics.addMetric(METRIC.LoadFailed, MetricUnit.Count, summary.deadLettered);
  // Data quality: lag from event_time to stored, this batch's average and maximum.
  if (storeLag) {
    metrics.addMetric(METRIC.StoreLagSeconds, MetricUnit.Seconds, storeLag.averageSeconds);
    metrics.addMetric(METRIC.StoreLagMaxSeconds, MetricUnit.Seconds, storeLag.maxSeconds);
  }
  if (summary.deadLettered > 0 || summary.retried > 0) logger.warn('Batch loaded', { ...summary, ...storeLag });
  else logger.info('Batch loaded', { ...summary, ...storeLag });
  return { batchItemFailures };
}

export const handler = middy(load)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
