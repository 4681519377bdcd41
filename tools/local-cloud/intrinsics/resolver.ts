/**
 * Resolves a synthesized CloudFormation template to local values: every resource gets a
 * CloudFormation-style physical name, ARN and (for queues) a URL on the local endpoint, and
 * Ref / Fn::GetAtt / Fn::Join / Fn::Sub / ... / dynamic references in properties and outputs
 * are replaced by those values, so the functions see the same wiring they get on AWS.
 *
 * Hand-written rather than cfn-resolver-lib (npm, 1.1.8, evaluated): its Fn::Sub substitutes only
 * names given in a map (no `${Resource.Attr}`, no `${!Literal}`), an unknown Fn::GetAtt is left in
 * place with a console warning instead of failing, `AWS::NoValue` removes nothing, it has no
 * Fn::Base64 / Fn::ToJsonString / Fn::Length, no dynamic references, and no local identities
 * (physical names, Kinesis / Secrets Manager / IAM ARNs, queue URLs, API ids are ours either way).
 */
import type { LocalResource } from '../types';
import { localize } from './dynamic-references';
import { intrinsic } from './functions';
import { buildIdentity } from './identities';
import {
  describeWhere,
  NO_VALUE,
  TemplateResolutionError,
  type CfnTemplate,
  type Identity,
  type ResolutionContext,
  type ResolvedTemplate,
  type ResolveOptions,
  type Where,
} from './model';
import { generateSecretString, type GenerateSecretStringSpec } from '../services/secrets-manager';

export function resolveTemplate(template: CfnTemplate, options: ResolveOptions): ResolvedTemplate {
  return new Resolver(template, options).run();
}

class Resolver implements ResolutionContext {
  private readonly identities = new Map<string, Identity>();
  private readonly resolving = new Set<string>();
  private readonly conditionValues = new Map<string, boolean>();
  private readonly secretValues = new Map<string, string>();
  readonly restApiIds = new Set<string>();

  constructor(
    readonly template: CfnTemplate,
    readonly options: ResolveOptions,
  ) {
    if (!template || typeof template.Resources !== 'object') {
      throw new TemplateResolutionError('The template has no Resources section');
    }
  }

  run(): ResolvedTemplate {
    const resources: LocalResource[] = [];
    const skipped: string[] = [];
    for (const [logicalId, resource] of Object.entries(this.template.Resources)) {
      if (!this.isIncluded(logicalId)) {
        skipped.push(logicalId);
        continue;
      }
      const identity = this.identity(logicalId);
      const properties = this.resolveProperties(logicalId);
      resources.push({ logicalId, type: resource.Type, properties, ref: identity.ref, attributes: identity.attributes });
    }
    const outputs: Record<string, string> = {};
    for (const [name, output] of Object.entries(this.template.Outputs ?? {})) {
      if (output.Condition !== undefined && !this.condition(output.Condition, { logicalId: `Outputs.${name}`, property: 'Condition' })) continue;
      const value = localize(this, this.resolve(output.Value, { logicalId: `Outputs.${name}`, property: 'Value' }), { logicalId: `Outputs.${name}`, property: 'Value' });
      if (value === NO_VALUE) continue;
      outputs[name] = typeof value === 'string' ? value : JSON.stringify(value);
    }
    return { resources, outputs, skipped };
  }

  isIncluded(logicalId: string): boolean {
    const condition = this.template.Resources[logicalId]?.Condition;
    return condition === undefined || this.condition(condition, { logicalId, property: 'Condition' });
  }

  private resolvedProperties = new Map<string, Record<string, unknown>>();

  private resolveProperties(logicalId: string): Record<string, unknown> {
    const cached = this.resolvedProperties.get(logicalId);
    if (cached) return cached;
    const resource = this.template.Resources[logicalId]!;
    const raw = resource.Properties ?? {};
    const resolved = localize(this, this.resolve(raw, { logicalId, property: '' }), { logicalId, property: '' }) as Record<string, unknown>;
    if (resource.Type === 'AWS::SecretsManager::Secret') {
      // The generated value is part of resolving the secret: dynamic references need it.
      resolved.SecretString = this.secretValue(logicalId, resolved);
    }
    this.resolvedProperties.set(logicalId, resolved);
    return resolved;
  }

  secretValue(logicalId: string, resolved?: Record<string, unknown>): string {
    const known = this.secretValues.get(logicalId);
    if (known !== undefined) return known;
    const properties = resolved ?? this.resolveProperties(logicalId);
    let value: string;
    if (typeof properties.SecretString === 'string') value = properties.SecretString;
    else if (properties.GenerateSecretString && typeof properties.GenerateSecretString === 'object') {
      value = generateSecretString(properties.GenerateSecretString as GenerateSecretStringSpec);
    } else {
      throw new TemplateResolutionError(`${logicalId}: a secret needs SecretString or GenerateSecretString (SecretBinary is not supported locally)`);
    }
    this.secretValues.set(logicalId, value);
    return value;
  }


  // ---- identities: what Ref and Fn::GetAtt return ----

  identity(logicalId: string, where?: Where): Identity {
    const known = this.identities.get(logicalId);
    if (known) return known;
    const resource = this.template.Resources[logicalId];
    if (!resource) {
      throw new TemplateResolutionError(`${where ? describeWhere(where) : logicalId}: refers to ${logicalId}, which is not a resource, parameter or pseudo parameter of the template`);
    }
    if (!this.isIncluded(logicalId)) {
      throw new TemplateResolutionError(`${where ? describeWhere(where) : logicalId}: refers to ${logicalId}, whose Condition is false`);
    }
    if (this.resolving.has(logicalId)) {
      throw new TemplateResolutionError(`${logicalId}: circular reference while resolving its name`);
    }
    this.resolving.add(logicalId);
    try {
      const identity = buildIdentity(this, logicalId, resource);
      this.identities.set(logicalId, identity);
      return identity;
    } finally {
      this.resolving.delete(logicalId);
    }
  }

  getAtt(logicalId: string, attribute: string, where: Where): string {
    const identity = this.identity(logicalId, where);
    const value = identity.attributes[attribute];
    if (value !== undefined) return value;
    const type = this.template.Resources[logicalId]?.Type ?? 'unknown';
    throw new TemplateResolutionError(
      `${describeWhere(where)}: Fn::GetAtt ${logicalId}.${attribute} is not available locally for ${type} (known: ${Object.keys(identity.attributes).join(', ') || 'none'})`,
    );
  }

  condition(name: string, where: Where): boolean {
    const known = this.conditionValues.get(name);
    if (known !== undefined) return known;
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) {
      throw new TemplateResolutionError(`${describeWhere(where)}: condition ${name} is not defined in Conditions`);
    }
    const value = this.resolve(definition, { logicalId: `Conditions.${name}`, property: '' });
    if (typeof value !== 'boolean') {
      throw new TemplateResolutionError(`Conditions.${name}: does not evaluate to true or false`);
    }
    this.conditionValues.set(name, value);
    return value;
  }

  resolve(value: unknown, where: Where): unknown {
    if (Array.isArray(value)) {
      return value
        .map((item, index) => this.resolve(item, { ...where, property: `${where.property}[${index}]` }))
        .filter((item) => item !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, argument] = entries[0]!;
      if (key === 'Ref' || key === 'Condition' || key.startsWith('Fn::')) {
        return intrinsic(this, key, argument, where);
      }
    }
    const result: Record<string, unknown> = {};
    for (const [key, item] of entries) {
      const resolved = this.resolve(item, { ...where, property: where.property ? `${where.property}.${key}` : key });
      if (resolved !== NO_VALUE) result[key] = resolved;
    }
    return result;
  }
}
