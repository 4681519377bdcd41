import { randomInt, randomUUID } from 'node:crypto';
import type { LocalResource } from './types';
import { generateSecretString, secretArn, type GenerateSecretStringSpec } from './services/secrets-manager';

/**
 * Resolves a synthesized CloudFormation template to local values: every resource gets a
 * CloudFormation-style physical name, ARN and (for queues) a URL on the local endpoint, and
 * Ref / Fn::GetAtt / Fn::Join / Fn::Sub / ... / dynamic references in properties and outputs
 * are replaced by those values, so the functions see the same wiring they get on AWS.
 */

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
const NO_VALUE = Symbol('AWS::NoValue');

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
};

interface Identity {
  ref: string;
  attributes: Record<string, string>;
}

type Where = { logicalId: string; property: string };

function describeWhere(where: Where): string {
  return where.property ? `${where.logicalId}.${where.property}` : where.logicalId;
}

export function resolveTemplate(template: CfnTemplate, options: ResolveOptions): ResolvedTemplate {
  return new Resolver(template, options).run();
}

class Resolver {
  private readonly identities = new Map<string, Identity>();
  private readonly resolving = new Set<string>();
  private readonly conditionValues = new Map<string, boolean>();
  private readonly secretValues = new Map<string, string>();
  private readonly restApiIds = new Set<string>();

  constructor(
    private readonly template: CfnTemplate,
    private readonly options: ResolveOptions,
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
      const value = this.localize(this.resolve(output.Value, { logicalId: `Outputs.${name}`, property: 'Value' }), { logicalId: `Outputs.${name}`, property: 'Value' });
      if (value === NO_VALUE) continue;
      outputs[name] = typeof value === 'string' ? value : JSON.stringify(value);
    }
    return { resources, outputs, skipped };
  }

  private isIncluded(logicalId: string): boolean {
    const condition = this.template.Resources[logicalId]?.Condition;
    return condition === undefined || this.condition(condition, { logicalId, property: 'Condition' });
  }

  private resolvedProperties = new Map<string, Record<string, unknown>>();

  private resolveProperties(logicalId: string): Record<string, unknown> {
    const cached = this.resolvedProperties.get(logicalId);
    if (cached) return cached;
    const resource = this.template.Resources[logicalId]!;
    const raw = resource.Properties ?? {};
    const resolved = this.localize(this.resolve(raw, { logicalId, property: '' }), { logicalId, property: '' }) as Record<string, unknown>;
    if (resource.Type === 'AWS::SecretsManager::Secret') {
      // The generated value is part of resolving the secret: dynamic references need it.
      resolved.SecretString = this.secretValue(logicalId, resolved);
    }
    this.resolvedProperties.set(logicalId, resolved);
    return resolved;
  }

  private secretValue(logicalId: string, resolved?: Record<string, unknown>): string {
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

  private identity(logicalId: string, where?: Where): Identity {
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
      const identity = this.buildIdentity(logicalId, resource);
      this.identities.set(logicalId, identity);
      return identity;
    } finally {
      this.resolving.delete(logicalId);
    }
  }

  private nameOf(logicalId: string, resource: CfnResource): string {
    const naming = NAMING[resource.Type];
    if (!naming) return physicalName(this.options.stackName, logicalId, 128);
    const declared = resource.Properties?.[naming.property];
    if (declared !== undefined) {
      const value = this.resolve(declared, { logicalId, property: naming.property });
      if (typeof value !== 'string') {
        throw new TemplateResolutionError(`${logicalId}.${naming.property}: expected a string name`);
      }
      return value;
    }
    if (resource.Type === 'AWS::SQS::Queue' && this.isFifo(logicalId, resource)) {
      return physicalName(this.options.stackName, logicalId, naming.limit - 5) + '.fifo';
    }
    return physicalName(this.options.stackName, logicalId, naming.limit);
  }

  private isFifo(logicalId: string, resource: CfnResource): boolean {
    const fifo = resource.Properties?.FifoQueue;
    if (fifo === undefined) return false;
    const value = this.resolve(fifo, { logicalId, property: 'FifoQueue' });
    return value === true || value === 'true';
  }

  private buildIdentity(logicalId: string, resource: CfnResource): Identity {
    const { region, accountId: account, endpoint, stackName } = this.options;
    const arn = (service: string, resourcePart: string, withRegion = true): string =>
      `arn:aws:${service}:${withRegion ? region : ''}:${account}:${resourcePart}`;
    const id = (length = 10): string => randomString(length, LOWER_ALNUM);
    switch (resource.Type) {
      case 'AWS::Kinesis::Stream': {
        const name = this.nameOf(logicalId, resource);
        return { ref: name, attributes: { Arn: arn('kinesis', `stream/${name}`) } };
      }
      case 'AWS::DynamoDB::Table': {
        const name = this.nameOf(logicalId, resource);
        const tableArn = arn('dynamodb', `table/${name}`);
        return { ref: name, attributes: { Arn: tableArn, StreamArn: `${tableArn}/stream/${new Date().toISOString().replace(/Z$/, '')}` } };
      }
      case 'AWS::SQS::Queue': {
        const name = this.nameOf(logicalId, resource);
        const url = `${endpoint}/${account}/${name}`;
        return { ref: url, attributes: { Arn: arn('sqs', name), QueueName: name, QueueUrl: url } };
      }
      case 'AWS::Lambda::Function': {
        const name = this.nameOf(logicalId, resource);
        return { ref: name, attributes: { Arn: arn('lambda', `function:${name}`) } };
      }
      case 'AWS::Lambda::EventSourceMapping': {
        const uuid = randomUUID();
        return { ref: uuid, attributes: { Id: uuid, EventSourceMappingArn: arn('lambda', `event-source-mapping:${uuid}`) } };
      }
      case 'AWS::SecretsManager::Secret': {
        const name = this.nameOf(logicalId, resource);
        const secret = secretArn(region, account, name);
        return { ref: secret, attributes: { Id: secret } };
      }
      case 'AWS::Events::Rule': {
        const name = this.nameOf(logicalId, resource);
        return { ref: name, attributes: { Arn: arn('events', `rule/${name}`) } };
      }
      case 'AWS::IAM::Role': {
        const name = this.nameOf(logicalId, resource);
        return { ref: name, attributes: { Arn: arn('iam', `role/${name}`, false), RoleId: `AROA${randomString(17, UPPER_ALNUM)}` } };
      }
      case 'AWS::IAM::ManagedPolicy': {
        const name = this.nameOf(logicalId, resource);
        const policyArn = arn('iam', `policy/${name}`, false);
        return { ref: policyArn, attributes: { PolicyArn: policyArn } };
      }
      case 'AWS::Logs::LogGroup': {
        const name = this.nameOf(logicalId, resource);
        return { ref: name, attributes: { Arn: arn('logs', `log-group:${name}:*`) } };
      }
      case 'AWS::KMS::Key': {
        const keyId = randomUUID();
        return { ref: keyId, attributes: { Arn: arn('kms', `key/${keyId}`), KeyId: keyId } };
      }
      case 'AWS::SNS::Topic': {
        const name = this.nameOf(logicalId, resource);
        const topicArn = arn('sns', name);
        return { ref: topicArn, attributes: { TopicArn: topicArn, TopicName: name } };
      }
      case 'AWS::CloudWatch::Alarm': {
        const name = this.nameOf(logicalId, resource);
        return { ref: name, attributes: { Arn: arn('cloudwatch', `alarm:${name}`) } };
      }
      case 'AWS::ApiGateway::RestApi': {
        const restApiId = id();
        this.restApiIds.add(restApiId);
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
        const stageName = this.resolve(resource.Properties?.StageName ?? 'prod', { logicalId, property: 'StageName' });
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

  private getAtt(logicalId: string, attribute: string, where: Where): string {
    const identity = this.identity(logicalId, where);
    const value = identity.attributes[attribute];
    if (value !== undefined) return value;
    const type = this.template.Resources[logicalId]?.Type ?? 'unknown';
    throw new TemplateResolutionError(
      `${describeWhere(where)}: Fn::GetAtt ${logicalId}.${attribute} is not available locally for ${type} (known: ${Object.keys(identity.attributes).join(', ') || 'none'})`,
    );
  }

  // ---- intrinsic functions ----

  private ref(name: string, where: Where): unknown {
    const { region, accountId, stackName } = this.options;
    switch (name) {
      case 'AWS::Region':
        return region;
      case 'AWS::AccountId':
        return accountId;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stackName;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${region}:${accountId}:stack/${stackName}/00000000-0000-0000-0000-000000000000`;
      case 'AWS::NoValue':
        return NO_VALUE;
      case 'AWS::NotificationARNs':
        return [];
    }
    const parameter = this.template.Parameters?.[name];
    if (parameter) {
      if (parameter.Default === undefined) {
        throw new TemplateResolutionError(`${describeWhere(where)}: parameter ${name} has no Default, and the local cloud takes no parameter values`);
      }
      return parameter.Default;
    }
    return this.identity(name, where).ref;
  }

  private condition(name: string, where: Where): boolean {
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

  private resolve(value: unknown, where: Where): unknown {
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
        return this.intrinsic(key, argument, where);
      }
    }
    const result: Record<string, unknown> = {};
    for (const [key, item] of entries) {
      const resolved = this.resolve(item, { ...where, property: where.property ? `${where.property}.${key}` : key });
      if (resolved !== NO_VALUE) result[key] = resolved;
    }
    return result;
  }

  private intrinsic(fn: string, argument: unknown, where: Where): unknown {
    const fail = (message: string): never => {
      throw new TemplateResolutionError(`${describeWhere(where)}: ${fn} ${message}`);
    };
    switch (fn) {
      case 'Ref':
        if (typeof argument !== 'string') fail('expects a name');
        return this.ref(argument as string, where);
      case 'Condition':
        if (typeof argument !== 'string') fail('expects a condition name');
        return this.condition(argument as string, where);
      case 'Fn::GetAtt': {
        const parts = typeof argument === 'string' ? splitOnce(argument, '.') : Array.isArray(argument) ? argument.map((a) => this.resolve(a, where)) : [];
        const [logicalId, attribute] = parts;
        if (typeof logicalId !== 'string' || typeof attribute !== 'string') fail('expects [logicalId, attribute]');
        return this.getAtt(logicalId as string, attribute as string, where);
      }
      case 'Fn::Join': {
        if (!Array.isArray(argument) || argument.length !== 2) fail('expects [delimiter, list]');
        const [delimiter, list] = argument as [unknown, unknown];
        const items = this.resolve(list, where);
        if (typeof delimiter !== 'string' || !Array.isArray(items)) fail('expects a string delimiter and a list');
        return (items as unknown[]).map((item) => scalar(item, fn, where)).join(delimiter as string);
      }
      case 'Fn::Sub':
        return this.sub(argument, where);
      case 'Fn::Select': {
        if (!Array.isArray(argument) || argument.length !== 2) fail('expects [index, list]');
        const [indexArgument, listArgument] = argument as [unknown, unknown];
        const index = Number(this.resolve(indexArgument, where));
        const list = this.resolve(listArgument, where);
        if (!Array.isArray(list)) fail('expects a list');
        const items = list as unknown[];
        if (!Number.isInteger(index) || index < 0 || index >= items.length) fail(`index ${index} is out of range`);
        return items[index];
      }
      case 'Fn::Split': {
        if (!Array.isArray(argument) || argument.length !== 2) fail('expects [delimiter, string]');
        const [delimiter, sourceArgument] = argument as [unknown, unknown];
        const source = this.resolve(sourceArgument, where);
        if (typeof delimiter !== 'string' || typeof source !== 'string') fail('expects a string delimiter and a string');
        return (source as string).split(delimiter as string);
      }
      case 'Fn::If': {
        if (!Array.isArray(argument) || argument.length !== 3 || typeof argument[0] !== 'string') fail('expects [condition, ifTrue, ifFalse]');
        const [name, ifTrue, ifFalse] = argument as [string, unknown, unknown];
        return this.resolve(this.condition(name, where) ? ifTrue : ifFalse, where);
      }
      case 'Fn::Equals': {
        if (!Array.isArray(argument) || argument.length !== 2) fail('expects two values');
        const [a, b] = (argument as unknown[]).map((v) => this.resolve(v, where));
        return JSON.stringify(a) === JSON.stringify(b);
      }
      case 'Fn::And':
      case 'Fn::Or': {
        if (!Array.isArray(argument) || argument.length < 1) fail('expects a list of conditions');
        const values = (argument as unknown[]).map((v) => this.resolve(v, where));
        if (!values.every((v) => typeof v === 'boolean')) fail('expects conditions');
        return fn === 'Fn::And' ? values.every(Boolean) : values.some(Boolean);
      }
      case 'Fn::Not': {
        const [inner] = Array.isArray(argument) ? argument : [];
        const value = this.resolve(inner, where);
        if (typeof value !== 'boolean') fail('expects one condition');
        return !value;
      }
      case 'Fn::FindInMap': {
        if (!Array.isArray(argument) || argument.length < 3) fail('expects [map, topKey, secondKey]');
        const [map, top, second] = (argument as unknown[]).slice(0, 3).map((v) => this.resolve(v, where)) as [string, string, string];
        const found = this.template.Mappings?.[map]?.[top]?.[second];
        if (found === undefined) fail(`finds nothing at ${map}.${top}.${second}`);
        return found;
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((zone) => `${this.options.region}${zone}`);
      case 'Fn::Base64': {
        const text = this.resolve(argument, where);
        if (typeof text !== 'string') fail('expects a string');
        return Buffer.from(text as string, 'utf8').toString('base64');
      }
      case 'Fn::ToJsonString':
        return JSON.stringify(this.resolve(argument, where));
      case 'Fn::Length': {
        const list = this.resolve(argument, where);
        if (!Array.isArray(list)) fail('expects a list');
        return (list as unknown[]).length;
      }
      default:
        return fail('is not supported by the local cloud');
    }
  }

  private sub(argument: unknown, where: Where): string {
    let text: unknown;
    let variables: Record<string, unknown> = {};
    if (typeof argument === 'string') text = argument;
    else if (Array.isArray(argument) && argument.length === 2) {
      text = argument[0];
      const resolved = this.resolve(argument[1], where);
      if (resolved === null || typeof resolved !== 'object' || Array.isArray(resolved)) {
        throw new TemplateResolutionError(`${describeWhere(where)}: Fn::Sub variables must be an object`);
      }
      variables = resolved as Record<string, unknown>;
    }
    if (typeof text !== 'string') {
      throw new TemplateResolutionError(`${describeWhere(where)}: Fn::Sub expects a string or [string, variables]`);
    }
    return text.replace(/\$\{([^}]*)\}/g, (_match, expression: string) => {
      if (expression.startsWith('!')) return `\${${expression.slice(1)}}`;
      const name = expression.trim();
      if (name in variables) return scalar(variables[name], 'Fn::Sub', where);
      const dot = name.indexOf('.');
      if (dot > 0 && !name.startsWith('AWS::')) {
        return this.getAtt(name.slice(0, dot), name.slice(dot + 1), where);
      }
      return scalar(this.ref(name, where), 'Fn::Sub', where);
    });
  }

  // ---- after intrinsics: dynamic references and execute-api URLs ----

  private localize(value: unknown, where: Where): unknown {
    if (typeof value === 'string') return this.localizeString(value, where);
    if (Array.isArray(value)) return value.map((item) => this.localize(item, where));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.localize(item, where)]));
    }
    return value;
  }

  private localizeString(text: string, where: Where): string {
    const withSecrets = text.replace(/\{\{resolve:([a-z-]+):(.*?)\}\}/g, (_match, service: string, reference: string) => {
      if (service !== 'secretsmanager') {
        throw new TemplateResolutionError(`${describeWhere(where)}: dynamic reference {{resolve:${service}:...}} is not supported locally (only secretsmanager)`);
      }
      return this.dynamicSecret(reference, where);
    });
    // The API's public URL points at the local endpoint, which serves /<stage>/... itself.
    return withSecrets.replace(
      /https:\/\/([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/g,
      (match, restApiId: string) => (this.restApiIds.has(restApiId) ? this.options.endpoint : match),
    );
  }

  /** `<arn-or-name>[:SecretString[:<jsonKey>[:<versionStage>[:<versionId>]]]]` */
  private dynamicSecret(reference: string, where: Where): string {
    const marker = reference.indexOf(':SecretString');
    const secretId = marker >= 0 ? reference.slice(0, marker) : reference;
    const rest = marker >= 0 ? reference.slice(marker + ':SecretString'.length).replace(/^:/, '') : '';
    const [jsonKey = '', versionStage = '', versionId = ''] = rest.split(':');
    if ((versionStage && versionStage !== 'AWSCURRENT') || versionId) {
      throw new TemplateResolutionError(`${describeWhere(where)}: secret versions other than AWSCURRENT are not supported locally`);
    }
    const logicalId = Object.keys(this.template.Resources).find((id) => {
      const resource = this.template.Resources[id]!;
      if (resource.Type !== 'AWS::SecretsManager::Secret' || !this.isIncluded(id)) return false;
      const arn = this.identity(id).ref;
      const name = arn.split(':')[6]?.replace(/-[A-Za-z0-9]{6}$/, '');
      return secretId === arn || secretId === name;
    });
    if (logicalId === undefined) {
      throw new TemplateResolutionError(`${describeWhere(where)}: dynamic reference to secret ${secretId}, which the template does not declare`);
    }
    const value = this.secretValue(logicalId);
    if (!jsonKey) return value;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new TemplateResolutionError(`${describeWhere(where)}: secret ${logicalId} is not JSON, so it has no key ${jsonKey}`);
    }
    const field = (parsed as Record<string, unknown> | null)?.[jsonKey];
    if (field === undefined) {
      throw new TemplateResolutionError(`${describeWhere(where)}: secret ${logicalId} has no key ${jsonKey}`);
    }
    return typeof field === 'string' ? field : JSON.stringify(field);
  }
}

function splitOnce(text: string, separator: string): string[] {
  const index = text.indexOf(separator);
  return index < 0 ? [text] : [text.slice(0, index), text.slice(index + 1)];
}

function scalar(value: unknown, fn: string, where: Where): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TemplateResolutionError(`${describeWhere(where)}: ${fn} needs strings, got ${value === NO_VALUE ? 'AWS::NoValue' : JSON.stringify(value)}`);
}
