import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  aggregateFromItem,
  fromMinorUnits,
  hourOfPartitionKey,
  mergeWriteShards,
  type AggregateContribution,
} from '../../../lambdas/shared/aggregates';
import { USER_SEGMENTS } from '../../../lambdas/shared/events/constants';
import { ageSeconds, groupDeadLetters, peekQueue, queueDepth, type DeadLetterStats } from '../../cli/dlq';
import { backlogFrom, DEFAULT_THRESHOLDS, evaluateStatus, type Health, type Reason } from '../../cli/status';
import { idText, terminalText } from '../../cli/terminal-text';
import type { MetricTotals } from '../types';
import { STAGES, type RateRing, type RateSeries, type StageKey } from './rates';

/**
 * What `/_local/dashboard/data` answers: everything the page shows, read from the local cloud
 * (counters, the DeadLetterQueue, the Aggregates and Events tables) and judged as
 * `pipeline status` judges it. Each section is read on its own cadence (cached), so a page
 * polling every second costs the emulators little, and one failing section does not blank the
 * others (its error is reported instead).
 *
 * Every string that came from a client (dead-letter samples, product ids, categories) is bounded
 * here and has its control characters escaped; the page only ever sets it as text, never as HTML.
 */

/** Longest text of one client-supplied value on the page (characters). */
export const MAX_TEXT = { id: 64, error: 160, reason: 48, key: 48 } as const;
/** Hours of hourly revenue charted (the current one included). */
export const REVENUE_HOURS = 24;
/** Hours summed for the top products and categories (the current one included). */
export const TOP_HOURS = 6;
export const TOP_N = 8;
/** The rates chart: each point is the rate over the 5 s before it (the functions count in batches). */
export const RATE_WINDOW_MS = 5_000;
/** At most this many dead letters are peeked for reasons and samples (as `pipeline status` does). */
export const DLQ_PEEK_MAX = 1000;
/** At most this many stored events are read for the segment mix. */
export const SEGMENT_SCAN_MAX = 2000;

export interface DlqSample {
  event_id: string;
  message_id: string;
  age_seconds?: number;
  error: string;
}

export interface DlqReason {
  reason: string;
  count: number;
  oldest_age_seconds?: number;
  codes: Array<{ code: string; count: number }>;
  samples: DlqSample[];
}

export interface DlqSection {
  depth: number;
  visible: number;
  inFlight: number;
  /** Messages read by the peek (at most DLQ_PEEK_MAX). */
  peeked: number;
  oldest_age_seconds?: number;
  reasons: DlqReason[];
}

export interface RevenueSection {
  /** `yyyy-mm-ddThh` (UTC), oldest first. */
  hours: string[];
  /** Amount per hour (same order as hours) in the currency's major unit. */
  currencies: Record<string, number[]>;
}

export interface RankedItem {
  key: string;
  /** Events of every type that named it. */
  events: number;
  /** Units purchased. */
  units: number;
}

export interface AggregatesSection {
  revenue: RevenueSection;
  topProducts: RankedItem[];
  topCategories: RankedItem[];
  /** Events per type over TOP_HOURS. */
  eventTypes: Record<string, number>;
  /** Start of the newest hour that holds any aggregate (as `pipeline status` finds the last stored event). */
  lastStoredHour?: string;
}

export interface SegmentSection {
  /** What was counted: the stored events' `user_segment`. */
  field: 'user_segment';
  counts: Array<{ segment: string; count: number }>;
  /** Stored events read; the mix is of those. */
  scanned: number;
  /** True when the table held more than SEGMENT_SCAN_MAX events and only the first ones read were counted. */
  sampled: boolean;
}

export interface HealthSection {
  status: Health;
  reasons: Reason[];
}

export interface DashboardData {
  generatedAt: string;
  stackName: string;
  totals: Record<StageKey, number> & Record<string, number>;
  /** Events per second over the last 10 s, per stage. */
  current: Record<StageKey, number>;
  /** Per second sampled, the rate over the RATE_WINDOW_MS before. */
  rates: RateSeries;
  stages: Array<{ key: StageKey; label: string }>;
  validity: { valid: number; invalid: number; share?: number };
  health?: HealthSection;
  dlq?: DlqSection;
  aggregates?: AggregatesSection;
  segments?: SegmentSection;
  /** A section that could not be read this time, and why. */
  errors: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Pure parts (unit-testable): from what was read to what the page shows.

/** Dead-letter groups as the page shows them: top reasons, their codes and bounded samples. */
export function dlqReasons(stats: DeadLetterStats, maxReasons = 6): DlqReason[] {
  return stats.by_reason.slice(0, maxReasons).map((group) => ({
    reason: terminalText(group.key, MAX_TEXT.reason),
    count: group.count,
    ...(group.oldest_age_seconds !== undefined ? { oldest_age_seconds: group.oldest_age_seconds } : {}),
    codes: Object.entries(group.breakdown)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([code, count]) => ({ code: terminalText(code, MAX_TEXT.reason), count })),
    samples: group.samples.map((sample) => {
      const errors = Array.isArray(sample.errors) ? sample.errors : [];
      const first = errors[0] as { path?: unknown; code?: unknown; message?: unknown } | undefined;
      const error = first
        ? [typeof first.path === 'string' && first.path !== '' ? `${first.path}: ` : '', typeof first.message === 'string' ? first.message : String(first.code ?? '')].join('')
        : '';
      return {
        event_id: idText(sample.event_id, MAX_TEXT.id),
        message_id: terminalText(sample.message_id, MAX_TEXT.id),
        ...(sample.age_seconds !== undefined ? { age_seconds: sample.age_seconds } : {}),
        error: terminalText(error, MAX_TEXT.error),
      };
    }),
  }));
}

/** The `yyyy-mm-ddThh` hours from `hours - 1` hours before `now` up to now's, oldest first. */
export function recentHours(now: Date, hours: number): string[] {
  const result: string[] = [];
  for (let back = hours - 1; back >= 0; back--) result.push(new Date(now.getTime() - back * 3_600_000).toISOString().slice(0, 13));
  return result;
}

/**
 * From merged aggregate items (write-shard parts already added up) of the given hours: revenue per
 * currency per hour (TYPE#purchase), top products and categories and the event-type mix over the
 * last `topHours` of them.
 */
export function summariseAggregates(items: readonly AggregateContribution[], hours: readonly string[], topHours = TOP_HOURS): AggregatesSection {
  const index = new Map(hours.map((hour, i) => [hour, i]));
  const topFrom = Math.max(0, hours.length - topHours);
  const minor: Record<string, number[]> = {};
  const products = new Map<string, RankedItem>();
  const categories = new Map<string, RankedItem>();
  const eventTypes: Record<string, number> = {};
  let newest: string | undefined;
  for (const item of items) {
    const hour = hourOfPartitionKey(item.pk);
    const i = hour === undefined ? undefined : index.get(hour);
    if (hour === undefined || i === undefined) continue;
    if (item.count > 0 && (newest === undefined || hour > newest)) newest = hour;
    if (item.sk === 'TYPE#purchase') {
      for (const [currency, amount] of Object.entries(item.revenue)) {
        (minor[currency] ??= new Array<number>(hours.length).fill(0))[i]! += amount;
      }
    }
    if (i < topFrom) continue;
    const rank = (map: Map<string, RankedItem>, key: string) => {
      const entry = map.get(key) ?? { key, events: 0, units: 0 };
      entry.events += item.count;
      entry.units += item.units;
      map.set(key, entry);
    };
    if (item.sk.startsWith('PRODUCT#')) rank(products, item.sk.slice('PRODUCT#'.length));
    else if (item.sk.startsWith('CATEGORY#')) rank(categories, item.sk.slice('CATEGORY#'.length));
    else if (item.sk.startsWith('TYPE#')) {
      const type = terminalText(item.sk.slice('TYPE#'.length), MAX_TEXT.key);
      eventTypes[type] = (eventTypes[type] ?? 0) + item.count;
    }
  }
  const top = (map: Map<string, RankedItem>) =>
    [...map.values()]
      .sort((a, b) => b.events - a.events || b.units - a.units || (a.key < b.key ? -1 : 1))
      .slice(0, TOP_N)
      .map((entry) => ({ ...entry, key: terminalText(entry.key, MAX_TEXT.key) }));
  const currencies: Record<string, number[]> = {};
  for (const currency of Object.keys(minor).sort()) {
    currencies[terminalText(currency, 8)] = minor[currency]!.map((amount) => fromMinorUnits(amount, currency));
  }
  return {
    revenue: { hours: [...hours], currencies },
    topProducts: top(products),
    topCategories: top(categories),
    eventTypes,
    ...(newest !== undefined ? { lastStoredHour: `${newest}:00:00.000Z` } : {}),
  };
}

const SEGMENT_ORDER: readonly string[] = [...USER_SEGMENTS, 'known, no segment', 'anonymous'];

/**
 * The user segment mix of stored events: `user_segment` when the event carries one (schema v2
 * and v3 events of known users); otherwise `anonymous` without a `user_id`, or `known, no segment`
 * (schema v1 events, or a client that sends none).
 */
export function segmentMix(items: ReadonlyArray<Record<string, unknown>>): Array<{ segment: string; count: number }> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const segment =
      typeof item.user_segment === 'string' && item.user_segment !== ''
        ? terminalText(item.user_segment, MAX_TEXT.key)
        : item.user_id === undefined || item.user_id === null
          ? 'anonymous'
          : 'known, no segment';
    counts.set(segment, (counts.get(segment) ?? 0) + 1);
  }
  const order = (segment: string) => {
    const i = SEGMENT_ORDER.indexOf(segment);
    return i === -1 ? SEGMENT_ORDER.length : i;
  };
  return [...counts.entries()].map(([segment, count]) => ({ segment, count })).sort((a, b) => order(a.segment) - order(b.segment) || b.count - a.count);
}

// ---------------------------------------------------------------------------------------------
// Reading.

/** One value refreshed at most every `ttlMs`; concurrent callers share one refresh. */
export function cached<T>(ttlMs: number, read: () => Promise<T>): () => Promise<T> {
  let value: { at: number; result: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (value && now - value.at < ttlMs) return value.result;
    const result = read();
    value = { at: now, result };
    // A failure is not kept: the next call tries again.
    result.catch(() => {
      if (value?.result === result) value = undefined;
    });
    return result;
  };
}

export interface DashboardSources {
  stackName: string;
  ring: RateRing;
  totals: () => MetricTotals;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
  deadLetterQueueUrl: string;
  aggregatesTableName: string;
  eventsTableName: string;
}

export interface DashboardReader {
  read(now?: Date): Promise<DashboardData>;
}

export function createDashboardReader(sources: DashboardSources): DashboardReader {
  const documents = DynamoDBDocumentClient.from(sources.dynamodb);

  const readDlq = cached(4_000, async (): Promise<DlqSection> => {
    const now = new Date();
    const depth = await queueDepth(sources.sqs, sources.deadLetterQueueUrl);
    // The same non-consuming peek as `pipeline dlq stats`: received with a short visibility
    // timeout, never deleted, made visible again at once.
    const messages = depth.visible > 0 ? await peekQueue(sources.sqs, sources.deadLetterQueueUrl, { max: DLQ_PEEK_MAX }) : [];
    const stats = groupDeadLetters(messages, now, 3);
    const ages = messages.map((m) => ageSeconds(m, now)).filter((a): a is number => a !== undefined);
    return {
      depth: depth.visible + depth.inFlight,
      visible: depth.visible,
      inFlight: depth.inFlight,
      peeked: messages.length,
      ...(ages.length > 0 ? { oldest_age_seconds: Math.round(Math.max(...ages)) } : {}),
      reasons: dlqReasons(stats),
    };
  });

  const readAggregates = cached(4_000, async (): Promise<AggregatesSection> => {
    const hours = recentHours(new Date(), REVENUE_HOURS);
    const parts: AggregateContribution[] = [];
    for (const hour of hours) {
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await documents.send(
          new QueryCommand({
            TableName: sources.aggregatesTableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': `HOUR#${hour}` },
            ExclusiveStartKey,
          }),
        );
        for (const item of page.Items ?? []) parts.push(aggregateFromItem(item));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
    }
    return summariseAggregates(mergeWriteShards(parts), hours);
  });

  const readSegments = cached(10_000, async (): Promise<SegmentSection> => {
    const items: Array<Record<string, unknown>> = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    let more = false;
    do {
      const page = await documents.send(
        new ScanCommand({
          TableName: sources.eventsTableName,
          ProjectionExpression: '#segment, #user',
          ExpressionAttributeNames: { '#segment': 'user_segment', '#user': 'user_id' },
          Limit: Math.min(500, SEGMENT_SCAN_MAX - items.length),
          ExclusiveStartKey,
        }),
      );
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
      more = ExclusiveStartKey !== undefined;
    } while (more && items.length < SEGMENT_SCAN_MAX);
    return { field: 'user_segment', counts: segmentMix(items), scanned: items.length, sampled: more };
  });

  return {
    async read(now = new Date()) {
      const totals = sources.totals();
      const errors: Record<string, string> = {};
      const settle = async <T>(name: string, read: () => Promise<T>): Promise<T | undefined> => {
        try {
          return await read();
        } catch (error) {
          errors[name] = error instanceof Error ? error.message : String(error);
          return undefined;
        }
      };
      const [dlq, aggregates, segments] = await Promise.all([settle('dlq', readDlq), settle('aggregates', readAggregates), settle('segments', readSegments)]);
      const counts = Object.fromEntries(Object.entries(totals).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
      const stageTotals = { ...counts } as DashboardData['totals'];
      for (const stage of STAGES) stageTotals[stage.key] = counts[stage.metric] ?? 0;
      const valid = counts.EventsValid ?? 0;
      const invalid = counts.EventsInvalid ?? 0;

      // `pipeline status` on the local cloud: the same signals (counters, DLQ depth and oldest age,
      // backlog, newest Aggregates hour) and the same judgement.
      let health: HealthSection | undefined;
      if (dlq) {
        const report = evaluateStatus(
          {
            source: 'local-counters',
            counts,
            dlqDepth: dlq.depth,
            ...(dlq.oldest_age_seconds !== undefined ? { dlqOldestAgeSeconds: dlq.oldest_age_seconds } : {}),
            backlog: backlogFrom(counts),
            ...(aggregates?.lastStoredHour
              ? { lastStoredAt: new Date(aggregates.lastStoredHour), lastStoredBasis: 'newest Aggregates hour holding events, by event_time' }
              : {}),
          },
          DEFAULT_THRESHOLDS,
          now,
        );
        health = { status: report.status, reasons: report.reasons.map((r) => ({ severity: r.severity, message: terminalText(r.message, 240) })) };
      }

      return {
        generatedAt: now.toISOString(),
        stackName: sources.stackName,
        totals: stageTotals,
        current: sources.ring.recentRates(10_000),
        rates: sources.ring.series(RATE_WINDOW_MS),
        stages: STAGES.map(({ key, label }) => ({ key, label })),
        validity: { valid, invalid, ...(valid + invalid > 0 ? { share: valid / (valid + invalid) } : {}) },
        ...(health ? { health } : {}),
        ...(dlq ? { dlq } : {}),
        ...(aggregates ? { aggregates } : {}),
        ...(segments ? { segments } : {}),
        errors,
      };
    },
  };
}
