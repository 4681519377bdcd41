import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextCronTime, parseCron, parseScheduleExpression, startSchedules } from '../../../tools/local-cloud/schedules';
import type { InvokeResult, Invoker, LocalResource } from '../../../tools/local-cloud/types';

const GENERATOR_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:local-Generator';
const RULE_ARN = 'arn:aws:events:eu-west-1:123456789012:rule/GeneratorSchedule';

function rule(properties: Record<string, unknown>, logicalId = 'GeneratorSchedule'): LocalResource {
  return {
    logicalId,
    type: 'AWS::Events::Rule',
    properties: { State: 'ENABLED', Targets: [{ Arn: GENERATOR_ARN, Id: 'Target0' }], ...properties },
    ref: logicalId,
    attributes: { Arn: RULE_ARN },
  };
}

let calls: Array<{ name: string; event: Record<string, unknown>; at: string }>;
const invoker: Invoker = {
  async invoke(name, event): Promise<InvokeResult> {
    calls.push({ name, event: event as Record<string, unknown>, at: new Date().toISOString() });
    return { ok: true, payload: null, durationMs: 1 };
  },
};

describe('schedule rules', () => {
  let stop: (() => void) | undefined;
  beforeEach(() => {
    calls = [];
    vi.useFakeTimers({ now: new Date('2026-11-22T10:00:00.000Z') });
  });
  afterEach(() => {
    stop?.();
    stop = undefined;
    vi.useRealTimers();
  });

  it('fires a rate rule a few seconds after start, then once per period, with the Scheduled Event shape', async () => {
    const schedules = startSchedules({ resources: [rule({ ScheduleExpression: 'rate(5 minutes)' })], invoker });
    stop = schedules.stop;
    expect(schedules.rules).toEqual([{ logicalId: 'GeneratorSchedule', expression: 'rate(5 minutes)', enabled: true }]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5 * 60_000 - 1);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toEqual({
      name: GENERATOR_ARN,
      at: '2026-11-22T10:00:03.000Z',
      event: {
        version: '0',
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '123456789012',
        time: '2026-11-22T10:00:03Z',
        region: 'eu-west-1',
        resources: [RULE_ARN],
        detail: {},
      },
    });
    expect(calls[1]!.event.id).not.toBe(calls[0]!.event.id);
  });

  it('passes a target constant Input instead of the scheduled event', async () => {
    const resource = rule({ ScheduleExpression: 'rate(1 hour)', Targets: [{ Arn: GENERATOR_ARN, Id: 'T', Input: '{"events":5}' }] });
    stop = startSchedules({ resources: [resource], invoker, firstFiringDelayMs: 10 }).stop;
    await vi.advanceTimersByTimeAsync(10);
    expect(calls.map((call) => call.event)).toEqual([{ events: 5 }]);
  });

  it('fires a cron rule at its UTC times after the first quick firing', async () => {
    stop = startSchedules({ resources: [rule({ ScheduleExpression: 'cron(0/15 * * * ? *)' })], invoker }).stop;
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(calls.map((call) => call.at)).toEqual(['2026-11-22T10:00:03.000Z', '2026-11-22T10:15:00.000Z', '2026-11-22T10:30:00.000Z']);
  });

  it('never fires a DISABLED rule, nor anything when disabled as a whole', async () => {
    const disabled = startSchedules({ resources: [rule({ ScheduleExpression: 'rate(1 minute)', State: 'DISABLED' })], invoker });
    const off = startSchedules({ resources: [rule({ ScheduleExpression: 'rate(1 minute)' })], invoker, enabled: false });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    disabled.stop();
    off.stop();
    expect(disabled.rules).toEqual([{ logicalId: 'GeneratorSchedule', expression: 'rate(1 minute)', enabled: false }]);
    expect(off.rules).toEqual([{ logicalId: 'GeneratorSchedule', expression: 'rate(1 minute)', enabled: false }]);
    expect(calls).toEqual([]);
  });

  it('replaces the expression with the rate override', async () => {
    const schedules = startSchedules({ resources: [rule({ ScheduleExpression: 'rate(1 day)' })], invoker, rateOverride: '10 seconds' });
    stop = schedules.stop;
    expect(schedules.rules[0]!.expression).toBe('rate(10 seconds)');
    await vi.advanceTimersByTimeAsync(3_000 + 20_000);
    expect(calls).toHaveLength(3);
  });

  it('stops firing once stopped', async () => {
    const schedules = startSchedules({ resources: [rule({ ScheduleExpression: 'rate(1 minute)' })], invoker });
    await vi.advanceTimersByTimeAsync(3_000);
    schedules.stop();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(calls).toHaveLength(1);
  });
});

describe('schedule expressions', () => {
  const next = (expression: string, after: string) => nextCronTime(parseCron(expression), new Date(after)).toISOString();

  it('reads rate expressions', () => {
    expect(parseScheduleExpression('rate(1 minute)')).toEqual({ kind: 'rate', everyMs: 60_000 });
    expect(parseScheduleExpression('rate(2 hours)')).toEqual({ kind: 'rate', everyMs: 7_200_000 });
    expect(parseScheduleExpression('rate(3 days)')).toEqual({ kind: 'rate', everyMs: 259_200_000 });
    expect(() => parseScheduleExpression('rate(0 minutes)')).toThrow(/positive/);
    expect(() => parseScheduleExpression('every 5 minutes')).toThrow(/expected rate/);
  });

  it('computes the next cron time in UTC', () => {
    expect(next('0 12 * * ? *', '2026-01-01T13:00:00Z')).toBe('2026-01-02T12:00:00.000Z');
    expect(next('0/15 * * * ? *', '2026-01-01T10:07:30Z')).toBe('2026-01-01T10:15:00.000Z');
    // 2026-01-02 is a Friday: the next weekday 08:00 after Friday noon is Monday the 5th.
    expect(next('0 8 ? * MON-FRI *', '2026-01-02T12:00:00Z')).toBe('2026-01-05T08:00:00.000Z');
    expect(next('0 0 L * ? *', '2026-02-03T00:00:00Z')).toBe('2026-02-28T00:00:00.000Z');
    // 6#3: the third Friday; 1 = Sunday in AWS cron.
    expect(next('30 9 ? * 6#3 *', '2026-01-01T00:00:00Z')).toBe('2026-01-16T09:30:00.000Z');
    expect(next('0 18 ? * 2L *', '2026-01-01T00:00:00Z')).toBe('2026-01-26T18:00:00.000Z');
    expect(next('0 10 1 JAN-MAR ? 2027', '2026-06-01T00:00:00Z')).toBe('2027-01-01T10:00:00.000Z');
  });

  it('refuses malformed cron expressions with a clear error', () => {
    expect(() => parseCron('0 12 * * *')).toThrow(/6 fields/);
    expect(() => parseCron('0 12 * * MON *')).toThrow(/exactly one/);
    expect(() => parseCron('61 12 * * ? *')).toThrow(/not in 0-59/);
  });
});
