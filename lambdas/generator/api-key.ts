import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

let cached: { secretArn: string; apiKey: Promise<string> } | undefined;

/**
 * The ingest API key from its secret (JSON `{"apiKey": "..."}`), read once per container.
 * A failed read is not cached, so the next invocation tries again.
 */
export function apiKeyFromSecret(secrets: Pick<SecretsManagerClient, 'send'>, secretArn: string): Promise<string> {
  if (cached?.secretArn === secretArn) return cached.apiKey;
  const apiKey = readApiKey(secrets, secretArn);
  cached = { secretArn, apiKey };
  apiKey.catch(() => {
    if (cached?.apiKey === apiKey) cached = undefined;
  });
  return apiKey;
}

async function readApiKey(secrets: Pick<SecretsManagerClient, 'send'>, secretArn: string): Promise<string> {
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
  let parsed: unknown;
  try {
    parsed = JSON.parse(SecretString ?? '');
  } catch {
    throw new Error(`secret ${secretArn} is not JSON`);
  }
  const apiKey = (parsed as { apiKey?: unknown } | null)?.apiKey;
  if (typeof apiKey !== 'string' || apiKey === '') {
    throw new Error(`secret ${secretArn} has no "apiKey" string`);
  }
  return apiKey;
}

/** Forget the cached key (tests; a rotated key). */
export function clearApiKeyCache(): void {
  cached = undefined;
}
