import { rmSync } from 'node:fs';
import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permissions as collector } from '../../lambdas/collector/permissions';
import { permissions as generator } from '../../lambdas/generator/permissions';
import { permissions as loader } from '../../lambdas/loader/permissions';
import type { FunctionPermissions } from '../../lambdas/shared/permissions';
import { permissions as validator } from '../../lambdas/validator/permissions';
import {
  LOG_ACTIONS,
  ON_FAILURE_QUEUE_ACTIONS,
  QUEUE_EVENT_SOURCE_ACTIONS,
  STREAM_EVENT_SOURCE_ACTIONS,
  XRAY_ACTIONS,
} from '../../lib/constructs/pipeline-function';
import { arnOf, ref, resourceOf, statementsOfFunction, synthPipeline, type CfnResource } from './synth';

// Every function's role allows exactly what its code calls (the permissions.ts beside it, held to
// the code's SDK commands by test/unit/permissions/sdk-calls.test.ts), on only the resources the
// list names, plus what Lambda itself does with the role: its event source mappings (read the
// source, send to the on-failure queue), its own log group and X-Ray. Nothing more, nothing less.

let template: Template;
let outdir: string;

beforeAll(() => {
  const synthesized = synthPipeline({ 'aws:cdk:bundling-stacks': [] });
  template = synthesized.template;
  outdir = synthesized.app.outdir;
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const RESOURCE_TYPES: Record<string, string> = {
  RawStream: 'AWS::Kinesis::Stream',
  ProcessedStream: 'AWS::Kinesis::Stream',
  EventsTable: 'AWS::DynamoDB::Table',
  AggregatesTable: 'AWS::DynamoDB::Table',
  DeadLetterQueue: 'AWS::SQS::Queue',
  RedriveQueue: 'AWS::SQS::Queue',
  StreamFailureQueue: 'AWS::SQS::Queue',
  ApiKeySecret: 'AWS::SecretsManager::Secret',
};

/** How a role statement names the resource: a secret's Ref is its ARN, the others' Arn attribute. */
function resourceRef(name: string): unknown {
  const type = RESOURCE_TYPES[name];
  if (!type) throw new Error(`permissions.ts names ${name}, which this test does not know`);
  const { logicalId } = resourceOf(template, type, name);
  return type === 'AWS::SecretsManager::Secret' ? ref(logicalId) : arnOf(logicalId);
}

type Grant = string; // `${action} ${JSON.stringify(resource)}`
const grant = (action: string, resource: unknown): Grant => `${action} ${JSON.stringify(resource)}`;

function grantsOfList(permissions: FunctionPermissions): Grant[] {
  return Object.values(permissions).flatMap((byResource: Record<string, readonly string[]>) =>
    Object.entries(byResource).flatMap(([name, actions]) => actions.map((action) => grant(action, resourceRef(name)))),
  );
}

/** What the construct adds for Lambda itself, read from the function's mappings in the template. */
function grantsOfLambda(functionName: string): Grant[] {
  const { logicalId } = resourceOf(template, 'AWS::Lambda::Function', functionName);
  const logGroup = resourceOf(template, 'AWS::Logs::LogGroup', `${functionName}LogGroup`).logicalId;
  const grants = [...LOG_ACTIONS.map((action) => grant(action, arnOf(logGroup))), ...XRAY_ACTIONS.map((action) => grant(action, '*'))];
  const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping') as Record<string, CfnResource>).filter(
    (mapping) => JSON.stringify(mapping.Properties?.FunctionName) === JSON.stringify(ref(logicalId)),
  );
  for (const mapping of mappings) {
    const source = mapping.Properties?.EventSourceArn;
    const sourceType = Object.entries(template.toJSON().Resources as Record<string, CfnResource>).find(
      ([id]) => JSON.stringify(arnOf(id)) === JSON.stringify(source),
    )?.[1].Type;
    const actions = sourceType === 'AWS::Kinesis::Stream' ? STREAM_EVENT_SOURCE_ACTIONS : sourceType === 'AWS::SQS::Queue' ? QUEUE_EVENT_SOURCE_ACTIONS : undefined;
    if (!actions) throw new Error(`unexpected event source ${JSON.stringify(source)}`);
    grants.push(...actions.map((action) => grant(action, source)));
    const onFailure = mapping.Properties?.DestinationConfig?.OnFailure?.Destination;
    if (onFailure) grants.push(...ON_FAILURE_QUEUE_ACTIONS.map((action) => grant(action, onFailure)));
  }
  return grants;
}

function grantsOfRole(functionName: string): Grant[] {
  const { logicalId } = resourceOf(template, 'AWS::Lambda::Function', functionName);
  return statementsOfFunction(template, logicalId).flatMap((statement) =>
    [statement.Action].flat().flatMap((action: string) => [statement.Resource].flat().map((resource) => grant(action, resource))),
  );
}

const FUNCTIONS: Array<[string, FunctionPermissions]> = [
  ['Collector', collector],
  ['Validator', validator],
  ['Loader', loader],
  ['Generator', generator],
];

describe('least privilege: each role allows exactly what its function calls', () => {
  it.each(FUNCTIONS)('%s: its permissions.ts, its event sources, its logs and X-Ray, and nothing else', (name, permissions) => {
    const expected = [...new Set([...grantsOfList(permissions), ...grantsOfLambda(name)])].sort();
    const actual = grantsOfRole(name);
    // Each grant once: no statement repeats what another allows.
    expect(actual.length).toBe(new Set(actual).size);
    expect([...actual].sort()).toEqual(expected);
  });

  it.each(FUNCTIONS)('%s: only plain Allow statements, no wildcard action, * only for X-Ray', (name) => {
    const { logicalId } = resourceOf(template, 'AWS::Lambda::Function', name);
    for (const statement of statementsOfFunction(template, logicalId)) {
      expect(Object.keys(statement).sort()).toEqual(['Action', 'Effect', 'Resource']);
      expect(statement.Effect).toBe('Allow');
      for (const action of [statement.Action].flat()) expect(action).not.toContain('*');
      if ([statement.Resource].flat().includes('*')) expect([statement.Action].flat().sort()).toEqual([...XRAY_ACTIONS].sort());
    }
  });

  it.each(FUNCTIONS)('%s: a role of its own, no managed or inline policies besides its default policy', (name) => {
    const { resource: fn } = resourceOf(template, 'AWS::Lambda::Function', name);
    const roleId = fn.Properties?.Role?.['Fn::GetAtt']?.[0] as string;
    const role = (template.toJSON().Resources as Record<string, CfnResource>)[roleId]!;
    expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties?.Policies).toBeUndefined();
    expect(role.Properties?.AssumeRolePolicyDocument?.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
    const policies = Object.values(template.findResources('AWS::IAM::Policy') as Record<string, CfnResource>).filter((policy) =>
      (policy.Properties?.Roles ?? []).some((r: unknown) => JSON.stringify(r) === JSON.stringify(ref(roleId))),
    );
    expect(policies).toHaveLength(1);
  });

  it('the Loader can no longer delete, batch-write, query, batch-read or condition-check (issue 9)', () => {
    const actions = new Set(grantsOfRole('Loader').map((g) => g.split(' ')[0]));
    for (const action of ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable', 'dynamodb:Scan']) {
      expect(actions.has(action), action).toBe(false);
    }
    // And it writes aggregates only: no PutItem or GetItem on AggregatesTable, no UpdateItem on events.
    expect(grantsOfRole('Loader')).not.toContain(grant('dynamodb:PutItem', resourceRef('AggregatesTable')));
    expect(grantsOfRole('Loader')).not.toContain(grant('dynamodb:UpdateItem', resourceRef('EventsTable')));
  });

  it('has no other roles than the four functions\', API Gateway\'s account logging role and the archive\'s Firehose role', () => {
    const roles = Object.entries(template.findResources('AWS::IAM::Role') as Record<string, CfnResource>);
    const functionRoles = FUNCTIONS.map(([name]) => resourceOf(template, 'AWS::Lambda::Function', name).resource.Properties?.Role?.['Fn::GetAtt']?.[0]);
    // The Firehose role (inline policy only) is held to its three statements by test/infra/raw-archive.test.ts.
    const firehoseRole = resourceOf(template, 'AWS::IAM::Role', 'ArchiveDeliveryRole').logicalId;
    const others = roles.filter(([id]) => !functionRoles.includes(id) && id !== firehoseRole);
    expect(others.map(([id]) => id)).toEqual([expect.stringMatching(/^IngestApiCloudWatchRole/)]);
    expect(others[0]![1].Properties?.ManagedPolicyArns).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs']] },
    ]);
    // Every IAM policy in the stack belongs to a function role.
    const policyRoles = Object.values(template.findResources('AWS::IAM::Policy') as Record<string, CfnResource>).flatMap(
      (policy) => policy.Properties?.Roles ?? [],
    );
    expect(policyRoles.map((r: { Ref: string }) => r.Ref).sort()).toEqual([...functionRoles].sort());
  });

  it('no KMS grants: the one customer managed key is the alarm topic\'s (for CloudWatch); functions use AWS managed keys without kms: permissions', () => {
    expect(Object.keys(template.findResources('AWS::KMS::Key'))).toEqual([expect.stringMatching(/^AlarmTopicKey[0-9A-F]{8}$/)]);
    for (const [name] of FUNCTIONS) expect(grantsOfRole(name).filter((g) => g.startsWith('kms:'))).toEqual([]);
  });

  it('would fail on drift: a call without its grant, or a grant without its call', () => {
    const actual = [...grantsOfRole('Collector')].sort();
    const withExtraCall = [...new Set([...grantsOfList({ kinesis: { RawStream: ['kinesis:PutRecords', 'kinesis:PutRecord'] } }), ...grantsOfLambda('Collector')])].sort();
    expect(actual).not.toEqual(withExtraCall);
    const withoutCall = [...new Set(grantsOfLambda('Collector'))].sort();
    expect(actual).not.toEqual(withoutCall);
  });
});
