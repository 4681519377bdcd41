import { describe, expect, it } from 'vitest';
import { cents, DEFAULT_COST_INPUTS, estimateCost, type CostInputs } from '../../../lib/cli/cost';
import { PRICES } from '../../../lib/cli/prices';

// A configuration worked out by hand from the price table (us-east-1):
//   10 events/s, 10 events per request, 824-byte events (raw record 824 + 120 = 944 B,
//   stored event 824 + 200 = 1,024 B = exactly 1 KB), 10% invalid, a quarter of the stored
//   events without a user_id (so three quarters go to the ByUser index too), Kinesis provisioned with
//   1 shard per stream, 100 records per validator/loader batch, 20 aggregate items per batch.
//   Month = 730 h = 2,628,000 s.
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
  collector: { memoryMb: 256, durationMs: 100 },
  validator: { memoryMb: 512, durationMs: 200 },
  loader: { memoryMb: 512, durationMs: 400 },
  aggregateKeysPerBatch: 20,
  sink: 'dynamodb',
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
    //           Storage: table 23,652,000 x 1,024 B = 22.556305 GiB, index 17,739,000 x 1,024 B
    //           = 16.917229 GiB; 39.473534 GiB x $0.25 = 9.868383 -> 56.433258
    expect(monthly['DynamoDB on-demand']).toBe(56.43);
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

  it('refuses inputs that make no sense', () => {
    expect(() => estimateCost({ ...HAND_CHECKED, eventsPerSecond: 0 })).toThrow(/--rate/);
    expect(() => estimateCost({ ...HAND_CHECKED, batchSize: 501 })).toThrow(/--batch/);
    expect(() => estimateCost({ ...HAND_CHECKED, invalidShare: 1.5 })).toThrow(/--invalid-share/);
    expect(() => estimateCost({ ...HAND_CHECKED, anonymousShare: -0.1 })).toThrow(/--anonymous-share/);
  });
});
