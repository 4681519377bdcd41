import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';
import { PipelineConcern } from './pipeline-concern';
import { PipelineFunction } from './pipeline-function';

export interface LoaderProps {
  readonly config: PipelineConfig;
  readonly processedStream: IStream;
  readonly deadLetterQueue: IQueue;
  readonly streamFailureQueue: IQueue;
}

/** Processed stream -> Loader -> EventsTable (each event_id once) and AggregatesTable (hourly counters). */
export class Loader extends PipelineConcern {
  readonly eventsTable: Table;
  readonly aggregatesTable: Table;
  readonly function: PipelineFunction;

  constructor(scope: Construct, id: string, { config, processedStream, deadLetterQueue, streamFailureQueue }: LoaderProps) {
    super(scope, id);
    const tableProps = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: config.removalPolicy,
      deletionProtection: config.removalPolicy === RemovalPolicy.RETAIN,
    };

    this.eventsTable = new Table(this, 'EventsTable', {
      ...tableProps,
      partitionKey: { name: 'event_id', type: AttributeType.STRING },
    });
    this.eventsTable.addGlobalSecondaryIndex({
      indexName: 'ByUser',
      partitionKey: { name: 'user_id', type: AttributeType.STRING },
      sortKey: { name: 'event_time', type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });

    this.aggregatesTable = new Table(this, 'AggregatesTable', {
      ...tableProps,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
    });

    this.function = new PipelineFunction(this, 'Loader', {
      config,
      source: 'loader',
      description: 'Processed stream -> EventsTable and AggregatesTable',
      timeout: Duration.seconds(60),
      memorySize: 512,
    })
      .bindTable(this.eventsTable, 'EVENTS_TABLE_NAME', 'readWrite')
      .bindTable(this.aggregatesTable, 'AGGREGATES_TABLE_NAME', 'readWrite')
      .bindQueue(deadLetterQueue, 'DEAD_LETTER_QUEUE_URL', 'send');

    this.function.addEventSource(
      new KinesisEventSource(processedStream, {
        batchSize: 100,
        // No batching window: events are stored as soon as the poller sees them.
        maxBatchingWindow: Duration.seconds(0),
        startingPosition: StartingPosition.TRIM_HORIZON,
        // Retried and bisected batches are safe: each event is stored and counted in one
        // transaction that only creates it once.
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        retryAttempts: 5,
        maxRecordAge: Duration.hours(1),
        onFailure: new SqsDlq(streamFailureQueue),
        // Records of a shard in order: a retry from the first failed record is then exact.
        parallelizationFactor: 1,
      }),
    );
  }
}
