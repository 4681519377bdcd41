import { DATA_API_PERMISSIONS } from '../shared/data-api-permissions';
import type { FunctionPermissions } from '../shared/permissions';

/**
 * Every AWS call the SqlMigrations function's code makes (lib/constructs/sql-sink.ts grants
 * exactly these): the RDS Data API on the Aurora cluster through shared/data-api.ts (the migrations
 * use ExecuteStatement and the transaction calls; the shared DataApi class can also send
 * BatchExecuteStatement, so that is listed too), and secretsmanager:GetSecretValue on the
 * cluster's secret, which the Data API reads with the caller's permissions.
 */
export const permissions = { ...DATA_API_PERMISSIONS } as const satisfies FunctionPermissions;
