import type { TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbEventStore, EVENTS_TTL_ATTRIBUTE, expiresAt, storedItem, ttlDaysFromEnv } from '../../../lambdas/loader/store';
import { SAMPLE_RECEIVED_AT } from '../../fixtures/events';
import { enrichedEvent } from './helpers';

// cdk.json eventsTtlDays -> the loader's EVENTS_TTL_DAYS -> expires_at on each stored event.
describe('TTL of stored events (eventsTtlDays)', () => {
  it('writes expires_at = received_at + N days in epoch seconds', () => {
    const event = enrichedEvent();
    const receivedSeconds = Math.floor(SAMPLE_RECEIVED_AT.getTime() / 1000);
    expect(event.received_at).toBe(SAMPLE_RECEIVED_AT.toISOString());
    expect(storedItem(event, 'shard/1', 7)[EVENTS_TTL_ATTRIBUTE]).toBe(receivedSeconds + 7 * 86_400);
    // By hand: 2026-01-01T00:00:00.900Z is 1767225600 s; + 30 days (2,592,000 s) = 1769817600.
    expect(expiresAt('2026-01-01T00:00:00.900Z', 30)).toBe(1_769_817_600);
    expect(expiresAt('2026-01-01T02:00:00+02:00', 1)).toBe(1_767_225_600 + 86_400);
  });

  it('writes no expires_at when eventsTtlDays is 0 (the default: events are kept)', () => {
    expect(storedItem(enrichedEvent(), 'shard/1')).not.toHaveProperty(EVENTS_TTL_ATTRIBUTE);
    expect(storedItem(enrichedEvent(), 'shard/1', 0)).not.toHaveProperty(EVENTS_TTL_ATTRIBUTE);
  });

  it('reads EVENTS_TTL_DAYS as the construct sets it, and refuses anything but whole days', () => {
    expect(ttlDaysFromEnv({})).toBe(0);
    expect(ttlDaysFromEnv({ EVENTS_TTL_DAYS: '0' })).toBe(0);
    expect(ttlDaysFromEnv({ EVENTS_TTL_DAYS: '14' })).toBe(14);
    expect(() => ttlDaysFromEnv({ EVENTS_TTL_DAYS: '1.5' })).toThrow(/EVENTS_TTL_DAYS/);
    expect(() => ttlDaysFromEnv({ EVENTS_TTL_DAYS: '-1' })).toThrow(/EVENTS_TTL_DAYS/);
  });

  it('puts expires_at on every event of the transaction, and nothing on the aggregate updates', async () => {
    const sent: TransactWriteItemsCommand[] = [];
    const store = new DynamoDbEventStore({ send: async (command: unknown) => void sent.push(command as TransactWriteItemsCommand) } as never, 'Events', 'Aggregates', 3);
    const event = enrichedEvent();
    const result = await store.write([{ event, source: 'shardId-000000000000/1' }], [{ pk: 'HOUR#2026-01-01T00', sk: 'TYPE#page_view', count: 1, units: 0, revenue: {} }]);
    expect(result).toEqual({ kind: 'committed' });
    const items = sent[0]!.input.TransactItems!;
    expect(items[0]!.Put!.Item![EVENTS_TTL_ATTRIBUTE]).toEqual({ N: String(expiresAt(event.received_at, 3)) });
    expect(JSON.stringify(items[1])).not.toContain(EVENTS_TTL_ATTRIBUTE);
  });
});
