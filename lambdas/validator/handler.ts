import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { KinesisStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { kinesisClient, sqsClient } from '../shared/aws';
import { getStringFromEnv } from '../shared/env';
import { METRIC } from '../shared/metric-names';
import { logger, metrics } from '../shared/powertools';
import { messageBatchSender, streamWriter } from '../shared/delivery';
import { validateBatch, type ValidatorDeps } from './validate-batch';

const processedStreamName = getStringFromEnv('PROCESSED_STREAM_NAME');
const deadLetterQueueUrl = getStringFromEnv('DEAD_LETTER_QUEUE_URL');

const deps: ValidatorDeps = {
  putProcessed: streamWriter(kinesisClient(), processedStreamName),
  sendDeadLetters: messageBatchSender(sqsClient(), deadLetterQueueUrl),
  now: () => new Date(),
  onDeliveryError: (error, destination, entryCount) =>
    logger.warn('Handing records on failed', { error, destination, entryCount }),
  onRoutingError: (error, itemId) => logger.error('Routing a record failed', { error, itemId }),
};

/** Raw stream (Kinesis) and RedriveQueue (SQS) batches; both answer with a partial batch response. */
export async function validate(event: KinesisStreamEvent | SQSEvent): Promise<SQSBatchResponse> {
  const source = event.Records[0]?.eventSource;
  if (source === undefined) return { batchItemFailures: [] };
  if (source !== 'aws:kinesis' && source !== 'aws:sqs') {
    throw new Error(`Unsupported event source ${source}`);
  }
  const { response, tally } = await validateBatch(event, deps);
  metrics.addMetric(METRIC.EventsValid, MetricUnit.Count, tally.valid);
  metrics.addMetric(METRIC.EventsInvalid, MetricUnit.Count, tally.invalid);
  metrics.addMetric(METRIC.RecordsUnparseable, MetricUnit.Count, tally.unparseable);
  metrics.addMetric(METRIC.EventsRedriven, MetricUnit.Count, tally.redriven);
  metrics.addMetric(METRIC.EventsRedriveFailed, MetricUnit.Count, tally.redriveFailed);
  metrics.addMetric(METRIC.EventsReplayed, MetricUnit.Count, tally.replayed);
  if (response.batchItemFailures.length > 0) {
    logger.warn('Records left for retry', { source, failed: response.batchItemFailures.length, of: event.Records.length });
  }
  return response;
}

export const handler = middy(validate)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
