import { KinesisClient } from '@aws-sdk/client-kinesis';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startKinesisMapping } from './kinesis-esm';
import { assertNoRefusedProperties } from './property-review';
import { startSqsMapping } from './sqs-esm';
import type { EventSourceMappingSpec, Invoker, LocalResource } from './types';

/** Runs the template's AWS::Lambda::EventSourceMapping resources (Kinesis and SQS) against the local services. */

export interface EventSourceMappingsOptions {
  resources: LocalResource[];
  invoker: Invoker;
  endpoint: string;
  region: string;
  accountId: string;
  log?: (l: string) => void;
  /** Per-service endpoints, when Kinesis and SQS are not behind the one local endpoint. */
  endpoints?: { kinesis?: string; sqs?: string };
}

const DEFAULT_BATCH_SIZE = { kinesis: 100, sqs: 10 } as const;

/**
 * The mapping as Lambda would run it, with AWS's defaults filled in. Throws for a property that
 * would change what the function gets (ParallelizationFactor > 1, FilterCriteria, ...): see
 * PROPERTY_RULES in resources.ts.
 */
export function mappingSpecFrom(resource: LocalResource): EventSourceMappingSpec {
  assertNoRefusedProperties([resource]);
  const props = resource.properties;
  const eventSourceArn = stringProp(props.EventSourceArn, `${resource.logicalId}.EventSourceArn`);
  const source = sourceOf(eventSourceArn);
  const destination = (props.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure?.Destination;
  const startingPosition = props.StartingPosition;
  return {
    logicalId: resource.logicalId,
    functionName: stringProp(props.FunctionName, `${resource.logicalId}.FunctionName`),
    eventSourceArn,
    batchSize: numberProp(props.BatchSize, DEFAULT_BATCH_SIZE[source]),
    maximumBatchingWindowInSeconds: numberProp(props.MaximumBatchingWindowInSeconds, 0),
    ...(startingPosition === 'TRIM_HORIZON' || startingPosition === 'LATEST' || startingPosition === 'AT_TIMESTAMP'
      ? { startingPosition }
      : {}),
    reportBatchItemFailures: Array.isArray(props.FunctionResponseTypes) && props.FunctionResponseTypes.includes('ReportBatchItemFailures'),
    bisectBatchOnFunctionError: props.BisectBatchOnFunctionError === true || props.BisectBatchOnFunctionError === 'true',
    maximumRetryAttempts: numberProp(props.MaximumRetryAttempts, -1),
    maximumRecordAgeInSeconds: numberProp(props.MaximumRecordAgeInSeconds, -1),
    ...(typeof destination === 'string' ? { onFailureDestinationArn: destination } : {}),
  };
}

export function startEventSourceMappings(opts: EventSourceMappingsOptions): { mappings: EventSourceMappingSpec[]; stop(): Promise<void> } {
  const clientConfig = (endpoint: string) => ({
    endpoint,
    region: opts.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // Plain-HTTP emulators speak HTTP/1.1 only (the Kinesis client would try HTTP/2).
    requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000, requestTimeout: 10_000 }),
    maxAttempts: 2,
  });
  const kinesis = new KinesisClient(clientConfig(opts.endpoints?.kinesis ?? opts.endpoint));
  const sqs = new SQSClient(clientConfig(opts.endpoints?.sqs ?? opts.endpoint));

  const queueUrls = new Map<string, string>();
  const queueUrlOf = async (queueArn: string): Promise<string> => {
    const known = queueUrls.get(queueArn);
    if (known) return known;
    const fromTemplate = opts.resources.find((resource) => resource.type === 'AWS::SQS::Queue' && resource.attributes.Arn === queueArn);
    let url = fromTemplate ? (fromTemplate.attributes.QueueUrl ?? fromTemplate.ref) : undefined;
    if (!url) {
      const [, , , , owner, name] = queueArn.split(':');
      url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: owner }))).QueueUrl;
    }
    if (!url) throw new Error(`No queue for ${queueArn}`);
    queueUrls.set(queueArn, url);
    return url;
  };

  const mappings: EventSourceMappingSpec[] = [];
  const running: Array<{ stop(): Promise<void> }> = [];
  for (const resource of opts.resources.filter((r) => r.type === 'AWS::Lambda::EventSourceMapping')) {
    if (resource.properties.Enabled === false || resource.properties.Enabled === 'false') continue;
    const spec = mappingSpecFrom(resource);
    mappings.push(spec);
    const fn = functionResourceOf(opts.resources, spec.functionName);
    if (sourceOf(spec.eventSourceArn) === 'kinesis') {
      const timestamp = resource.properties.StartingPositionTimestamp;
      running.push(
        startKinesisMapping({
          spec,
          invoker: opts.invoker,
          kinesis,
          sqs,
          region: opts.region,
          functionArn: fn?.attributes.Arn ?? `arn:aws:lambda:${opts.region}:${opts.accountId}:function:${spec.functionName}`,
          roleArn: typeof fn?.properties.Role === 'string' ? fn.properties.Role : `arn:aws:iam::${opts.accountId}:role/${spec.functionName}-role`,
          queueUrlOf,
          ...(timestamp !== undefined ? { startingPositionTimestamp: Number(timestamp) } : {}),
          ...(opts.log ? { log: opts.log } : {}),
        }),
      );
    } else {
      running.push(
        startSqsMapping({
          spec,
          invoker: opts.invoker,
          sqs,
          region: opts.region,
          queueUrl: () => queueUrlOf(spec.eventSourceArn),
          ...(opts.log ? { log: opts.log } : {}),
        }),
      );
    }
  }

  return {
    mappings,
    async stop() {
      await Promise.all(running.map((mapping) => mapping.stop()));
      kinesis.destroy();
      sqs.destroy();
    },
  };
}

function functionResourceOf(resources: LocalResource[], functionName: string): LocalResource | undefined {
  return resources.find(
    (resource) =>
      resource.type === 'AWS::Lambda::Function' &&
      (resource.ref === functionName || resource.attributes.Arn === functionName || resource.properties.FunctionName === functionName),
  );
}

function sourceOf(arn: string): 'kinesis' | 'sqs' {
  const service = arn.split(':')[2];
  if (service === 'kinesis') return 'kinesis';
  if (service === 'sqs') return 'sqs';
  throw new Error(`Unsupported event source ${arn}: the local cloud runs Kinesis and SQS mappings`);
}

function stringProp(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new Error(`${what} must be a resolved string, got ${JSON.stringify(value)}`);
  return value;
}

function numberProp(value: unknown, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const number = Number(value);
  if (!Number.isFinite(number)) throw new Error(`Expected a number, got ${JSON.stringify(value)}`);
  return number;
}
