import { DescribeAlarmsCommand, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { alarmNamePrefix, METRIC } from '../../lambdas/shared/metric-names';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { CliError, explainError } from './errors';
import { formatAge } from './format';
import { ageSeconds, peekQueue, queueDepth } from './dlq';
import type { Target } from './outputs';
import { escapeControl } from './terminal-text';

export type Health = 'HEALTHY' | 'DEGRADED' | 'NO_DATA';

/** Scriptable exit codes; 1 stays "the command failed". */
export const STATUS_EXIT_CODES: Record<Health, number> = { HEALTHY: 0, DEGRADED: 2, NO_DATA: 3 };

export interface Thresholds {
  /** Valid / (valid + invalid) below this is DEGRADED. */
  minValidity: number;
  /** The oldest DeadLetterQueue message older than this is DEGRADED (nobody is looking at it). */
  maxDlqAgeSeconds: number;
  /** Stream iterator age above this is DEGRADED (the consumers fall behind). */
  maxIteratorAgeSeconds: number;
  /** Window for "recent": nothing received and nothing stored within it is NO_DATA. */
  windowSeconds: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  minValidity: 0.95,
  maxDlqAgeSeconds: 3600,
  maxIteratorAgeSeconds: 60,
  windowSeconds: 900,
};

/** What status looks at; counts are totals since start locally and over the window on AWS. */
export interface StatusSignals {
  source: 'local-counters' | 'cloudwatch';
  counts: Record<string, number>;
  dlqDepth: number;
  dlqOldestAgeSeconds?: number;
  /** Largest GetRecords iterator age over both streams (AWS). */
  iteratorAgeSeconds?: number;
  /**
   * Records written but not yet seen downstream, from the counters (local). Not floored: a
   * negative value means the counters disagree, which status says rather than hides.
   */
  backlog?: Backlog;
  lastStoredAt?: Date;
  /** How lastStoredAt was found, for the reader. */
  lastStoredBasis?: string;
  /** Messages in StreamFailureQueue: record ranges an event source gave up on (when the output is known). */
  streamFailureDepth?: number;
  /** The stack's CloudWatch alarms and their states (AWS: DescribeAlarms by the `<StackName>-` prefix). */
  alarms?: AlarmSignal[];
}

export interface AlarmSignal {
  name: string;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  reason: string;
  since?: Date;
}

export interface Reason {
  severity: 'degraded' | 'no_data' | 'warn' | 'info';
  message: string;
}

export interface StatusReport {
  status: Health;
  reasons: Reason[];
  signals: StatusSignals;
  thresholds: Thresholds;
}

const n = (counts: Record<string, number>, name: string) => counts[name] ?? 0;

export interface Backlog {
  /** First-pass events accepted by the collector and not yet judged by the validator. */
  validator: number;
  /** Events the validator handed on to the processed stream and the loader has not yet handled. */
  loader: number;
}

/**
 * From the counters: the validator's EventsValid / EventsInvalid count only first-pass records
 * (redriven and replayed ones have their own counters), so accepted - valid - invalid is what
 * the validator has still to judge. The loader gets first-pass valid, redriven-valid and replayed
 * events; a replay with --include-invalid (EventsReplayed counts the invalid ones too) or of the
 * processed stream makes its number approximate.
 */
export function backlogFrom(counts: Record<string, number>): Backlog {
  return {
    validator: n(counts, METRIC.EventsAccepted) - n(counts, METRIC.EventsValid) - n(counts, METRIC.EventsInvalid),
    loader:
      n(counts, METRIC.EventsValid) +
      n(counts, METRIC.EventsRedriven) +
      n(counts, METRIC.EventsReplayed) -
      n(counts, METRIC.EventsStored) -
      n(counts, METRIC.EventsDuplicate) -
      n(counts, METRIC.LoadFailed),
  };
}

/** The verdict: NO_DATA when nothing arrives or is stored; DEGRADED on any degrading reason. */
export function evaluateStatus(signals: StatusSignals, thresholds: Thresholds, now: Date): StatusReport {
  const reasons: Reason[] = [];
  const { counts } = signals;
  const received = n(counts, METRIC.EventsReceived) || n(counts, METRIC.EventsAccepted);
  const judged = n(counts, METRIC.EventsValid) + n(counts, METRIC.EventsInvalid);
  const scope = signals.source === 'cloudwatch' ? `in the last ${formatAge(thresholds.windowSeconds)}` : 'since the local cloud started';
  const storedAge = signals.lastStoredAt ? (now.getTime() - signals.lastStoredAt.getTime()) / 1000 : undefined;
  const storedRecently = storedAge !== undefined && storedAge <= thresholds.windowSeconds;
  const storedAny = n(counts, METRIC.EventsStored) > 0 || storedRecently;

  if (received === 0 && !storedAny) {
    reasons.push({
      severity: 'no_data',
      message: `no events received ${scope} and ${signals.lastStoredAt ? `the last stored event was ${formatAge(storedAge)} ago` : 'no stored event found'}`,
    });
  }
  if (judged > 0) {
    const validity = n(counts, METRIC.EventsValid) / judged;
    const line = `validity ${(validity * 100).toFixed(1)}% (${n(counts, METRIC.EventsValid)} valid, ${n(counts, METRIC.EventsInvalid)} invalid ${scope})`;
    reasons.push(
      validity < thresholds.minValidity
        ? { severity: 'degraded', message: `${line} is under ${(thresholds.minValidity * 100).toFixed(1)}%` }
        : { severity: 'info', message: line },
    );
  }
  if (signals.dlqDepth > 0) {
    const age = signals.dlqOldestAgeSeconds;
    const line = `${signals.dlqDepth} message(s) in the DeadLetterQueue, oldest ${formatAge(age)}`;
    reasons.push(
      age !== undefined && age > thresholds.maxDlqAgeSeconds
        ? { severity: 'degraded', message: `${line} (older than ${formatAge(thresholds.maxDlqAgeSeconds)}): see pipeline dlq stats` }
        : { severity: 'warn', message: `${line}: see pipeline dlq stats` },
    );
  }
  if (signals.iteratorAgeSeconds !== undefined) {
    const line = `stream iterator age ${formatAge(signals.iteratorAgeSeconds)}`;
    reasons.push(
      signals.iteratorAgeSeconds > thresholds.maxIteratorAgeSeconds
        ? { severity: 'degraded', message: `${line} is over ${formatAge(thresholds.maxIteratorAgeSeconds)}: the consumers fall behind` }
        : { severity: 'info', message: line },
    );
  }
  const redriven = n(counts, METRIC.EventsRedriven);
  const redriveFailed = n(counts, METRIC.EventsRedriveFailed);
  const replayed = n(counts, METRIC.EventsReplayed);
  if (redriven + redriveFailed + replayed > 0) {
    reasons.push({
      severity: 'info',
      message: `redriven ${redriven + redriveFailed} (${redriven} valid now, ${redriveFailed} still invalid), replayed ${replayed} ${scope}; not part of validity`,
    });
  }
  if (signals.backlog) {
    const { validator, loader } = signals.backlog;
    if (validator >= 0 && loader >= 0) {
      reasons.push({
        severity: 'info',
        message: `backlog: ${validator} raw record(s) not yet validated, ${loader} valid event(s) not yet loaded`,
      });
    }
    if (validator < 0) {
      reasons.push({
        severity: 'warn',
        message:
          `counters are inconsistent: the validator judged ${-validator} more first-pass event(s) than the collector accepted ` +
          '(EventsValid + EventsInvalid > EventsAccepted: records put on the raw stream by another producer, or a failure range ' +
          'replayed whose records the validator had judged already), so the backlog is unknown',
      });
    }
    if (loader < 0) {
      reasons.push({
        severity: 'warn',
        message:
          `counters are inconsistent: the loader handled ${-loader} more event(s) than the validator handed on ` +
          '(a replay of the processed stream does that), so the loader backlog is unknown',
      });
    }
  }
  if (n(counts, METRIC.LoadFailed) > 0) {
    // Not something a retry fixes: the loader gave up on these events (it logged each at ERROR).
    reasons.push({
      severity: 'degraded',
      message: `${n(counts, METRIC.LoadFailed)} event(s) failed to load ${scope} (reason load_failed in the DLQ): see pipeline dlq stats --reason load_failed`,
    });
  }
  if (signals.streamFailureDepth !== undefined && signals.streamFailureDepth > 0) {
    reasons.push({
      severity: 'degraded',
      message: `${signals.streamFailureDepth} record range(s) given up on in StreamFailureQueue: see pipeline replay`,
    });
  }
  if (signals.alarms) {
    const firing = signals.alarms.filter((alarm) => alarm.state === 'ALARM');
    for (const alarm of firing) {
      const since = alarm.since ? ` since ${alarm.since.toISOString()} (${formatAge((now.getTime() - alarm.since.getTime()) / 1000)} ago)` : '';
      reasons.push({ severity: 'degraded', message: `alarm ${alarm.name} is in ALARM${since}: ${alarm.reason}` });
    }
    if (signals.alarms.length === 0) {
      reasons.push({ severity: 'warn', message: 'no CloudWatch alarm of this stack found (deployed before the Observability construct?)' });
    } else if (firing.length === 0) {
      const noData = signals.alarms.filter((alarm) => alarm.state === 'INSUFFICIENT_DATA').length;
      reasons.push({
        severity: 'info',
        message: `alarms: none of ${signals.alarms.length} firing${noData > 0 ? ` (${noData} without data yet)` : ''}`,
      });
    }
  }
  if (received > 0 && n(counts, METRIC.EventsValid) > 0 && !storedAny) {
    reasons.push({ severity: 'degraded', message: `events are received and valid ${scope} but none was stored` });
  }
  if (signals.lastStoredAt) {
    reasons.push({ severity: 'info', message: `last stored event: ${signals.lastStoredAt.toISOString()} (${signals.lastStoredBasis ?? ''})` });
  }
  const status: Health = reasons.some((r) => r.severity === 'no_data')
    ? 'NO_DATA'
    : reasons.some((r) => r.severity === 'degraded')
      ? 'DEGRADED'
      : 'HEALTHY';
  return { status, reasons, signals, thresholds };
}

/** Local cloud: its counters from the functions' EMF lines, plus the DLQ and the Aggregates table. */
export async function localSignals(target: Target, now: Date): Promise<StatusSignals> {
  const endpoint = target.output('AwsEndpoint').replace(/\/+$/, '');
  let counts: Record<string, number>;
  try {
    const response = await fetch(`${endpoint}/_local/metrics`);
    if (!response.ok) throw new CliError(`${endpoint}/_local/metrics answered ${response.status}`);
    const body = (await response.json()) as Record<string, unknown>;
    const totals = (typeof body.totals === 'object' && body.totals !== null ? body.totals : body) as Record<string, unknown>;
    counts = Object.fromEntries(Object.entries(totals).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
  } catch (error) {
    throw explainError(error, `the local cloud at ${endpoint}`);
  }
  const dlq = await dlqSignals(target, now);
  const last = await lastStoredHour(target, now);
  const streamFailureDepth = await streamFailureSignal(target);
  return {
    source: 'local-counters',
    counts,
    ...dlq,
    ...(streamFailureDepth !== undefined ? { streamFailureDepth } : {}),
    backlog: backlogFrom(counts),
    ...(last ? { lastStoredAt: last, lastStoredBasis: 'newest Aggregates hour holding events, by event_time' } : {}),
  };
}

async function dlqSignals(target: Target, now: Date): Promise<Pick<StatusSignals, 'dlqDepth' | 'dlqOldestAgeSeconds'>> {
  const queueUrl = target.output('DeadLetterQueueUrl');
  const depth = await queueDepth(target.sqs(), queueUrl);
  if (!target.isLocal) return { dlqDepth: depth.visible + depth.inFlight };
  // No CloudWatch locally: the oldest age comes from a non-consuming peek.
  const messages = depth.visible > 0 ? await peekQueue(target.sqs(), queueUrl, { max: 1000 }) : [];
  const ages = messages.map((m) => ageSeconds(m, now)).filter((a): a is number => a !== undefined);
  return {
    dlqDepth: depth.visible + depth.inFlight,
    dlqOldestAgeSeconds: ages.length > 0 ? Math.round(Math.max(...ages)) : undefined,
  };
}

/** Messages in StreamFailureQueue, when the outputs name it (it is not a contract output). */
async function streamFailureSignal(target: Target): Promise<number | undefined> {
  const queueUrl = target.outputs.values.StreamFailureQueueUrl;
  if (!queueUrl) return undefined;
  const depth = await queueDepth(target.sqs(), queueUrl);
  return depth.visible + depth.inFlight;
}

const ALARM_STATES = new Set<AlarmSignal['state']>(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

/** The stack's metric alarms (lib/constructs/observability.ts names them `<StackName>-<id>`). */
export async function alarmSignals(target: Target): Promise<AlarmSignal[]> {
  const alarms: AlarmSignal[] = [];
  let nextToken: string | undefined;
  do {
    const page = await target.cloudwatch().send(
      new DescribeAlarmsCommand({
        AlarmNamePrefix: alarmNamePrefix(target.outputs.stackName),
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        NextToken: nextToken,
      }),
    );
    for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
      const state = alarm.StateValue as AlarmSignal['state'] | undefined;
      alarms.push({
        name: alarm.AlarmName ?? '(unnamed)',
        state: state && ALARM_STATES.has(state) ? state : 'INSUFFICIENT_DATA',
        reason: alarm.StateReason ?? '',
        ...(alarm.StateUpdatedTimestamp ? { since: alarm.StateUpdatedTimestamp } : {}),
      });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return alarms.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Without a scan: query the Aggregates table's hour partitions from now backwards (one small
 * Query per hour, newest first) and take the newest that holds an item.
 */
async function lastStoredHour(target: Target, now: Date, hours = 24): Promise<Date | undefined> {
  const table = target.output('AggregatesTableName');
  for (let back = 0; back < hours; back++) {
    const hour = new Date(now.getTime() - back * 3_600_000);
    const pk = `HOUR#${hour.toISOString().slice(0, 13)}`;
    const result = await target.dynamodb().send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: pk } },
        Limit: 1,
      }),
    );
    if ((result.Items ?? []).length > 0) return new Date(`${hour.toISOString().slice(0, 13)}:00:00.000Z`);
  }
  return undefined;
}

export const COUNTED_METRICS = [
  METRIC.EventsReceived,
  METRIC.EventsAccepted,
  METRIC.EventsRejected,
  METRIC.EventsValid,
  METRIC.EventsInvalid,
  METRIC.RecordsUnparseable,
  METRIC.EventsRedriven,
  METRIC.EventsRedriveFailed,
  METRIC.EventsReplayed,
  METRIC.EventsStored,
  METRIC.EventsDuplicate,
  METRIC.LoadFailed,
] as const;

const LOOKBACK_SECONDS = 3 * 3600;

/**
 * The SEARCH for one of this stack's metrics, summed over every `service`: the functions publish
 * under the stack name as their namespace, so another stage in the account is not counted.
 * The namespace holds a hyphen, so it is quoted.
 */
export function metricSearch(namespace: string, metricName: string): string {
  return `SUM(SEARCH('{"${namespace}",service} MetricName="${metricName}"', 'Sum', 60))`;
}

/**
 * AWS: the EMF metrics summed over every `service` (a SEARCH, so no function name is assumed),
 * GetRecords iterator age of both streams and the DLQ's oldest message age from CloudWatch.
 * The last stored event is the newest minute with EventsStored > 0 in the last 3 hours.
 */
export async function cloudWatchSignals(target: Target, thresholds: Thresholds, now: Date): Promise<StatusSignals> {
  const start = new Date(now.getTime() - Math.max(LOOKBACK_SECONDS, thresholds.windowSeconds) * 1000);
  const queueName = target.output('DeadLetterQueueUrl').split('/').pop() ?? '';
  const queries: MetricDataQuery[] = [
    ...COUNTED_METRICS.map((name) => ({
      Id: `m_${name}`,
      Expression: metricSearch(target.outputs.stackName, name),
      Period: 60,
    })),
    ...[target.output('RawStreamName'), target.output('ProcessedStreamName')].map((stream, index) => ({
      Id: `iterator_${index}`,
      MetricStat: {
        Metric: { Namespace: 'AWS/Kinesis', MetricName: 'GetRecords.IteratorAgeMilliseconds', Dimensions: [{ Name: 'StreamName', Value: stream }] },
        Period: 60,
        Stat: 'Maximum',
      },
    })),
    {
      Id: 'dlq_age',
      MetricStat: {
        Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Dimensions: [{ Name: 'QueueName', Value: queueName }] },
        Period: 60,
        Stat: 'Maximum',
      },
    },
  ];
  const series = new Map<string, Array<{ at: Date; value: number }>>();
  let nextToken: string | undefined;
  do {
    const page = await target.cloudwatch().send(
      new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: start, EndTime: now, NextToken: nextToken, ScanBy: 'TimestampDescending' }),
    );
    for (const result of page.MetricDataResults ?? []) {
      const points = series.get(result.Id ?? '') ?? [];
      (result.Timestamps ?? []).forEach((at, i) => points.push({ at, value: result.Values?.[i] ?? 0 }));
      series.set(result.Id ?? '', points);
    }
    nextToken = page.NextToken;
  } while (nextToken);

  const windowStart = now.getTime() - thresholds.windowSeconds * 1000;
  const counts: Record<string, number> = {};
  for (const name of COUNTED_METRICS) {
    counts[name] = (series.get(`m_${name}`) ?? []).filter((p) => p.at.getTime() >= windowStart).reduce((sum, p) => sum + p.value, 0);
  }
  const latest = (id: string) => [...(series.get(id) ?? [])].sort((a, b) => b.at.getTime() - a.at.getTime())[0]?.value;
  const iteratorAges = ['iterator_0', 'iterator_1'].map(latest).filter((v): v is number => v !== undefined);
  const stored = (series.get(`m_${METRIC.EventsStored}`) ?? []).filter((p) => p.value > 0).sort((a, b) => b.at.getTime() - a.at.getTime())[0];
  const dlq = await dlqSignals(target, now);
  const dlqAge = latest('dlq_age');
  const streamFailureDepth = await streamFailureSignal(target);
  const alarms = await alarmSignals(target);
  return {
    source: 'cloudwatch',
    alarms,
    ...(streamFailureDepth !== undefined ? { streamFailureDepth } : {}),
    counts,
    dlqDepth: dlq.dlqDepth,
    dlqOldestAgeSeconds: dlq.dlqDepth > 0 ? dlqAge : undefined,
    iteratorAgeSeconds: iteratorAges.length > 0 ? Math.max(...iteratorAges) / 1000 : undefined,
    ...(stored ? { lastStoredAt: stored.at, lastStoredBasis: 'newest minute with EventsStored > 0 in CloudWatch' } : {}),
  };
}

const MARKS: Record<Reason['severity'], string> = { no_data: '!', degraded: '!', warn: '~', info: ' ' };

/** The human output: the verdict, then one line per reason (escaped: they may quote stored values). */
export function formatStatus(report: StatusReport): string {
  return [
    `${report.status}  (${report.signals.source})`,
    ...report.reasons.map((reason) => ` ${MARKS[reason.severity]} ${escapeControl(reason.message)}`),
  ].join('\n');
}
