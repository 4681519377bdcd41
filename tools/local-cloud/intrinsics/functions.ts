/** CloudFormation's intrinsic functions (Ref and pseudo parameters, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::If, ...), evaluated for the resolver. */
import { describeWhere, NO_VALUE, TemplateResolutionError, type ResolutionContext, type Where } from './model';

/** Ref: a pseudo parameter, a parameter's Default, or a resource's identity. */
function ref(ctx: ResolutionContext, name: string, where: Where): unknown {
  const { region, accountId, stackName } = ctx.options;
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
  const parameter = ctx.template.Parameters?.[name];
  if (parameter) {
    if (parameter.Default === undefined) {
      throw new TemplateResolutionError(`${describeWhere(where)}: parameter ${name} has no Default, and the local cloud takes no parameter values`);
    }
    return parameter.Default;
  }
  return ctx.identity(name, where).ref;
}

/** One `{ "Fn::...": argument }` (or `Ref`, `Condition`), its argument not yet resolved. */
export function intrinsic(ctx: ResolutionContext, fn: string, argument: unknown, where: Where): unknown {
  const fail = (message: string): never => {
    throw new TemplateResolutionError(`${describeWhere(where)}: ${fn} ${message}`);
  };
  switch (fn) {
    case 'Ref':
      if (typeof argument !== 'string') fail('expects a name');
      return ref(ctx, argument as string, where);
    case 'Condition':
      if (typeof argument !== 'string') fail('expects a condition name');
      return ctx.condition(argument as string, where);
    case 'Fn::GetAtt': {
      const parts = typeof argument === 'string' ? splitOnce(argument, '.') : Array.isArray(argument) ? argument.map((a) => ctx.resolve(a, where)) : [];
      const [logicalId, attribute] = parts;
      if (typeof logicalId !== 'string' || typeof attribute !== 'string') fail('expects [logicalId, attribute]');
      return ctx.getAtt(logicalId as string, attribute as string, where);
    }
    case 'Fn::Join': {
      if (!Array.isArray(argument) || argument.length !== 2) fail('expects [delimiter, list]');
      const [delimiter, list] = argument as [unknown, unknown];
      const items = ctx.resolve(list, where);
      if (typeof delimiter !== 'string' || !Array.isArray(items)) fail('expects a string delimiter and a list');
      return (items as unknown[]).map((item) => scalar(item, fn, where)).join(delimiter as string);
    }
    case 'Fn::Sub':
      return sub(ctx, argument, where);
    case 'Fn::Select': {
      if (!Array.isArray(argument) || argument.length !== 2) fail('expects [index, list]');
      const [indexArgument, listArgument] = argument as [unknown, unknown];
      const index = Number(ctx.resolve(indexArgument, where));
      const list = ctx.resolve(listArgument, where);
      if (!Array.isArray(list)) fail('expects a list');
      const items = list as unknown[];
      if (!Number.isInteger(index) || index < 0 || index >= items.length) fail(`index ${index} is out of range`);
      return items[index];
    }
    case 'Fn::Split': {
      if (!Array.isArray(argument) || argument.length !== 2) fail('expects [delimiter, string]');
      const [delimiter, sourceArgument] = argument as [unknown, unknown];
      const source = ctx.resolve(sourceArgument, where);
      if (typeof delimiter !== 'string' || typeof source !== 'string') fail('expects a string delimiter and a string');
      return (source as string).split(delimiter as string);
    }
    case 'Fn::If': {
      if (!Array.isArray(argument) || argument.length !== 3 || typeof argument[0] !== 'string') fail('expects [condition, ifTrue, ifFalse]');
      const [name, ifTrue, ifFalse] = argument as [string, unknown, unknown];
      return ctx.resolve(ctx.condition(name, where) ? ifTrue : ifFalse, where);
    }
    case 'Fn::Equals': {
      if (!Array.isArray(argument) || argument.length !== 2) fail('expects two values');
      const [a, b] = (argument as unknown[]).map((v) => ctx.resolve(v, where));
      return JSON.stringify(a) === JSON.stringify(b);
    }
    case 'Fn::And':
    case 'Fn::Or': {
      if (!Array.isArray(argument) || argument.length < 1) fail('expects a list of conditions');
      const values = (argument as unknown[]).map((v) => ctx.resolve(v, where));
      if (!values.every((v) => typeof v === 'boolean')) fail('expects conditions');
      return fn === 'Fn::And' ? values.every(Boolean) : values.some(Boolean);
    }
    case 'Fn::Not': {
      const [inner] = Array.isArray(argument) ? argument : [];
      const value = ctx.resolve(inner, where);
      if (typeof value !== 'boolean') fail('expects one condition');
      return !value;
    }
    case 'Fn::FindInMap': {
      if (!Array.isArray(argument) || argument.length < 3) fail('expects [map, topKey, secondKey]');
      const [map, top, second] = (argument as unknown[]).slice(0, 3).map((v) => ctx.resolve(v, where)) as [string, string, string];
      const found = ctx.template.Mappings?.[map]?.[top]?.[second];
      if (found === undefined) fail(`finds nothing at ${map}.${top}.${second}`);
      return found;
    }
    case 'Fn::GetAZs':
      return ['a', 'b', 'c'].map((zone) => `${ctx.options.region}${zone}`);
    case 'Fn::Base64': {
      const text = ctx.resolve(argument, where);
      if (typeof text !== 'string') fail('expects a string');
      return Buffer.from(text as string, 'utf8').toString('base64');
    }
    case 'Fn::ToJsonString':
      return JSON.stringify(ctx.resolve(argument, where));
    case 'Fn::Length': {
      const list = ctx.resolve(argument, where);
      if (!Array.isArray(list)) fail('expects a list');
      return (list as unknown[]).length;
    }
    default:
      return fail('is not supported by the local cloud');
  }
}

function sub(ctx: ResolutionContext, argument: unknown, where: Where): string {
  let text: unknown;
  let variables: Record<string, unknown> = {};
  if (typeof argument === 'string') text = argument;
  else if (Array.isArray(argument) && argument.length === 2) {
    text = argument[0];
    const resolved = ctx.resolve(argument[1], where);
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
      return ctx.getAtt(name.slice(0, dot), name.slice(dot + 1), where);
    }
    return scalar(ref(ctx, name, where), 'Fn::Sub', where);
  });
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
