import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { kinesisClient } from '../shared/aws';
import { getStringFromEnv } from '../shared/env';
import { ENV } from '../shared/env-names';
import { METRIC } from '../shared/metric-names';
import { logger, metrics } from '../shared/powertools';
import { allowedOriginsFromEnv, errorResponse, headerValue, withCors } from './http';
import { ingest, type CollectorDeps } from './ingest';
import { streamWriter } from '../shared/delivery';

const rawStreamName = getStringFromEnv(ENV.collector.RAW_STREAM_NAME);
// lib/constructs/ingest-api.ts passes corsAllowedOrigins; absent (tests, old stacks): no CORS.
const allowedOrigins = allowedOriginsFromEnv(process.env[ENV.collector.CORS_ALLOWED_ORIGINS]);

const deps: CollectorDeps = {
  putRecords: streamWriter(kinesisClient({ requestTimeoutMs: 2_000, maxAttempts: 2 }), rawStreamName),
  now: () => new Date(),
  uuid: () => randomUUID(),
  onDeliveryError: (error, entryCount) => logger.warn('PutRecords to the raw stream failed', { error, entryCount }),
};

export async function collect(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  return withCors(await respond(event), headerValue(event.headers, 'origin'), allowedOrigins);
}

async function respond(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  // The correlation id: the API Gateway request id, also in every raw envelope (request_id), so
  // the validator's log lines and dead letters carry it on. Cleared after each invocation (resetKeys).
  logger.appendKeys({ request_id: event.requestContext?.requestId });
  try {
    const { response, tally, results } = await ingest(event, { requestId: event.requestContext.requestId }, deps);
    if (tally) {
      logger.info('Request ingested', {
        ...tally,
        accepted_event_ids: (results ?? []).filter((r) => r.status === 'accepted').map((r) => r.event_id),
      });
      metrics.addMetric(METRIC.EventsReceived, MetricUnit.Count, tally.received);
      metrics.addMetric(METRIC.EventsAccepted, MetricUnit.Count, tally.accepted);
      metrics.addMetric(METRIC.EventsRejected, MetricUnit.Count, tally.rejected);
      metrics.addMetric(METRIC.EventsRetry, MetricUnit.Count, tally.retry);
      if (tally.retry > 0) logger.warn('Events not written after retries', { ...tally });
    } else {
      logger.info('Request refused', { statusCode: response.statusCode, body: response.body });
    }
    return response;
  } catch (error) {
    // Still JSON (with CORS for an allowed origin): the contract promises JSON for every response.
    logger.error('Collector failed', { error });
    return errorResponse({ statusCode: 500, code: 'internal_error', message: 'internal error; retry the request' });
  }
}

export const handler = middy(collect)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
