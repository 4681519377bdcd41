import { rmSync } from 'node:fs';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_RESPONSE_BODY } from '../../lib/constructs/ingest-api';
import type { PipelineStack } from '../../lib/pipeline-stack';
import { arnOf, ref, resourceOf, synthPipeline, type CfnResource } from './synth';

// Issue 9, "Security review of the stack": CORS only for configured origins, a usage plan quota,
// API Gateway's own errors as the contract's JSON with the CORS headers, the account-wide API
// Gateway logging role retained, and RedriveQueue's maxReceiveCount at AWS's minimum for Lambda.

interface Variant {
  template: Template;
  stack: PipelineStack;
  outdir: string;
}
const variants: Record<'none' | 'one' | 'two', Variant> = {} as never;
const ONE = 'https://shop.example.com';
const TWO = ['https://shop.example.com', 'http://localhost:5173'];

beforeAll(() => {
  const build = (overrides: Record<string, unknown>): Variant => {
    const { template, stack, app } = synthPipeline({ 'aws:cdk:bundling-stacks': [], ...overrides });
    return { template, stack, outdir: app.outdir };
  };
  variants.none = build({});
  variants.one = build({ corsAllowedOrigins: [ONE], apiQuotaLimit: 100_000, apiQuotaPeriod: 'MONTH' });
  // As -c passes it: one comma-separated string.
  variants.two = build({ corsAllowedOrigins: TWO.join(','), apiQuotaLimit: '5000', apiQuotaPeriod: 'DAY' });
});

afterAll(() => {
  for (const variant of Object.values(variants)) rmSync(variant.outdir, { recursive: true, force: true });
});

const optionsMethods = (template: Template) => template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'OPTIONS' } });
const collectorEnv = (template: Template) =>
  resourceOf(template, 'AWS::Lambda::Function', 'Collector').resource.Properties?.Environment?.Variables as Record<string, unknown>;
const gatewayResponses = (template: Template) =>
  Object.values(template.findResources('AWS::ApiGateway::GatewayResponse') as Record<string, CfnResource>).map((r) => r.Properties!);
const responseOf = (template: Template, type: string) => {
  const found = gatewayResponses(template).filter((r) => r.ResponseType === type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};

describe('CORS: only the configured origins', () => {
  it('by default has no OPTIONS method and no CORS header anywhere in the template', () => {
    const { template } = variants.none;
    expect(Object.keys(optionsMethods(template))).toEqual([]);
    expect(JSON.stringify(template.toJSON())).not.toMatch(/Access-Control-Allow-Origin/i);
    expect(collectorEnv(template).CORS_ALLOWED_ORIGINS).toBe('[]');
  });

  it('with one origin, the preflight allows exactly that origin (not *) and answers without a binary conversion', () => {
    const { template } = variants.one;
    const methods = Object.values(optionsMethods(template) as Record<string, CfnResource>);
    expect(methods).toHaveLength(1);
    const integration = methods[0]!.Properties?.Integration;
    expect(integration).toMatchObject({ Type: 'MOCK', ContentHandling: 'CONVERT_TO_TEXT' });
    const params = integration.IntegrationResponses[0].ResponseParameters as Record<string, string>;
    expect(params['method.response.header.Access-Control-Allow-Origin']).toBe(`'${ONE}'`);
    expect(params['method.response.header.Access-Control-Allow-Methods']).toBe("'POST,OPTIONS'");
    expect(params['method.response.header.Vary']).toBe("'Origin'");
    expect(JSON.stringify(template.toJSON())).not.toContain("'*'");
    expect(collectorEnv(template).CORS_ALLOWED_ORIGINS).toBe(JSON.stringify([ONE]));
  });

  it('with several origins, the preflight names only allowed origins (CDK\'s template) and the collector gets the list', () => {
    const { template } = variants.two;
    const methods = Object.values(optionsMethods(template) as Record<string, CfnResource>);
    expect(methods).toHaveLength(1);
    const response = methods[0]!.Properties?.Integration.IntegrationResponses[0];
    // CDK answers with the first origin and overrides it with the request's Origin when that is
    // one of the others; a disallowed origin gets the first one, which its browser refuses.
    expect(response.ResponseParameters['method.response.header.Access-Control-Allow-Origin']).toBe(`'${TWO[0]}'`);
    const vtl = response.ResponseTemplates['application/json'] as string;
    for (const origin of TWO.slice(1)) expect(vtl).toContain(`$origin == "${origin}"`);
    expect(vtl).toContain('$context.responseOverride.header.Access-Control-Allow-Origin = $origin');
    expect(collectorEnv(template).CORS_ALLOWED_ORIGINS).toBe(JSON.stringify(TWO));
    expect(JSON.stringify(template.toJSON())).not.toContain("'*'");
  });

  it('POST /events still needs the API key in every variant', () => {
    for (const { template } of Object.values(variants)) {
      template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', ApiKeyRequired: true });
    }
  });
});

describe('usage plan quota', () => {
  it('has none by default, only the throttle', () => {
    const { resource } = resourceOf(variants.none.template, 'AWS::ApiGateway::UsagePlan', 'UsagePlan');
    expect(resource.Properties?.Quota).toBeUndefined();
    expect(resource.Properties?.Throttle).toBeDefined();
  });

  it.each([
    ['one', { Limit: 100_000, Period: 'MONTH' }],
    ['two', { Limit: 5000, Period: 'DAY' }],
  ] as const)('takes the configured limit and period (%s)', (variant, quota) => {
    const { resource } = resourceOf(variants[variant].template, 'AWS::ApiGateway::UsagePlan', 'UsagePlan');
    expect(resource.Properties?.Quota).toEqual(quota);
  });
});

describe("gateway responses: API Gateway's own errors as the contract's JSON", () => {
  const SPECIFIC: Array<[string, string]> = [
    ['INVALID_API_KEY', '403'],
    ['MISSING_AUTHENTICATION_TOKEN', '403'],
    ['ACCESS_DENIED', '403'],
    ['THROTTLED', '429'],
    ['QUOTA_EXCEEDED', '429'],
    ['REQUEST_TOO_LARGE', '413'],
    ['INTEGRATION_TIMEOUT', '504'],
  ];

  it.each(SPECIFIC)('%s answers %s with {"message": ...} as JSON', (type, status) => {
    const response = responseOf(variants.none.template, type);
    expect(response.StatusCode).toBe(status);
    expect(response.ResponseTemplates).toEqual({ 'application/json': '{"message":$context.error.messageString}' });
    expect(response.RestApiId).toEqual(ref(resourceOf(variants.none.template, 'AWS::ApiGateway::RestApi', 'IngestApi').logicalId));
  });

  it.each(['DEFAULT_4XX', 'DEFAULT_5XX'])('%s gives every other refusal the same body, without changing its status', (type) => {
    const response = responseOf(variants.none.template, type);
    expect(response.StatusCode).toBeUndefined();
    expect(response.ResponseTemplates).toEqual({ 'application/json': GATEWAY_RESPONSE_BODY });
  });

  it('the body renders as the contract documents it (403 {"message":"Forbidden"})', () => {
    // $context.error.messageString is the message as a quoted, escaped JSON string.
    const rendered = GATEWAY_RESPONSE_BODY.replace('$context.error.messageString', JSON.stringify('Forbidden'));
    expect(JSON.parse(rendered)).toEqual({ message: 'Forbidden' });
  });

  it('carry no CORS headers when no origin is configured', () => {
    for (const response of gatewayResponses(variants.none.template)) expect(response.ResponseParameters).toBeUndefined();
  });

  it('carry the one configured origin (and the preflight\'s headers) on every response', () => {
    const responses = gatewayResponses(variants.one.template);
    expect(responses).toHaveLength(9);
    for (const response of responses) {
      expect(response.ResponseParameters).toEqual({
        'gatewayresponse.header.Access-Control-Allow-Origin': `'${ONE}'`,
        'gatewayresponse.header.Access-Control-Allow-Headers': "'Content-Type,Content-Encoding,X-Api-Key,X-Amz-Date,X-Amz-Security-Token'",
        'gatewayresponse.header.Access-Control-Allow-Methods': "'POST,OPTIONS'",
        'gatewayresponse.header.Vary': "'Origin'",
      });
    }
  });

  it('with several origins carry no Access-Control-Allow-Origin: a gateway response cannot choose among them, and echoing Origin would allow all', () => {
    for (const response of gatewayResponses(variants.two.template)) {
      expect(JSON.stringify(response)).not.toMatch(/Access-Control-Allow-Origin|method\.request\.header\.origin/i);
    }
  });

  it('are part of the deployment, so a change reaches the stage', () => {
    const { template } = variants.one;
    const deployment = Object.values(template.findResources('AWS::ApiGateway::Deployment') as Record<string, CfnResource & { DependsOn?: string[] }>)[0]!;
    const responseIds = Object.keys(template.findResources('AWS::ApiGateway::GatewayResponse'));
    for (const id of responseIds) expect(deployment.DependsOn).toContain(id);
  });
});

describe('account-wide API Gateway logging role', () => {
  it('is retained (with the account setting) even when removalPolicy is destroy, so a teardown cannot break API logging in the region', () => {
    for (const { template } of Object.values(variants)) {
      const roles = Object.entries(template.findResources('AWS::IAM::Role') as Record<string, CfnResource>).filter(([id]) =>
        id.startsWith('IngestApiCloudWatchRole'),
      );
      expect(roles).toHaveLength(1);
      expect(roles[0]![1]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      template.hasResource('AWS::ApiGateway::Account', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: { CloudWatchRoleArn: arnOf(roles[0]![0]) },
      });
    }
    // The stack's own data still follows removalPolicy (destroy by default).
    expect(resourceOf(variants.none.template, 'AWS::DynamoDB::Table', 'EventsTable').resource.DeletionPolicy).toBe('Delete');
  });
});

describe('RedriveQueue', () => {
  it('dead-letters after 5 receives, the minimum AWS advises for a Lambda consumer', () => {
    const { template } = variants.none;
    const { resource } = resourceOf(template, 'AWS::SQS::Queue', 'RedriveQueue');
    expect(resource.Properties?.RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(resourceOf(template, 'AWS::SQS::Queue', 'DeadLetterQueue').logicalId),
      maxReceiveCount: 5,
    });
  });
});

describe('cdk-nag with CORS and a quota', () => {
  it.each(['one', 'two'] as const)('AwsSolutions reports nothing unacknowledged (%s origin variant)', (variant) => {
    const report = new AwsSolutionsChecks().validateScope(variants[variant].stack);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
  });
});

it('gateway responses exist in every variant, nine of them', () => {
  for (const { template } of Object.values(variants)) {
    template.resourceCountIs('AWS::ApiGateway::GatewayResponse', 9);
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', Match.objectLike({ ResponseType: 'QUOTA_EXCEEDED' }));
  }
});
