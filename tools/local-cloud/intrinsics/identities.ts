/** What Ref and Fn::GetAtt return for each resource type: CloudFormation-style physical names, local ARNs, queue URLs and ids. */
import { randomInt, randomUUID } from 'node:crypto';
import { secretArn } from '../services/secrets-manager';
import { TemplateResolutionError, type CfnResource, type Identity, type ResolutionContext } from './model';

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomString(length: number, alphabet: string): string {
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/** CloudFormation's generated name: `<stack>-<logicalId>-<suffix>`, cut to the service's limit. */
export function physicalName(stackName: string, logicalId: string, limit: number, suffix = randomString(6, UPPER_ALNUM)): string {
  const tail = `-${suffix}`;
  return `${stackName}-${logicalId}`.slice(0, Math.max(1, limit - tail.length)) + tail;
}

/** Which property names a resource, and the service's length limit for generated names. */
const NAMING: Record<string, { property: string; limit: number }> = {
  'AWS::Kinesis::Stream': { property: 'Name', limit: 128 },
  'AWS::DynamoDB::Table': { property: 'TableName', limit: 255 },
  'AWS::SQS::Queue': { property: 'QueueName', limit: 80 },
  'AWS::Lambda::Function': { property: 'FunctionName', limit: 64 },
  'AWS::SecretsManager::Secret': { property: 'Name', limit: 512 },
  'AWS::Events::Rule': { property: 'Name', limit: 64 },
  'AWS::IAM::Role': { property: 'RoleName', limit: 64 },
  'AWS::IAM::ManagedPolicy': { property: 'ManagedPolicyName', limit: 128 },
  'AWS::Logs::LogGroup': { property: 'LogGroupName', limit: 512 },
  'AWS::CloudWatch::Alarm': { property: 'AlarmName', limit: 255 },
  'AWS::SNS::Topic': { property: 'TopicName', limit: 256 },
  'AWS::CloudWatch::Dashboard': { property: 'DashboardName', limit: 255 },
  'AWS::S3::Bucket': { property: 'BucketName', limit: 63 },
  'AWS::KinesisFirehose::DeliveryStream': { property: 'DeliveryStreamName', limit: 64 },
  'AWS::Athena::WorkGroup': { property: 'Name', limit: 128 },
};

function nameOf(ctx: ResolutionContext, logicalId: string, resource: CfnResource): string {
  const naming = NAMING[resource.Type];
  if (!naming) return physicalName(ctx.options.stackName, logicalId, 128);
  const declared = resource.Properties?.[naming.property];
  if (declared !== undefined) {
    const value = ctx.resolve(declared, { logicalId, property: naming.property });
    if (typeof value !== 'string') {
      throw new TemplateResolutionError(`${logicalId}.${naming.property}: expected a string name`);
    }
    return value;
  }
  if (resource.Type === 'AWS::SQS::Queue' && isFifo(ctx, logicalId, resource)) {
    return physicalName(ctx.options.stackName, logicalId, naming.limit - 5) + '.fifo';
  }
  return physicalName(ctx.options.stackName, logicalId, naming.limit);
}

function isFifo(ctx: ResolutionContext, logicalId: string, resource: CfnResource): boolean {
  const fifo = resource.Properties?.FifoQueue;
  if (fifo === undefined) return false;
  const value = ctx.resolve(fifo, { logicalId, property: 'FifoQueue' });
  return value === true || value === 'true';
}

export function buildIdentity(ctx: ResolutionContext, logicalId: string, resource: CfnResource): Identity {
  const { region, accountId: account, endpoint, stackName } = ctx.options;
  const arn = (service: string, resourcePart: string, withRegion = true): string =>
    `arn:aws:${service}:${withRegion ? region : ''}:${account}:${resourcePart}`;
  const id = (length = 10): string => randomString(length, LOWER_ALNUM);
  switch (resource.Type) {
    case 'AWS::Kinesis::Stream': {
      const name = nameOf(ctx, logicalId, resource);
      return { ref: name, attributes: { Arn: arn('kinesis', `stream/${name}`) } };
    }
    case 'AWS::DynamoDB::Table': {
      const name = nameOf(ctx, logicalId, resource);
      const tableArn = arn('dynamodb', `table/${name}`);
      return { ref: name, attributes: { Arn: tableArn, StreamArn: `${tableArn}/stream/${new Date().toISOString().replace(/Z$/, '')}` } };
    }
    case 'AWS::SQS::Queue': {
      const name = nameOf(ctx, logicalId, resource);
      const url = `${endpoint}/${account}/${name}`;
      return { ref: url, attributes: { Arn: arn('sqs', name), QueueName: name, QueueUrl: url } };
    }
    case 'AWS::Lambda::Function': {
      const name = nameOf(ctx, logicalId, resource);
      return { ref: name, attributes: { Arn: arn('lambda', `function:${name}`) } };
    }
    case 'AWS::Lambda::EventSourceMapping': {
      const uuid = randomUUID();
      return { ref: uuid, attributes: { Id: uuid, EventSourceMappingArn: arn('lambda', `event-source-mapping:${uuid}`) } };
    }
    case 'AWS::SecretsManager::Secret': {
      const name = nameOf(ctx, logicalId, resource);
      const secret = secretArn(region, account, name);
      return { ref: secret, attributes: { Id: secret } };
    }
    case 'AWS::Events::Rule': {
      const name = nameOf(ctx, logicalId, resource);
      return { ref: name, attributes: { Arn: arn('events', `rule/${name}`) } };
    }
    case 'AWS::IAM::Role': {
      const name = nameOf(ctx, logicalId, resource);
      return { ref: name, attributes: { Arn: arn('iam', `role/${name}`, false), RoleId: `AROA${randomString(17, UPPER_ALNUM)}` } };
    }
    case 'AWS::IAM::ManagedPolicy': {
      const name = nameOf(ctx, logicalId, resource);
      const policyArn = arn('iam', `policy/${name}`, false);
      return { ref: policyArn, attributes: { PolicyArn: policyArn } };
    }
    case 'AWS::Logs::LogGroup': {
      const name = nameOf(ctx, logicalId, resource);
      return { ref: name, attributes: { Arn: arn('logs', `log-group:${name}:*`) } };
    }
    case 'AWS::KMS::Key': {
      const keyId = randomUUID();
      return { ref: keyId, attributes: { Arn: arn('kms', `key/${keyId}`), KeyId: keyId } };
    }
    case 'AWS::SNS::Topic': {
      const name = nameOf(ctx, logicalId, resource);
      const topicArn = arn('sns', name);
      return { ref: topicArn, attributes: { TopicArn: topicArn, TopicName: name } };
    }
    case 'AWS::CloudWatch::Alarm': {
      const name = nameOf(ctx, logicalId, resource);
      return { ref: name, attributes: { Arn: arn('cloudwatch', `alarm:${name}`) } };
    }
    case 'AWS::S3::Bucket': {
      // Bucket names are lower case (CloudFormation lowercases the generated one too).
      const name = nameOf(ctx, logicalId, resource).toLowerCase();
      return { ref: name, attributes: { Arn: `arn:aws:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com` } };
    }
    case 'AWS::KinesisFirehose::DeliveryStream': {
      const name = nameOf(ctx, logicalId, resource);
      return { ref: name, attributes: { Arn: arn('firehose', `deliverystream/${name}`) } };
    }
    case 'AWS::Athena::WorkGroup': {
      const name = nameOf(ctx, logicalId, resource);
      return { ref: name, attributes: {} };
    }
    case 'AWS::RDS::DBCluster': {
      // Ref is the cluster identifier (lower case, as RDS keeps it); the Data API takes the ARN.
      const declared = resource.Properties?.DBClusterIdentifier;
      const name = (declared === undefined ? physicalName(stackName, logicalId, 63) : String(ctx.resolve(declared, { logicalId, property: 'DBClusterIdentifier' }))).toLowerCase();
      const host = `${name}.cluster-local.${region}.rds.amazonaws.com`;
      return {
        ref: name,
        attributes: {
          DBClusterArn: arn('rds', `cluster:${name}`),
          DBClusterResourceId: `cluster-${randomString(26, UPPER_ALNUM)}`,
          'Endpoint.Address': host,
          'Endpoint.Port': '5432',
          'ReadEndpoint.Address': host.replace('.cluster-', '.cluster-ro-'),
        },
      };
    }
    case 'AWS::SecretsManager::SecretTargetAttachment': {
      // Ref returns the attached secret's ARN, which is what references to it want.
      const secretId = ctx.resolve(resource.Properties?.SecretId, { logicalId, property: 'SecretId' });
      if (typeof secretId !== 'string') throw new TemplateResolutionError(`${logicalId}.SecretId: expected a secret ARN`);
      return { ref: secretId, attributes: {} };
    }
    case 'AWS::EC2::VPC': {
      const vpcId = `vpc-${randomString(17, LOWER_ALNUM)}`;
      return { ref: vpcId, attributes: { VpcId: vpcId, CidrBlock: String(resource.Properties?.CidrBlock ?? '10.0.0.0/16'), DefaultSecurityGroup: `sg-${randomString(17, LOWER_ALNUM)}` } };
    }
    case 'AWS::EC2::Subnet': {
      const subnetId = `subnet-${randomString(17, LOWER_ALNUM)}`;
      return { ref: subnetId, attributes: { SubnetId: subnetId, AvailabilityZone: `${region}a` } };
    }
    case 'AWS::EC2::SecurityGroup': {
      const groupId = `sg-${randomString(17, LOWER_ALNUM)}`;
      return { ref: groupId, attributes: { GroupId: groupId } };
    }
    case 'AWS::ApiGateway::RestApi': {
      const restApiId = id();
      ctx.restApiIds.add(restApiId);
      return { ref: restApiId, attributes: { RestApiId: restApiId, RootResourceId: id() } };
    }
    case 'AWS::ApiGateway::Resource': {
      const resourceId = id(6);
      return { ref: resourceId, attributes: { ResourceId: resourceId } };
    }
    case 'AWS::ApiGateway::Deployment': {
      const deploymentId = id(6);
      return { ref: deploymentId, attributes: { DeploymentId: deploymentId } };
    }
    case 'AWS::ApiGateway::Stage': {
      const stageName = ctx.resolve(resource.Properties?.StageName ?? 'prod', { logicalId, property: 'StageName' });
      return { ref: String(stageName), attributes: {} };
    }
    case 'AWS::ApiGateway::ApiKey': {
      const keyId = id();
      return { ref: keyId, attributes: { APIKeyId: keyId } };
    }
    case 'AWS::ApiGateway::UsagePlan': {
      const planId = id(6);
      return { ref: planId, attributes: { Id: planId } };
    }
    default: {
      // Types the local cloud does not model (IAM policies, permissions, custom resources, ...):
      // a stable placeholder keeps references to them resolvable; start-up lists these types.
      const placeholder = `${stackName}-${logicalId}-${randomString(6, UPPER_ALNUM)}`;
      const service = resource.Type.split('::')[1]?.toLowerCase() ?? 'local';
      return { ref: placeholder, attributes: { Arn: arn(service, placeholder), Id: placeholder } };
    }
  }
}
