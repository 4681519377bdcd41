import type { LocalResource } from './types';
import { describePropertyReview, reviewProperties, type PropertyReview } from './property-review';

/**
 * Sorts every resource type of the template into: run by the local runtime, created on the local
 * services (resources.ts), accepted without effect (said so at start-up), or not supported
 * (listed at start-up, never silently ignored). The properties of the types it creates or runs are
 * sorted by property-rules.ts.
 */

/** Types the runtime (functions, event source mappings, API, schedules) runs. */
export const RUN_BY_RUNTIME = new Set([
  'AWS::Lambda::Function',
  'AWS::Lambda::EventSourceMapping',
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGateway::Resource',
  'AWS::ApiGateway::Method',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::Stage',
  'AWS::ApiGateway::ApiKey',
  'AWS::ApiGateway::UsagePlan',
  'AWS::ApiGateway::UsagePlanKey',
  'AWS::ApiGateway::GatewayResponse',
  'AWS::Events::Rule',
  // Kinesis source, S3 destination: firehose.ts.
  'AWS::KinesisFirehose::DeliveryStream',
]);

/** Types created on the local services by this module. */
export const CREATED_LOCALLY = new Set([
  'AWS::Kinesis::Stream',
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::SecretsManager::Secret',
  'AWS::S3::Bucket',
  // A PGlite database behind the local RDS Data API (sql-schema.ts); the schema resource runs its migrations.
  'AWS::RDS::DBCluster',
  'Custom::SqlSchema',
]);

/** Types accepted without local effect, and what that means for someone testing locally. */
export const NOT_EMULATED: Record<string, string> = {
  'AWS::IAM::Role': 'IAM is not enforced',
  'AWS::IAM::Policy': 'IAM is not enforced',
  'AWS::IAM::ManagedPolicy': 'IAM is not enforced',
  'AWS::KMS::Key': 'KMS keys are not used; data is not encrypted',
  'AWS::KMS::Alias': 'KMS keys are not used; data is not encrypted',
  'AWS::Logs::LogGroup': 'function output is kept by the local runtime (npm start: .local/functions.log), not in log groups',
  'AWS::Lambda::Permission': 'resource policies are not enforced',
  'AWS::ApiGateway::Account': 'API Gateway logging settings have no local effect',
  'AWS::CloudWatch::Alarm': 'alarms are not evaluated',
  'AWS::CloudWatch::Dashboard': 'dashboards are not rendered',
  'AWS::SNS::Topic': 'alarm notifications are not sent',
  'AWS::SNS::TopicPolicy': 'resource policies are not enforced',
  'AWS::SNS::Subscription': 'alarm notifications are not sent',
  'AWS::CDK::Metadata': 'CDK bookkeeping only',
  'AWS::SQS::QueuePolicy': 'resource policies are not enforced',
  'AWS::SecretsManager::SecretTargetAttachment': 'attachments have no local effect',
  'AWS::RDS::DBInstance': 'the cluster\'s one local database (PGlite) stands in for its instances',
  'AWS::RDS::DBSubnetGroup': 'networking has no local effect: the Data API is served by the one local endpoint',
  'AWS::EC2::VPC': 'networking has no local effect: the Data API is served by the one local endpoint',
  'AWS::EC2::Subnet': 'networking has no local effect: the Data API is served by the one local endpoint',
  'AWS::EC2::RouteTable': 'networking has no local effect: the Data API is served by the one local endpoint',
  'AWS::EC2::SubnetRouteTableAssociation': 'networking has no local effect: the Data API is served by the one local endpoint',
  'AWS::EC2::SecurityGroup': 'networking has no local effect: the Data API is served by the one local endpoint',
  'AWS::S3::BucketPolicy': 'bucket policies are not enforced (the local endpoint is plain HTTP: no TLS-only rule)',
  'AWS::Glue::Database': 'the Glue catalog is not emulated: read the archive with pipeline replay --from-archive / rebuild, or aws s3',
  'AWS::Glue::Table': 'the Glue catalog is not emulated: read the archive with pipeline replay --from-archive / rebuild, or aws s3',
  'AWS::Athena::WorkGroup': 'Athena is not emulated: queries run on AWS only',
};

export interface ResourceGroups {
  created: LocalResource[];
  runByRuntime: LocalResource[];
  notEmulated: Array<{ resource: LocalResource; note: string }>;
  unsupported: LocalResource[];
  /** What happens to each property of the created and run resources. */
  properties: PropertyReview;
}

export function groupResources(resources: LocalResource[]): ResourceGroups {
  const groups: ResourceGroups = { created: [], runByRuntime: [], notEmulated: [], unsupported: [], properties: reviewProperties(resources) };
  for (const resource of resources) {
    if (CREATED_LOCALLY.has(resource.type)) groups.created.push(resource);
    else if (RUN_BY_RUNTIME.has(resource.type)) groups.runByRuntime.push(resource);
    else if (resource.type in NOT_EMULATED) groups.notEmulated.push({ resource, note: NOT_EMULATED[resource.type]! });
    else groups.unsupported.push(resource);
  }
  return groups;
}

/** Start-up lines naming what is not emulated, what runs differently and what is not supported at all. */
export function describeGroups(groups: ResourceGroups): string[] {
  const lines: string[] = [];
  const byNote = new Map<string, Set<string>>();
  for (const { resource, note } of groups.notEmulated) {
    const types = byNote.get(note) ?? new Set<string>();
    types.add(resource.type);
    byNote.set(note, types);
  }
  const properties = describePropertyReview(groups.properties);
  if (byNote.size > 0 || properties.notEmulated.length > 0) {
    lines.push('Accepted, not emulated:');
    for (const [note, types] of byNote) lines.push(`  ${[...types].join(', ')}: ${note}`);
    lines.push(...properties.notEmulated);
  }
  if (properties.warnings.length > 0) {
    lines.push('Runs differently locally:');
    lines.push(...properties.warnings);
  }
  if (groups.unsupported.length > 0) {
    lines.push('Not supported locally (declared in the template, NOT running):');
    for (const resource of groups.unsupported) lines.push(`  ${resource.logicalId} (${resource.type})`);
  }
  return lines;
}
