import { rmSync } from 'node:fs';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BY_USER_INCLUDED_ATTRIBUTES, EVENTS_TTL_ATTRIBUTE } from '../../lib/config';
import type { PipelineStack } from '../../lib/pipeline-stack';
import { EVENTS_TTL_ATTRIBUTE as LOADER_TTL_ATTRIBUTE } from '../../lambdas/loader/store';
import { arnOf, ref, resourceOf, synthPipeline, type CfnResource } from './synth';

// The cost knobs of cdk.json context (README "Configuration"), all turned away from their
// defaults, as `-c key=value` passes them (strings). Bundling is covered by pipeline-stack.test.ts.
const KNOBS = {
  tableCapacity: 'provisioned',
  tableMinWriteCapacity: '10',
  tableMaxWriteCapacity: '800',
  tableMinReadCapacity: '2',
  tableMaxReadCapacity: '40',
  eventsTtlDays: '7',
  byUserProjection: 'INCLUDE',
  streamBatchingWindowSeconds: '5',
  streamBatchSize: '500',
  'aws:cdk:bundling-stacks': [],
};

let template: Template;
let stack: PipelineStack;
const outdirs: string[] = [];

beforeAll(() => {
  const synthesized = synthPipeline(KNOBS);
  ({ template, stack } = synthesized);
  outdirs.push(synthesized.app.outdir);
});

afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

const tableId = (name: string) => resourceOf(template, 'AWS::DynamoDB::Table', name).logicalId;

describe('tableCapacity provisioned', () => {
  it.each(['EventsTable', 'AggregatesTable'])('%s is provisioned, starting at the minimum capacity', (name) => {
    const { resource } = resourceOf(template, 'AWS::DynamoDB::Table', name);
    expect(resource.Properties?.BillingMode ?? 'PROVISIONED').toBe('PROVISIONED');
    expect(resource.Properties?.ProvisionedThroughput).toEqual({ ReadCapacityUnits: 2, WriteCapacityUnits: 10 });
  });

  it('the ByUser index is provisioned too', () => {
    const index = resourceOf(template, 'AWS::DynamoDB::Table', 'EventsTable').resource.Properties?.GlobalSecondaryIndexes?.[0];
    expect(index.ProvisionedThroughput).toEqual({ ReadCapacityUnits: 2, WriteCapacityUnits: 10 });
  });

  it('auto scales reads and writes of both tables and the index between the bounds, on 70% utilization', () => {
    const targets = Object.entries(template.findResources('AWS::ApplicationAutoScaling::ScalableTarget') as Record<string, CfnResource>);
    const described = targets.map(([, target]) => {
      const parts = target.Properties?.ResourceId?.['Fn::Join']?.[1] as unknown[];
      return {
        resource: JSON.stringify(parts),
        dimension: target.Properties?.ScalableDimension,
        min: target.Properties?.MinCapacity,
        max: target.Properties?.MaxCapacity,
      };
    });
    const expected = [
      [tableId('EventsTable'), 'table', ''],
      [tableId('AggregatesTable'), 'table', ''],
      [tableId('EventsTable'), 'index', '/index/ByUser'],
    ] as const;
    for (const [logicalId, kind, suffix] of expected) {
      const resource = JSON.stringify(['table/', ref(logicalId), ...(suffix ? [suffix] : [])]);
      expect(described).toContainEqual({ resource, dimension: `dynamodb:${kind}:WriteCapacityUnits`, min: 10, max: 800 });
      expect(described).toContainEqual({ resource, dimension: `dynamodb:${kind}:ReadCapacityUnits`, min: 2, max: 40 });
    }
    expect(targets).toHaveLength(6);

    const policies = Object.values(template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy') as Record<string, CfnResource>);
    expect(policies).toHaveLength(6);
    for (const [targetId] of targets) {
      const policy = policies.find((p) => JSON.stringify(p.Properties?.ScalingTargetId) === JSON.stringify(ref(targetId)));
      expect(policy?.Properties?.PolicyType).toBe('TargetTrackingScaling');
      expect(policy?.Properties?.TargetTrackingScalingPolicyConfiguration?.TargetValue).toBe(70);
    }
  });
});

describe('eventsTtlDays', () => {
  it('gives the Events table a TTL on the attribute the loader writes, and the loader the days', () => {
    expect(LOADER_TTL_ATTRIBUTE).toBe(EVENTS_TTL_ATTRIBUTE);
    expect(resourceOf(template, 'AWS::DynamoDB::Table', 'EventsTable').resource.Properties?.TimeToLiveSpecification).toEqual({
      AttributeName: 'expires_at',
      Enabled: true,
    });
    expect(resourceOf(template, 'AWS::DynamoDB::Table', 'AggregatesTable').resource.Properties).not.toHaveProperty('TimeToLiveSpecification');
    const loader = resourceOf(template, 'AWS::Lambda::Function', 'Loader').resource;
    expect(loader.Properties?.Environment?.Variables?.EVENTS_TTL_DAYS).toBe('7');
  });
});

describe('byUserProjection', () => {
  it('INCLUDE projects the fixed list of a user timeline', () => {
    const index = resourceOf(template, 'AWS::DynamoDB::Table', 'EventsTable').resource.Properties?.GlobalSecondaryIndexes?.[0];
    expect(index.Projection).toEqual({ ProjectionType: 'INCLUDE', NonKeyAttributes: [...BY_USER_INCLUDED_ATTRIBUTES] });
  });
});

describe('streamBatchingWindowSeconds and streamBatchSize', () => {
  it.each([
    ['Validator', 'RawStream'],
    ['Loader', 'ProcessedStream'],
  ])('%s reads %s in batches of up to 500, waiting up to 5 s to fill them', (fn, stream) => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(resourceOf(template, 'AWS::Lambda::Function', fn).logicalId),
      EventSourceArn: arnOf(resourceOf(template, 'AWS::Kinesis::Stream', stream).logicalId),
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 5,
    });
  });
});

describe('cdk-nag with every knob turned', () => {
  it('AwsSolutions reports no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const findings = report.violations.map(
      (violation) => `${violation.severity} ${violation.ruleName}: ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });
});

describe('the other projections, and the defaults', () => {
  const synth = (overrides: Record<string, unknown>) => {
    const synthesized = synthPipeline({ 'aws:cdk:bundling-stacks': [], ...overrides });
    outdirs.push(synthesized.app.outdir);
    return synthesized.template;
  };

  it('KEYS_ONLY projects the keys only', () => {
    const index = resourceOf(synth({ byUserProjection: 'KEYS_ONLY' }), 'AWS::DynamoDB::Table', 'EventsTable').resource.Properties
      ?.GlobalSecondaryIndexes?.[0];
    expect(index.Projection).toEqual({ ProjectionType: 'KEYS_ONLY' });
  });

  it('the defaults: on-demand, no TTL (EVENTS_TTL_DAYS 0), ALL, no auto scaling, no batching window', () => {
    const defaults = synth({});
    const events = resourceOf(defaults, 'AWS::DynamoDB::Table', 'EventsTable').resource.Properties;
    expect(events?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(events).not.toHaveProperty('TimeToLiveSpecification');
    expect(events?.GlobalSecondaryIndexes?.[0].Projection).toEqual({ ProjectionType: 'ALL' });
    expect(events?.GlobalSecondaryIndexes?.[0]).not.toHaveProperty('ProvisionedThroughput');
    expect(Object.keys(defaults.findResources('AWS::ApplicationAutoScaling::ScalableTarget'))).toHaveLength(0);
    expect(resourceOf(defaults, 'AWS::Lambda::Function', 'Loader').resource.Properties?.Environment?.Variables?.EVENTS_TTL_DAYS).toBe('0');
    // One part per aggregate item unless aggregateWriteShards says otherwise.
    expect(resourceOf(defaults, 'AWS::Lambda::Function', 'Loader').resource.Properties?.Environment?.Variables?.AGGREGATE_WRITE_SHARDS).toBe('1');
    for (const mapping of Object.values(defaults.findResources('AWS::Lambda::EventSourceMapping') as Record<string, CfnResource>)) {
      if (mapping.Properties?.StartingPosition === undefined) continue; // the RedriveQueue (SQS) mapping
      expect(mapping.Properties).toMatchObject({ BatchSize: 100, MaximumBatchingWindowInSeconds: 0 });
    }
  });
});
