import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { sqsClient } from '../shared/aws';
import { DataApi, rdsDataClient } from '../shared/data-api';
import { getStringFromEnv } from '../shared/env';
import { ENV } from '../shared/env-names';
import { METRIC } from '../shared/metric-names';
import { logger, metrics } from '../shared/powertools';
import { sinkRecords, type SinkDeps } from './sink';
import { DataApiEventStore } from './store';

const deps: SinkDeps = {
  store: new DataApiEventStore(
    new DataApi(rdsDataClient(), {
      resourceArn: getStringFromEnv(ENV.sqlSink.AURORA_CLUSTER_ARN),
      secretArn: getStringFromEnv(ENV.sqlSink.AURORA_SECRET_ARN),
      database: getStringFromEnv(ENV.sqlSink.AURORA_DATABASE_NAME),
    }),
  ),
  sqs: sqsClient(),
  deadLetterQueueUrl: getStringFromEnv(ENV.sqlSink.DEAD_LETTER_QUEUE_URL),
  log: logger,
};

export async function sink(event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> {
  const { batchItemFailures, summary, metrics: quality } = await sinkRecords(event.Records, deps);
  metrics.addMetric(METRIC.SqlEventsStored, MetricUnit.Count, summary.stored);
  metrics.addMetric(METRIC.SqlEventsDuplicate, MetricUnit.Count, summary.duplicates);
  metrics.addMetric(METRIC.SqlLoadFailed, MetricUnit.Count, summary.deadLettered);
  const lag = quality?.lagAvgSeconds === undefined ? {} : { lag_avg_seconds: quality.lagAvgSeconds, lag_max_seconds: quality.lagMaxSeconds };
  if (summary.deadLettered > 0 || summary.retried > 0) logger.warn('Batch stored in SQL', { ...summary, ...lag });
  else logger.info('Batch stored in SQL', { ...summary, ...lag });
  return { batchItemFailures };
}

export const handler = middy(sink)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
