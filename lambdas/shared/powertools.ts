import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ENV } from './env-names';

// One logger and metrics per function container. Service name and namespace come from
// POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, set by the function construct (the
// namespace is the stack name, so stages stay apart); the fallback is for code run outside it.
// No Powertools Tracer: it pulled in aws-xray-sdk-core (with semver and cls-hooked), 126 KB of
// each minified bundle and 15-55 ms of CPU per cold start (measured), for a handler subsegment and
// a ColdStart annotation. Active tracing stays on in the template: Lambda still records each
// invocation's segment (init, invocation, overhead) in X-Ray.
export const logger = new Logger();
export const metrics = new Metrics({ namespace: process.env[ENV.common.POWERTOOLS_METRICS_NAMESPACE] ?? 'EcommercePipeline' });
