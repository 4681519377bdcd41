import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { secretsClient } from '../shared/aws';
import { getNumberFromEnv, getStringFromEnv } from '../shared/env';
import { ENV } from '../shared/env-names';
import { METRIC } from '../shared/metric-names';
import { logger, metrics } from '../shared/powertools';
import { apiKeyFromSecret } from './api-key';
import { runGenerator, type GeneratorConfig } from './run';

const config: GeneratorConfig = {
  ingestUrl: getStringFromEnv(ENV.generator.INGEST_URL),
  eventsPerRun: getNumberFromEnv(ENV.generator.GENERATOR_EVENTS_PER_RUN),
  invalidShare: getNumberFromEnv(ENV.generator.GENERATOR_INVALID_SHARE, 0.02),
};
const apiKeySecretArn = getStringFromEnv(ENV.generator.API_KEY_SECRET_ARN);

export async function generate(_event: ScheduledEvent): Promise<void> {
  const apiKey = await apiKeyFromSecret(secretsClient(), apiKeySecretArn);
  const { generated, summary } = await runGenerator(config, {
    apiKey,
    onError: (error, eventCount) => logger.warn('Ingest request failed', { error, eventCount }),
  });
  const errors = summary.rejected + summary.refused + summary.undelivered;
  metrics.addMetric(METRIC.EventsGenerated, MetricUnit.Count, generated.total);
  metrics.addMetric(METRIC.GeneratorErrors, MetricUnit.Count, errors);
  const log = errors > 0 ? logger.warn.bind(logger) : logger.info.bind(logger);
  log('Generator run finished', { generated, ...summary });
}

export const handler = middy(generate)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
