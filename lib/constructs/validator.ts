import { Duration } from 'aws-cdk-lib';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '../../lambdas/shared/env-names';
import type { PipelineConfig } from '../config';
import { PipelineConcern } from './pipeline-concern';
import { PipelineFunction } from './pipeline-function';
import { permissions as validatorPermissions } from '../../lambdas/validator/permissions';

const TIMEOUT = Duration.seconds(60);

export interface ValidatorProps {
  readonly config: PipelineConfig;
  readonly rawStream: IStream;
  readonly processedStream: IStream;
  readonly deadLetterQueue: IQueue;
  readonly redriveQueue: IQueue;
  readonly streamFailureQueue: IQueue;
}

/** Raw stream and RedriveQueue -> Validator -> processed stream, or DeadLetterQueue with the reason. */
export class Validator extends PipelineConcern {
  /** AWS guidance for an SQS event source: visibility timeout at least six times the function timeout. */
  static readonly redriveVisibilityTimeout = Duration.seconds(TIMEOUT.toSeconds() * 6);

  readonly function: PipelineFunction;

  constructor(scope: Construct, id: string, props: ValidatorProps) {
    super(scope, id);
    this.function = new PipelineFunction(this, 'Validator', {
      config: props.config,
      source: 'validator',
      description: 'Raw stream and RedriveQueue -> processed stream | DeadLetterQueue',
      timeout: TIMEOUT,
      // Measured peak RSS (README "Function size"): 76 MB for 100-record batches; 512 MB is for CPU
      // (validation is CPU-bound: 50-130 ms of a full core per 100 records), which keeps up with the stream.
      memorySize: 512,
    })
      // Exactly the calls lambdas/validator/permissions.ts lists, each on its own stream or queue.
      .bindStream(props.processedStream, ENV.validator.PROCESSED_STREAM_NAME, validatorPermissions.kinesis.ProcessedStream)
      .bindQueue(props.deadLetterQueue, ENV.validator.DEAD_LETTER_QUEUE_URL, validatorPermissions.sqs.DeadLetterQueue);

    this.function.consumeStream(props.rawStream, {
      batchSize: props.config.streamBatchSize,
      // 0 (the default): a record is handed on as soon as the poller sees it (latency over
      // fuller batches; a busy shard fills batches anyway); N: up to N seconds to fill a batch.
      maxBatchingWindow: Duration.seconds(props.config.streamBatchingWindowSeconds),
      startingPosition: StartingPosition.TRIM_HORIZON,
      // Only the records that were not handed on are retried; a failing batch is halved
      // until the poisoned record stands alone, and is then given up to StreamFailureQueue.
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: 5,
      maxRecordAge: Duration.hours(1),
      onFailure: props.streamFailureQueue,
      // One batch per shard at a time keeps a session's events in order.
      parallelizationFactor: 1,
    });
    this.function.consumeQueue(props.redriveQueue, {
      batchSize: 10,
      reportBatchItemFailures: true,
    });
  }
}
