import { DATA_API_PERMISSIONS } from '../shared/data-api-permissions';
import type { FunctionPermissions } from '../shared/permissions';

/**
 * Every AWS call the SqlSink's code makes (lib/constructs/sql-sink.ts grants exactly these):
 * - the RDS Data API on the Aurora cluster (store.ts via shared/data-api.ts): BeginTransaction,
 *   BatchExecuteStatement (the inserts), ExecuteStatement (who stored each event, the batch's
 *   quality row), CommitTransaction, RollbackTransaction;
 * - secretsmanager:GetSecretValue on the cluster's secret: the Data API reads the database
 *   credentials with the caller's permissions;
 * - SendMessageBatchCommand (events the database refused, via loader/dead-letters.ts) on the
 *   DeadLetterQueue: IAM authorizes SendMessageBatch as `sqs:SendMessage`.
 * Reading the processed stream is Lambda's event source mapping, granted by the construct.
 */
export const permissions = {
  ...DATA_API_PERMISSIONS,
  sqs: { DeadLetterQueue: ['sqs:SendMessage'] },
} as const satisfies FunctionPermissions;
