import { rmSync } from 'node:fs';
import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineStack } from '../../lib/pipeline-stack';
import { resourceOf, synthPipeline } from './synth';

// The local cloud synthesizes with `-c stage=local`; the other values are what an operator might
// pass on the command line (strings), so every config branch that changes the template is covered.
let template: Template;
let stack: PipelineStack;
let outdir: string;

beforeAll(() => {
  const synthesized = synthPipeline({
    stage: 'local',
    streamMode: 'ON_DEMAND',
    shardCount: '4',
    generatorEnabled: 'false',
    generatorRate: 'rate(5 minutes)',
    apiRateLimit: '7',
    apiBurstLimit: '9',
    logRetentionDays: '30',
    removalPolicy: 'retain',
    // Bundling is covered by pipeline-stack.test.ts; skipping it here keeps this file fast.
    'aws:cdk:bundling-stacks': [],
  });
  ({ template, stack } = synthesized);
  outdir = synthesized.app.outdir;
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('stage local, on-demand streams, generator off, retained data', () => {
  it('names the stack EcommercePipeline-local', () => {
    expect(stack.stackName).toBe('EcommercePipeline-local');
  });

  it('publishes every function\'s metrics under the namespace EcommercePipeline-local', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (resource) => resource.Properties?.Environment?.Variables?.POWERTOOLS_SERVICE_NAME !== undefined,
    );
    expect(functions.length).toBeGreaterThanOrEqual(4);
    for (const resource of functions) {
      expect(resource.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE).toBe('EcommercePipeline-local');
    }
  });

  it.each(['RawStream', 'ProcessedStream'])('%s is on-demand, without a shard count', (name) => {
    const { resource } = resourceOf(template, 'AWS::Kinesis::Stream', name);
    expect(resource.Properties?.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });
    expect(resource.Properties).not.toHaveProperty('ShardCount');
  });

  it('keeps the schedule but disables it', () => {
    const { resource } = resourceOf(template, 'AWS::Events::Rule', 'GeneratorSchedule');
    expect(resource.Properties).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'DISABLED' });
  });

  it('throttles at the given rate and burst', () => {
    const { resource } = resourceOf(template, 'AWS::ApiGateway::UsagePlan', 'UsagePlan');
    expect(resource.Properties?.Throttle).toEqual({ RateLimit: 7, BurstLimit: 9 });
  });

  it('retains every stateful resource and protects the tables', () => {
    for (const [type, name] of [
      ['AWS::Kinesis::Stream', 'RawStream'],
      ['AWS::Kinesis::Stream', 'ProcessedStream'],
      ['AWS::SQS::Queue', 'DeadLetterQueue'],
      ['AWS::SQS::Queue', 'RedriveQueue'],
      ['AWS::SQS::Queue', 'StreamFailureQueue'],
      ['AWS::DynamoDB::Table', 'EventsTable'],
      ['AWS::DynamoDB::Table', 'AggregatesTable'],
      ['AWS::SecretsManager::Secret', 'ApiKeySecret'],
    ] as const) {
      expect(resourceOf(template, type, name).resource.DeletionPolicy, name).toBe('Retain');
    }
    for (const name of ['EventsTable', 'AggregatesTable']) {
      expect(resourceOf(template, 'AWS::DynamoDB::Table', name).resource.Properties?.DeletionProtectionEnabled).toBe(true);
    }
  });

  it('keeps every log group for the given number of days', () => {
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroups).toHaveLength(5);
    for (const logGroup of logGroups) {
      expect(logGroup.Properties?.RetentionInDays).toBe(30);
      expect(logGroup.DeletionPolicy).toBe('Retain');
    }
  });
});
