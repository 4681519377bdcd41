/** After the intrinsic functions: `{{resolve:secretsmanager:...}}` dynamic references, and execute-api URLs pointed at the local endpoint. */
import { describeWhere, TemplateResolutionError, type ResolutionContext, type Where } from './model';

export function localize(ctx: ResolutionContext, value: unknown, where: Where): unknown {
  if (typeof value === 'string') return localizeString(ctx, value, where);
  if (Array.isArray(value)) return value.map((item) => localize(ctx, item, where));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, localize(ctx, item, where)]));
  }
  return value;
}

function localizeString(ctx: ResolutionContext, text: string, where: Where): string {
  const withSecrets = text.replace(/\{\{resolve:([a-z-]+):(.*?)\}\}/g, (_match, service: string, reference: string) => {
    if (service !== 'secretsmanager') {
      throw new TemplateResolutionError(`${describeWhere(where)}: dynamic reference {{resolve:${service}:...}} is not supported locally (only secretsmanager)`);
    }
    return dynamicSecret(ctx, reference, where);
  });
  // The API's public URL points at the local endpoint, which serves /<stage>/... itself.
  return withSecrets.replace(
    /https:\/\/([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/g,
    (match, restApiId: string) => (ctx.restApiIds.has(restApiId) ? ctx.options.endpoint : match),
  );
}

/** `<arn-or-name>[:SecretString[:<jsonKey>[:<versionStage>[:<versionId>]]]]` */
function dynamicSecret(ctx: ResolutionContext, reference: string, where: Where): string {
  const marker = reference.indexOf(':SecretString');
  const secretId = marker >= 0 ? reference.slice(0, marker) : reference;
  const rest = marker >= 0 ? reference.slice(marker + ':SecretString'.length).replace(/^:/, '') : '';
  const [jsonKey = '', versionStage = '', versionId = ''] = rest.split(':');
  if ((versionStage && versionStage !== 'AWSCURRENT') || versionId) {
    throw new TemplateResolutionError(`${describeWhere(where)}: secret versions other than AWSCURRENT are not supported locally`);
  }
  const logicalId = Object.keys(ctx.template.Resources).find((id) => {
    const resource = ctx.template.Resources[id]!;
    if (resource.Type !== 'AWS::SecretsManager::Secret' || !ctx.isIncluded(id)) return false;
    const arn = ctx.identity(id).ref;
    const name = arn.split(':')[6]?.replace(/-[A-Za-z0-9]{6}$/, '');
    return secretId === arn || secretId === name;
  });
  if (logicalId === undefined) {
    throw new TemplateResolutionError(`${describeWhere(where)}: dynamic reference to secret ${secretId}, which the template does not declare`);
  }
  const value = ctx.secretValue(logicalId);
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
