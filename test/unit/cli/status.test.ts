import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, evaluateStatus, STATUS_EXIT_CODES, type StatusSignals } from '../../../lib/cli/status';

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
