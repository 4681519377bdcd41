import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { DataApi } from '../../../lambdas/shared/data-api';
import { migrate } from '../../../lambdas/sql-migrations/migrate';
import { MIGRATIONS } from '../../../lambdas/sql-migrations/migrations';
import { sinkRecords, type SinkDeps } from '../../../lambdas/sql-sink/sink';
import { DataApiEventStore } from '../../../lambdas/sql-sink/store';
import { startAwsEndpoint, type AwsEndpoint } from '../../../tools/local-cloud/endpoint';
import { enrichedEvent, kinesisRecord, sequenceNumber } from '../loader/helpers';

// The schema's migrations applied twice, known events stored through the SqlSink's own code (the
// Data API adapter, against the local Data API on PGlite), and every view read back.
const region = 'us-east-1';
const accountId = '000000000000';
const resourceArn = `arn:aws:rds:${region}:${accountId}:cluster:views-test`;
let endpoint: AwsEndpoint;
let client: RDSDataClient;
let api: DataApi;

const noDeadLetters = { send: () => Promise.reject(new Error('no dead letter expected')) } as unknown as SinkDeps['sqs'];
const deps = (): SinkDeps => ({ store: new DataApiEventStore(api), sqs: noDeadLetters, deadLetterQueueUrl: 'unused' });

// Known events (received 2026-11-22T10:00Z; late_arrival when more than 10 minutes before that).
const user1 = { user_id: 'user-1', session_id: 'sess-a', user_segment: 'premium' };
const user2 = { user_id: 'user-2', session_id: 'sess-b', user_segment: 'returning' };
const E1 = enrichedEvent({ ...user1, event_time: '2026-11-22T09:59:00Z', category: 'books', price: 19.99, quantity: 3, currency: 'EUR' });
const E2 = enrichedEvent({ ...user2, event_time: '2026-11-22T09:10:00Z', category: 'books', price: 10, quantity: 1, currency: 'USD' });
const E3 = enrichedEvent({ ...user1, event_time: '2026-11-22T09:59:30Z', category: 'books', price: 0.0001, quantity: 1000, currency: 'EUR' });
const noSale = { product_id: undefined, price: undefined, currency: undefined, quantity: undefined };
const E4 = enrichedEvent({ ...noSale, event_type: 'page_view', user_id: 'user-3', session_id: 'sess-c', user_segment: 'new', event_time: '2026-11-22T09:30:00Z', category: 'books' });
const E5 = enrichedEvent({ ...noSale, ...user1, event_type: 'page_view', event_time: '2026-11-22T09:58:00Z', category: 'books' });
const E6 = enrichedEvent({ ...user2, event_type: 'add_to_cart', event_time: '2026-11-22T08:15:00Z', category: 'toys', price: 5.5, quantity: 2, currency: 'USD' });
const anonymous = { ...noSale, user_id: undefined, user_segment: undefined, category: undefined, device_type: undefined, browser: undefined };
const E7 = enrichedEvent({ ...anonymous, event_type: 'search', search_query: 'lego', session_id: 'sess-anon', event_time: '2026-11-22T08:20:00Z' });
const E8 = enrichedEvent({ ...noSale, event_type: 'page_view', user_id: 'user-4', session_id: 'sess-d', user_segment: undefined, category: undefined, event_time: '2026-11-22T09:40:00Z' });

const batchA = [E1, E2, E3, E4, E5].map((event, i) => kinesisRecord(event, sequenceNumber(i + 1), 'shardId-000000000000'));
batchA.push(kinesisRecord('not json', sequenceNumber(6), 'shardId-000000000000'));
// E1 again from another record: a client resend.
const batchB = [E6, E7, E8, E1].map((event, i) => kinesisRecord(event, sequenceNumber(i + 1), 'shardId-000000000001'));

async function rows(sql: string): Promise<Array<Record<string, unknown>>> {
  const answer = await api.execute(sql, [], { json: true });
  return JSON.parse(answer.formattedRecords ?? '[]') as Array<Record<string, unknown>>;
}

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0, region, accountId });
  const secretArn = endpoint.secrets.put({ name: 'views-secret', value: '{"username":"postgres","password":"local"}' }).arn;
  endpoint.rdsData.addCluster({ arn: resourceArn, databaseName: 'pipeline', secretArn });
  client = new RDSDataClient({ endpoint: endpoint.url, region, credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, maxAttempts: 1 });
  api = new DataApi(client, { resourceArn, secretArn, database: 'pipeline' });
});

afterAll(async () => {
  client?.destroy();
  await endpoint?.close();
});

describe('SQL schema: migrations and seed 002 views on known data', () => {
  it('applies every migration once; a second run applies nothing', async () => {
    expect(await migrate(api)).toEqual({ applied: MIGRATIONS.map((m) => m.version), current: MIGRATIONS.at(-1)!.version });
    expect(await migrate(api)).toEqual({ applied: [], current: MIGRATIONS.at(-1)!.version });
    expect(await rows('SELECT version, name FROM schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
  });

  it('stores each event once through the sink, under a retried batch and a resend', async () => {
    const first = await sinkRecords(batchA, deps());
    expect(first.batchItemFailures).toEqual([]);
    expect(first.summary).toMatchObject({ records: 6, stored: 5, rewritten: 0, duplicates: 0, undecodable: 1 });
    // Lambda retries the same batch (say the invocation timed out after storing): nothing new.
    const retried = await sinkRecords(batchA, deps());
    expect(retried.summary).toMatchObject({ stored: 0, rewritten: 5, duplicates: 0 });
    const second = await sinkRecords(batchB, deps());
    expect(second.summary).toMatchObject({ records: 4, stored: 3, duplicates: 1 });
    expect(await rows('SELECT count(*) AS events, count(DISTINCT event_id) AS ids FROM ecommerce_events')).toEqual([{ events: 8, ids: 8 }]);
    const [stored] = await rows(`SELECT price, total_amount, event_time, event_date, event_hour, stored_source FROM ecommerce_events WHERE event_id = '${E3.event_id}'`);
    expect(stored).toEqual({
      price: '0.0001',
      total_amount: '0.10',
      event_time: '2026-11-22 09:59:30',
      event_date: '2026-11-22',
      event_hour: 9,
      stored_source: `shardId-000000000000/${sequenceNumber(3)}`,
    });
  });

  it('v_hourly_event_summary: per UTC hour and event type', async () => {
    expect(await rows('SELECT * FROM v_hourly_event_summary ORDER BY hour, event_type')).toEqual([
      { hour: '2026-11-22 08:00:00', event_type: 'add_to_cart', events: 1, unique_users: 1, unique_sessions: 1, anonymous_events: 0, late_arrivals: 1 },
      { hour: '2026-11-22 08:00:00', event_type: 'search', events: 1, unique_users: 0, unique_sessions: 1, anonymous_events: 1, late_arrivals: 1 },
      { hour: '2026-11-22 09:00:00', event_type: 'page_view', events: 3, unique_users: 3, unique_sessions: 3, anonymous_events: 0, late_arrivals: 2 },
      { hour: '2026-11-22 09:00:00', event_type: 'purchase', events: 3, unique_users: 2, unique_sessions: 2, anonymous_events: 0, late_arrivals: 1 },
    ]);
  });

  it('v_category_performance: revenue per currency, never summed across currencies', async () => {
    expect(await rows('SELECT * FROM v_category_performance ORDER BY category, currency NULLS LAST')).toEqual([
      { category: '(none)', page_views: 1, add_to_carts: 0, purchases_total: 0, view_to_purchase_pct: '0.00', currency: null, purchases: 0, units_sold: 0, revenue: '0', avg_order_value: null },
      { category: 'books', page_views: 2, add_to_carts: 0, purchases_total: 3, view_to_purchase_pct: '150.00', currency: 'EUR', purchases: 2, units_sold: 1003, revenue: '60.07', avg_order_value: '30.04' },
      { category: 'books', page_views: 2, add_to_carts: 0, purchases_total: 3, view_to_purchase_pct: '150.00', currency: 'USD', purchases: 1, units_sold: 1, revenue: '10.00', avg_order_value: '10.00' },
      { category: 'toys', page_views: 0, add_to_carts: 1, purchases_total: 0, view_to_purchase_pct: null, currency: null, purchases: 0, units_sold: 0, revenue: '0', avg_order_value: null },
    ]);
  });

  it('v_user_segment_analysis: per segment, revenue per currency', async () => {
    expect(await rows('SELECT * FROM v_user_segment_analysis ORDER BY user_segment, currency NULLS LAST')).toEqual([
      { user_segment: 'new', users: 1, sessions: 1, events: 1, events_per_session: '1.00', purchases_total: 0, purchasing_users_pct: '0.00', currency: null, purchases: 0, revenue: '0', revenue_per_purchasing_user: null },
      { user_segment: 'premium', users: 1, sessions: 1, events: 3, events_per_session: '3.00', purchases_total: 2, purchasing_users_pct: '100.00', currency: 'EUR', purchases: 2, revenue: '60.07', revenue_per_purchasing_user: '60.07' },
      { user_segment: 'returning', users: 1, sessions: 1, events: 2, events_per_session: '2.00', purchases_total: 1, purchasing_users_pct: '100.00', currency: 'USD', purchases: 1, revenue: '10.00', revenue_per_purchasing_user: '10.00' },
      { user_segment: 'unknown', users: 1, sessions: 2, events: 2, events_per_session: '1.00', purchases_total: 0, purchasing_users_pct: '0.00', currency: null, purchases: 0, revenue: '0', revenue_per_purchasing_user: null },
    ]);
  });

  it('v_data_quality_dashboard: one row per batch counted once, retries included', async () => {
    expect(await rows('SELECT shard_id, records, valid_records, invalid_records, invalid_by_code, stored, duplicates FROM data_quality_metrics ORDER BY shard_id')).toEqual([
      { shard_id: 'shardId-000000000000', records: 6, valid_records: 5, invalid_records: 1, invalid_by_code: '{"invalid_json": 1}', stored: 5, duplicates: 0 },
      { shard_id: 'shardId-000000000001', records: 4, valid_records: 4, invalid_records: 0, invalid_by_code: '{}', stored: 3, duplicates: 1 },
    ]);
    const dashboard = await rows('SELECT * FROM v_data_quality_dashboard');
    expect(dashboard).toEqual([
      expect.objectContaining({ batches: 2, records: 10, valid_records: 9, invalid_records: 1, valid_pct: '90.00', invalid_by_code: '{"invalid_json": 1}', stored: 8, duplicates: 1, status: 'DEGRADED' }),
    ]);
    const { lag_avg_seconds: average, lag_max_seconds: max } = dashboard[0]!;
    expect(Number(max)).toBeGreaterThanOrEqual(Number(average));
    expect(Number(average)).toBeGreaterThan(0);
  });

  it('refuses what the event rules refuse (CHECK constraints)', async () => {
    const bad = { ...E2, event_id: '00000000-0000-4000-8000-000000000001', event_type: 'purchase' as const, price: 0, total_amount: 0 };
    const result = await new DataApiEventStore(api).write([{ event: bad, source: 'shardId-x/1' }]);
    expect(result).toEqual({ kind: 'invalid', message: expect.stringMatching(/purchase_price_positive.*SQLState: 23514/) });
  });
});
