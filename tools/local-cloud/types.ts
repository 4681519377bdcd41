/**
 * Shapes shared by the parts of the embedded local cloud: the template reader, the service
 * endpoint, the Lambda runtime, the event source mappings, the API and the schedules.
 */

/** One resource of the synthesized template, with its intrinsics resolved to local values. */
export interface LocalResource {
  logicalId: string;
  type: string;
  /**
   * Properties with Ref / Fn::GetAtt / Fn::Join / Fn::Sub / pseudo parameters resolved.
   * For AWS::Lambda::Function the template reader also sets `__assetDir`: the absolute path of
   * the function's cdk.out asset folder (from its `aws:asset:path` metadata).
   */
  properties: Record<string, unknown>;
  /** What `Ref` returns for this resource locally (name, URL or id, as CloudFormation does). */
  ref: string;
  /** What `Fn::GetAtt` returns, by attribute name (Arn, QueueUrl, StreamArn, ...). */
  attributes: Record<string, string>;
}

/** A Lambda function as the template declares it, ready to run from its cdk.out asset folder. */
export interface FunctionSpec {
  logicalId: string;
  functionName: string;
  arn: string;
  /** Absolute path of the asset folder holding the bundle (index.mjs). */
  assetDir: string;
  /** `index.handler`: file (without extension) and export name. */
  handler: string;
  runtime: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** The template's environment, resolved, without AWS_ENDPOINT_URL or credentials. */
  environment: Record<string, string>;
}

export type InvokeResult =
  | { ok: true; payload: unknown; durationMs: number }
  | { ok: false; errorType: string; errorMessage: string; durationMs: number; timedOut?: boolean };

/** Runs functions; the event source mappings, the API and the schedules call through it. */
export interface Invoker {
  invoke(functionName: string, event: unknown): Promise<InvokeResult>;
}

/** A Kinesis or SQS event source mapping, from AWS::Lambda::EventSourceMapping, resolved. */
export interface EventSourceMappingSpec {
  logicalId: string;
  functionName: string;
  eventSourceArn: string;
  batchSize: number;
  maximumBatchingWindowInSeconds: number;
  startingPosition?: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  reportBatchItemFailures: boolean;
  bisectBatchOnFunctionError: boolean;
  /** -1 means infinite, as in AWS. */
  maximumRetryAttempts: number;
  /** -1 means infinite, as in AWS. */
  maximumRecordAgeInSeconds: number;
  /** ARN of the on-failure destination (an SQS queue), when set. */
  onFailureDestinationArn?: string;
}

/** Counters the local cloud keeps from the functions' EMF metric lines, by metric name. */
export type MetricTotals = Record<string, number>;
