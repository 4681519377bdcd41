import { Command, Option } from 'commander';
import { cents, DEFAULT_COST_INPUTS, estimateCost, type CostInputs, type CostReport } from '../cost';
import { compareCosts, configOf, costInputsFromConfig, formatComparison, readCdkContext } from '../cost-context';
import { printJson, table } from '../format';
import { action, integer, number } from './kit';

export function registerCost(program: Command): void {
  program
    .command('cost')
    .description('monthly cost of a configuration at a given rate and batch size, per component and per million events')
    .option('-c, --context <key=value>', 'CDK context, as cdk deploy takes it (repeatable); on top of cdk.json\'s "context"', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--compare', 'the context, each cost knob alone and the cheapest documented configuration, side by side')
    .option('--rate <eventsPerSecond>', 'average events per second', number('--rate', 0), DEFAULT_COST_INPUTS.eventsPerSecond)
    .option('--batch <n>', 'events per ingest request', integer('--batch', 1, 500), DEFAULT_COST_INPUTS.batchSize)
    .option('--event-bytes <n>', 'average event size as sent', integer('--event-bytes', 1), DEFAULT_COST_INPUTS.eventBytes)
    .option('--invalid-share <share>', 'share of invalid events', number('--invalid-share', 0, 1), DEFAULT_COST_INPUTS.invalidShare)
    .option(
      '--anonymous-share <share>',
      'share of stored events without a user_id (the others are written to the ByUser index too; default: what the traffic generator produces)',
      number('--anonymous-share', 0, 1),
      DEFAULT_COST_INPUTS.anonymousShare,
    )
    .addOption(new Option('--kinesis <mode>', 'Kinesis capacity mode (default: the context\'s streamMode)').choices(['provisioned', 'on-demand']))
    .option('--shards <n>', 'provisioned: at least this many shards per stream (default: the context\'s shardCount)', integer('--shards', 1))
    .option('--stream-batch <n>', 'records per validator/loader invocation at most (default: the context\'s streamBatchSize)', integer('--stream-batch', 1, 10_000))
    .option('--collector-ms <ms>', 'collector billed duration per request', number('--collector-ms', 1), DEFAULT_COST_INPUTS.collector.durationMs)
    .option('--validator-ms <ms>', 'validator billed duration per batch of up to 100', number('--validator-ms', 1), DEFAULT_COST_INPUTS.validator.durationMs)
    .option('--loader-ms <ms>', 'loader billed duration per batch of up to 100', number('--loader-ms', 1), DEFAULT_COST_INPUTS.loader.durationMs)
    .option('--aggregate-keys <n>', 'aggregate items the loader writes per 100 stored events', number('--aggregate-keys', 0), DEFAULT_COST_INPUTS.aggregateItemsPer100Events)
    .addOption(new Option('--sink <sink>', 'where events are stored').choices(['dynamodb', 'aurora']).default(DEFAULT_COST_INPUTS.sink))
    .option('--acu <n>', 'Aurora Serverless v2 average ACUs (--sink aurora, or the SQL sink of -c auroraSink=true)', number('--acu', 0), DEFAULT_COST_INPUTS.auroraAverageAcu)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nNeeds no outputs file. The stack\'s knobs (streamMode, shardCount, tableCapacity and its bounds, eventsTtlDays,' +
        '\nbyUserProjection, streamBatchingWindowSeconds, streamBatchSize, rawArchive and its settings) come from cdk.json\'s "context" and -c key=value,' +
        '\nvalidated as cdk synth validates them. Prices: tools/cli/prices.ts (us-east-1, list prices, no free tier).' +
        '\nThe raw archive\'s S3 line prices the month when it holds 12 months of records; Athena queries are not included.',
    )
    .action(
      action(async (options) => {
        const context = readCdkContext(options.context);
        const inputsOf = (config: Parameters<typeof costInputsFromConfig>[0]): CostInputs => {
          const fromContext = costInputsFromConfig(config);
          return {
            ...fromContext,
            eventsPerSecond: options.rate,
            batchSize: options.batch,
            eventBytes: options.eventBytes,
            invalidShare: options.invalidShare,
            anonymousShare: options.anonymousShare,
            kinesisMode: options.kinesis ?? fromContext.kinesisMode,
            minShards: options.shards ?? fromContext.minShards,
            streamBatchSize: options.streamBatch ?? fromContext.streamBatchSize,
            collector: { ...DEFAULT_COST_INPUTS.collector, durationMs: options.collectorMs },
            validator: { ...DEFAULT_COST_INPUTS.validator, durationMs: options.validatorMs },
            loader: { ...DEFAULT_COST_INPUTS.loader, durationMs: options.loaderMs },
            aggregateItemsPer100Events: options.aggregateKeys,
            sink: options.sink,
            auroraAverageAcu: options.acu,
          };
        };
        if (options.compare) {
          const comparison = compareCosts(context, inputsOf);
          if (options.json) printJson(comparison);
          else console.log(formatComparison(comparison));
          return;
        }
        const report = estimateCost(inputsOf(configOf(context)));
        if (options.json) printJson(report);
        else printCost(report);
      }),
    );
}

function printCost(report: CostReport): void {
  const i = report.inputs;
  console.log(
    `${i.eventsPerSecond} events/s (${Math.round(report.eventsPerMonth).toLocaleString('en-US')} a month), ${i.batchSize} per request, ` +
      `${i.eventBytes} B each, ${percent(i.invalidShare)} invalid, ${i.sink === 'dynamodb' ? `${percent(i.anonymousShare)} anonymous, ` : ''}` +
      `Kinesis ${i.kinesisMode}, sink ${i.sink}${i.sqlSink ? ` + SQL sink (Aurora, ${i.auroraAverageAcu} ACU average)` : ''}`,
  );
  if (i.sink === 'dynamodb') {
    console.log(
      `tables ${i.tableCapacity}${i.tableCapacity === 'provisioned' ? ` (WCU ${i.tableMinWriteCapacity}-${i.tableMaxWriteCapacity}, RCU ${i.tableMinReadCapacity}-${i.tableMaxReadCapacity})` : ''}, ` +
        `events ${i.eventsTtlDays > 0 ? `kept ${i.eventsTtlDays} days (TTL)` : 'kept forever'}, ByUser ${i.byUserProjection}, ` +
        `stream batches of up to ${i.streamBatchSize}, window ${i.streamBatchingWindowSeconds} s`,
    );
  }
  console.log('');
  console.log(
    table(
      ['component', '$/month', '$/M events', 'basis'],
      [
        ...report.lines.map((l) => [l.component, money(l.monthly), money(l.perMillionEvents, 4), l.basis]),
        ['total', money(report.totalMonthly), money(report.totalPerMillionEvents, 4), ''],
      ],
    ),
  );
  console.log(`\nPrices: ${report.prices.region} list prices as of ${report.prices.asOf}, no free tier, from:`);
  for (const page of report.prices.sources) console.log(`  ${page}`);
}

/** 0.02 -> "2%", 0.215 -> "21.5%", without float noise (0.07 * 100 = 7.000000000000001). */
function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

function money(value: number, digits = 2): string {
  return digits === 2 ? cents(value).toFixed(2) : value.toFixed(digits);
}
