import { Duration, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';
import { PipelineConcern } from './pipeline-concern';

// A redrive message whose processing keeps failing goes back to the DeadLetterQueue after this
// many receives, so a poisoned message cannot circle forever. AWS advises at least 5 for a queue
// a Lambda function consumes: a receive also counts when the function was throttled or failed
// transiently, so fewer would send good messages back too soon ("set the maxReceiveCount on the
// source queue's redrive policy to at least 5",
// https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
export const REDRIVE_MAX_RECEIVE_COUNT = 5;
const RETENTION = Duration.days(14);

export interface DeadLettersProps {
  readonly config: PipelineConfig;
  /** At least six times the timeout of the function that consumes the RedriveQueue (AWS guidance). */
  readonly redriveVisibilityTimeout: Duration;
}

/**
 * DeadLetterQueue (invalid or unloadable events, with their reason), RedriveQueue (messages moved
 * back for another try) and StreamFailureQueue (batches the Kinesis event sources gave up on).
 */
export class DeadLetters extends PipelineConcern {
  readonly deadLetterQueue: Queue;
  readonly redriveQueue: Queue;
  readonly streamFailureQueue: Queue;

  constructor(scope: Construct, id: string, { config, redriveVisibilityTimeout }: DeadLettersProps) {
    super(scope, id);
    const queueProps = {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: RETENTION,
      removalPolicy: config.removalPolicy,
    };
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', queueProps);
    this.redriveQueue = new Queue(this, 'RedriveQueue', {
      ...queueProps,
      visibilityTimeout: redriveVisibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: REDRIVE_MAX_RECEIVE_COUNT },
    });
    this.streamFailureQueue = new Queue(this, 'StreamFailureQueue', queueProps);
    Validations.of(this.streamFailureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'StreamFailureQueue is itself a dead-letter queue: the on-failure destination of the Kinesis event source mappings, read by `pipeline replay`. cdk-nag only recognises queue redrive policies.',
    });
  }
}
