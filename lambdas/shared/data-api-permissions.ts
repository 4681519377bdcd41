/**
 * What a function that talks to the SQL sink through `DataApi` (data-api.ts) needs: every RDS Data
 * API call that class sends, on the Aurora cluster, and secretsmanager:GetSecretValue on the
 * cluster's secret, which the Data API reads with the caller's permissions. The SqlSink and
 * SqlMigrations functions both list it in their permissions.ts.
 */
export const DATA_API_PERMISSIONS = {
  'rds-data': {
    AuroraCluster: [
      'rds-data:BatchExecuteStatement',
      'rds-data:BeginTransaction',
      'rds-data:CommitTransaction',
      'rds-data:ExecuteStatement',
      'rds-data:RollbackTransaction',
    ],
  },
  secretsmanager: { AuroraSecret: ['secretsmanager:GetSecretValue'] },
} as const;
