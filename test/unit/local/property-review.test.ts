import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mappingSpecFrom } from '../../../tools/local-cloud/event-source-mappings';
import type { CfnTemplate } from '../../../tools/local-cloud/intrinsics/model';
import { resolveTemplate } from '../../../tools/local-cloud/intrinsics/resolver';
import { RefusedPropertiesError } from '../../../tools/local-cloud/property-review';
import { describeGroups, groupResources } from '../../../tools/local-cloud/resource-types';

const options = { stackName: 'EcommercePipeline-local', region: 'us-east-1', accountId: '000000000000', endpoint: 'http://127.0.0.1:4566' };
const fixture = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../fixtures/local-template.json'), 'utf8')) as CfnTemplate;

/** A stream, a queue, a table and a function, plus a Kinesis mapping with the given properties. */
function templateWith(overrides: {
  mapping?: Record<string, unknown>;
  queue?: Record<string, unknown>;
  table?: Record<string, unknown>;
  stream?: Record<string, unknown>;
}): CfnTemplate {
  return {
    Resources: {
      Stream: { Type: 'AWS::Kinesis::Stream', Properties: { ShardCount: 1, ...overrides.stream } },
      Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 30, ...overrides.queue } },
      Table: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
          ...overrides.table,
        },
      },
      Loader: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler', Code: { S3Bucket: 'b', S3Key: 'k' } } },
      LoaderMapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          EventSourceArn: { 'Fn::GetAtt': ['Stream', 'Arn'] },
          FunctionName: { Ref: 'Loader' },
          StartingPosition: 'TRIM_HORIZON',
          ...overrides.mapping,
        },
      },
    },
  };
}

const groupsOf = (template: CfnTemplate) => groupResources(resolveTemplate(template, options).resources);
const mappingOf = (template: CfnTemplate) => resolveTemplate(template, options).resources.find((r) => r.logicalId === 'LoaderMapping')!;

describe('properties accepted without local effect', () => {
  it('are said once at start-up, one line per group, naming the properties the template sets', () => {
    const groups = groupsOf(
      templateWith({
        stream: { StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' } },
        queue: { SqsManagedSseEnabled: true, KmsMasterKeyId: 'alias/aws/sqs' },
        table: { SSESpecification: { SSEEnabled: true }, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true },
        mapping: { ScalingConfig: { MaximumConcurrency: 2 } },
      }),
    );
    const lines = describeGroups(groups);
    expect(lines).toContain('Accepted, not emulated:');
    expect(lines).toContain('  encryption settings (StreamEncryption, SqsManagedSseEnabled, KmsMasterKeyId, SSESpecification): nothing is encrypted locally');
    expect(lines).toContain('  point-in-time recovery (PointInTimeRecoverySpecification): no backups are kept');
    expect(lines).toContain('  deletion protection (DeletionProtectionEnabled): everything is gone when the local cloud stops');
    expect(lines.filter((line) => line.includes('ScalingConfig'))).toEqual(['  capacity, concurrency and storage settings (ScalingConfig): no such limits apply locally']);
    expect(groups.properties.refused).toEqual([]);
  });

  it('lists nothing for a template that sets only what the local cloud honours', () => {
    const lines = describeGroups(groupsOf(templateWith({ mapping: { ParallelizationFactor: 1, BatchSize: 10 } })));
    expect(lines).toEqual([]);
  });

  it('covers every property of the fixture: nothing it declares is left unread', () => {
    const groups = groupResources(resolveTemplate(fixture, options).resources);
    expect(groups.properties.unknown).toEqual([]);
    expect(groups.properties.refused).toEqual([]);
    const lines = describeGroups(groups);
    expect(lines).toContain('  encryption settings (StreamEncryption, SSESpecification, SqsManagedSseEnabled): nothing is encrypted locally');
    expect(lines).toContain('  deletion protection (DeletionProtectionEnabled): everything is gone when the local cloud stops');
  });
});

describe('properties that would run differently', () => {
  it('refuses ParallelizationFactor 2, naming the resource and the property', () => {
    const groups = groupsOf(templateWith({ mapping: { ParallelizationFactor: 2 } }));
    expect(groups.properties.refused.map((r) => `${r.logicalId}.${r.property}`)).toEqual(['LoaderMapping.ParallelizationFactor']);
    const error = new RefusedPropertiesError(groups.properties.refused);
    expect(error.message).toMatch(/LoaderMapping\.ParallelizationFactor = 2 \(AWS::Lambda::EventSourceMapping\): the local poller runs one batch per shard/);
  });

  it.each([
    ['FilterCriteria', { FilterCriteria: { Filters: [{ Pattern: '{"data":{"valid":[true]}}' }] } }, 'LoaderMapping.FilterCriteria'],
    ['TumblingWindowInSeconds', { TumblingWindowInSeconds: 60 }, 'LoaderMapping.TumblingWindowInSeconds'],
    ['OnSuccess destinations', { DestinationConfig: { OnSuccess: { Destination: 'arn:aws:sqs:us-east-1:000000000000:done' } } }, 'LoaderMapping.DestinationConfig.OnSuccess'],
    ['an on-failure destination that is not a queue', { DestinationConfig: { OnFailure: { Destination: 'arn:aws:sns:us-east-1:000000000000:t' } } }, 'LoaderMapping.DestinationConfig.OnFailure'],
  ])('refuses %s', (_name, mapping, where) => {
    const refused = groupsOf(templateWith({ mapping })).properties.refused;
    expect(refused.map((r) => `${r.logicalId}.${r.property}`)).toEqual([where]);
  });

  it('accepts an on-failure queue, an empty filter and a zero tumbling window as honoured', () => {
    const groups = groupsOf(
      templateWith({
        mapping: {
          DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['Queue', 'Arn'] } } },
          FilterCriteria: { Filters: [] },
          TumblingWindowInSeconds: 0,
        },
      }),
    );
    expect(groups.properties.refused).toEqual([]);
    expect(describeGroups(groups)).toEqual([]);
  });

  it('mappingSpecFrom refuses the mapping too, rather than running it as ParallelizationFactor 1', () => {
    expect(() => mappingSpecFrom(mappingOf(templateWith({ mapping: { ParallelizationFactor: 2 } })))).toThrow(RefusedPropertiesError);
    expect(mappingSpecFrom(mappingOf(templateWith({ mapping: { ParallelizationFactor: 1 } }))).logicalId).toBe('LoaderMapping');
  });

  it('warns, prominently, about harmless differences such as items that never expire', () => {
    const lines = describeGroups(groupsOf(templateWith({ table: { TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } } })));
    expect(lines).toEqual(['Runs differently locally:', '  Table.TimeToLiveSpecification (AWS::DynamoDB::Table): items never expire locally']);
  });

  it('lists a property it does not know instead of dropping it', () => {
    const groups = groupsOf(templateWith({ queue: { SomeFutureSetting: 'on' } }));
    expect(describeGroups(groups)).toEqual(['Runs differently locally:', '  not read locally, ignored: Queue.SomeFutureSetting']);
    expect(groups.properties.refused).toEqual([]);
  });

  it('refuses a non-Lambda rule target and an authorizer, which would let work through that AWS does differently', () => {
    const template: CfnTemplate = {
      Resources: {
        Rule: {
          Type: 'AWS::Events::Rule',
          Properties: { ScheduleExpression: 'rate(1 minute)', Targets: [{ Id: 'Q', Arn: 'arn:aws:sqs:us-east-1:000000000000:q' }] },
        },
        Api: { Type: 'AWS::ApiGateway::RestApi', Properties: { Name: 'api' } },
        Post: {
          Type: 'AWS::ApiGateway::Method',
          Properties: { RestApiId: { Ref: 'Api' }, ResourceId: { 'Fn::GetAtt': ['Api', 'RootResourceId'] }, HttpMethod: 'POST', AuthorizationType: 'AWS_IAM', Integration: { Type: 'MOCK' } },
        },
      },
    };
    expect(groupsOf(template).properties.refused.map((r) => `${r.logicalId}.${r.property}`)).toEqual(['Rule.Targets[Q].Arn', 'Post.AuthorizationType']);
  });
});
