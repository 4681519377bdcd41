import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { loadRecords } from '../lambdas/loader/load';
import { DynamoDbEventStore, storedItem, type EventStore } from '../lambdas/loader/store';
import { aggregateAttributes } from '../lambdas/shared/aggregates';
import { leanDynamoClient } from '../lambdas/shared/aws-dynamodb';
import { withoutRequestLogging } from '../lambdas/shared/sdk-middleware';
import { createAggregatesTable, createEventsTable } from '../test/fixtures/tables';
import { forkTs, stopChild } from './child';
import { profiled } from './profile';
import { enrichedEvents, processedStreamRecords } from './records';

/**
 * The loader's CPU per event with three ways of writing the same transactions, interleaved round
 * by round against one forked local endpoint, so that a busy machine's noise hits all of them alike:
 * - `document-client`: the document client marshalling plain items (lib-dynamodb + util-dynamodb)
 *   and the SDK's JSON writer (how the loader wrote before; no refusals are expected here);
 * - `wire+sdk-json`: the loader's wire-format items through a plain DynamoDBClient;
 * - `loader`: the loader as it is (wire-format items, TransactJsonProtocol).
 *   npx tsx bench/loader-ab.ts [rounds=8] [batches of 100 per round=10]
 * AB_ONLY=<name> runs one of them; with BENCH_CPU_PROF_DIR it writes a CPU profile of the rounds.
 */

const rounds = Number(process.argv[2] ?? 8);
const batchesPerRound = Number(process.argv[3] ?? 10);
const batchSize = 100;
const { child, first } = await forkTs<{ url: string }>('endpoint-child.ts');
const config = { endpoint: first.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 3 };
const loaderClient = leanDynamoClient(config);
const plain = withoutRequestLogging(new DynamoDBClient(config));
const document = DynamoDBDocumentClient.from(withoutRequestLogging(new DynamoDBClient(config)), { marshallOptions: { removeUndefinedValues: true } });
await createEventsTable(plain, 'AbEvents');
await createAggregatesTable(plain, 'AbAggregates');

const documentClientStore: EventStore = {
  maxItemsPerWrite: 100,
  async write(entries, aggregates) {
    await document.send(
      new TransactWriteCommand({
        TransactItems: [
          ...entries.map((entry) => ({
            Put: { TableName: 'AbEvents', Item: storedItem(entry.event, entry.source), ConditionExpression: 'attribute_not_exists(event_id)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const },
          })),
          ...aggregates.map((aggregate) => {
            const attributes = Object.entries(aggregateAttributes(aggregate));
            return {
              Update: {
                TableName: 'AbAggregates',
                Key: { pk: aggregate.pk, sk: aggregate.sk },
                UpdateExpression: `ADD ${attributes.map((_, i) => `#a${i} :a${i}`).join(', ')}`,
                ExpressionAttributeNames: Object.fromEntries(attributes.map(([name], i) => [`#a${i}`, name])),
                ExpressionAttributeValues: Object.fromEntries(attributes.map(([, value], i) => [`:a${i}`, value])),
              },
            };
          }),
        ],
      }),
    );
    return { kind: 'committed' };
  },
};

const allVariants: Array<[string, EventStore]> = [
  ['document-client', documentClientStore],
  ['wire+sdk-json', new DynamoDbEventStore(plain, 'AbEvents', 'AbAggregates', 0)],
  ['loader', new DynamoDbEventStore(loaderClient, 'AbEvents', 'AbAggregates', 0)],
];
const variants = process.env.AB_ONLY ? allVariants.filter(([name]) => name === process.env.AB_ONLY) : allVariants;
const sqs = { send: async () => { throw new Error('the loader dead-lettered records in the bench'); } };
// Round 0 warms up; every batch has its own events, each stored for the first time.
const all = processedStreamRecords(enrichedEvents((rounds + 1) * variants.length * batchesPerRound * batchSize, 11));
let next = 0;
const results: Record<string, number[]> = {};
await profiled(`loader-ab-${variants.map(([name]) => name).join('-')}`, async () => {
  for (let round = 0; round <= rounds; round += 1) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const [name, store] of order) {
      const before = process.cpuUsage();
      for (let b = 0; b < batchesPerRound; b += 1) {
        const records = all.slice(next, next + batchSize);
        next += batchSize;
        const { summary } = await loadRecords(records, { store, sqs: sqs as never, deadLetterQueueUrl: 'http://unused' });
        if (summary.stored !== batchSize) throw new Error(`${name} stored ${summary.stored} of ${batchSize}`);
      }
      const cpu = process.cpuUsage(before);
      if (round > 0) (results[name] ??= []).push((cpu.user + cpu.system) / 1000 / (batchesPerRound * batchSize));
    }
  }
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, xs] of Object.entries(results)) {
  console.log(`${name.padEnd(16)} median ${median(xs).toFixed(4)} ms/event  rounds: ${xs.map((x) => x.toFixed(3)).join(' ')}`);
}
for (const client of [loaderClient, plain, document]) client.destroy();
await stopChild(child);
