import { randomBytes, randomInt, randomUUID } from 'node:crypto';

/**
 * A small in-process Secrets Manager: enough of the JSON API for the functions (the generator
 * reads the API key), the SDKs and the AWS CLI (get-secret-value, describe-secret, list-secrets).
 * Values live in memory for the life of the local cloud, like every other local service.
 */

export interface LocalSecret {
  arn: string;
  name: string;
  value: string;
  versionId: string;
  description?: string;
  createdAt: Date;
}

export interface ServiceResponse {
  status: number;
  body: unknown;
}

const PUNCTUATION = `!"#$%&'()*+,-./:;<=>?@[\\]^_\`{|}~`;
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();
const DIGITS = '0123456789';

/** The `GenerateSecretString` property of AWS::SecretsManager::Secret. */
export interface GenerateSecretStringSpec {
  SecretStringTemplate?: string;
  GenerateStringKey?: string;
  PasswordLength?: number;
  ExcludeCharacters?: string;
  ExcludeLowercase?: boolean;
  ExcludeUppercase?: boolean;
  ExcludeNumbers?: boolean;
  ExcludePunctuation?: boolean;
  IncludeSpace?: boolean;
}

/** Generates a value the way Secrets Manager does for GenerateSecretString (default length 32). */
export function generateSecretString(spec: GenerateSecretStringSpec): string {
  let alphabet = '';
  if (spec.ExcludeLowercase !== true) alphabet += LOWER;
  if (spec.ExcludeUppercase !== true) alphabet += UPPER;
  if (spec.ExcludeNumbers !== true) alphabet += DIGITS;
  if (spec.ExcludePunctuation !== true) alphabet += PUNCTUATION;
  if (spec.IncludeSpace === true) alphabet += ' ';
  const excluded = new Set(spec.ExcludeCharacters ?? '');
  const chars = [...alphabet].filter((c) => !excluded.has(c));
  if (chars.length === 0) throw new Error('GenerateSecretString excludes every character');
  const length = Number(spec.PasswordLength ?? 32);
  if (!Number.isInteger(length) || length < 1 || length > 4096) {
    throw new Error(`GenerateSecretString PasswordLength must be 1..4096, got ${String(spec.PasswordLength)}`);
  }
  const password = Array.from({ length }, () => chars[randomInt(chars.length)]).join('');
  if (spec.GenerateStringKey === undefined) return password;
  const template = spec.SecretStringTemplate ?? '{}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(template);
  } catch {
    throw new Error('GenerateSecretString SecretStringTemplate is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('GenerateSecretString SecretStringTemplate must be a JSON object');
  }
  return JSON.stringify({ ...(parsed as Record<string, unknown>), [spec.GenerateStringKey]: password });
}

/** A secret ARN as Secrets Manager shapes it: the name plus a dash and six random characters. */
export function secretArn(region: string, accountId: string, name: string): string {
  const suffix = randomBytes(6)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, 'x')
    .slice(0, 6);
  return `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`;
}

function error(type: string, message: string, status = 400): ServiceResponse {
  return { status, body: { __type: type, message, Message: message } };
}

function describe(secret: LocalSecret): Record<string, unknown> {
  return {
    ARN: secret.arn,
    Name: secret.name,
    Description: secret.description,
    CreatedDate: secret.createdAt.getTime() / 1000,
    LastChangedDate: secret.createdAt.getTime() / 1000,
    VersionIdsToStages: { [secret.versionId]: ['AWSCURRENT'] },
  };
}

export class SecretsManagerService {
  private readonly secrets = new Map<string, LocalSecret>();

  constructor(
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  /** Stores a secret under a known ARN (the one the template's Ref resolved to). */
  put(secret: { arn?: string; name: string; value: string; description?: string }): LocalSecret {
    const stored: LocalSecret = {
      arn: secret.arn ?? secretArn(this.region, this.accountId, secret.name),
      name: secret.name,
      value: secret.value,
      versionId: randomUUID(),
      description: secret.description,
      createdAt: new Date(),
    };
    this.secrets.set(stored.arn, stored);
    return stored;
  }

  /** Finds a secret by full ARN, by ARN without its random suffix, or by name. */
  find(secretId: string): LocalSecret | undefined {
    const direct = this.secrets.get(secretId);
    if (direct) return direct;
    for (const secret of this.secrets.values()) {
      if (secret.name === secretId) return secret;
      if (secretId.startsWith('arn:') && secret.arn.startsWith(`${secretId}-`)) return secret;
    }
    return undefined;
  }

  list(): LocalSecret[] {
    return [...this.secrets.values()];
  }

  /** Handles one JSON 1.1 request; `operation` is the part of X-Amz-Target after `secretsmanager.`. */
  handle(operation: string, body: Record<string, unknown>): ServiceResponse {
    const secretId = typeof body.SecretId === 'string' ? body.SecretId : undefined;
    const notFound = (): ServiceResponse =>
      error('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    switch (operation) {
      case 'GetSecretValue': {
        const secret = secretId ? this.find(secretId) : undefined;
        if (!secret) return notFound();
        return {
          status: 200,
          body: {
            ARN: secret.arn,
            Name: secret.name,
            VersionId: secret.versionId,
            SecretString: secret.value,
            VersionStages: ['AWSCURRENT'],
            CreatedDate: secret.createdAt.getTime() / 1000,
          },
        };
      }
      case 'DescribeSecret': {
        const secret = secretId ? this.find(secretId) : undefined;
        return secret ? { status: 200, body: describe(secret) } : notFound();
      }
      case 'ListSecrets':
        return { status: 200, body: { SecretList: this.list().map(describe) } };
      case 'CreateSecret': {
        const name = body.Name;
        const value = body.SecretString;
        if (typeof name !== 'string' || name === '') return error('InvalidParameterException', 'Name is required');
        if (typeof value !== 'string') {
          return error('InvalidParameterException', 'SecretString is required (SecretBinary is not supported locally)');
        }
        if (this.find(name)) return error('ResourceExistsException', `The secret ${name} already exists.`);
        const created = this.put({
          name,
          value,
          description: typeof body.Description === 'string' ? body.Description : undefined,
        });
        return { status: 200, body: { ARN: created.arn, Name: created.name, VersionId: created.versionId } };
      }
      case 'PutSecretValue': {
        const secret = secretId ? this.find(secretId) : undefined;
        if (!secret) return notFound();
        if (typeof body.SecretString !== 'string') {
          return error('InvalidParameterException', 'SecretString is required (SecretBinary is not supported locally)');
        }
        secret.value = body.SecretString;
        secret.versionId = randomUUID();
        return {
          status: 200,
          body: { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId, VersionStages: ['AWSCURRENT'] },
        };
      }
      default:
        return error('UnknownOperationException', `secretsmanager.${operation} is not emulated by the local cloud`);
    }
  }
}
