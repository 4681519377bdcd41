/** Reads what `pipeline status` judges: the local cloud's counters, or CloudWatch metrics and alarms on AWS, plus the DLQ and the Aggregates table. */
import { DescribeAlarmsCommand, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { alarmNamePrefix, METRIC } from '../../lambdas/shared/metric-names';
import { ageSeconds, peekQueue, queueDepth } from './dlq';
import { CliError, explainError } from './errors';
import type { Target } from './outputs';
import { backlogFrom, type AlarmSignal, type StatusSignals, type Thresholds } from './status';

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
