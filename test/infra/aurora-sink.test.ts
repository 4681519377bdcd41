import { rmSync } from 'node:fs';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/shared/env-names';
import { permissions } from '../../lambdas/sql-sink/permissions';
import { LOG_ACTIONS, ON_FAILURE_QUEUE_ACTIONS, STREAM_EVENT_SOURCE_ACTIONS, XRAY_ACTIONS } from '../../lib/constructs/pipeline-function';
import type { PipelineStack } from '../../lib/pipeline-stack';
import { arnOf, ref, resourceOf, statementsOfFunction, synthPipeline, type CfnResource } from './synth';

// The SQL sink is opt-in: nothing of it by default; with auroraSink an Aurora Serverless v2
// PostgreSQL cluster (Data API, scale to zero) in isolated subnets of its own VPC, its schema
// custom resource, and the SqlSink function with the Loader's mapping settings. Two synths.

let defaultTemplate: Template;
let template: Template;
let stack: PipelineStack;
const outdirs: string[] = [];

beforeAll(() => {
  const plain = synthPipeline({ 'aws:cdk:bundling-stacks': [] });
  defaultTemplate = plain.template;
  const withSink = synthPipeline({ 'aws:cdk:bundling-stacks': [], auroraSink: 'true' });
  ({ template, stack } = withSink);
  outdirs.push(plain.app.outdir, withSink.app.outdir);
});

afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

const resources = (t: Template) => Object.entries(t.toJSON().Resources as Record<string, CfnResource>);
const one = (type: string) => {
  const found = resources(template).filter(([, resource]) => resource.Type === type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};

describe('auroraSink off (default)', () => {
  it('has no RDS, EC2 or schema resource, no SqlSink and no Aurora outputs', () => {
    const types = new Set(resources(defaultTemplate).map(([, resource]) => resource.Type));
    expect([...types].filter((type) => type.startsWith('AWS::RDS::') || type.startsWith('AWS::EC2::') || type === 'Custom::SqlSchema')).toEqual([]);
    expect(Object.keys(defaultTemplate.findResources('AWS::Lambda::Function')).filter((id) => id.startsWith('SqlSink'))).toEqual([]);
    expect(Object.keys(defaultTemplate.toJSON().Outputs).filter((name) => name.startsWith('Aurora'))).toEqual([]);
  });
});

describe('auroraSink on', () => {
  it('an Aurora Serverless v2 PostgreSQL cluster scaling to zero, with the Data API and encrypted storage', () => {
    const [, cluster] = one('AWS::RDS::DBCluster');
    expect(cluster.Properties).toMatchObject({
      Engine: 'aurora-postgresql',
      EnableHttpEndpoint: true,
      StorageEncrypted: true,
      DatabaseName: 'ecommerce',
      ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 2, SecondsUntilAutoPause: 300 },
      // removalPolicy destroy (cdk.json): a disposable stage.
      DeletionProtection: false,
    });
    expect(String(cluster.Properties?.EngineVersion)).toMatch(/^17\./);
    const [, writer] = one('AWS::RDS::DBInstance');
    expect(writer.Properties).toMatchObject({ DBInstanceClass: 'db.serverless', PubliclyAccessible: false });
  });

  it('its own VPC: isolated subnets only, no NAT, no internet gateway', () => {
    one('AWS::EC2::VPC');
    for (const type of ['AWS::EC2::NatGateway', 'AWS::EC2::InternetGateway', 'AWS::EC2::VPCGatewayAttachment', 'AWS::EC2::EIP', 'AWS::EC2::Route']) {
      expect(Object.keys(template.findResources(type)), type).toEqual([]);
    }
    const subnets = Object.entries(template.findResources('AWS::EC2::Subnet') as Record<string, CfnResource>);
    expect(subnets.length).toBe(2);
    for (const [, subnet] of subnets) expect(subnet.Properties?.MapPublicIpOnLaunch).toBe(false);
    const [, group] = one('AWS::RDS::DBSubnetGroup');
    expect(group.Properties?.SubnetIds).toEqual(subnets.map(([id]) => ref(id)));
    // The cluster's security group admits nothing.
    const [, securityGroup] = one('AWS::EC2::SecurityGroup');
    expect(securityGroup.Properties?.SecurityGroupIngress).toBeUndefined();
    expect(Object.keys(template.findResources('AWS::EC2::SecurityGroupIngress'))).toEqual([]);
  });

  it('outputs AuroraClusterArn, AuroraSecretArn and AuroraDatabaseName', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const [clusterId] = one('AWS::RDS::DBCluster');
    expect(outputs.AuroraClusterArn?.Value).toEqual({
      'Fn::Join': ['', ['arn:', ref('AWS::Partition'), ':rds:', ref('AWS::Region'), ':', ref('AWS::AccountId'), ':cluster:', ref(clusterId)]],
    });
    expect(outputs.AuroraSecretArn?.Value).toEqual(ref(one('AWS::SecretsManager::SecretTargetAttachment')[0]));
    expect(outputs.AuroraDatabaseName?.Value).toBe('ecommerce');
  });

  it('the schema custom resource runs after the writer instance, and the SqlSink after the schema', () => {
    const [schemaId, schema] = one('Custom::SqlSchema');
    const [writerId] = one('AWS::RDS::DBInstance');
    expect((schema as { DependsOn?: string[] }).DependsOn).toContain(writerId);
    expect(schema.Properties).toMatchObject({ DatabaseName: 'ecommerce', SchemaVersion: expect.any(Number), MigrationsSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const sink = resourceOf(template, 'AWS::Lambda::Function', 'SqlSink');
    expect((sink.resource as { DependsOn?: string[] }).DependsOn).toContain(schemaId);
    expect(sink.resource.Properties?.Environment?.Variables).toMatchObject({
      [ENV.sqlSink.AURORA_DATABASE_NAME]: 'ecommerce',
      [ENV.sqlSink.AURORA_SECRET_ARN]: ref(one('AWS::SecretsManager::SecretTargetAttachment')[0]),
    });
  });

  it('the SqlSink consumes the processed stream with the Loader\'s mapping settings', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping') as Record<string, CfnResource>);
    const of = (fn: string) => {
      const { logicalId } = resourceOf(template, 'AWS::Lambda::Function', fn);
      const found = mappings.find((m) => JSON.stringify(m.Properties?.FunctionName) === JSON.stringify(ref(logicalId)));
      const { FunctionName: _name, ...settings } = found!.Properties!;
      return settings;
    };
    expect(of('SqlSink')).toEqual(of('Loader'));
    expect(of('SqlSink')).toMatchObject({ FunctionResponseTypes: ['ReportBatchItemFailures'], BisectBatchOnFunctionError: true, MaximumRetryAttempts: 5, ParallelizationFactor: 1 });
  });

  it('the SqlSink role allows exactly its permissions.ts, its mapping, its logs and X-Ray', () => {
    const { logicalId } = resourceOf(template, 'AWS::Lambda::Function', 'SqlSink');
    const grant = (action: string, resource: unknown) => `${action} ${JSON.stringify(resource)}`;
    const actual = statementsOfFunction(template, logicalId).flatMap((s) =>
      [s.Action].flat().flatMap((action: string) => [s.Resource].flat().map((resource) => grant(action, resource))),
    );
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const clusterArn = outputs.AuroraClusterArn!.Value;
    const processed = arnOf(resourceOf(template, 'AWS::Kinesis::Stream', 'ProcessedStream').logicalId);
    const failures = arnOf(resourceOf(template, 'AWS::SQS::Queue', 'StreamFailureQueue').logicalId);
    const expected = [
      ...permissions['rds-data'].AuroraCluster.map((action) => grant(action, clusterArn)),
      ...permissions.secretsmanager.AuroraSecret.map((action) => grant(action, ref(one('AWS::SecretsManager::SecretTargetAttachment')[0]))),
      ...permissions.sqs.DeadLetterQueue.map((action) => grant(action, arnOf(resourceOf(template, 'AWS::SQS::Queue', 'DeadLetterQueue').logicalId))),
      ...STREAM_EVENT_SOURCE_ACTIONS.map((action) => grant(action, processed)),
      ...ON_FAILURE_QUEUE_ACTIONS.map((action) => grant(action, failures)),
      ...LOG_ACTIONS.map((action) => grant(action, arnOf(resourceOf(template, 'AWS::Logs::LogGroup', 'SqlSinkLogGroup').logicalId))),
      ...XRAY_ACTIONS.map((action) => grant(action, '*')),
    ];
    expect([...actual].sort()).toEqual([...new Set(expected)].sort());
  });

  it('cdk-nag (AwsSolutions) reports nothing unacknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const findings = report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
  });
});
