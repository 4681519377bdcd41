import { CfnOutput, Stack, Tags, type CfnElement, type StackProps } from 'aws-cdk-lib';
import type { ContractOutput } from './contract-outputs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from './config';
import { DeadLetters } from './constructs/dead-letters';
import { EventStreams } from './constructs/event-streams';
import { Generator } from './constructs/generator';
import { IngestApi } from './constructs/ingest-api';
import { Loader } from './constructs/loader';
import { Observability } from './constructs/observability';
import { PipelineConcern } from './constructs/pipeline-concern';
import { RawArchive } from './constructs/raw-archive';
import { SqlSink } from './constructs/sql-sink';
import { Validator } from './constructs/validator';
import { PROJECT_NAME } from './stack-name';

export interface PipelineStackProps extends StackProps {
  readonly config: PipelineConfig;
}

/** The whole pipeline: ingest API -> raw stream -> validator -> processed stream -> loader -> tables. */
export class PipelineStack extends Stack {
  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, {
      description: `E-commerce event pipeline (${props.config.stage})`,
      ...props,
    });
    const { config } = props;
    Tags.of(this).add('Project', PROJECT_NAME);
    Tags.of(this).add('Stage', config.stage);

    const streams = new EventStreams(this, 'Streams', { config });
    const deadLetters = new DeadLetters(this, 'DeadLetters', {
      config,
      redriveVisibilityTimeout: Validator.redriveVisibilityTimeout,
    });
    const ingest = new IngestApi(this, 'Ingest', { config, rawStream: streams.rawStream });
    const validation = new Validator(this, 'Validation', {
      config,
      rawStream: streams.rawStream,
      processedStream: streams.processedStream,
      deadLetterQueue: deadLetters.deadLetterQueue,
      redriveQueue: deadLetters.redriveQueue,
      streamFailureQueue: deadLetters.streamFailureQueue,
    });
    const loader = new Loader(this, 'Loading', {
      config,
      processedStream: streams.processedStream,
      deadLetterQueue: deadLetters.deadLetterQueue,
      streamFailureQueue: deadLetters.streamFailureQueue,
    });
    const sqlSink = config.auroraSink
      ? new SqlSink(this, 'SqlSinking', {
          config,
          processedStream: streams.processedStream,
          deadLetterQueue: deadLetters.deadLetterQueue,
          streamFailureQueue: deadLetters.streamFailureQueue,
        })
      : undefined;
    const generation = new Generator(this, 'Generation', { config, ingestUrl: ingest.url, apiKeySecret: ingest.apiKeySecret });
    const archive = config.rawArchive ? new RawArchive(this, 'Archive', { config, rawStream: streams.rawStream }) : undefined;
    const observability = new Observability(this, 'Observability', {
      config,
      functions: { collector: ingest.collector, validator: validation.function, loader: loader.function, generator: generation.function },
      api: ingest.api,
      deadLetterQueue: deadLetters.deadLetterQueue,
      streamFailureQueue: deadLetters.streamFailureQueue,
      ...(archive ? { archiveDeliveryStreamName: archive.deliveryStream.ref } : {}),
    });

    // Typed by the contract's list: leaving one of its outputs out does not compile.
    const outputs: Record<
      ContractOutput | 'ApiKeySecretArn' | 'StreamFailureQueueUrl' | 'DashboardUrl' | 'AlarmTopicArn',
      { value: string; description: string }
    > = {
      IngestUrl: { value: ingest.url, description: 'POST {IngestUrl}/events with header x-api-key' },
      ApiKeyId: { value: ingest.apiKey.keyId, description: 'API key id (its value is in ApiKeySecretArn)' },
      ApiKeySecretArn: { value: ingest.apiKeySecret.secretArn, description: 'Secret holding {"apiKey": "<value>"}' },
      RawStreamName: { value: streams.rawStream.streamName, description: 'Kinesis stream the collector writes' },
      ProcessedStreamName: { value: streams.processedStream.streamName, description: 'Kinesis stream of enriched events' },
      EventsTableName: { value: loader.eventsTable.tableName, description: 'DynamoDB table of stored events (key event_id)' },
      AggregatesTableName: { value: loader.aggregatesTable.tableName, description: 'DynamoDB table of hourly aggregates' },
      DeadLetterQueueUrl: { value: deadLetters.deadLetterQueue.queueUrl, description: 'Invalid or unloadable events, with the reason' },
      RedriveQueueUrl: { value: deadLetters.redriveQueue.queueUrl, description: 'Move dead letters here to process them again' },
      StreamFailureQueueUrl: {
        value: deadLetters.streamFailureQueue.queueUrl,
        description: 'Kinesis batches the event sources gave up on (input of pipeline replay)',
      },
      // Not in the contract: the local run writes its own DashboardUrl (the local web dashboard).
      DashboardUrl: { value: observability.dashboardUrl, description: 'CloudWatch dashboard: throughput, validity, DLQ, lag, alarm states' },
      AlarmTopicArn: { value: observability.topic.topicArn, description: 'SNS topic the alarms notify (context alarmEmail subscribes an address)' },
    };
    for (const [outputId, output] of Object.entries(outputs)) new CfnOutput(this, outputId, output);
    if (sqlSink) {
      const sqlOutputs: Record<'AuroraClusterArn' | 'AuroraSecretArn' | 'AuroraDatabaseName', { value: string; description: string }> = {
        AuroraClusterArn: { value: sqlSink.cluster.clusterArn, description: 'Aurora PostgreSQL cluster of the SQL sink (RDS Data API resourceArn)' },
        AuroraSecretArn: { value: sqlSink.secret.secretArn, description: 'Secret of the database credentials (RDS Data API secretArn)' },
        AuroraDatabaseName: { value: sqlSink.databaseName, description: 'Database holding ecommerce_events, data_quality_metrics and the views' },
      };
      for (const [outputId, output] of Object.entries(sqlOutputs)) new CfnOutput(this, outputId, output);
    }
    if (archive) {
      const archiveOutputs: Record<'ArchiveBucketName' | 'DeliveryStreamName' | 'AthenaWorkGroupName', { value: string; description: string }> = {
        ArchiveBucketName: { value: archive.bucket.bucketName, description: 'S3 bucket of the raw archive (raw/dt=YYYY-MM-DD/hour=HH/, gzip JSON Lines)' },
        DeliveryStreamName: { value: archive.deliveryStream.ref, description: 'Firehose delivery stream: RawStream -> the archive bucket' },
        AthenaWorkGroupName: { value: archive.workGroup.ref, description: `Athena workgroup for the archive (table ${archive.databaseName}.raw_events)` },
      };
      for (const [outputId, output] of Object.entries(archiveOutputs)) new CfnOutput(this, outputId, output);
    }
  }

  /**
   * Leaves a concern's id out of its resources' logical ids (`StreamsRawStreamAB12CD34` becomes
   * `RawStreamAB12CD34`); the hash still covers the full path, so ids stay unique.
   */
  protected override allocateLogicalId(cfnElement: CfnElement): string {
    const logicalId = super.allocateLogicalId(cfnElement);
    const scopes = cfnElement.node.scopes;
    const concern = scopes[scopes.indexOf(this) + 1];
    if (!(concern instanceof PipelineConcern) || !logicalId.startsWith(concern.node.id)) return logicalId;
    const withoutConcern = logicalId.slice(concern.node.id.length);
    // Keep the concern when nothing readable would be left but the hash.
    return /^[A-Za-z]/.test(withoutConcern) && withoutConcern.length > 8 ? withoutConcern : logicalId;
  }
}
