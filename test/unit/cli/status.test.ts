import { DescribeAlarmsCommand, GetMetricDataCommand, CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { parseOutputs, REQUIRED_OUTPUTS, Target } from '../../../tools/cli/outputs';
import { backlogFrom, DEFAULT_THRESHOLDS, evaluateStatus, STATUS_EXIT_CODES, type StatusSignals } from '../../../tools/cli/status';
import { alarmSignals, cloudWatchSignals, COUNTED_METRICS } from '../../../tools/cli/status-signals';

const NOW = new Date('2026-11-22T12:00:00.000Z');
const healthy: StatusSignals = {
  source: 'cloudwatch',
  counts: { EventsReceived: 1000, EventsAccepted: 1000, EventsValid: 990, EventsInvalid: 10, EventsStored: 990 },
  dlqDepth: 0,
  iteratorAgeSeconds: 1,
  lastStoredAt: new Date(NOW.getTime() - 60_000),
};

const verdict = (signals: Partial<StatusSignals>) => evaluateStatus({ ...healthy, ...signals }, DEFAULT_THRESHOLDS, NOW);

describe('evaluateStatus', () => {
  it('is HEALTHY when events flow, validity is high and nothing lags', () => {
    const report = verdict({});
    expect(report.status).toBe('HEALTHY');
    expect(report.reasons.map((r) => r.message)).toContain('validity 99.0% (990 valid, 10 invalid in the last 15m 0s)');
  });

  it('is DEGRADED under the validity threshold, and says so', () => {
    const report = verdict({ counts: { ...healthy.counts, EventsValid: 900, EventsInvalid: 100 } });
    expect(report.status).toBe('DEGRADED');
    expect(report.reasons.find((r) => r.severity === 'degraded')?.message).toMatch(/validity 90.0% .* is under 95.0%/);
  });

  it('warns about a young DLQ and degrades on an old one', () => {
    expect(verdict({ dlqDepth: 3, dlqOldestAgeSeconds: 120 }).status).toBe('HEALTHY');
    expect(verdict({ dlqDepth: 3, dlqOldestAgeSeconds: 120 }).reasons.some((r) => r.severity === 'warn' && /3 message\(s\) in the DeadLetterQueue/.test(r.message))).toBe(true);
    expect(verdict({ dlqDepth: 3, dlqOldestAgeSeconds: 3601 }).status).toBe('DEGRADED');
  });

  it('degrades when the consumers fall behind', () => {
    expect(verdict({ iteratorAgeSeconds: 61 }).status).toBe('DEGRADED');
    expect(verdict({ iteratorAgeSeconds: 60 }).status).toBe('HEALTHY');
  });

  it('degrades when valid events arrive but none is stored', () => {
    const report = verdict({ counts: { ...healthy.counts, EventsStored: 0 }, lastStoredAt: undefined });
    expect(report.status).toBe('DEGRADED');
    expect(report.reasons.some((r) => /none was stored/.test(r.message))).toBe(true);
  });

  it('is NO_DATA when nothing arrives and nothing was stored recently', () => {
    const report = verdict({ counts: {}, lastStoredAt: new Date(NOW.getTime() - 3 * 3600_000) });
    expect(report.status).toBe('NO_DATA');
    expect(report.reasons[0]?.message).toMatch(/no events received .* the last stored event was 3h 0m ago/);
    expect(verdict({ counts: {}, lastStoredAt: undefined }).status).toBe('NO_DATA');
  });

  it('has distinct scriptable exit codes, none of them 1 (an error)', () => {
    expect(STATUS_EXIT_CODES).toEqual({ HEALTHY: 0, DEGRADED: 2, NO_DATA: 3 });
  });
});

describe('validity and backlog with redriven and replayed records', () => {
  // The validator counts redriven records under EventsRedriven / EventsRedriveFailed and replayed
  // ones under EventsReplayed, never under EventsValid / EventsInvalid.
  const counts = {
    EventsReceived: 1000,
    EventsAccepted: 1000,
    EventsValid: 990,
    EventsInvalid: 10,
    EventsRedriven: 4,
    EventsRedriveFailed: 6,
    EventsReplayed: 990,
    EventsStored: 990,
    EventsDuplicate: 994,
  };

  it('judges validity on first-pass events only and shows redriven / replayed counts apart', () => {
    const report = verdict({ source: 'local-counters', counts, backlog: backlogFrom(counts) });
    expect(report.status).toBe('HEALTHY');
    const messages = report.reasons.map((r) => r.message);
    expect(messages).toContain('validity 99.0% (990 valid, 10 invalid since the local cloud started)');
    expect(messages).toContain('redriven 10 (4 valid now, 6 still invalid), replayed 990 since the local cloud started; not part of validity');
    expect(messages).toContain('backlog: 0 raw record(s) not yet validated, 0 valid event(s) not yet loaded');
  });

  it('computes the backlog from first-pass counters, without flooring', () => {
    expect(backlogFrom({ EventsAccepted: 100, EventsValid: 60, EventsInvalid: 10, EventsStored: 50 })).toEqual({ validator: 30, loader: 10 });
    // Redriven-valid and replayed events reach the loader too.
    expect(backlogFrom({ EventsAccepted: 10, EventsValid: 10, EventsRedriven: 3, EventsReplayed: 5, EventsStored: 10, EventsDuplicate: 5 })).toEqual({
      validator: 0,
      loader: 3,
    });
    expect(backlogFrom({ EventsAccepted: 100, EventsValid: 150, EventsInvalid: 10, EventsStored: 150 })).toEqual({ validator: -60, loader: 0 });
  });

  it('says the counters are inconsistent instead of showing a negative (or zero) backlog', () => {
    const report = verdict({ source: 'local-counters', backlog: { validator: -60, loader: 0 } });
    expect(report.status).toBe('HEALTHY');
    const warning = report.reasons.find((r) => /counters are inconsistent/.test(r.message));
    expect(warning?.severity).toBe('warn');
    expect(warning?.message).toMatch(/judged 60 more first-pass event\(s\) than the collector accepted/);
    expect(report.reasons.some((r) => r.message.startsWith('backlog:'))).toBe(false);
    expect(verdict({ backlog: { validator: 0, loader: -2 } }).reasons.some((r) => /loader handled 2 more event\(s\)/.test(r.message))).toBe(true);
  });
});

// One mock per client class for the whole file (a second mockClient of the same class would replace the first).
const cloudwatch = mockClient(CloudWatchClient);
const sqs = mockClient(SQSClient);
afterEach(() => {
  cloudwatch.reset();
  sqs.reset();
});

describe('cloudWatchSignals', () => {

  it("searches the stack's own namespace (the stack name), not every stage's", async () => {
    const values = Object.fromEntries(REQUIRED_OUTPUTS.map((name) => [name, `value-of-${name}`]));
    const target = new Target(parseOutputs({ 'EcommercePipeline-dev': values }, 'cdk-outputs.json'), { region: 'us-east-1' });
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' } });

    await cloudWatchSignals(target, DEFAULT_THRESHOLDS, NOW);

    const queries = cloudwatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input.MetricDataQueries ?? [];
    const searches = queries.flatMap((q) => (q.Expression ? [q.Expression] : []));
    expect(searches).toHaveLength(COUNTED_METRICS.length);
    expect(searches).toContain(`SUM(SEARCH('{"EcommercePipeline-dev",service} MetricName="EventsValid"', 'Sum', 60))`);
    expect(searches.every((e) => e.includes(`'{"EcommercePipeline-dev",service} `))).toBe(true);
    expect(COUNTED_METRICS).toEqual(expect.arrayContaining(['EventsRedriven', 'EventsRedriveFailed', 'EventsReplayed']));
  });
});

describe('alarms on AWS (DescribeAlarms)', () => {
  const awsTarget = (extra: Record<string, string> = {}) =>
    new Target(
      parseOutputs({ 'EcommercePipeline-dev': { ...Object.fromEntries(REQUIRED_OUTPUTS.map((name) => [name, `value-of-${name}`])), ...extra } }, 'cdk-outputs.json'),
      { region: 'us-east-1' },
    );
  const firedAt = new Date(NOW.getTime() - 5 * 60_000);

  it("lists the stack's alarms by name prefix, every page, with state, reason and since", async () => {
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({
        MetricAlarms: [{ AlarmName: 'EcommercePipeline-dev-LoadFailed', StateValue: 'ALARM', StateReason: 'Threshold Crossed: 1 datapoint [2.0] was greater than the threshold (0.0).', StateUpdatedTimestamp: firedAt }],
        NextToken: 'page-2',
      })
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'EcommercePipeline-dev-DeadLetterQueueMessages', StateValue: 'OK', StateReason: 'fine' }] });

    const alarms = await alarmSignals(awsTarget());

    const calls = cloudwatch.commandCalls(DescribeAlarmsCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0].input.NextToken).toBe('page-2');
    expect(calls.every((call) => call.args[0].input.AlarmNamePrefix === 'EcommercePipeline-dev-')).toBe(true);
    expect(alarms).toEqual([
      { name: 'EcommercePipeline-dev-DeadLetterQueueMessages', state: 'OK', reason: 'fine' },
      { name: 'EcommercePipeline-dev-LoadFailed', state: 'ALARM', reason: expect.stringContaining('Threshold Crossed'), since: firedAt },
    ]);
  });

  it('is DEGRADED when an alarm fires, naming it, its reason and since when', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: 'EcommercePipeline-dev-Validity', StateValue: 'ALARM', StateReason: 'Threshold Crossed: validity 0.81 < 0.95', StateUpdatedTimestamp: firedAt },
        { AlarmName: 'EcommercePipeline-dev-LoaderErrors', StateValue: 'OK', StateReason: 'ok' },
      ],
    });
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' } });

    const signals = await cloudWatchSignals(awsTarget(), DEFAULT_THRESHOLDS, NOW);
    const report = evaluateStatus({ ...signals, counts: healthy.counts, lastStoredAt: healthy.lastStoredAt }, DEFAULT_THRESHOLDS, NOW);

    expect(report.status).toBe('DEGRADED');
    expect(report.reasons.filter((r) => r.severity === 'degraded').map((r) => r.message)).toEqual([
      `alarm EcommercePipeline-dev-Validity is in ALARM since ${firedAt.toISOString()} (5m 0s ago): Threshold Crossed: validity 0.81 < 0.95`,
    ]);
  });

  it('stays HEALTHY when every alarm is OK or without data, and says so', async () => {
    const report = verdict({
      alarms: [
        { name: 'EcommercePipeline-dev-Validity', state: 'OK', reason: '' },
        { name: 'EcommercePipeline-dev-LoadFailed', state: 'INSUFFICIENT_DATA', reason: '' },
      ],
    });
    expect(report.status).toBe('HEALTHY');
    expect(report.reasons.map((r) => r.message)).toContain('alarms: none of 2 firing (1 without data yet)');
  });

  it('warns when the stack has no alarm at all', () => {
    const report = verdict({ alarms: [] });
    expect(report.status).toBe('HEALTHY');
    expect(report.reasons.some((r) => r.severity === 'warn' && /no CloudWatch alarm/.test(r.message))).toBe(true);
  });

  it('reads StreamFailureQueue when the outputs name it', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    cloudwatch.on(DescribeAlarmsCommand).resolves({});
    sqs.on(GetQueueAttributesCommand, { QueueUrl: 'https://sqs/sfq' }).resolves({ Attributes: { ApproximateNumberOfMessages: '2', ApproximateNumberOfMessagesNotVisible: '0' } });
    sqs.on(GetQueueAttributesCommand, { QueueUrl: 'value-of-DeadLetterQueueUrl' }).resolves({ Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' } });
    const signals = await cloudWatchSignals(awsTarget({ StreamFailureQueueUrl: 'https://sqs/sfq' }), DEFAULT_THRESHOLDS, NOW);
    expect(signals.streamFailureDepth).toBe(2);
    expect(signals.alarms).toEqual([]);
  });
});

describe('given-up work degrades, locally as on AWS', () => {
  it('is DEGRADED on a load_failed dead letter (LoadFailed > 0)', () => {
    const report = evaluateStatus({ ...healthy, source: 'local-counters', counts: { ...healthy.counts, LoadFailed: 1 } }, DEFAULT_THRESHOLDS, NOW);
    expect(report.status).toBe('DEGRADED');
    expect(report.reasons.find((r) => r.severity === 'degraded')?.message).toMatch(/1 event\(s\) failed to load since the local cloud started \(reason load_failed/);
  });

  it('is DEGRADED on a range given up on (a message in StreamFailureQueue)', () => {
    const report = evaluateStatus({ ...healthy, source: 'local-counters', streamFailureDepth: 1 }, DEFAULT_THRESHOLDS, NOW);
    expect(report.status).toBe('DEGRADED');
    expect(report.reasons.find((r) => r.severity === 'degraded')?.message).toBe('1 record range(s) given up on in StreamFailureQueue: see pipeline replay');
    expect(evaluateStatus({ ...healthy, source: 'local-counters', streamFailureDepth: 0 }, DEFAULT_THRESHOLDS, NOW).status).toBe('HEALTHY');
  });
});
