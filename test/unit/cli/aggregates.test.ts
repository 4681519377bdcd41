import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createAggregatesTable, createEventsTable } from '../../fixtures/tables';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  aggregateAttributes,
  aggregateContributions,
  expectedAggregates,
  type AggregateSource,
} from '../../../lambdas/shared/aggregates';
import { aggregatesExitCode, checkAggregates, parseHourBound, type AggregatesOptions, type AggregatesReport } from '../../../tools/cli/aggregates';
import { formatAggregates } from '../../../tools/cli/aggregates-format';
import { escapeControl, terminalText, truncate } from '../../../tools/cli/terminal-text';

// A real (emulated) DynamoDB: the conditional writes, consistent reads, filters and pagination
// behave as DynamoDB's do. dynalite ships no type declarations; loaded through require.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: { createTableMs: number }) => Server;
const server = dynalite({ createTableMs: 0 });
let raw: DynamoDBClient;
let dynamo: DynamoDBDocumentClient;
let suffix = 0;
let eventsTable = '';
let aggregatesTable = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  raw = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  dynamo = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
});

afterAll(async () => {
  raw.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(async () => {
  suffix += 1;
  eventsTable = `Events${suffix}`;
  aggregatesTable = `Aggregates${suffix}`;
  await createEventsTable(raw, eventsTable, { byUser: false });
  await createAggregatesTable(raw, aggregatesTable);
});

type StoredEvent = AggregateSource & { event_id: string };

const purchase = (id: string, eventTime: string, product: string, quantity: number, currency: string, total: number): StoredEvent => ({
  event_id: id,
  event_type: 'purchase',
  event_time: eventTime,
  category: 'shoes',
  product_id: product,
  quantity,
  currency,
  total_amount: total,
});
const view = (id: string, eventTime: string, product?: string): StoredEvent => ({
  event_id: id,
  event_type: 'page_view',
  event_time: eventTime,
  ...(product !== undefined ? { product_id: product, category: 'shoes' } : {}),
});

const EVENTS: StoredEvent[] = [
  purchase('e1', '2026-11-30T07:10:00Z', 'SKU-1', 2, 'EUR', 49),
  purchase('e2', '2026-11-30T07:20:00.250Z', 'SKU-2', 1, 'USD', 10.5),
  view('e3', '2026-11-30T07:30:00Z', 'SKU-1'),
  // 09:45 at +02:00 is 07:45 UTC: hour 07, not 09.
  purchase('e4', '2026-11-30T09:45:00+02:00', 'SKU-1', 1, 'JPY', 1200),
  // 00:30 at -08:00 is 08:30 UTC.
  view('e5', '2026-11-30T00:30:00-08:00'),
  // 23:30 at -01:00 is 00:30 UTC the next day.
  view('e6', '2026-11-30T23:30:00-01:00'),
];

const H07 = 'HOUR#2026-11-30T07';
const H08 = 'HOUR#2026-11-30T08';
const H_NEXT_DAY = 'HOUR#2026-12-01T00';
const H05 = 'HOUR#2026-11-30T05';

async function putEvents(events: readonly StoredEvent[]) {
  for (const event of events) await dynamo.send(new PutCommand({ TableName: eventsTable, Item: { ...event, received_at: '2026-11-30T10:00:00Z' } }));
}

/** The aggregates exactly as they should be, as the loader would have written them. */
async function putCorrectAggregates(events: readonly StoredEvent[]) {
  for (const a of expectedAggregates(events)) {
    await dynamo.send(new PutCommand({ TableName: aggregatesTable, Item: { pk: a.pk, sk: a.sk, ...aggregateAttributes(a) } }));
  }
}

/** What the loader does for one new event: store it, and add its contributions to its items. */
async function loaderWrites(event: StoredEvent) {
  await dynamo.send(new PutCommand({ TableName: eventsTable, Item: event }));
  for (const c of aggregateContributions(event)) {
    const attributes = aggregateAttributes(c);
    const names = Object.keys(attributes);
    await dynamo.send(
      new UpdateCommand({
        TableName: aggregatesTable,
        Key: { pk: c.pk, sk: c.sk },
        UpdateExpression: `ADD ${names.map((_, i) => `#a${i} :a${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#a${i}`, n])),
        ExpressionAttributeValues: Object.fromEntries(names.map((n, i) => [`:a${i}`, attributes[n]])),
      }),
    );
  }
}

async function bumpCount(pk: string, sk: string, by = 1) {
  await dynamo.send(
    new UpdateCommand({
      TableName: aggregatesTable,
      Key: { pk, sk },
      UpdateExpression: 'ADD #count :by',
      ExpressionAttributeNames: { '#count': 'count' },
      ExpressionAttributeValues: { ':by': by },
    }),
  );
}

async function scanAll(tableName: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The Aggregates table as {pk|sk: attributes}, without attributes other than the aggregate's. */
async function tableState(): Promise<Record<string, Record<string, unknown>>> {
  const state: Record<string, Record<string, unknown>> = {};
  for (const { pk, sk, ...attributes } of await scanAll(aggregatesTable)) state[`${String(pk)}|${String(sk)}`] = attributes;
  return state;
}

/** What the table must hold for the events stored now. */
async function exactState(): Promise<Record<string, Record<string, unknown>>> {
  const stored = (await scanAll(eventsTable)) as unknown as StoredEvent[];
  return Object.fromEntries(expectedAggregates(stored).map((a) => [`${a.pk}|${a.sk}`, aggregateAttributes(a)]));
}

const run = (mode: 'verify' | 'rebuild', extra: Partial<AggregatesOptions> = {}): Promise<AggregatesReport> =>
  checkAggregates(dynamo, { eventsTableName: eventsTable, aggregatesTableName: aggregatesTable, mode, pageSize: 2, ...extra });

/** Every kind of damage: an item missing, a wrong count, a wrong and an extra currency, extra items. */
async function damaged() {
  await putEvents(EVENTS);
  await putCorrectAggregates(EVENTS);
  await dynamo.send(new DeleteCommand({ TableName: aggregatesTable, Key: { pk: H07, sk: 'CATEGORY#shoes' } }));
  await bumpCount(H07, 'TYPE#page_view', 2);
  await dynamo.send(
    new UpdateCommand({
      TableName: aggregatesTable,
      Key: { pk: H07, sk: 'TYPE#purchase' },
      UpdateExpression: 'SET revenue_EUR = :eur, revenue_GBP = :gbp, hwm_other = :kept',
      ExpressionAttributeValues: { ':eur': 4800, ':gbp': 100, ':kept': 'not an aggregate attribute' },
    }),
  );
  await dynamo.send(new PutCommand({ TableName: aggregatesTable, Item: { pk: H08, sk: 'PRODUCT#SKU-ghost', count: 3, units: 0 } }));
  await dynamo.send(new PutCommand({ TableName: aggregatesTable, Item: { pk: H05, sk: 'TYPE#page_view', count: 1, units: 0 } }));
}

describe('the fixture', () => {
  it('puts the offset event_times in their UTC hours, with revenue per currency in minor units', async () => {
    await putEvents(EVENTS);
    const exact = await exactState();
    expect(exact[`${H07}|TYPE#purchase`]).toEqual({ count: 3, units: 4, revenue_EUR: 4900, revenue_USD: 1050, revenue_JPY: 1200 });
    expect(exact[`${H07}|TYPE#page_view`]).toEqual({ count: 1, units: 0 });
    expect(exact[`${H08}|TYPE#page_view`]).toEqual({ count: 1, units: 0 });
    expect(exact[`${H_NEXT_DAY}|TYPE#page_view`]).toEqual({ count: 1, units: 0 });
    expect(Object.keys(exact).some((key) => key.startsWith('HOUR#2026-11-30T09'))).toBe(false);
  });
});

describe('aggregates verify', () => {
  it('finds a missing item, a wrong count, a wrong and an extra currency and extra items, field by field', async () => {
    await damaged();
    const report = await run('verify');
    expect(report.differences).toEqual([
      { pk: H05, sk: 'TYPE#page_view', state: 'extra', fields: [{ field: 'count', table: 1, events: null }, { field: 'units', table: 0, events: null }] },
      {
        pk: H07,
        sk: 'CATEGORY#shoes',
        state: 'missing',
        fields: [
          { field: 'count', table: null, events: 4 },
          { field: 'units', table: null, events: 4 },
          { field: 'revenue_EUR', table: null, events: 4900 },
          { field: 'revenue_JPY', table: null, events: 1200 },
          { field: 'revenue_USD', table: null, events: 1050 },
        ],
      },
      { pk: H07, sk: 'TYPE#page_view', state: 'differs', fields: [{ field: 'count', table: 3, events: 1 }] },
      {
        pk: H07,
        sk: 'TYPE#purchase',
        state: 'differs',
        fields: [
          { field: 'revenue_EUR', table: 4800, events: 4900 },
          { field: 'revenue_GBP', table: 100, events: null },
        ],
      },
      { pk: H08, sk: 'PRODUCT#SKU-ghost', state: 'extra', fields: [{ field: 'count', table: 3, events: null }, { field: 'units', table: 0, events: null }] },
    ]);
    expect(report).toMatchObject({ hours: 4, events: 6, unreadableEvents: 0, unsettled: [], redoneHours: [] });
    expect(aggregatesExitCode(report)).toBe(1);
    // verify writes nothing.
    expect((await tableState())[`${H07}|TYPE#purchase`]).toMatchObject({ revenue_EUR: 4800, revenue_GBP: 100 });
  });

  it('exits 0 when every item equals what the stored events imply', async () => {
    await putEvents(EVENTS);
    await putCorrectAggregates(EVENTS);
    const report = await run('verify');
    expect(report).toMatchObject({ hours: 3, events: 6, differences: [], unsettled: [] });
    expect(aggregatesExitCode(report)).toBe(0);
    expect(formatAggregates(report)).toBe('3 hour(s) (every hour in either table), 7 aggregate item(s), 6 stored event(s): every item equals what the stored events imply.');
  });

  it('checks only the hours asked for, placing offset event_times by their UTC hour', async () => {
    await damaged();
    // Hour 08 holds e5 (00:30-08:00); e4 (09:45+02:00) is in hour 07 and stays out.
    const report = await run('verify', { from: parseHourBound('2026-11-30T08', '--from'), to: parseHourBound('2026-11-30T08:59:59Z', '--to') });
    expect(report).toMatchObject({ hours: 1, events: 1, items: 2 });
    expect(report.differences.map((d) => `${d.pk}|${d.sk}`)).toEqual([`${H08}|PRODUCT#SKU-ghost`]);
    // An ISO time with an offset: 09:30+02:00 is hour 07 UTC; an open --to reads everything after.
    const after = await run('verify', { from: parseHourBound('2026-11-30T09:30:00+02:00', '--from') });
    expect(after.differences.map((d) => d.pk)).not.toContain(H05);
    expect(after).toMatchObject({ hours: 3, events: 6 });
    const before = await run('verify', { to: parseHourBound('2026-11-30T07', '--to') });
    expect([...new Set(before.differences.map((d) => d.pk))]).toEqual([H05, H07]);
  });

  it('reads an hour again when the loader writes to it between the reads, and judges it right', async () => {
    await putEvents(EVENTS);
    await putCorrectAggregates(EVENTS);
    const late = purchase('e-late', '2026-11-30T07:50:00Z', 'SKU-1', 1, 'EUR', 5);
    const report = await run('verify', {
      hooks: {
        // Stored after the aggregates were read, before the events are scanned.
        afterFirstRead: async (attempt) => {
          if (attempt === 1) await loaderWrites(late);
        },
      },
    });
    expect(report).toMatchObject({ differences: [], unsettled: [], redoneHours: [H07], attempts: 2 });
    expect(aggregatesExitCode(report)).toBe(0);
  });
});

describe('aggregates rebuild', () => {
  it('repairs every difference, touches nothing else, and a second rebuild has nothing to do', async () => {
    await damaged();
    const report = await run('rebuild');
    expect(report.differences).toHaveLength(5);
    expect(report.repaired).toEqual({ updated: 2, created: 1, deleted: 2 });
    expect(aggregatesExitCode(report)).toBe(0);
    const state = await tableState();
    const { hwm_other: kept, ...purchaseItem } = state[`${H07}|TYPE#purchase`]!;
    expect(kept).toBe('not an aggregate attribute');
    expect(purchaseItem).toEqual({ count: 3, units: 4, revenue_EUR: 4900, revenue_USD: 1050, revenue_JPY: 1200 });
    delete state[`${H07}|TYPE#purchase`]!.hwm_other;
    expect(state).toEqual(await exactState());

    const again = await run('rebuild');
    expect(again).toMatchObject({ differences: [], repaired: { updated: 0, created: 0, deleted: 0 }, unsettled: [] });
    expect(aggregatesExitCode(again)).toBe(0);
    expect(formatAggregates(again)).toContain('Nothing to repair.');
    expect(aggregatesExitCode(await run('verify'))).toBe(0);
  });

  it('rebuilds only the hours asked for', async () => {
    await damaged();
    const report = await run('rebuild', { from: parseHourBound('2026-11-30T08', '--from'), to: parseHourBound('2026-11-30T08', '--to') });
    expect(report.repaired).toEqual({ updated: 0, created: 0, deleted: 1 });
    const left = await run('verify');
    expect([...new Set(left.differences.map((d) => d.pk))]).toEqual([H05, H07]);
  });

  it('redoes an hour when a concurrent writer adds to a count between its read and its update, and ends exact', async () => {
    await damaged();
    const report = await run('rebuild', {
      hooks: {
        beforeWrite: async (pk, attempt) => {
          if (pk === H07 && attempt === 1) await bumpCount(H07, 'TYPE#purchase');
        },
      },
    });
    expect(report).toMatchObject({ redoneHours: [H07], unsettled: [], attempts: 2 });
    expect(aggregatesExitCode(report)).toBe(0);
    const state = await tableState();
    delete state[`${H07}|TYPE#purchase`]!.hwm_other;
    expect(state).toEqual(await exactState());
  });

  it('counts an event the loader stores during the rebuild exactly once', async () => {
    await damaged();
    const late = purchase('e-late', '2026-11-30T07:55:00Z', 'SKU-1', 3, 'GBP', 7.25);
    const report = await run('rebuild', {
      hooks: {
        beforeWrite: async (pk, attempt) => {
          if (pk === H07 && attempt === 1) await loaderWrites(late);
        },
      },
    });
    expect(report).toMatchObject({ redoneHours: [H07], unsettled: [] });
    const state = await tableState();
    delete state[`${H07}|TYPE#purchase`]!.hwm_other;
    expect(state).toEqual(await exactState());
    expect(state[`${H07}|TYPE#purchase`]).toEqual({ count: 4, units: 7, revenue_EUR: 4900, revenue_USD: 1050, revenue_JPY: 1200, revenue_GBP: 725 });
  });

  it('gives up on an hour the loader keeps writing to after the attempts, says so and exits 1', async () => {
    await damaged();
    const report = await run('rebuild', {
      maxAttempts: 3,
      hooks: {
        beforeWrite: async (pk) => {
          if (pk === H07) await bumpCount(H07, 'TYPE#purchase');
        },
      },
    });
    expect(report.unsettled.map((u) => [u.pk, u.attempts])).toEqual([[H07, 3]]);
    expect(aggregatesExitCode(report)).toBe(1);
    expect(formatAggregates(report)).toContain('NOT REPAIRED: 2026-11-30T07 after 3 attempt(s): the loader kept writing to it.');
    // The other hours were repaired.
    const left = await run('verify');
    expect([...new Set(left.differences.map((d) => d.pk))]).toEqual([H07]);
  });
});

describe('the output', () => {
  it('shows one row per differing field, and escapes and bounds client data', async () => {
    await putEvents(EVENTS);
    await putCorrectAggregates(EVENTS);
    const hostile = `PRODUCT#\u001b[2J\u001b[31mred\u0007${'x'.repeat(100)}`;
    await dynamo.send(new PutCommand({ TableName: aggregatesTable, Item: { pk: H08, sk: hostile, count: 1, units: 0 } }));
    await bumpCount(H07, 'TYPE#page_view');
    const text = formatAggregates(await run('verify'));
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(text).toContain('PRODUCT#\\x1b[2J\\x1b[31mred\\x07xxx');
    expect(Math.max(...text.split('\n').map((line) => line.length))).toBeLessThan(160);
    expect(text.split('\n').slice(0, 5)).toEqual([
      'pk                  sk                                                state    field  table  events',
      'HOUR#2026-11-30T07  TYPE#page_view                                    differs  count      2       1',
      `HOUR#2026-11-30T08  ${terminalText(hostile, 48)}  extra    count      1       -`,
      '                                                                               units      0       -',
      '',
    ]);
    expect(text).toContain('2 item(s) differ in 2 hour(s).');
  });

  it('escapes control characters, backslashes and bidi overrides, and truncates by characters', () => {
    expect(escapeControl('a\u0000b\nc\\d\u202ee\u009b')).toBe('a\\x00b\\x0ac\\\\d\\u202ee\\x9b');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abcd', 4)).toBe('abcd');
    expect(truncate('😀😀😀', 2)).toBe('😀…');
  });

  it('reads hours and ISO times, truncated to the UTC hour, and refuses anything else', () => {
    expect(parseHourBound('2026-11-30T07', '--from')).toBe('HOUR#2026-11-30T07');
    expect(parseHourBound('2026-11-30T07:59:59.999Z', '--from')).toBe('HOUR#2026-11-30T07');
    expect(parseHourBound('2026-11-30T07:30', '--from')).toBe('HOUR#2026-11-30T07');
    expect(parseHourBound('2026-11-30T01:00:00-06:30', '--from')).toBe('HOUR#2026-11-30T07');
    expect(parseHourBound('2026-11-30', '--from')).toBe('HOUR#2026-11-30T00');
    expect(() => parseHourBound('yesterday', '--to')).toThrow(/--to must be an hour \(2026-11-30T07\) or an ISO-8601 time, got "yesterday"/);
  });
});
