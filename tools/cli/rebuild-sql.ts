import type { EnrichedEvent } from '../../lambdas/shared/events';
import { DataApi, isTransientDataApiError, sqlParam, type DataApiSender, type DataApiTarget } from '../../lambdas/shared/data-api';
import { STORED_BY_SQL } from '../../lambdas/sql-sink/rows';
import { backoffDelay, DEFAULT_RETRY_POLICY, systemClock } from '../../lambdas/shared/retry';
import { DataApiEventStore, type SqlOutcome } from '../../lambdas/sql-sink/store';
import type { Progress } from './progress';

/**
 * `pipeline rebuild` on the SQL sink (context auroraSink): the archive's valid events of the hours
 * put into `ecommerce_events` with the sink's own write (`INSERT ... ON CONFLICT (event_id) DO
 * NOTHING`, in transactions of up to 500), so an event the table lacks is added and one it holds
 * is left as it is. The SQL views compute their hours from `ecommerce_events`, so nothing else is
 * rebuilt. Rows written here carry `stored_source` REBUILD_SOURCE.
 */
export const REBUILD_SOURCE = 'archive-rebuild';

export interface SqlRebuildReport {
  /** Valid archived events of the hours. */
  events: number;
  /** Added to ecommerce_events by this run. */
  added: number;
  /** Already there (stored by the sink, or by an earlier rebuild). */
  present: number;
  dryRun: boolean;
}

/** How many of `events` ecommerce_events lacks (dry run), or adds them (the sink's own write). */
export async function rebuildSqlSink(
  sender: DataApiSender,
  target: DataApiTarget,
  events: readonly EnrichedEvent[],
  options: { dryRun: boolean; progress?: Progress },
): Promise<SqlRebuildReport> {
  const api = new DataApi(sender, target);
  const store = new DataApiEventStore(api);
  const report: SqlRebuildReport = { events: events.length, added: 0, present: 0, dryRun: options.dryRun };
  for (let start = 0; start < events.length; start += store.maxEntriesPerWrite) {
    const chunk = events.slice(start, start + store.maxEntriesPerWrite);
    if (options.dryRun) {
      const present = await presentIds(api, chunk.map((event) => event.event_id));
      report.present += chunk.filter((event) => present.has(event.event_id)).length;
    } else {
      const result = await retried(() => store.write(chunk.map((event) => ({ event, source: REBUILD_SOURCE }))));
      if (result.kind === 'invalid') throw new Error(`the SQL sink refused an archived event: ${result.message}`);
      const outcomes: SqlOutcome[] = result.outcomes;
      report.added += outcomes.filter((outcome) => outcome === 'created').length;
      report.present += outcomes.filter((outcome) => outcome !== 'created').length;
    }
    options.progress?.increment(chunk.length);
  }
  if (options.dryRun) report.added = 0;
  return report;
}

/** A transaction that failed transiently (Aurora resuming, throttling) wrote nothing: it is run again. */
async function retried<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isTransientDataApiError(error) || attempt >= DEFAULT_RETRY_POLICY.maxAttempts) throw error;
      await systemClock.sleep(backoffDelay(attempt, DEFAULT_RETRY_POLICY, systemClock.random));
    }
  }
}

/** Which of the ids ecommerce_events holds (the sink's own ownership query). */
async function presentIds(api: DataApi, ids: readonly string[]): Promise<Set<string>> {
  const answer = await api.execute(STORED_BY_SQL, [sqlParam.text('event_ids', ids.join(','))]);
  return new Set((answer.records ?? []).map((row) => row[0]?.stringValue ?? ''));
}

/** One line for the terminal. */
export function formatSqlRebuild(report: SqlRebuildReport): string {
  const missing = report.events - report.present;
  return report.dryRun
    ? `SQL sink: ${report.events} valid archived event(s) of these hours, ${report.present} in ecommerce_events, ${missing} missing (dry run: nothing written)`
    : `SQL sink: ${report.events} valid archived event(s) of these hours, ${report.added} added to ecommerce_events, ${report.present} already there`;
}
