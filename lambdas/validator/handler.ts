import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { KinesisStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { kinesisClient, sqsClient } from '../shared/aws';
import { getStringFromEnv } from '../shared/env';
import { ENV } from '../shared/env-names';
import { ERROR_CODE_DIMENSION, METRIC } from '../shared/metric-names';
import { logger, metrics } from '../shared/powertools';
import { messageBatchSender, streamWriter } from '../shared/delivery';
import { validateBatch, type ValidatorDeps } from './validate-batch';

const processedStreamName = getStringFromEnv(ENV.validator.PROCESSED_STREAM_NAME);
const deadLetterQueueUrl = getStringFromEnv(ENV.validator.DEAD_LETTER_QUEUE_URL);

const deps: ValidatorDeps = {
  putProcessed: streamWriter(kinesisClient(), processedStreamName),
  sendDeadLetters: messageBatchSender(sqsClient(), deadLetterQueueUrl),
  now: () => new Date(),
  onDeliveryError: (error, destination, entryCount) =>
    logger.warn('Handing records on failed', { error, destination, entryCount }),
  onRoutingError: (error, itemId) => logger.error('Routing a record failed', { error, itemId }),
  // The correlation log: event_id with the API request id the collector put in the envelope
  // (contract §2 leaves no room for it in the stored event), so one Logs Insights query joins
  // collector, validator, loader and dead letters (README "Follow one event").
  onHandedOn: (entry) => logger.info('Record handed on', { ...entry }),
};

/** Raw stream (Kinesis) and RedriveQueue (SQS) batches; both answer with a partial batch response. */
export async function validate(event: KinesisStreamEvent | SQSEvent): Promise<SQSBatchResponse> {
  const source = event.Records[0]?.eventSource;
  if (source === undefined) return { batchItemFailures: [] };
  if (source !== 'aws:kinesis' && source !== 'aws:sqs') {
    throw new Error(`Unsupported event source ${source}`);
  }
  const { response, tally, quality } = await validateBatch(event, deps);
  metrics.addMetric(METRIC.EventsValid, MetricUnit.Count, tally.valid);
  metrics.addMetric(METRIC.EventsInvalid, MetricUnit.Count, tally.invalid);
  metrics.addMetric(METRIC.RecordsUnparseable, MetricUnit.Count, tally.unparseable);
  metrics.addMetric(METRIC.EventsRedriven, MetricUnit.Count, tally.redriven);
  metrics.addMetric(METRIC.EventsRedriveFailed, MetricUnit.Count, tally.redriveFailed);
  metrics.addMetric(METRIC.EventsReplayed, MetricUnit.Count, tally.replayed);
  publishQuality(quality.records, tally.valid, tally.invalid, quality.errorCodes);
  if (response.batchItemFailures.length > 0) {
    logger.warn('Records left for retry', { source, failed: response.batchItemFailures.length, of: event.Records.length });
  }
  return response;
}

/**
 * Data quality per batch: records in, the first-pass valid share (when the batch judged any) and
 * ValidationErrors per error code, one metric per code with dimension `code` (bounded to the
 * known codes), each in its own EMF line so the code does not become a dimension of the rest.
 */
function publishQuality(records: number, valid: number, invalid: number, errorCodes: Partial<Record<string, number>>): void {
  metrics.addMetric(METRIC.RecordsIn, MetricUnit.Count, records);
  if (valid + invalid > 0) metrics.addMetric(METRIC.BatchValidShare, MetricUnit.Percent, (100 * valid) / (valid + invalid));
  for (const [code, count] of Object.entries(errorCodes)) {
    if (!count) continue;
    const single = metrics.singleMetric();
    single.addDimension(ERROR_CODE_DIMENSION, code);
    single.addMetric(METRIC.ValidationErrors, MetricUnit.Count, count);
  }
}

export const handler = middy(validate)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
