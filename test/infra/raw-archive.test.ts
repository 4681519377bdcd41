import { rmSync } from 'node:fs';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARCHIVE_COLUMNS,
  ARCHIVE_ERROR_PREFIX,
  ARCHIVE_PREFIX,
  FIREHOSE_BUCKET_ACTIONS,
  FIREHOSE_OBJECT_ACTIONS,
  FIREHOSE_STREAM_ACTIONS,
  archiveDatabaseName,
} from '../../lib/constructs/raw-archive';
import { ALARMS, ARCHIVE_ALARMS } from '../../lib/constructs/observability';
import type { PipelineStack } from '../../lib/pipeline-stack';
import { arnOf, ref, resourceOf, synthPipeline, type CfnResource } from './synth';

// One synth with the archive (the default) and non-default archive settings, one without.
let template: Template;
let stack: PipelineStack;
let without: Template;
const outdirs: string[] = [];

beforeAll(() => {
  const on = synthPipeline({ 'aws:cdk:bundling-stacks': [], rawArchiveIaDays: 45, rawArchiveBufferMb: 16, rawArchiveBufferSeconds: 120 });
  ({ template, stack } = on);
  const off = synthPipeline({ 'aws:cdk:bundling-stacks': [], rawArchive: 'false' });
  without = off.template;
  outdirs.push(on.app.outdir, off.app.outdir);
});
afterAll(() => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const bucketId = () => resourceOf(template, 'AWS::S3::Bucket', 'ArchiveBucket').logicalId;
const deliveryStream = () => resourceOf(template, 'AWS::KinesisFirehose::DeliveryStream', 'ArchiveDeliveryStream').resource.Properties!;

describe('delivery stream', () => {
  it('reads RawStream with its own role and writes gzip JSON Lines by hour of receipt, failures under errors/', () => {
    const raw = resourceOf(template, 'AWS::Kinesis::Stream', 'RawStream').logicalId;
    const role = resourceOf(template, 'AWS::IAM::Role', 'ArchiveDeliveryRole').logicalId;
    const props = deliveryStream();
    expect(props.DeliveryStreamType).toBe('KinesisStreamAsSource');
    expect(props.KinesisStreamSourceConfiguration).toEqual({ KinesisStreamARN: arnOf(raw), RoleARN: arnOf(role) });
    const s3 = props.ExtendedS3DestinationConfiguration;
    expect(s3).toMatchObject({
      BucketARN: arnOf(bucketId()),
      RoleARN: arnOf(role),
      Prefix: 'raw/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
      ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
      CompressionFormat: 'GZIP',
      BufferingHints: { SizeInMBs: 16, IntervalInSeconds: 120 },
      ProcessingConfiguration: {
        Enabled: true,
        Processors: [{ Type: 'AppendDelimiterToRecord', Parameters: [{ ParameterName: 'Delimiter', ParameterValue: '\\n' }] }],
      },
    });
    expect([ARCHIVE_PREFIX, ARCHIVE_ERROR_PREFIX]).toEqual([s3.Prefix, s3.ErrorOutputPrefix]);
  });

  it("has a role that reads RawStream and writes only the raw/ and errors/ prefixes, nothing else", () => {
    const role = resourceOf(template, 'AWS::IAM::Role', 'ArchiveDeliveryRole').resource.Properties!;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({ Principal: { Service: 'firehose.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }),
    ]);
    expect(role.ManagedPolicyArns).toBeUndefined();
    const statements = role.Policies.flatMap((policy: { PolicyDocument: { Statement: unknown[] } }) => policy.PolicyDocument.Statement);
    const raw = resourceOf(template, 'AWS::Kinesis::Stream', 'RawStream').logicalId;
    const bucketArn = arnOf(bucketId());
    const objects = (prefix: string) => ({ 'Fn::Join': ['', [bucketArn, `/${prefix}/*`]] });
    expect(statements).toEqual([
      { Effect: 'Allow', Action: [...FIREHOSE_STREAM_ACTIONS], Resource: arnOf(raw) },
      { Effect: 'Allow', Action: [...FIREHOSE_BUCKET_ACTIONS], Resource: bucketArn },
      { Effect: 'Allow', Action: [...FIREHOSE_OBJECT_ACTIONS], Resource: [objects('raw'), objects('errors')] },
    ]);
    // No other policy is attached to it.
    const attached = Object.values(template.findResources('AWS::IAM::Policy') as Record<string, CfnResource>).filter((policy) =>
      JSON.stringify(policy.Properties?.Roles ?? []).includes(resourceOf(template, 'AWS::IAM::Role', 'ArchiveDeliveryRole').logicalId),
    );
    expect(attached).toEqual([]);
  });
});

describe('archive bucket', () => {
  it('is encrypted, versioned, private, logged, and moves objects to Standard-IA after rawArchiveIaDays', () => {
    const { resource } = resourceOf(template, 'AWS::S3::Bucket', 'ArchiveBucket');
    const logs = resourceOf(template, 'AWS::S3::Bucket', 'ArchiveAccessLogs').logicalId;
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: { DestinationBucketName: ref(logs), LogFilePrefix: 'archive/' },
    });
    expect(resource.Properties?.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ Id: 'RawToInfrequentAccess', Status: 'Enabled', Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 45 }] }),
    );
  });

  it('refuses every request that is not TLS (both buckets)', () => {
    for (const name of ['ArchiveBucket', 'ArchiveAccessLogs']) {
      const id = resourceOf(template, 'AWS::S3::Bucket', name).logicalId;
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: ref(id),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });
});

describe('Glue table and Athena workgroup', () => {
  it('declares raw_events over raw/ with the envelope columns, JSON SerDe and partition projection on dt/hour', () => {
    const { resource } = resourceOf(template, 'AWS::Glue::Table', 'ArchiveTable');
    const input = resource.Properties!.TableInput;
    expect(resource.Properties!.DatabaseName).toBe(archiveDatabaseName('dev'));
    expect(input.Name).toBe('raw_events');
    expect(input.PartitionKeys).toEqual([
      { Name: 'dt', Type: 'string' },
      { Name: 'hour', Type: 'string' },
    ]);
    expect(input.StorageDescriptor.Columns.map((c: { Name: string }) => c.Name)).toEqual(['received_at', 'request_id', 'event', 'replayed_at']);
    expect(input.StorageDescriptor.Columns).toEqual(ARCHIVE_COLUMNS.map(({ name, type }) => ({ Name: name, Type: type })));
    expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.openx.data.jsonserde.JsonSerDe');
    expect(input.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM-dd',
      'projection.hour.type': 'integer',
      'projection.hour.range': '0,23',
      'projection.hour.digits': '2',
      'storage.location.template': { 'Fn::Join': ['', ['s3://', ref(bucketId()), '/raw/dt=${dt}/hour=${hour}/']] },
    });
  });

  it('has a workgroup that enforces encrypted results under athena-results/', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'EcommercePipeline-dev-archive',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        ResultConfiguration: {
          OutputLocation: { 'Fn::Join': ['', ['s3://', ref(bucketId()), '/athena-results/']] },
          EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
        },
      },
    });
  });
});

describe('outputs and alarms', () => {
  it('outputs the bucket, the delivery stream and the workgroup', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.ArchiveBucketName?.Value).toEqual(ref(bucketId()));
    expect(outputs.DeliveryStreamName?.Value).toEqual(ref(resourceOf(template, 'AWS::KinesisFirehose::DeliveryStream', 'ArchiveDeliveryStream').logicalId));
    expect(outputs.AthenaWorkGroupName?.Value).toEqual(ref(resourceOf(template, 'AWS::Athena::WorkGroup', 'ArchiveWorkGroup').logicalId));
  });

  it('alarms on failed deliveries and stale data of the delivery stream', () => {
    const streamRef = ref(resourceOf(template, 'AWS::KinesisFirehose::DeliveryStream', 'ArchiveDeliveryStream').logicalId);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${stack.stackName}-ArchiveDeliveryFailed`,
      Namespace: 'AWS/Firehose',
      MetricName: 'DeliveryToS3.Success',
      Dimensions: [{ Name: 'DeliveryStreamName', Value: streamRef }],
      Statistic: 'Minimum',
      Threshold: ALARMS.ArchiveDeliveryFailed.threshold,
      ComparisonOperator: 'LessThanThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${stack.stackName}-ArchiveDataFreshness`,
      MetricName: 'DeliveryToS3.DataFreshness',
      Dimensions: [{ Name: 'DeliveryStreamName', Value: streamRef }],
      Threshold: ALARMS.ArchiveDataFreshness.threshold,
    });
  });

  it('charts the delivery stream on the dashboard: records in and written, freshness', () => {
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]);
    for (const metric of ['IncomingRecords', 'DeliveryToS3.Records', 'DeliveryToS3.DataFreshness']) expect(body).toContain(metric);
    expect(JSON.stringify(Object.values(without.findResources('AWS::CloudWatch::Dashboard'))[0])).not.toContain('DeliveryToS3');
  });

  it('leaves all of it out with rawArchive=false', () => {
    for (const type of ['AWS::KinesisFirehose::DeliveryStream', 'AWS::S3::Bucket', 'AWS::Glue::Table', 'AWS::Athena::WorkGroup']) {
      expect(Object.keys(without.findResources(type)), type).toEqual([]);
    }
    const outputs = Object.keys(without.toJSON().Outputs as object);
    expect(outputs).not.toContain('ArchiveBucketName');
    const alarmNames = Object.values(without.findResources('AWS::CloudWatch::Alarm') as Record<string, CfnResource>).map((a) => String(a.Properties?.AlarmName));
    for (const id of ARCHIVE_ALARMS) expect(alarmNames.some((name) => name.endsWith(`-${id}`))).toBe(false);
  });

  it('leaves cdk-nag (AwsSolutions) with nothing unacknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName} ${v.violatingResources.map((r) => r.resourceLogicalId).join(',')}`)).toEqual([]);
  });
});
