import { aggregateAttributes, aggregateKey, type AggregateContribution } from '../../../lambdas/shared/aggregates';
import type { EnrichedEvent } from '../../../lambdas/shared/events';
import type { EntryRefusal, EventStore, StoreEntry, WriteResult } from '../../../lambdas/loader/store';

/**
 * The loader's store port in memory, with the DynamoDB adapter's semantics (all or nothing,
 * conditional create per event, ADD per aggregate), and switches to fail the way DynamoDB does:
 * a transient failure before or after the write commits, or an item the sink refuses.
 */
export class MemoryEventStore implements EventStore {
  readonly maxItemsPerWrite: number;
  readonly events = new Map<string, { event: EnrichedEvent; source: string }>();
  readonly aggregates = new Map<string, Record<string, number> & { pk?: never }>();
  writes = 0;
  /** Decides per write whether it fails transiently (before anything is written). */
  failBefore: (entries: readonly StoreEntry[], aggregates: readonly AggregateContribution[]) => boolean = () => false;
  /** Decides per write whether it commits and then "loses the answer" (a timeout after the commit). */
  failAfter: (entries: readonly StoreEntry[]) => boolean = () => false;
  /** Event ids whose item the sink refuses (as DynamoDB refuses a number it cannot store). */
  readonly refuse = new Set<string>();

  constructor(maxItemsPerWrite = 100) {
    this.maxItemsPerWrite = maxItemsPerWrite;
  }

  async write(entries: readonly StoreEntry[], aggregates: readonly AggregateContribution[]): Promise<WriteResult> {
    this.writes += 1;
    if (entries.length + aggregates.length > this.maxItemsPerWrite) throw new Error('too many items');
    if (this.failBefore(entries, aggregates)) throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    const refused = entries.filter((e) => this.refuse.has(e.event.event_id));
    if (refused.length > 0) return { kind: 'invalid', message: 'One or more parameter values were invalid: Number underflow' };
    const refusals = new Map<number, EntryRefusal>();
    entries.forEach((entry, index) => {
      const existing = this.events.get(entry.event.event_id);
      if (existing) refusals.set(index, existing.source === entry.source ? { kind: 'rewritten' } : { kind: 'duplicate', existingSource: existing.source });
    });
    if (refusals.size > 0) return { kind: 'refused', refusals };
    for (const entry of entries) this.events.set(entry.event.event_id, { event: entry.event, source: entry.source });
    for (const aggregate of aggregates) {
      const key = aggregateKey(aggregate.pk, aggregate.sk);
      const item = this.aggregates.get(key) ?? {};
      for (const [name, value] of Object.entries(aggregateAttributes(aggregate))) item[name] = (item[name] ?? 0) + value;
      this.aggregates.set(key, item);
    }
    if (this.failAfter(entries)) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    return { kind: 'committed' };
  }

  storedEvents(): EnrichedEvent[] {
    return [...this.events.values()].map((v) => v.event);
  }

  /** The table as `{pk, sk, count, units, revenue}` values, sorted like expectedAggregates. */
  aggregateValues(): AggregateContribution[] {
    return [...this.aggregates.entries()]
      .map(([key, item]) => {
        const [pk, sk] = key.split('|') as [string, string];
        const revenue: Record<string, number> = {};
        for (const [name, value] of Object.entries(item)) if (name.startsWith('revenue_') && value !== 0) revenue[name.slice(8)] = value;
        return { pk, sk, count: item.count ?? 0, units: item.units ?? 0, revenue };
      })
      .sort((a, b) => (a.pk === b.pk ? (a.sk < b.sk ? -1 : 1) : a.pk < b.pk ? -1 : 1));
  }
}
