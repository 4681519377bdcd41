import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { DataApi } from '../../lambdas/shared/data-api';
import { migrate, type MigrationReport } from '../../lambdas/sql-migrations/migrate';
import type { RdsDataService } from './services/rds-data';
import type { LocalResource } from './types';

/**
 * The template's Aurora clusters on the local RDS Data API (one PGlite database each), and its
 * SqlSchema custom resources: the same migrations the custom resource's function applies on AWS,
 * run here through the local Data API before any function starts.
 */
export async function provisionSqlDatabases(opts: {
  resources: LocalResource[];
  rdsData: RdsDataService;
  endpoint: string;
  region: string;
  log?: (line: string) => void;
}): Promise<MigrationReport[]> {
  const clusters = opts.resources.filter((resource) => resource.type === 'AWS::RDS::DBCluster');
  if (clusters.length === 0) return [];
  for (const cluster of clusters) {
    const databaseName = typeof cluster.properties.DatabaseName === 'string' ? cluster.properties.DatabaseName : 'postgres';
    opts.rdsData.addCluster({ arn: cluster.attributes.DBClusterArn!, databaseName });
  }
  await opts.rdsData.ready();
  const client = new RDSDataClient({ endpoint: opts.endpoint, region: opts.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 3 });
  try {
    const reports: MigrationReport[] = [];
    for (const schema of opts.resources.filter((resource) => resource.type === 'Custom::SqlSchema')) {
      const { ClusterArn, SecretArn, DatabaseName } = schema.properties;
      if (typeof ClusterArn !== 'string' || typeof SecretArn !== 'string' || typeof DatabaseName !== 'string') {
        throw new Error(`${schema.logicalId}: ClusterArn, SecretArn and DatabaseName must resolve to strings`);
      }
      const report = await migrate(new DataApi(client, { resourceArn: ClusterArn, secretArn: SecretArn, database: DatabaseName }));
      opts.log?.(`SQL schema ${schema.logicalId}: version ${report.current} (applied ${report.applied.join(', ') || 'none'})`);
      reports.push(report);
    }
    return reports;
  } finally {
    client.destroy();
  }
}
