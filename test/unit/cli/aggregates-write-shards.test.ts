import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateFromItem, expectedAggregates, mergeWriteShards } from '../../../lambdas/shared/aggregates';
import { checkAggregates } from '../../../tools/cli/aggregates';
import { startAwsEndpoint, type AwsEndpoint } from '../../../tools/local-cloud/endpoint';
import { scanAll } from '../../harness/conservation';
import { createAggregatesTable, createEventsTable } from '../../fixtures/tables';

// `pipeline aggregates` on a table whose items have write-shard parts (aggregateWriteShards > 1):
// verify compares the sum of the parts; rebuild folds them into one item in a transaction, so it
// runs against the local endpoint (dynalite with the endpoint's TransactWriteItems).
let endpoint: AwsEndpoint;
let raw: DynamoDBClient;
let dynamo: DynamoDBDocumentClient;
const EVENTS = 'ws-events';
const AGGREGATES = 'ws-aggregates';
const HOUR = 'HOUR#2026-11-22T09';

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0, region: 'us-east-1', accountId: '000000000000' });
  raw = new DynamoDBClient({ endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
  dynamo = DynamoDBDocumentClient.from(raw);
  await createEventsTable(raw, EVENTS, { byUser: false });
  await createAggregatesTable(raw, AGGREGATES);
});

afterAll(async () => {
  raw.destroy();
  await endpoint.close();
});

const purchase = (id: string, total: number) => ({
  event_id: id,
  event_type: 'purchase',
  event_time: '2026-11-22T09:15:00Z',
  product_id: 'SKU-1',
  quantity: 1,
  currency: 'USD',
  total_amount: total,
});

const run = (mode: 'verify' | 'rebuild') => checkAggregates(dynamo, { eventsTableName: EVENTS, aggregatesTableName: AGGREGATES, mode });

describe('pipeline aggregates with write shards', () => {
  it('verifies the sum of the parts, and rebuild folds wrong parts into one exact item', async () => {
    const events = [purchase('e1', 10), purchase('e2', 20), purchase('e3', 30)];
    for (const event of events) await dynamo.send(new PutCommand({ TableName: EVENTS, Item: event }));
    // Two loaders' parts that add up exactly for TYPE#purchase, and one part short for PRODUCT#SKU-1.
    const part = (sk: string, count: number, cents: number) => ({ pk: HOUR, sk, count, units: count, revenue_USD: cents });
    for (const item of [part('W0#TYPE#purchase', 2, 3000), part('W5#TYPE#purchase', 1, 3000), part('W0#PRODUCT#SKU-1', 2, 3000)]) {
      await dynamo.send(new PutCommand({ TableName: AGGREGATES, Item: item }));
    }
    const verified = await run('verify');
    expect(verified.differences.map((d) => d.sk)).toEqual(['PRODUCT#SKU-1']);

    const rebuilt = await run('rebuild');
    expect(rebuilt.unsettled).toEqual([]);
    const items = await scanAll(dynamo, AGGREGATES);
    expect(items.filter((i) => String(i.sk).endsWith('PRODUCT#SKU-1')).map((i) => i.sk)).toEqual(['PRODUCT#SKU-1']);
    expect(mergeWriteShards(items.map(aggregateFromItem))).toEqual(expectedAggregates(events));
    expect((await run('verify')).differences).toEqual([]);

    // The loader keeps adding to its part after a rebuild: the sum stays exact.
    await dynamo.send(new PutCommand({ TableName: EVENTS, Item: purchase('e4', 5) }));
    for (const sk of ['W3#TYPE#purchase', 'W3#PRODUCT#SKU-1']) {
      await dynamo.send(
        new UpdateCommand({ TableName: AGGREGATES, Key: { pk: HOUR, sk }, UpdateExpression: 'ADD #c :one, #u :one, #r :cents', ExpressionAttributeNames: { '#c': 'count', '#u': 'units', '#r': 'revenue_USD' }, ExpressionAttributeValues: { ':one': 1, ':cents': 500 } }),
      );
    }
    expect((await run('verify')).differences).toEqual([]);
  });
});
