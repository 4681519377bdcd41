import type { FunctionPermissions } from '../shared/permissions';

/**
 * Every AWS call the Generator's code makes (lib/constructs grants exactly these; the tests hold
 * both sides to this list):
 * - GetSecretValueCommand (api-key.ts) on ApiKeySecret. Posting events goes to the ingest API
 *   over HTTPS with the API key, not through IAM.
 */
export const permissions = {
  secretsmanager: { ApiKeySecret: ['secretsmanager:GetSecretValue'] },
} as const satisfies FunctionPermissions;
