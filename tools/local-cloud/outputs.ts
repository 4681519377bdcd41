import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CONTRACT_OUTPUTS } from '../../lib/contract-outputs';
import type { LocalResource } from './types';

/**
 * The local run's outputs file: the same shape `cdk deploy --outputs-file` writes
 * (`{"<StackName>": {...}}`, contract §4), plus AwsEndpoint, ApiKeyValue and DashboardUrl (the
 * local cloud's live dashboard, contract §5).
 */

export const DEFAULT_OUTPUTS_PATH = '.local/outputs.json';

export { CONTRACT_OUTPUTS } from '../../lib/contract-outputs';

export type StackOutputs = Record<string, Record<string, string>>;

/** The API key's value: the resolved `Value` of the ApiKey the ApiKeyId output names (or the only one). */
export function apiKeyValueOf(resources: LocalResource[], apiKeyId: string | undefined): string | undefined {
  const keys = resources.filter((resource) => resource.type === 'AWS::ApiGateway::ApiKey');
  const key = keys.find((resource) => resource.ref === apiKeyId) ?? (keys.length === 1 ? keys[0] : undefined);
  const value = key?.properties.Value;
  return typeof value === 'string' ? value : undefined;
}

export function buildOutputs(opts: {
  stackName: string;
  templateOutputs: Record<string, string>;
  awsEndpoint: string;
  apiKeyValue: string | undefined;
  /** `{AwsEndpoint}/_local/dashboard/`; it replaces a template output of that name, if any. */
  dashboardUrl?: string;
}): StackOutputs {
  const missing = CONTRACT_OUTPUTS.filter((name) => opts.templateOutputs[name] === undefined);
  if (missing.length > 0) {
    throw new Error(`The template lacks the stack outputs the contract requires: ${missing.join(', ')}`);
  }
  if (opts.apiKeyValue === undefined) {
    throw new Error('The template declares no AWS::ApiGateway::ApiKey with a Value, so there is no ApiKeyValue to write');
  }
  return {
    [opts.stackName]: {
      ...opts.templateOutputs,
      AwsEndpoint: opts.awsEndpoint,
      ApiKeyValue: opts.apiKeyValue,
      ...(opts.dashboardUrl !== undefined ? { DashboardUrl: opts.dashboardUrl } : {}),
    },
  };
}

/** Written whole or not at all (temp file + rename): a reader never sees half a file. */
export function writeOutputs(file: string, outputs: StackOutputs): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(outputs, null, 2)}\n`);
  renameSync(temporary, file);
}
