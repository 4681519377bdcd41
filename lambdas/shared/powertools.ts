import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

// One logger, metrics and tracer per function container. Service name and namespace come from
// POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, set by the function construct (the
// namespace is the stack name, so stages stay apart); the fallback is for code run outside it.
export const logger = new Logger();
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'EcommercePipeline' });
export const tracer = new Tracer();
