import { RemovalPolicy } from 'aws-cdk-lib';
import { StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { z } from 'zod';

// Values given with `-c key=value` arrive as strings, values from cdk.json keep their JSON type:
// accept both, and leave anything else untouched so the schema reports it.
function fromContextString(value: unknown): unknown {
  if (typeof value !== 'string' || value.trim() === '') return value;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : value;
}

const numberFromContext = (min: number, max: number, { integer }: { integer: boolean }) => {
  const expected = `expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`;
  const base = z.number({ error: expected }).min(min, expected).max(max, expected);
  return z.preprocess(fromContextString, integer ? base.int(expected) : base);
};

const booleanFromContext = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  const normalised = value.trim().toLowerCase();
  if (normalised === 'true') return true;
  if (normalised === 'false') return false;
  return value;
}, z.boolean({ error: 'expected true or false' }));

const RETENTION_DAYS = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number');

// EventBridge accepts `rate(1 minute)` but not `rate(1 minutes)` or `rate(5 minute)`.
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(\S+( \S+){5}\)$/;
function isScheduleExpression(expression: string): boolean {
  if (CRON.test(expression)) return true;
  const match = RATE.exec(expression);
  if (!match) return false;
  const amount = Number(match[1]);
  const unit = match[2] ?? '';
  return amount >= 1 && (amount === 1) === !unit.endsWith('s');
}

/**
 * A browser origin allowed to call the ingest API: `https://host[:port]`, or `http://localhost:port`
 * (also 127.0.0.1) for development. Exactly scheme, host and optional port, as browsers send
 * `Origin`: no path, no trailing slash, no wildcard, lower case.
 */
const HTTPS_ORIGIN = /^https:\/\/(?=.{1,253}(?::|$))[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$/;
const LOCAL_ORIGIN = /^http:\/\/(?:localhost|127\.0\.0\.1):\d{1,5}$/;
export function isAllowedOriginSetting(origin: string): boolean {
  if (!HTTPS_ORIGIN.test(origin) && !LOCAL_ORIGIN.test(origin)) return false;
  const port = /:(\d+)$/.exec(origin.replace(/^https?:\/\//, ''))?.[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65_535);
}

// `-c corsAllowedOrigins=https://a.example,https://b.example` arrives as one string; cdk.json holds
// a JSON array. An empty string or `[]` means no CORS.
const originListFromContext = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    const trimmed = value.trim();
    if (trimmed.startsWith('[')) {
      try {
        return JSON.parse(trimmed) as unknown;
      } catch {
        return value;
      }
    }
    return trimmed === '' ? [] : trimmed.split(',').map((origin) => origin.trim());
  },
  z
    .array(
      z.string().refine(isAllowedOriginSetting, 'expected an https origin (https://shop.example.com[:port]) or http://localhost:<port>, without path or trailing slash'),
      { error: 'expected a list of origins' },
    )
    .max(20, 'expected at most 20 origins')
    .refine((origins) => new Set(origins).size === origins.length, 'expected each origin once'),
);

/** One address, as SNS email subscriptions take it: no display name, no list. */
const ALARM_EMAIL = /^[^\s@,;<>"]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export const API_QUOTA_PERIODS = ['DAY', 'WEEK', 'MONTH'] as const;

export const TABLE_CAPACITIES = ['on-demand', 'provisioned'] as const;
export const BY_USER_PROJECTIONS = ['ALL', 'KEYS_ONLY', 'INCLUDE'] as const;
/** The TTL attribute of a stored event: epoch seconds, received_at + eventsTtlDays. */
export const EVENTS_TTL_ATTRIBUTE = 'expires_at';
/**
 * What byUserProjection INCLUDE projects into ByUser besides the keys (event_id, user_id,
 * event_time): a user's timeline (what, in which session, which product, what it cost) without
 * a fetch from the table. Nothing in this repository queries ByUser yet; this is the list a
 * per-user history needs.
 */
export const BY_USER_INCLUDED_ATTRIBUTES = ['event_type', 'session_id', 'product_id', 'category', 'quantity', 'total_amount', 'currency'] as const;

const ConfigSchema = z.object({
  stage: z
    .string({ error: 'expected a string' })
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,31}$/, 'expected letters, digits and hyphens, starting with a letter, at most 32 characters'),
  shardCount: numberFromContext(1, 500, { integer: true }),
  streamMode: z.enum([StreamMode.PROVISIONED, StreamMode.ON_DEMAND], { error: 'expected PROVISIONED or ON_DEMAND' }),
  streamRetentionHours: numberFromContext(24, 8760, { integer: true }),
  apiRateLimit: numberFromContext(1, 10_000, { integer: false }),
  apiBurstLimit: numberFromContext(1, 5_000, { integer: true }),
  // Requests per API key per apiQuotaPeriod (the usage plan's quota); 0: no quota.
  apiQuotaLimit: numberFromContext(0, 2_000_000_000, { integer: true }),
  apiQuotaPeriod: z.enum(API_QUOTA_PERIODS, { error: 'expected DAY, WEEK or MONTH' }),
  // Browser origins allowed to call the API (CORS); empty: no CORS at all (no OPTIONS method, no
  // CORS headers), for producers that are servers.
  corsAllowedOrigins: originListFromContext,
  generatorEnabled: booleanFromContext,
  generatorRate: z
    .string({ error: 'expected a string' })
    .refine(isScheduleExpression, 'expected an EventBridge schedule such as rate(1 minute), rate(5 minutes) or cron(0/5 * * * ? *)'),
  // The contract's batch limit: one generator run posts one batch.
  generatorEventsPerRun: numberFromContext(1, 500, { integer: true }),
  generatorInvalidShare: numberFromContext(0, 1, { integer: false }),
  logRetentionDays: z
    .preprocess(
      fromContextString,
      z.union(RETENTION_DAYS.map((days) => z.literal(days)), {
        error: `expected one of CloudWatch Logs' retention periods: ${RETENTION_DAYS.join(', ')}`,
      }),
    )
    .transform((days) => days as RetentionDays),
  logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR'], { error: 'expected DEBUG, INFO, WARN or ERROR' }),
  removalPolicy: z
    .enum(['destroy', 'retain'], { error: 'expected destroy or retain' })
    .transform((policy) => (policy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY)),
  // The Events and Aggregates tables (and the ByUser index): pay per request, or provisioned
  // capacity auto scaled between these bounds on 70% target utilization.
  tableCapacity: z.enum(TABLE_CAPACITIES, { error: 'expected on-demand or provisioned' }),
  tableMinWriteCapacity: numberFromContext(1, 40_000, { integer: true }),
  tableMaxWriteCapacity: numberFromContext(1, 40_000, { integer: true }),
  tableMinReadCapacity: numberFromContext(1, 40_000, { integer: true }),
  tableMaxReadCapacity: numberFromContext(1, 40_000, { integer: true }),
  // 0: stored events are kept; N: each expires N days after received_at (TTL attribute expires_at).
  eventsTtlDays: numberFromContext(0, 3_650, { integer: true }),
  byUserProjection: z.enum(BY_USER_PROJECTIONS, { error: 'expected ALL, KEYS_ONLY or INCLUDE' }),
  // Both Kinesis consumers (validator, loader): wait up to this long to fill a batch of streamBatchSize.
  streamBatchingWindowSeconds: numberFromContext(0, 300, { integer: true }),
  streamBatchSize: numberFromContext(1, 10_000, { integer: true }),
  // Parts per aggregate item (lambdas/shared/aggregates.ts): more than one when many shards would
  // contend for one item. Only ever raise it: readers merge whatever parts exist.
  aggregateWriteShards: numberFromContext(1, 64, { integer: true }),
  // The SQL sink (lib/constructs/sql-sink.ts): an Aurora Serverless v2 PostgreSQL cluster (Data
  // API, scale to zero) and the SqlSink function on the processed stream. Off: no RDS resource at all.
  auroraSink: booleanFromContext,
  // Where the alarm topic (lib/constructs/observability.ts) sends email; empty: no subscription
  // (subscribe anything else to the AlarmTopicArn output).
  // The raw archive (lib/constructs/raw-archive.ts): Firehose copies the raw stream to S3, kept
  // for good, so `pipeline replay --from-archive` and `pipeline rebuild` outlive the stream's retention.
  rawArchive: booleanFromContext,
  // Days in S3 Standard before the archive's objects move to Standard-IA (S3's minimum is 30).
  rawArchiveIaDays: numberFromContext(30, 3_650, { integer: true }),
  // Firehose buffering hints: an object is written when this much has arrived or this long has passed.
  rawArchiveBufferMb: numberFromContext(1, 128, { integer: true }),
  rawArchiveBufferSeconds: numberFromContext(0, 900, { integer: true }),
  alarmEmail: z
    .string({ error: 'expected an email address or an empty string' })
    .trim()
    .refine((email) => email === '' || ALARM_EMAIL.test(email), 'expected an email address (name@example.com) or an empty string for none'),
});

/** Cross-key rules: an auto scaling range must not be upside down. */
const CheckedConfigSchema = ConfigSchema.superRefine((config, ctx) => {
  for (const kind of ['Write', 'Read'] as const) {
    const min = config[`tableMin${kind}Capacity`];
    const max = config[`tableMax${kind}Capacity`];
    if (max < min) {
      ctx.addIssue({ code: 'custom', path: [`tableMax${kind}Capacity`], message: `expected at least tableMin${kind}Capacity (${min})` });
    }
  }
});

export type PipelineConfig = z.output<typeof ConfigSchema>;

/** The context keys the app reads; their defaults live in cdk.json. */
export const CONFIG_KEYS = Object.keys(ConfigSchema.shape) as (keyof PipelineConfig)[];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid CDK context (set it in cdk.json "context" or with -c key=value):\n${problems
        .map((problem) => `  - ${problem}`)
        .join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** Validates raw context values; throws one ConfigError naming every bad key. */
export function parseConfig(raw: Record<string, unknown>): PipelineConfig {
  const result = CheckedConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.');
    // A list item's problem (corsAllowedOrigins.1) shows the whole value as it was given.
    const value = raw[String(issue.path[0])];
    const got = value === undefined ? 'it is missing' : `got ${JSON.stringify(value)}`;
    return `${key}: ${issue.message} (${got})`;
  });
  throw new ConfigError(problems);
}

/** Reads the app's config from CDK context (cdk.json defaults, overridden by -c key=value). */
export function loadConfig(node: Node): PipelineConfig {
  return parseConfig(Object.fromEntries(CONFIG_KEYS.map((key) => [key, node.tryGetContext(key)])));
}
