import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { DataApi, isTransientDataApiError, rdsDataClient } from '../shared/data-api';
import { errorMessageOf } from '../shared/error-message';
import { getStringFromEnv } from '../shared/env';
import { ENV } from '../shared/env-names';
import { logger } from '../shared/powertools';
import { migrate } from './migrate';

/**
 * The SqlSchema custom resource's onEvent handler (Provider framework): on create and update,
 * applies the migrations not yet applied; on delete, leaves the data alone (the cluster's removal
 * policy decides its fate). Aurora at zero capacity answers DatabaseResumingException while it
 * resumes (seconds to a minute): that, and other transient errors, are retried for up to 4 minutes.
 */
const RETRY_BUDGET_MS = 4 * 60_000;
const PHYSICAL_ID = 'sql-schema';

export async function handler(event: CloudFormationCustomResourceEvent): Promise<{ PhysicalResourceId: string; Data?: Record<string, unknown> }> {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const api = new DataApi(rdsDataClient(), {
    resourceArn: getStringFromEnv(ENV.sqlSink.AURORA_CLUSTER_ARN),
    secretArn: getStringFromEnv(ENV.sqlSink.AURORA_SECRET_ARN),
    database: getStringFromEnv(ENV.sqlSink.AURORA_DATABASE_NAME),
  });
  const started = Date.now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      const report = await migrate(api);
      logger.info('Migrations applied', { ...report });
      return { PhysicalResourceId: PHYSICAL_ID, Data: { SchemaVersion: report.current } };
    } catch (error) {
      if (!isTransientDataApiError(error) || Date.now() - started > RETRY_BUDGET_MS) throw error;
      logger.warn('Migration attempt failed, retrying', { attempt, error: errorMessageOf(error) });
      await new Promise((resolve) => setTimeout(resolve, Math.min(15_000, 1_000 * 2 ** (attempt - 1))));
    }
  }
}
