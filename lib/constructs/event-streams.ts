import { Duration } from 'aws-cdk-lib';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';
import { PipelineConcern } from './pipeline-concern';

export interface EventStreamsProps {
  readonly config: PipelineConfig;
}

/** RawStream (collector -> validator) and ProcessedStream (validator -> loader). */
export class EventStreams extends PipelineConcern {
  readonly rawStream: Stream;
  readonly processedStream: Stream;

  constructor(scope: Construct, id: string, { config }: EventStreamsProps) {
    super(scope, id);
    const streamProps = {
      streamMode: config.streamMode,
      shardCount: config.streamMode === StreamMode.PROVISIONED ? config.shardCount : undefined,
      retentionPeriod: Duration.hours(config.streamRetentionHours),
      // The AWS managed key (alias/aws/kinesis): encrypted at rest without per-consumer KMS costs.
      encryption: StreamEncryption.MANAGED,
      removalPolicy: config.removalPolicy,
    };
    this.rawStream = new Stream(this, 'RawStream', streamProps);
    this.processedStream = new Stream(this, 'ProcessedStream', streamProps);
  }
}
