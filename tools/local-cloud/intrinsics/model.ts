/** The shapes the template resolver shares: the template, the options, the result, the error and where an error is. */
import type { LocalResource } from '../types';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
}

export interface CfnTemplate {
  Parameters?: Record<string, { Type: string; Default?: unknown }>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Condition?: string; Description?: string }>;
}

export interface ResolveOptions {
  stackName: string;
  region: string;
  accountId: string;
  /** Base URL of the local endpoint (no trailing slash): queue URLs and API URLs point here. */
  endpoint: string;
}

export interface ResolvedTemplate {
  resources: LocalResource[];
  /** Template Outputs, resolved (outputs whose Condition is false are left out). */
  outputs: Record<string, string>;
  /** Resources left out because their Condition is false. */
  skipped: string[];
}

export class TemplateResolutionError extends Error {
  override name = 'TemplateResolutionError';
}

/** Removes a key or list element, as `Ref: AWS::NoValue` does. */
export const NO_VALUE = Symbol('AWS::NoValue');

/** What Ref and Fn::GetAtt return for a resource. */
export interface Identity {
  ref: string;
  attributes: Record<string, string>;
}

/** The property being resolved, for error messages. */
export type Where = { logicalId: string; property: string };

export function describeWhere(where: Where): string {
  return where.property ? `${where.logicalId}.${where.property}` : where.logicalId;
}

/** What the intrinsic functions, the identities and the dynamic references need from the resolver. */
export interface ResolutionContext {
  readonly template: CfnTemplate;
  readonly options: ResolveOptions;
  /** The REST API ids handed out: their execute-api URLs are pointed at the local endpoint. */
  readonly restApiIds: Set<string>;
  resolve(value: unknown, where: Where): unknown;
  condition(name: string, where: Where): boolean;
  isIncluded(logicalId: string): boolean;
  identity(logicalId: string, where?: Where): Identity;
  getAtt(logicalId: string, attribute: string, where: Where): string;
  secretValue(logicalId: string): string;
}
