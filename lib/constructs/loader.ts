import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { BY_USER_INCLUDED_ATTRIBUTES, EVENTS_TTL_ATTRIBUTE, type PipelineConfig } from '../config';
import { ENV } from '../../lambdas/shared/env-names';
import { PipelineConcern } from './pipeline-concern';
import { PipelineFunction } from './pipeline-function';
import { permissions as loaderPermissions } from '../../lambdas/loader/permissions';

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
    const provisioned = config.tableCapacity === 'provisioned';
    const tableProps = {
      // Provisioned: start at the minimum; auto scaling (below) moves it between min and max.
      ...(provisioned
        ? { billingMode: BillingMode.PROVISIONED, readCapacity: config.tableMinReadCapacity, writeCapacity: config.tableMinWriteCapacity }
        : { billingMode: BillingMode.PAY_PER_REQUEST }),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: config.removalPolicy,
      deletionProtection: config.removalPolicy === RemovalPolicy.RETAIN,
    };

    this.eventsTable = new Table(this, 'EventsTable', {
      ...tableProps,
      partitionKey: { name: 'event_id', type: AttributeType.STRING },
      // The loader writes expires_at (epoch seconds) when eventsTtlDays > 0; DynamoDB deletes the
      // event some time after it (typically within days), without consuming write capacity.
      ...(config.eventsTtlDays > 0 ? { timeToLiveAttribute: EVENTS_TTL_ATTRIBUTE } : {}),
    });
    this.eventsTable.addGlobalSecondaryIndex({
      indexName: 'ByUser',
      partitionKey: { name: 'user_id', type: AttributeType.STRING },
      sortKey: { name: 'event_time', type: AttributeType.STRING },
      projectionType: ProjectionType[config.byUserProjection],
      ...(config.byUserProjection === 'INCLUDE' ? { nonKeyAttributes: [...BY_USER_INCLUDED_ATTRIBUTES] } : {}),
      ...(provisioned ? { readCapacity: config.tableMinReadCapacity, writeCapacity: config.tableMinWriteCapacity } : {}),
    });

    this.aggregatesTable = new Table(this, 'AggregatesTable', {
      ...tableProps,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
    });

    if (provisioned) {
      for (const table of [this.eventsTable, this.aggregatesTable]) autoScale(table, config);
      autoScale(this.eventsTable, config, 'ByUser');
    }

    this.function = new PipelineFunction(this, 'Loader', {
      config,
      source: 'loader',
      description: 'Processed stream -> EventsTable and AggregatesTable',
      timeout: Duration.seconds(60),
      // Measured peak RSS (README "Function size"): 84 MB for 100-record batches; 512 MB is for CPU
      // (110-230 ms of a full core per 100 records, marshalling and transactions).
      memorySize: 512,
    })
      // Exactly the calls lambdas/loader/permissions.ts lists, each on its own table or queue.
      .bindTable(this.eventsTable, ENV.loader.EVENTS_TABLE_NAME, loaderPermissions.dynamodb.EventsTable)
      .bindTable(this.aggregatesTable, ENV.loader.AGGREGATES_TABLE_NAME, loaderPermissions.dynamodb.AggregatesTable)
      .bindQueue(deadLetterQueue, ENV.loader.DEAD_LETTER_QUEUE_URL, loaderPermissions.sqs.DeadLetterQueue);
    // lambdas/loader/store.ts: 0 writes no expires_at.
    this.function.addEnvironment(ENV.loader.EVENTS_TTL_DAYS, String(config.eventsTtlDays));
    this.function.addEnvironment(ENV.loader.AGGREGATE_WRITE_SHARDS, String(config.aggregateWriteShards));

    this.function.consumeStream(processedStream, sinkMappingOptions(config, streamFailureQueue));
  }
}

/** Target tracking on 70% utilization between the configured bounds, reads and writes. */
const TARGET_UTILIZATION_PERCENT = 70;

function autoScale(table: Table, config: PipelineConfig, indexName?: string): void {
  const write = { minCapacity: config.tableMinWriteCapacity, maxCapacity: config.tableMaxWriteCapacity };
  const read = { minCapacity: config.tableMinReadCapacity, maxCapacity: config.tableMaxReadCapacity };
  const target = { targetUtilizationPercent: TARGET_UTILIZATION_PERCENT };
  if (indexName === undefined) {
    table.autoScaleWriteCapacity(write).scaleOnUtilization(target);
    table.autoScaleReadCapacity(read).scaleOnUtilization(target);
  } else {
    table.autoScaleGlobalSecondaryIndexWriteCapacity(indexName, write).scaleOnUtilization(target);
    table.autoScaleGlobalSecondaryIndexReadCapacity(indexName, read).scaleOnUtilization(target);
  }
}

/**
 * How a sink of the processed stream reads it (the Loader, and the SqlSink with the same
 * settings): partial batch responses, bisect, bounded retries and record age, failures to the
 * StreamFailureQueue, one batch per shard at a time.
 */
export function sinkMappingOptions(config: PipelineConfig, streamFailureQueue: IQueue) {
  return {
    batchSize: config.streamBatchSize,
    // 0 (the default): events are stored as soon as the poller sees them; N: up to N seconds
    // to fill a batch (fewer, larger invocations, N seconds more latency).
    maxBatchingWindow: Duration.seconds(config.streamBatchingWindowSeconds),
    startingPosition: StartingPosition.TRIM_HORIZON,
    // Retried and bisected batches are safe: each sink stores an event once (the Loader stores and
    // counts it in one transaction that only creates it; the SqlSink inserts ON CONFLICT DO NOTHING).
    reportBatchItemFailures: true,
    bisectBatchOnError: true,
    retryAttempts: 5,
    maxRecordAge: Duration.hours(1),
    onFailure: streamFailureQueue,
    // Records of a shard in order: a retry from the first failed record is then exact.
    parallelizationFactor: 1,
  };
}
