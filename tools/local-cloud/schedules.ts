import { randomUUID } from 'node:crypto';
import type { Invoker, LocalResource } from './types';

/**
 * EventBridge schedule rules (rate and cron, UTC) of the template, firing their Lambda targets
 * with the Scheduled Event AWS sends.
 *
 * Locally the first firing comes a few seconds after start instead of one full period later, so a
 * local run shows traffic at once; after that the rule keeps its period (or cron times).
 */

export interface SchedulesOptions {
  resources: LocalResource[];
  invoker: Invoker;
  log?: (l: string) => void;
  /** false: read the rules but fire nothing. */
  enabled?: boolean;
  /** Replaces every rule's expression: `rate(30 seconds)`, `rate(5 minutes)`, `cron(...)` or `5 minutes`. */
  rateOverride?: string;
  /** Delay before the first firing (default 3 s). */
  firstFiringDelayMs?: number;
}

export interface ScheduleRule {
  logicalId: string;
  expression: string;
  enabled: boolean;
}

const DEFAULT_FIRST_FIRING_DELAY_MS = 3_000;
// setTimeout cannot wait longer than about 24.8 days in one go.
const MAX_TIMER_MS = 2 ** 31 - 1;

export type Schedule = { kind: 'rate'; everyMs: number } | { kind: 'cron'; cron: CronSpec };

export function startSchedules(opts: SchedulesOptions): { rules: ScheduleRule[]; stop(): void } {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const rules: ScheduleRule[] = [];
  const firstDelay = opts.firstFiringDelayMs ?? DEFAULT_FIRST_FIRING_DELAY_MS;

  const later = (at: number, run: () => void) => {
    if (stopped) return;
    const wait = Math.max(0, at - Date.now());
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (stopped) return;
      if (Date.now() < at) later(at, run);
      else run();
    }, Math.min(wait, MAX_TIMER_MS));
    timers.add(timer);
  };

  for (const resource of opts.resources.filter((r) => r.type === 'AWS::Events::Rule')) {
    const templateExpression = resource.properties.ScheduleExpression;
    if (typeof templateExpression !== 'string') continue;
    const expression = opts.rateOverride ? normaliseOverride(opts.rateOverride) : templateExpression;
    // What runs here: off when the template disables the rule or the caller turned schedules off.
    const enabled = resource.properties.State !== 'DISABLED' && opts.enabled !== false;
    rules.push({ logicalId: resource.logicalId, expression, enabled });
    if (!enabled) continue;

    const schedule = parseScheduleExpression(expression);
    const ruleArn = resource.attributes.Arn ?? `arn:aws:events:local:000000000000:rule/${resource.ref}`;
    const [, , , region = 'us-east-1', account = '000000000000'] = ruleArn.split(':');
    const targets = ((resource.properties.Targets as Array<{ Arn?: unknown; Input?: unknown; Id?: unknown }> | undefined) ?? []).filter(
      (target) => typeof target.Arn === 'string' && target.Arn.split(':')[2] === 'lambda',
    );

    const fire = (scheduledAt: Date) => {
      for (const target of targets) {
        const event =
          typeof target.Input === 'string'
            ? JSON.parse(target.Input)
            : {
                version: '0',
                id: randomUUID(),
                'detail-type': 'Scheduled Event',
                source: 'aws.events',
                account,
                time: scheduledAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
                region,
                resources: [ruleArn],
                detail: {},
              };
        void opts.invoker.invoke(target.Arn as string, event).then(
          (result) => {
            if (!result.ok) opts.log?.(`[${resource.logicalId}] target ${String(target.Id ?? target.Arn)} failed: ${result.errorType}: ${result.errorMessage}`);
          },
          (error: unknown) => opts.log?.(`[${resource.logicalId}] target ${String(target.Id ?? target.Arn)} failed: ${String(error)}`),
        );
      }
    };

    const fireAndPlan = (at: number) => {
      fire(new Date(at));
      const next = schedule.kind === 'rate' ? at + schedule.everyMs : nextCronTime(schedule.cron, new Date(at)).getTime();
      later(next, () => fireAndPlan(next));
    };
    const first = Date.now() + firstDelay;
    later(first, () => fireAndPlan(first));
    opts.log?.(`[${resource.logicalId}] schedule ${expression}: first firing in ${Math.round(firstDelay / 1000)} s`);
  }

  return {
    rules,
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

function normaliseOverride(value: string): string {
  const trimmed = value.trim();
  return /^(rate|cron)\(/.test(trimmed) ? trimmed : `rate(${trimmed})`;
}

const UNIT_MS: Record<string, number> = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** `rate(N unit)` (seconds allowed locally) or `cron(6 fields)`; a clear error otherwise. */
export function parseScheduleExpression(expression: string): Schedule {
  const rate = /^rate\(\s*(\d+)\s+(second|minute|hour|day)s?\s*\)$/i.exec(expression.trim());
  if (rate) {
    const amount = Number(rate[1]);
    if (amount <= 0) throw new Error(`Schedule ${expression}: the rate must be positive`);
    return { kind: 'rate', everyMs: amount * UNIT_MS[rate[2]!.toLowerCase()]! };
  }
  const cron = /^cron\((.*)\)$/i.exec(expression.trim());
  if (cron) return { kind: 'cron', cron: parseCron(cron[1]!) };
  throw new Error(`Schedule ${expression}: expected rate(N minutes|hours|days) or cron(min hour day-of-month month day-of-week year)`);
}

// ---------------------------------------------------------------------------------------------
// AWS cron: minutes hours day-of-month month day-of-week year, UTC; day-of-week 1-7 = SUN-SAT.

export interface CronSpec {
  minutes: Set<number>;
  hours: Set<number>;
  /** undefined when `?` (the other day field decides). */
  daysOfMonth?: DayOfMonthRule;
  months: Set<number>;
  daysOfWeek?: DayOfWeekRule;
  years?: Set<number>;
}

type DayOfMonthRule = { days: Set<number>; last: boolean };
/** Weekdays 0-6 (SUN-SAT); `nthOf` for `d#n`, `lastOf` for `dL`. */
type DayOfWeekRule = { days: Set<number>; nthOf: Array<{ day: number; nth: number }>; lastOf: Set<number> };

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

export function parseCron(fields: string): CronSpec {
  const parts = fields.trim().split(/\s+/);
  if (parts.length !== 6) throw new Error(`cron(${fields}): AWS cron takes 6 fields, got ${parts.length}`);
  const [minute, hour, dayOfMonth, month, dayOfWeek, year] = parts as [string, string, string, string, string, string];
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    throw new Error(`cron(${fields}): exactly one of day-of-month and day-of-week must be ?`);
  }
  const spec: CronSpec = {
    minutes: field(minute, 0, 59),
    hours: field(hour, 0, 23),
    months: field(month, 1, 12, MONTH_NAMES, 1),
  };
  if (dayOfMonth !== '?') {
    const last = dayOfMonth === 'L';
    if (/W/i.test(dayOfMonth)) throw new Error(`cron(${fields}): the W (nearest weekday) form is not supported locally`);
    spec.daysOfMonth = { days: last ? new Set() : field(dayOfMonth, 1, 31), last };
  }
  if (dayOfWeek !== '?') spec.daysOfWeek = dayOfWeekRule(dayOfWeek, fields);
  if (year !== '*') spec.years = field(year, 1970, 2199);
  return spec;
}

function dayOfWeekRule(text: string, fields: string): DayOfWeekRule {
  const rule: DayOfWeekRule = { days: new Set(), nthOf: [], lastOf: new Set() };
  const plain: string[] = [];
  for (const item of text.split(',')) {
    const nth = /^(\w+)#([1-5])$/.exec(item);
    const last = /^(\w+)L$/i.exec(item);
    if (nth) rule.nthOf.push({ day: weekday(nth[1]!, fields), nth: Number(nth[2]) });
    else if (last && item.toUpperCase() !== 'L') rule.lastOf.add(weekday(last[1]!, fields));
    else plain.push(item === 'L' ? '7' : item);
  }
  if (plain.length > 0) for (const day of field(plain.join(','), 1, 7, DAY_NAMES, 1)) rule.days.add(day - 1);
  return rule;
}

function weekday(token: string, fields: string): number {
  const named = DAY_NAMES.indexOf(token.toUpperCase());
  if (named >= 0) return named;
  const number = Number(token);
  if (!Number.isInteger(number) || number < 1 || number > 7) throw new Error(`cron(${fields}): bad day of week ${token}`);
  return number - 1;
}

/** A cron field: `*`, `a`, `a-b`, `a/n`, `a-b/n`, `*\/n`, lists; names where the field has them. */
function field(text: string, min: number, max: number, names?: string[], namesStartAt = 0): Set<number> {
  const value = (token: string): number => {
    const named = names?.indexOf(token.toUpperCase()) ?? -1;
    const number = named >= 0 ? named + namesStartAt : Number(token);
    if (!Number.isInteger(number) || number < min || number > max) throw new Error(`cron field ${text}: ${token} is not in ${min}-${max}`);
    return number;
  };
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`cron field ${text}: bad increment ${stepText}`);
    let from: number;
    let to: number;
    if (range === '*') {
      from = min;
      to = max;
    } else if (range.includes('-')) {
      const [start = '', end = ''] = range.split('-');
      from = value(start);
      to = value(end);
    } else {
      from = value(range);
      to = stepText === undefined ? from : max;
    }
    if (from > to) throw new Error(`cron field ${text}: ${from} comes after ${to}`);
    for (let current = from; current <= to; current += step) values.add(current);
  }
  return values;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function dayMatches(spec: CronSpec, date: Date): boolean {
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + 1;
  const day = date.getUTCDate();
  const lastDay = daysInMonth(year, month);
  if (spec.daysOfMonth) {
    return spec.daysOfMonth.last ? day === lastDay : spec.daysOfMonth.days.has(day);
  }
  const rule = spec.daysOfWeek!;
  const weekdayOfDate = date.getUTCDay();
  if (rule.days.has(weekdayOfDate)) return true;
  if (rule.lastOf.has(weekdayOfDate) && day + 7 > lastDay) return true;
  return rule.nthOf.some(({ day: wanted, nth }) => wanted === weekdayOfDate && Math.ceil(day / 7) === nth);
}

/** The first minute strictly after `after` that the cron expression selects (UTC). */
export function nextCronTime(spec: CronSpec, after: Date): Date {
  const candidate = new Date(after.getTime());
  candidate.setUTCSeconds(0, 0);
  candidate.setUTCMinutes(candidate.getUTCMinutes() + 1);
  const limit = after.getTime() + 400 * 366 * 86_400_000;
  while (candidate.getTime() < limit) {
    if (spec.years && !spec.years.has(candidate.getUTCFullYear())) {
      candidate.setUTCFullYear(candidate.getUTCFullYear() + 1, 0, 1);
      candidate.setUTCHours(0, 0, 0, 0);
      if (candidate.getUTCFullYear() > 2199) break;
      continue;
    }
    if (!spec.months.has(candidate.getUTCMonth() + 1)) {
      candidate.setUTCMonth(candidate.getUTCMonth() + 1, 1);
      candidate.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(spec, candidate)) {
      candidate.setUTCDate(candidate.getUTCDate() + 1);
      candidate.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!spec.hours.has(candidate.getUTCHours())) {
      candidate.setUTCHours(candidate.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!spec.minutes.has(candidate.getUTCMinutes())) {
      candidate.setUTCMinutes(candidate.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    return candidate;
  }
  throw new Error('cron expression selects no future time');
}
