import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket, ObjectOwnership, StorageClass } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';
import { PipelineConcern } from './pipeline-concern';

/**
 * Where Firehose writes, by the UTC hour it received the records (its `timestamp` namespace is
 * the approximate arrival time at Firehose), and where what it could not deliver goes. The local
 * cloud's Firehose and `pipeline replay --from-archive` / `pipeline rebuild` read these.
 */
export const ARCHIVE_PREFIX = 'raw/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/';
export const ARCHIVE_ERROR_PREFIX = 'errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/';
/** Athena's query results, in the same bucket. */
export const ATHENA_RESULTS_PREFIX = 'athena-results/';
export const ARCHIVE_TABLE_NAME = 'raw_events';

/** What Firehose does with the bucket (https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3). */
export const FIREHOSE_BUCKET_ACTIONS = ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'] as const;
// The object actions of AWS's documented policy (GetObject included), on the two prefixes it writes only.
export const FIREHOSE_OBJECT_ACTIONS = ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'] as const;
/** Reading a Kinesis source (https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-kinesis-streams). */
export const FIREHOSE_STREAM_ACTIONS = ['kinesis:DescribeStream', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:ListShards'] as const;

/** The Glue database of a stage: lower case, letters, digits and underscores, as Athena wants. */
export function archiveDatabaseName(stage: string): string {
  return `ecommerce_pipeline_${stage.toLowerCase().replace(/[^a-z0-9]/g, '_')}`;
}

/**
 * The raw envelope as the collector writes it (docs/architecture.md, "Raw stream record"), one
 * JSON object per line. `event` is the event as received, so its fields are those of every
 * schema version; a value of the wrong type reads as NULL (ignore.malformed.json).
 */
export const ARCHIVE_COLUMNS = [
  { name: 'received_at', type: 'string' },
  { name: 'request_id', type: 'string' },
  {
    name: 'event',
    type:
      'struct<event_id:string,event_type:string,event_time:string,schema_version:int,user_id:string,session_id:string,' +
      'product_id:string,category:string,price:double,quantity:int,currency:string,user_segment:string,device_type:string,' +
      'browser:string,geo_country:string,geo_city:string,referrer:string,campaign_id:string,search_query:string>',
  },
  { name: 'replayed_at', type: 'string' },
] as const;

export interface RawArchiveProps {
  readonly config: PipelineConfig;
  readonly rawStream: IStream;
}

/**
 * The raw stream, kept: a Firehose delivery stream reads RawStream and writes every record, as the
 * collector wrote it plus a newline, to gzip objects in an S3 bucket under `raw/dt=.../hour=.../`;
 * a Glue table over them (partition projection, no crawler) and an Athena workgroup query them.
 */
export class RawArchive extends PipelineConcern {
  readonly bucket: Bucket;
  readonly deliveryStream: CfnDeliveryStream;
  readonly workGroup: CfnWorkGroup;
  readonly databaseName: string;

  constructor(scope: Construct, id: string, { config, rawStream }: RawArchiveProps) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    // The archive is the only copy of the raw stream beyond its retention: its buckets outlive
    // the stack whatever removalPolicy says (a bucket with objects cannot be deleted by
    // CloudFormation anyway, and emptying it on delete would take a custom resource function).
    const keep = RemovalPolicy.RETAIN;

    const accessLogs = new Bucket(this, 'ArchiveAccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: keep,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket holds the archive bucket’s server access logs; logging it too would log the logs.',
    });

    this.bucket = new Bucket(this, 'ArchiveBucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'archive/',
      lifecycleRules: [
        { id: 'RawToInfrequentAccess', transitions: [{ storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(config.rawArchiveIaDays) }] },
        { id: 'AthenaResultsExpire', prefix: ATHENA_RESULTS_PREFIX, expiration: Duration.days(30), noncurrentVersionExpiration: Duration.days(1) },
      ],
      removalPolicy: keep,
    });

    const bucketArn = this.bucket.bucketArn;
    const role = new Role(this, 'ArchiveDeliveryRole', {
      assumedBy: new ServicePrincipal('firehose.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
      description: `Firehose of ${stackName}: reads RawStream, writes the raw archive`,
      inlinePolicies: {
        ArchiveDelivery: new PolicyDocument({
          statements: [
            new PolicyStatement({ actions: [...FIREHOSE_STREAM_ACTIONS], resources: [rawStream.streamArn] }),
            new PolicyStatement({ actions: [...FIREHOSE_BUCKET_ACTIONS], resources: [bucketArn] }),
            new PolicyStatement({ actions: [...FIREHOSE_OBJECT_ACTIONS], resources: [`${bucketArn}/raw/*`, `${bucketArn}/errors/*`] }),
          ],
        }),
      },
    });
    const bucketLogicalId = Stack.of(this).resolve((this.bucket.node.defaultChild as CfnBucket).logicalId) as string;
    for (const prefix of ['raw', 'errors']) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}/*]`,
        reason: 'Object keys are only known at delivery time (raw/dt=.../hour=.../<name>): writes are limited to the raw/ and errors/ prefixes of the one archive bucket.',
      });
    }

    this.deliveryStream = new CfnDeliveryStream(this, 'ArchiveDeliveryStream', {
      deliveryStreamType: 'KinesisStreamAsSource',
      kinesisStreamSourceConfiguration: { kinesisStreamArn: rawStream.streamArn, roleArn: role.roleArn },
      extendedS3DestinationConfiguration: {
        bucketArn,
        roleArn: role.roleArn,
        prefix: ARCHIVE_PREFIX,
        errorOutputPrefix: ARCHIVE_ERROR_PREFIX,
        compressionFormat: 'GZIP',
        bufferingHints: { sizeInMBs: config.rawArchiveBufferMb, intervalInSeconds: config.rawArchiveBufferSeconds },
        // Firehose concatenates a Kinesis source's records as they are: one newline after each
        // makes the objects JSON Lines, which Athena and the CLI read line by line.
        processingConfiguration: {
          enabled: true,
          processors: [{ type: 'AppendDelimiterToRecord', parameters: [{ parameterName: 'Delimiter', parameterValue: '\\n' }] }],
        },
      },
    });
    this.deliveryStream.node.addDependency(role);
    Validations.of(this.deliveryStream).acknowledge({
      id: 'AwsSolutions-KDF1',
      reason:
        'A delivery stream with a Kinesis source cannot have its own server-side encryption: records are encrypted in RawStream (KMS) and in the bucket (SSE-S3), and move over TLS.',
    });

    this.databaseName = archiveDatabaseName(config.stage);
    const database = new CfnDatabase(this, 'ArchiveDatabase', {
      catalogId: Stack.of(this).account,
      databaseInput: { name: this.databaseName, description: `Raw events of ${stackName}, as archived by Firehose` },
    });
    const table = new CfnTable(this, 'ArchiveTable', {
      catalogId: Stack.of(this).account,
      databaseName: this.databaseName,
      tableInput: {
        name: ARCHIVE_TABLE_NAME,
        description: 'The raw stream, one collector envelope per line (gzip JSON Lines), by hour of receipt at Firehose',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [
          { name: 'dt', type: 'string' },
          { name: 'hour', type: 'string' },
        ],
        parameters: {
          classification: 'json',
          compressionType: 'gzip',
          // Partition projection: Athena computes the partitions from these, no crawler or MSCK.
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': '2025-01-01,NOW',
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'projection.hour.type': 'integer',
          'projection.hour.range': '0,23',
          'projection.hour.digits': '2',
          'storage.location.template': `s3://${this.bucket.bucketName}/raw/dt=\${dt}/hour=\${hour}/`,
        },
        storageDescriptor: {
          location: `s3://${this.bucket.bucketName}/raw/`,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            parameters: { 'ignore.malformed.json': 'true' },
          },
          columns: ARCHIVE_COLUMNS.map((column) => ({ ...column })),
        },
      },
    });
    table.addResourceDependency(database);

    this.workGroup = new CfnWorkGroup(this, 'ArchiveWorkGroup', {
      name: `${stackName}-archive`,
      description: `Queries over the raw archive of ${stackName}`,
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${this.bucket.bucketName}/${ATHENA_RESULTS_PREFIX}`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
  }
}
