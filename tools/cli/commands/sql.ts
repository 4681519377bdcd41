import { Command } from 'commander';
import { CliError } from '../errors';
import { printJson } from '../format';
import { DEFAULT_MAX_ROWS, DEFAULT_MAX_WIDTH, formatQueryResult, queryResultJson, runReadOnlyQuery } from '../sql';
import { action, integer, target } from './kit';

export function registerSql(program: Command): void {
  program
    .command('sql')
    .description('Run one read-only query on the SQL sink (Aurora PostgreSQL through the RDS Data API, or the local cloud) and print a table')
    .argument('<query>', 'the SQL, e.g. "SELECT * FROM v_hourly_event_summary ORDER BY hour DESC"')
    .option('--max-rows <n>', 'print at most this many rows', integer('--max-rows', 1, 1000), DEFAULT_MAX_ROWS)
    .option('--max-width <n>', 'cut each cell to this many characters', integer('--max-width', 4, 1000), DEFAULT_MAX_WIDTH)
    .option('--json', 'print JSON: {"columns": [...], "rows": [{...}], "truncated": false}')
    .addHelpText(
      'after',
      '\nThe query runs in a READ ONLY transaction that is rolled back. Needs the outputs AuroraClusterArn,' +
        '\nAuroraSecretArn and AuroraDatabaseName: deploy, or npm start, with -c auroraSink=true.' +
        '\nViews: v_hourly_event_summary, v_category_performance, v_user_segment_analysis, v_data_quality_dashboard.',
    )
    .action(
      action(async (query: string, options: { maxRows: number; maxWidth: number; json?: boolean }, command: Command) => {
        const t = await target(command);
        if (!t.outputs.values.AuroraClusterArn) {
          throw new CliError(`${t.outputs.file} (stack ${t.outputs.stackName}) has no SQL sink: deploy or start it with -c auroraSink=true`);
        }
        const result = await runReadOnlyQuery(
          t.rdsData(),
          { resourceArn: t.output('AuroraClusterArn'), secretArn: t.output('AuroraSecretArn'), database: t.output('AuroraDatabaseName') },
          query,
          { maxRows: options.maxRows },
        );
        if (options.json) printJson(queryResultJson(result));
        else console.log(formatQueryResult(result, options.maxWidth));
      }),
    );
}
