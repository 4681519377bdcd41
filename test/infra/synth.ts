import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadConfig, type PipelineConfig } from '../../lib/config';
import { PipelineStack } from '../../lib/pipeline-stack';

/** The context defaults, as the CDK CLI passes them from cdk.json. */
export const cdkJsonContext: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

export interface SynthesizedPipeline {
  app: App;
  stack: PipelineStack;
  template: Template;
  config: PipelineConfig;
}

/** Builds the app as bin/app.ts does, with cdk.json's context overridden by `overrides`. */
export function synthPipeline(overrides: Record<string, unknown> = {}): SynthesizedPipeline {
  const app = new App({ context: { ...cdkJsonContext, ...overrides } });
  const config = loadConfig(app.node);
  const stack = new PipelineStack(app, `EcommercePipeline-${config.stage}`, { config });
  return { app, stack, template: Template.fromStack(stack), config };
}

export type CfnResource = { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; Metadata?: Record<string, any> };

/** The one resource of `type` whose logical id starts with `constructId` (docs/architecture.md names). */
export function resourceOf(template: Template, type: string, constructId: string): { logicalId: string; resource: CfnResource } {
  const matches = Object.entries(template.findResources(type) as Record<string, CfnResource>).filter(([logicalId]) =>
    new RegExp(`^${constructId}[0-9A-F]{8}$`).test(logicalId),
  );
  if (matches.length !== 1) {
    throw new Error(`expected one ${type} named ${constructId}, found ${matches.map(([id]) => id).join(', ') || 'none'}`);
  }
  const [logicalId, resource] = matches[0]!;
  return { logicalId, resource };
}

export const ref = (logicalId: string) => ({ Ref: logicalId });
export const arnOf = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

/** Every IAM statement attached to a function's execution role. */
export function statementsOfFunction(template: Template, functionLogicalId: string): Array<Record<string, any>> {
  const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId] as CfnResource | undefined;
  const roleLogicalId = fn?.Properties?.Role?.['Fn::GetAtt']?.[0];
  if (!roleLogicalId) throw new Error(`function ${functionLogicalId} has no role in this stack`);
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, CfnResource>)
    .filter((policy) => (policy.Properties?.Roles ?? []).some((role: unknown) => JSON.stringify(role) === JSON.stringify(ref(roleLogicalId))))
    .flatMap((policy) => policy.Properties?.PolicyDocument?.Statement ?? []);
}

/** Whether some statement allows `action` on exactly `resource`. */
export function allows(statements: Array<Record<string, any>>, action: string, resource: unknown): boolean {
  return statements.some((statement) => {
    const actions = [statement.Action].flat();
    const resources = [statement.Resource].flat();
    return (
      statement.Effect === 'Allow' &&
      actions.includes(action) &&
      resources.some((r) => JSON.stringify(r) === JSON.stringify(resource))
    );
  });
}
