import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cents, DEFAULT_COST_INPUTS, estimateCost, type CostInputs } from '../../../tools/cli/cost';
import { CHEAPEST_DOCUMENTED, compareCosts, configOf, COST_KNOBS, costInputsFromConfig, formatComparison, readCdkContext } from '../../../tools/cli/cost-context';
import { PRICES } from '../../../tools/cli/prices';

// A configuration worked out by hand from the price table (us-east-1):
//   10 events/s, 10 events per request, 824-byte events (raw record 824 + 120 = 944 B,
//   stored event 824 + 200 = 1,024 B = exactly 1 KB), 10% invalid, a quarter of the stored
//   events without a user_id (so three quarters go to the ByUser index too), Kinesis provisioned with
//   1 shard per stream, 100 records per validator/loader batch (a 20 s batching window fills
//   them: 10 and 9 records/s x 20 s > 100), 20 aggregate items per 100 stored events, tables
//   on-demand, no TTL, ByUser projecting ALL. Month = 730 h = 2,628,000 s.
const HAND_CHECKED: CostInputs = {
  ...DEFAULT_COST_INPUTS,
  eventsPerSecond: 10,
  batchSize: 10,
  eventBytes: 824,
  invalidShare: 0.1,
  anonymousShare: 0.25,
  kinesisMode: 'provisioned',
  minShards: 1,
  streamBatchSize: 100,
  streamBatchingWindowSeconds: 20,
  collector: { memoryMb: 256, durationMs: 100 },
  validator: { memoryMb: 512, durationMs: 200 },
  loader: { memoryMb: 512, durationMs: 400 },
  aggregateItemsPer100Events: 20,
  sink: 'dynamodb',
  tableCapacity: 'on-demand',
  eventsTtlDays: 0,
  byUserProjection: 'ALL',
  // Worked out without the raw archive; its lines are checked in cost-archive.test.ts.
  archive: undefined,
};

describe('estimateCost', () => {
  it('reproduces the hand-checked example to the cent', () => {
    const report = estimateCost(HAND_CHECKED);
    const monthly = Object.fromEntries(report.lines.map((line) => [line.component, cents(line.monthly)]));

    // events = 10 x 2,628,000 = 26,280,000; valid = 23,652,000; invalid = 2,628,000
    expect(report.eventsPerMonth).toBe(26_280_000);
    // API: 26,280,000 / 10 = 2,628,000 requests x $3.50/M = 9.198
    expect(monthly['API Gateway REST']).toBe(9.2);
    // collector: 2,628,000 invocations x 0.1 s x 0.25 GB = 65,700 GB-s x 0.0000133334 = 0.876004
    //            + 2.628 M requests x $0.20 = 0.5256 -> 1.401604
    expect(monthly['Lambda collector']).toBe(1.4);
    // validator: 26,280,000 / 100 = 262,800 invocations x 0.2 s x 0.5 GB = 26,280 GB-s = 0.350402
    //            + 0.2628 M x $0.20 = 0.05256 -> 0.402962
    expect(monthly['Lambda validator']).toBe(0.4);
    // loader: 23,652,000 / 100 = 236,520 invocations x 0.4 s x 0.5 GB = 47,304 GB-s = 0.630723
    //         + 0.23652 M x $0.20 = 0.047304 -> 0.678027
    expect(monthly['Lambda loader']).toBe(0.68);
    // Kinesis: 2 shards x 730 h x $0.015 = 21.90; PUT units (every record under 25 KB = 1 unit):
    //          26,280,000 + 23,652,000 = 49,932,000 x $0.014/M = 0.699048 -> 22.599048
    expect(monthly['Kinesis provisioned']).toBe(22.6);
    // SQS: 10 dead letters per batch of 100 fit one SendMessageBatch (10 x 1,224 B < 64 KB):
    //      262,800 requests x $0.40/M = 0.10512
    expect(monthly['SQS (dead letters)']).toBe(0.11);
    // DynamoDB: table: 23,652,000 event puts x 1 WRU (1,024 B) + 236,520 batches x 20 updates
    //           (4,730,400) = 28,382,400 WRU, written in transactions: x 2 = 56,764,800 WRU;
    //           ByUser index: 75% of 23,652,000 = 17,739,000 events with a user_id x 1 WRU
    //           = 17,739,000 WRU; 74,503,800 WRU x $0.625/M = 46.564875.
    expect(monthly['DynamoDB on-demand']).toBe(46.56);
    //           Storage: table 23,652,000 x 1,024 B = 22.556305 GiB, index 17,739,000 x 1,024 B
    //           = 16.917229 GiB; 39.473534 GiB x $0.25 = 9.868383 (46.564875 + 9.868383 = 56.433258)
    expect(monthly['DynamoDB storage']).toBe(9.87);
    // total 9.198 + 1.401604 + 0.402962 + 0.678027 + 22.599048 + 0.10512 + 56.433258 = 90.818019;
    // per million events 90.818019 / 26.28 = 3.455785
    expect(cents(report.totalMonthly)).toBe(90.82);
    expect(report.totalPerMillionEvents).toBeCloseTo(3.455785, 5);
    expect(report.lines.find((l) => l.component === 'API Gateway REST')?.perMillionEvents).toBeCloseTo(0.35, 6);
  });

  it('writes only the events with a user_id to the ByUser index', () => {
    const wru = (anonymousShare: number) =>
      Number(/^([\d,]+) table \(transactional\) \+ ([\d,]+) ByUser index WRU/.exec(estimateCost({ ...HAND_CHECKED, anonymousShare }).lines.find((l) => l.component === 'DynamoDB on-demand')!.basis)?.[2]?.replaceAll(',', ''));
    expect(wru(0)).toBe(23_652_000);
    expect(wru(0.25)).toBe(17_739_000);
    expect(wru(1)).toBe(0);
    expect(DEFAULT_COST_INPUTS.anonymousShare).toBeGreaterThan(0);
  });

  it('names the pricing page of each component and the date of its prices', () => {
    const report = estimateCost(HAND_CHECKED);
    expect(Object.fromEntries(report.lines.map((l) => [l.component, l.priceSource]))).toEqual({
      'API Gateway REST': 'https://aws.amazon.com/api-gateway/pricing/',
      'Lambda collector': 'https://aws.amazon.com/lambda/pricing/',
      'Lambda validator': 'https://aws.amazon.com/lambda/pricing/',
      'Lambda loader': 'https://aws.amazon.com/lambda/pricing/',
      'Kinesis provisioned': 'https://aws.amazon.com/kinesis/data-streams/pricing/',
      'SQS (dead letters)': 'https://aws.amazon.com/sqs/pricing/',
      'DynamoDB on-demand': 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
      'DynamoDB storage': 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    });
    expect(report.prices).toEqual({
      sources: [
        'https://aws.amazon.com/api-gateway/pricing/',
        'https://aws.amazon.com/lambda/pricing/',
        'https://aws.amazon.com/kinesis/data-streams/pricing/',
        'https://aws.amazon.com/sqs/pricing/',
        'https://aws.amazon.com/dynamodb/pricing/on-demand/',
      ],
      asOf: PRICES.asOf,
      region: 'us-east-1',
    });
    expect(report.prices.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(estimateCost({ ...HAND_CHECKED, sink: 'aurora' }).prices.sources).toContain('https://aws.amazon.com/rds/aurora/pricing/');
  });

  it('adds shards when the throughput needs them', () => {
    // 2,500 events/s of 944-byte raw records: 2.36 MB/s -> 3 shards; 2,500 records/s -> 3 shards.
    const report = estimateCost({ ...HAND_CHECKED, eventsPerSecond: 2_500, invalidShare: 0 });
    expect(report.lines.find((l) => l.component === 'Kinesis provisioned')?.basis).toMatch(/^3\+3 shards/);
  });

  it('prices on-demand Kinesis per stream-hour and per GB with records rounded up to 1 KB', () => {
    const report = estimateCost({ ...HAND_CHECKED, kinesisMode: 'on-demand' });
    // 2 x 730 x 0.04 = 58.40; in: (26,280,000 + 23,652,000) x 1 KB = 47.6189 GiB x 0.08 = 3.809509;
    // out: (26,280,000 x 944 + 23,652,000 x 1,024) B = 45.6604 GiB x 0.04 = 1.826434 -> 64.035943
    expect(cents(report.lines.find((l) => l.component === 'Kinesis on-demand')!.monthly)).toBe(64.04);
  });

  it('prices Aurora Serverless v2 as the sink by ACU-hours, I/O and storage', () => {
    const report = estimateCost({ ...HAND_CHECKED, sink: 'aurora', auroraAverageAcu: 0.5 });
    // 0.5 x 730 x 0.12 = 43.80; I/O (23,652,000 + 4,730,400) x $0.20/M = 5.67648;
    // storage 22.5563 GiB x 0.10 = 2.255630 -> 51.73211
    expect(cents(report.lines.find((l) => l.component === 'Aurora Serverless v2')!.monthly)).toBe(51.73);
    expect(report.lines.some((l) => l.component.startsWith('DynamoDB'))).toBe(false);
  });

  it('adds the SQL sink (context auroraSink) beside DynamoDB: SqlSink, Aurora and the Data API, hand-checked', () => {
    expect(costInputsFromConfig(configOf(readCdkContext(['auroraSink=true']))).sqlSink).toBe(true);
    expect(costInputsFromConfig(configOf(readCdkContext([]))).sqlSink).toBe(false);
    const report = estimateCost({ ...HAND_CHECKED, sqlSink: true, auroraAverageAcu: 0.5 });
    const monthly = Object.fromEntries(report.lines.map((line) => [line.component, cents(line.monthly)]));
    // SqlSink: 23,652,000 / 100 = 236,520 invocations x 0.15 s x 0.25 GB = 8,869.5 GB-s = 0.118262
    //          + 0.23652 M requests x $0.20 = 0.047304 -> 0.165566
    expect(monthly['Lambda SQL sink']).toBe(0.17);
    // Aurora: 0.5 x 730 x 0.12 = 43.80; I/O (23,652,000 + 236,520) x $0.20/M = 4.777704;
    //         storage 22.5563 GiB x 0.10 = 2.255630 -> 50.833334
    expect(monthly['Aurora (SQL sink)']).toBe(50.83);
    // Data API: a batch of 100 x (1,024 + 1,050) B = 207,400 B = 7 units of 32 KB, + 4 calls = 11
    //           per invocation x 236,520 = 2,601,720 x $0.35/M = 0.910602
    expect(monthly['RDS Data API']).toBe(0.91);
    // DynamoDB stays: the SQL sink is a second sink, not instead of it.
    expect(report.lines.some((l) => l.component === 'DynamoDB on-demand')).toBe(true);
    expect(estimateCost(HAND_CHECKED).lines.some((l) => l.component.includes('SQL sink'))).toBe(false);
  });

  it('prices provisioned tables at the auto scaled level for the rate (70% utilization), hand-checked', () => {
    const report = estimateCost({
      ...HAND_CHECKED,
      tableCapacity: 'provisioned',
      tableMinWriteCapacity: 5,
      tableMaxWriteCapacity: 1000,
      tableMinReadCapacity: 5,
      tableMaxReadCapacity: 500,
    });
    const line = report.lines.find((l) => l.component === 'DynamoDB provisioned')!;
    // Write units as on-demand, per second of the 2,628,000 s month, over 0.7, rounded up:
    //   Events 47,304,000 (transactional) / 2,628,000 = 18 /s -> 25.71 -> 26 WCU
    //   Aggregates 9,460,800 (transactional) / 2,628,000 = 3.6 /s -> 5.14 -> 6 WCU
    //   ByUser 17,739,000 / 2,628,000 = 6.75 /s -> 9.64 -> 10 WCU
    //   42 WCU x 730 h x $0.00065 = 19.929; reads at the minimum: 3 x 5 RCU x 730 h x $0.00013
    //   = 1.4235 -> 21.3525
    expect(line.basis).toMatch(/^26 \+ 6 \+ 10 WCU .* 3 x 5 RCU/);
    expect(line.priceSource).toBe('https://aws.amazon.com/dynamodb/pricing/provisioned/');
    expect(line.monthly).toBeCloseTo(21.3525, 6);
    expect(report.lines.some((l) => l.component === 'DynamoDB on-demand')).toBe(false);
    // Storage does not depend on the capacity mode: 9.868383 as on-demand.
    expect(cents(report.lines.find((l) => l.component === 'DynamoDB storage')!.monthly)).toBe(9.87);
    // Below the need the capacity is capped at the max (and the writes would be throttled), above it
    // raised to the min.
    const capped = estimateCost({ ...HAND_CHECKED, tableCapacity: 'provisioned', tableMinWriteCapacity: 8, tableMaxWriteCapacity: 20 });
    expect(capped.lines.find((l) => l.component === 'DynamoDB provisioned')!.basis).toMatch(/^20 \+ 8 \+ 10 WCU .*THROTTLED above tableMaxWriteCapacity 20: Events needs 26/);
  });

  it('prices TTL as N days of events kept (steady state), hand-checked', () => {
    // 808-byte events: stored 808 + 200 + 16 (expires_at) = 1,024 B, still 1 WRU.
    const withTtl: CostInputs = { ...HAND_CHECKED, eventBytes: 808, eventsTtlDays: 7 };
    const report = estimateCost(withTtl);
    const monthly = Object.fromEntries(report.lines.map((line) => [line.component, line.monthly]));
    // Kept: 9 valid events/s x 7 days x 86,400 s = 5,443,200 events; table 5,443,200 x 1,024 B
    // = 5.191040 GiB, index (75% with a user_id, ALL) 3.893280 GiB; 9.084320 GiB x $0.25 = 2.271080
    expect(monthly['DynamoDB storage']).toBeCloseTo(2.27108, 5);
    // TTL deletes are free: the writes are those without TTL (46.564875).
    expect(monthly['DynamoDB on-demand']).toBeCloseTo(46.564875, 5);
    // KEYS_ONLY: the index holds 94 B per event: 4,082,400 x 94 B = 0.357391 GiB;
    // (5.191040 + 0.357391) x $0.25 = 1.387108. Its writes stay 1 WRU each (at least 1 per item).
    const keysOnly = estimateCost({ ...withTtl, byUserProjection: 'KEYS_ONLY' });
    expect(keysOnly.lines.find((l) => l.component === 'DynamoDB storage')!.monthly).toBeCloseTo(1.387108, 5);
    expect(keysOnly.lines.find((l) => l.component === 'DynamoDB on-demand')!.monthly).toBeCloseTo(46.564875, 5);
    // expires_at can push an item over a KB: 824 + 200 + 16 = 1,040 B costs 2 write units, in the
    // table (2 x (23,652,000 x 2 + 4,730,400) = 104,068,800) and in an ALL index (17,739,000 x 2).
    const over = estimateCost({ ...HAND_CHECKED, eventsTtlDays: 7 }).lines.find((l) => l.component === 'DynamoDB on-demand')!;
    expect(over.basis).toMatch(/^104,068,800 table \(transactional\) \+ 35,478,000 ByUser index WRU/);
  });

  it('batches by the window: fewer, larger validator and loader invocations', () => {
    const base = { ...HAND_CHECKED, eventsPerSecond: 100, streamBatchSize: 500 };
    const invocations = (inputs: CostInputs, component: string) =>
      Number(/^([\d,]+) invocations/.exec(estimateCost(inputs).lines.find((l) => l.component === component)!.basis)![1]!.replaceAll(',', ''));
    // No window: one invocation per second per shard (100 records); 5 s: 500 records.
    expect(invocations({ ...base, streamBatchingWindowSeconds: 0 }, 'Lambda validator')).toBe(2_628_000);
    expect(invocations({ ...base, streamBatchingWindowSeconds: 5 }, 'Lambda validator')).toBe(525_600);
    // The loader: 90 valid records/s x 5 s = 450 per invocation -> 236,520,000 / 450.
    expect(invocations({ ...base, streamBatchingWindowSeconds: 5 }, 'Lambda loader')).toBe(525_600);
  });

  it('refuses inputs that make no sense', () => {
    expect(() => estimateCost({ ...HAND_CHECKED, eventsPerSecond: 0 })).toThrow(/--rate/);
    expect(() => estimateCost({ ...HAND_CHECKED, batchSize: 501 })).toThrow(/--batch/);
    expect(() => estimateCost({ ...HAND_CHECKED, invalidShare: 1.5 })).toThrow(/--invalid-share/);
    expect(() => estimateCost({ ...HAND_CHECKED, anonymousShare: -0.1 })).toThrow(/--anonymous-share/);
  });
});

describe('the context: cdk.json and -c, validated as cdk synth does', () => {
  const cdkJson = JSON.parse(readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8')).context as Record<string, unknown>;

  it('reads cdk.json, with -c on top', () => {
    expect(readCdkContext([])).toEqual(cdkJson);
    const context = readCdkContext(['tableCapacity=provisioned', 'eventsTtlDays=7']);
    expect(context).toMatchObject({ tableCapacity: 'provisioned', eventsTtlDays: '7' });
    const inputs = costInputsFromConfig(configOf(context));
    expect(inputs).toMatchObject({ tableCapacity: 'provisioned', eventsTtlDays: 7, byUserProjection: 'ALL', kinesisMode: 'provisioned', minShards: 1 });
  });

  it('the defaults of cdk.json price as DEFAULT_COST_INPUTS', () => {
    expect(costInputsFromConfig(configOf(cdkJson))).toEqual(DEFAULT_COST_INPUTS);
  });

  it('refuses what synth would refuse, and keys the app does not have', () => {
    expect(() => configOf(readCdkContext(['tableCapacity=reserved']))).toThrow(/tableCapacity: expected on-demand or provisioned/);
    expect(() => readCdkContext(['tableCapacty=provisioned'])).toThrow(/-c tableCapacty: not a context key/);
    expect(() => readCdkContext(['eventsTtlDays'])).toThrow(/-c takes key=value/);
  });
});

describe('cost --compare', () => {
  const context = readCdkContext([]);
  const comparison = compareCosts(context, (config) => costInputsFromConfig(config));
  const total = (label: string) => comparison.columns.find((c) => c.label === label)!.report.totalPerMillionEvents;

  it('prices the context, each knob alone and the cheapest documented configuration', () => {
    expect(comparison.columns.map((c) => c.label)).toEqual(['context', ...COST_KNOBS.map((k) => k.label), CHEAPEST_DOCUMENTED.label]);
    expect(total('context')).toBeCloseTo(estimateCost(DEFAULT_COST_INPUTS).totalPerMillionEvents, 10);
    expect(total('provisioned')).toBeLessThan(total('context'));
    expect(total('TTL 7 d')).toBeLessThan(total('context'));
    expect(total('KEYS_ONLY')).toBeLessThan(total('INCLUDE'));
    expect(total('INCLUDE')).toBeLessThan(total('context'));
    for (const knob of COST_KNOBS) expect(total(CHEAPEST_DOCUMENTED.label)).toBeLessThanOrEqual(total(knob.label));
  });

  it('prints one row per component and the totals, a column per configuration', () => {
    const text = formatComparison(comparison);
    const lines = text.split('\n');
    const header = lines.find((line) => line.startsWith('$ per million events'))!;
    expect(header.split(/\s{2,}/)).toEqual(['$ per million events', 'context', 'provisioned', 'TTL 7 d', 'KEYS_ONLY', 'INCLUDE', 'window 5 s, batch 500', 'cheapest documented']);
    const row = (name: string) => lines.find((line) => line.startsWith(name))!.slice(name.length).trim().split(/\s+/);
    expect(row('DynamoDB on-demand')).toHaveLength(7);
    expect(row('DynamoDB provisioned')[0]).toBe('-');
    expect(row('total $/M events').map(Number)).toEqual(comparison.columns.map((c) => Number(c.report.totalPerMillionEvents.toFixed(4))));
    expect(text).toContain('cheapest documented: -c tableCapacity=provisioned -c eventsTtlDays=7');
  });

  it('runs as a command, reading -c like cdk deploy', async () => {
    const run = promisify(execFile);
    const root = new URL('../../../', import.meta.url).pathname;
    const { stdout } = await run('npx', ['tsx', 'bin/pipeline.ts', 'cost', '--compare', '-c', 'eventsTtlDays=30'], { cwd: root });
    expect(stdout).toMatch(/^\$ per million events +context +provisioned/m);
    // The context column keeps 30 days; the TTL column sets 7.
    const expected = compareCosts(readCdkContext(['eventsTtlDays=30']), (config) => costInputsFromConfig(config));
    expect(stdout.trimEnd()).toBe(formatComparison(expected));
    await expect(run('npx', ['tsx', 'bin/pipeline.ts', 'cost', '-c', 'streamBatchingWindowSeconds=301'], { cwd: root })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/streamBatchingWindowSeconds: expected an integer from 0 to 300/),
    });
  }, 60_000);
});
