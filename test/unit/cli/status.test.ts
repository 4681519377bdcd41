import { GetMetricDataCommand, CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { parseOutputs, REQUIRED_OUTPUTS, Target } from '../../../lib/cli/outputs';
import {
  backlogFrom,
  cloudWatchSignals,
  COUNTED_METRICS,
  DEFAULT_THRESHOLDS,
  evaluateStatus,
  STATUS_EXIT_CODES,
  type StatusSignals,
} from '../../../lib/cli/status';

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

describe('cloudWatchSignals', () => {
  const cloudwatch = mockClient(CloudWatchClient);
  const sqs = mockClient(SQSClient);
  afterEach(() => {
    cloudwatch.reset();
    sqs.reset();
  });

  it("searches the stack's own namespace (the stack name), not every stage's", async () => {
    const values = Object.fromEntries(REQUIRED_OUTPUTS.map((name) => [name, `value-of-${name}`]));
    const target = new Target(parseOutputs({ 'EcommercePipeline-dev': values }, 'cdk-outputs.json'), { region: 'us-east-1' });
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
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
