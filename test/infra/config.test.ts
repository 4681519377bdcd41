import { App, RemovalPolicy } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../lib/config';
import { cdkJsonContext } from './synth';

const problemsOf = (raw: Record<string, unknown>): string[] => {
  try {
    parseConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('config', () => {
  it('accepts the cdk.json defaults', () => {
    const config = parseConfig(cdkJsonContext);
    expect(config.stage).toBe(cdkJsonContext.stage);
    expect(config.shardCount).toBe(cdkJsonContext.shardCount);
    expect(config.generatorRate).toBe(cdkJsonContext.generatorRate);
  });

  it('coerces the strings that -c key=value passes', () => {
    const app = new App({
      context: {
        ...cdkJsonContext,
        stage: 'local',
        shardCount: '3',
        streamMode: 'ON_DEMAND',
        streamRetentionHours: '48',
        apiRateLimit: '12.5',
        apiBurstLimit: '20',
        apiQuotaLimit: '100000',
        apiQuotaPeriod: 'WEEK',
        corsAllowedOrigins: 'https://shop.example.com, http://localhost:5173',
        generatorEnabled: 'false',
        generatorRate: 'rate(5 minutes)',
        generatorEventsPerRun: '500',
        generatorInvalidShare: '0.5',
        logRetentionDays: '30',
        removalPolicy: 'retain',
        tableCapacity: 'provisioned',
        tableMinWriteCapacity: '10',
        tableMaxWriteCapacity: '400',
        tableMinReadCapacity: '2',
        tableMaxReadCapacity: '50',
        eventsTtlDays: '7',
        byUserProjection: 'KEYS_ONLY',
        streamBatchingWindowSeconds: '5',
        streamBatchSize: '500',
        aggregateWriteShards: '8',
        rawArchive: 'false',
        auroraSink: 'true',
        rawArchiveIaDays: '60',
        rawArchiveBufferMb: '8',
        rawArchiveBufferSeconds: '60',
        alarmEmail: ' ops@example.com ',
      },
    });
    expect(loadConfig(app.node)).toEqual({
      stage: 'local',
      shardCount: 3,
      streamMode: 'ON_DEMAND',
      streamRetentionHours: 48,
      apiRateLimit: 12.5,
      apiBurstLimit: 20,
      apiQuotaLimit: 100_000,
      apiQuotaPeriod: 'WEEK',
      corsAllowedOrigins: ['https://shop.example.com', 'http://localhost:5173'],
      generatorEnabled: false,
      generatorRate: 'rate(5 minutes)',
      generatorEventsPerRun: 500,
      generatorInvalidShare: 0.5,
      logRetentionDays: 30,
      logLevel: cdkJsonContext.logLevel,
      removalPolicy: RemovalPolicy.RETAIN,
      tableCapacity: 'provisioned',
      tableMinWriteCapacity: 10,
      tableMaxWriteCapacity: 400,
      tableMinReadCapacity: 2,
      tableMaxReadCapacity: 50,
      eventsTtlDays: 7,
      byUserProjection: 'KEYS_ONLY',
      streamBatchingWindowSeconds: 5,
      streamBatchSize: 500,
      aggregateWriteShards: 8,
      rawArchive: false,
      auroraSink: true,
      rawArchiveIaDays: 60,
      rawArchiveBufferMb: 8,
      rawArchiveBufferSeconds: 60,
      alarmEmail: 'ops@example.com',
    });
  });

  it('checks the cost knobs: capacity mode, bounds, TTL, projection, batching', () => {
    expect(
      problemsOf({
        ...cdkJsonContext,
        tableCapacity: 'reserved',
        tableMinWriteCapacity: '0',
        eventsTtlDays: '-1',
        byUserProjection: 'SOME',
        streamBatchingWindowSeconds: '301',
        streamBatchSize: '20000',
      }),
    ).toEqual([
      expect.stringMatching(/^tableCapacity: expected on-demand or provisioned \(got "reserved"\)$/),
      expect.stringMatching(/^tableMinWriteCapacity: expected an integer from 1 to 40000 \(got "0"\)$/),
      expect.stringMatching(/^eventsTtlDays: expected an integer from 0 to 3650 \(got "-1"\)$/),
      expect.stringMatching(/^byUserProjection: expected ALL, KEYS_ONLY or INCLUDE \(got "SOME"\)$/),
      expect.stringMatching(/^streamBatchingWindowSeconds: expected an integer from 0 to 300 \(got "301"\)$/),
      expect.stringMatching(/^streamBatchSize: expected an integer from 1 to 10000 \(got "20000"\)$/),
    ]);
    expect(problemsOf({ ...cdkJsonContext, tableMinReadCapacity: 50, tableMaxReadCapacity: '10' })).toEqual([
      expect.stringMatching(/^tableMaxReadCapacity: expected at least tableMinReadCapacity \(50\) \(got "10"\)$/),
    ]);
  });

  it('defaults to no CORS origins and no quota', () => {
    const config = parseConfig(cdkJsonContext);
    expect(config.corsAllowedOrigins).toEqual([]);
    expect(config.apiQuotaLimit).toBe(0);
  });

  it.each([
    [['https://shop.example.com'], ['https://shop.example.com']],
    [['https://shop.example.com:8443', 'http://localhost:3000', 'http://127.0.0.1:5173'], ['https://shop.example.com:8443', 'http://localhost:3000', 'http://127.0.0.1:5173']],
    ['["https://a.example.com","https://b.example.com"]', ['https://a.example.com', 'https://b.example.com']],
    ['https://a.example.com,https://b.example.com', ['https://a.example.com', 'https://b.example.com']],
    ['', []],
    ['[]', []],
  ])('reads corsAllowedOrigins %j', (corsAllowedOrigins, expected) => {
    expect(parseConfig({ ...cdkJsonContext, corsAllowedOrigins }).corsAllowedOrigins).toEqual(expected);
  });

  it.each([
    '*',
    'null',
    'http://shop.example.com',
    'https://shop.example.com/',
    'https://shop.example.com/path',
    'https://*.example.com',
    'https://Shop.Example.com',
    'shop.example.com',
    'https://shop.example.com:99999',
    'http://localhost',
    'http://192.168.1.10:8080',
    'https://user@shop.example.com',
  ])('refuses the CORS origin %j: https origins only, or http://localhost:port', (origin) => {
    expect(problemsOf({ ...cdkJsonContext, corsAllowedOrigins: [origin] })).toEqual([
      expect.stringMatching(/^corsAllowedOrigins\.0: expected an https origin .* \(got \[.*\]\)$/),
    ]);
  });

  it('refuses a repeated origin, a string where a list belongs, and quota settings out of range', () => {
    expect(
      problemsOf({
        ...cdkJsonContext,
        corsAllowedOrigins: ['https://a.example.com', 'https://a.example.com'],
        apiQuotaLimit: '-1',
        apiQuotaPeriod: 'YEAR',
      }),
    ).toEqual([
      expect.stringMatching(/^apiQuotaLimit: expected an integer from 0 to 2000000000 \(got "-1"\)$/),
      expect.stringMatching(/^apiQuotaPeriod: expected DAY, WEEK or MONTH \(got "YEAR"\)$/),
      expect.stringMatching(/^corsAllowedOrigins: expected each origin once/),
    ]);
    expect(problemsOf({ ...cdkJsonContext, corsAllowedOrigins: 42 })).toEqual([expect.stringMatching(/^corsAllowedOrigins: expected a list of origins \(got 42\)$/)]);
  });

  it('names every bad key, its problem and the value it got, in one error', () => {
    const problems = problemsOf({
      ...cdkJsonContext,
      stage: 'my stage',
      shardCount: 'two',
      streamMode: 'SOMETIMES',
      streamRetentionHours: '12',
      apiBurstLimit: 1.5,
      generatorEnabled: 'yes',
      generatorInvalidShare: '1.5',
      logRetentionDays: 10,
      removalPolicy: 'snapshot',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^stage: .*letters, digits and hyphens.*"my stage"/),
      expect.stringMatching(/^shardCount: expected an integer from 1 to 500 \(got "two"\)$/),
      expect.stringMatching(/^streamMode: expected PROVISIONED or ON_DEMAND \(got "SOMETIMES"\)$/),
      expect.stringMatching(/^streamRetentionHours: expected an integer from 24 to 8760 \(got "12"\)$/),
      expect.stringMatching(/^apiBurstLimit: expected an integer .* \(got 1.5\)$/),
      expect.stringMatching(/^generatorEnabled: expected true or false \(got "yes"\)$/),
      expect.stringMatching(/^generatorInvalidShare: expected a number from 0 to 1 \(got "1.5"\)$/),
      expect.stringMatching(/^logRetentionDays: expected one of .*\b14\b.* \(got 10\)$/),
      expect.stringMatching(/^removalPolicy: expected destroy or retain \(got "snapshot"\)$/),
    ]);
  });

  it('says which keys are missing', () => {
    const { generatorRate: _rate, logLevel: _level, ...rest } = cdkJsonContext;
    const problems = problemsOf(rest);
    expect(problems).toEqual([
      expect.stringMatching(/^generatorRate: .*\(it is missing\)$/),
      expect.stringMatching(/^logLevel: .*\(it is missing\)$/),
    ]);
  });

  it.each(['rate(1 minute)', 'rate(5 minutes)', 'rate(2 hours)', 'rate(1 day)', 'cron(0/5 * * * ? *)'])(
    'accepts the schedule %s',
    (generatorRate) => {
      expect(parseConfig({ ...cdkJsonContext, generatorRate }).generatorRate).toBe(generatorRate);
    },
  );

  it.each(['rate(5 minute)', 'rate(1 minutes)', 'rate(0 minutes)', 'every minute', 'cron(* * * *)'])(
    'refuses the schedule %s, which EventBridge would reject at deploy time',
    (generatorRate) => {
      expect(problemsOf({ ...cdkJsonContext, generatorRate })).toEqual([expect.stringMatching(/^generatorRate: /)]);
    },
  );

  it('prints the problems in the error message', () => {
    expect(() => parseConfig({ ...cdkJsonContext, shardCount: 0 })).toThrow(
      /Invalid CDK context \(set it in cdk.json "context" or with -c key=value\):\n {2}- shardCount: expected an integer from 1 to 500 \(got 0\)/,
    );
  });
});
