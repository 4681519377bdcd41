import { leanDynamoClient } from '../lambdas/shared/aws-dynamodb';
import type { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { loadRecords } from '../lambdas/loader/load';
import { DynamoDbEventStore } from '../lambdas/loader/store';
import { createAggregatesTable, createEventsTable } from '../test/fixtures/tables';
import { childCpuMicros, forkTs, stopChild } from './child';
import { profiled } from './profile';
import { enrichedEvents, processedStreamRecords } from './records';

/**
 * The loader's CPU and requests per event: `loadRecords` with the real `DynamoDbEventStore`
 * against the local endpoint (dynalite + emulated TransactWriteItems), run in a forked child so
 * that `process.cpuUsage()` here is the loader's share only (SDK serialisation and HTTP included).
 */

export type LoaderResult = {
  cpu_ms_per_event: number;
  requests_per_event: number;
  /** DynamoDB commands sent in the timed part (retries and reads of who stored an item included). */
  requests_by_command: Record<string, number>;
  /** The endpoint's CPU per event in its own process (dynalite + the TransactWriteItems emulation), for context. */
  endpoint_cpu_ms_per_event: number;
  wall_ms_per_batch: number;
  events: number;
  batch_size: number;
};

export async function benchLoader(options: { quick: boolean; progress: (line: string) => void }): Promise<LoaderResult> {
  const batchSize = 100;
  const warmBatches = options.quick ? 3 : 10;
  const batches = options.quick ? 10 : 60;
  const { child, first } = await forkTs<{ url: string }>('endpoint-child.ts');
  options.progress(`loader: endpoint (child pid ${child.pid}) at ${first.url}`);
  const dynamo = leanDynamoClient({ endpoint: first.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 3 });
  try {
    await createEventsTable(dynamo, 'BenchEvents');
    await createAggregatesTable(dynamo, 'BenchAggregates');
    let requests = 0;
    let byCommand: Record<string, number> = {};
    const counted = {
      send: ((command: Parameters<typeof dynamo.send>[0]) => {
        requests += 1;
        byCommand[command.constructor.name] = (byCommand[command.constructor.name] ?? 0) + 1;
        return dynamo.send(command);
      }) as typeof dynamo.send,
    };
    const store = new DynamoDbEventStore(counted, 'BenchEvents', 'BenchAggregates');
    const sqs = {
      send: async (command: SendMessageBatchCommand) => {
        throw new Error(`the loader dead-lettered records in the bench: ${JSON.stringify(command.input).slice(0, 200)}`);
      },
    };
    const deps = { store, sqs: sqs as never, deadLetterQueueUrl: 'http://unused' };
    // Every batch has its own events: each is stored for the first time, as in steady traffic.
    const all = processedStreamRecords(enrichedEvents((warmBatches + batches) * batchSize, 7));
    const runBatch = async (k: number) => {
      const records = all.slice(k * batchSize, (k + 1) * batchSize);
      const result = await loadRecords(records, deps);
      if (result.summary.stored !== records.length) throw new Error(`loader stored ${result.summary.stored} of ${records.length}: ${JSON.stringify(result.summary)}`);
    };
    for (let k = 0; k < warmBatches; k += 1) await runBatch(k);
    options.progress(`loader: warmed up on ${warmBatches} batches`);
    requests = 0;
    byCommand = {};
    const childBefore = await childCpuMicros(child);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await profiled('loader', async () => {
      for (let k = warmBatches; k < warmBatches + batches; k += 1) await runBatch(k);
    });
    const wall = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const childCpu = (await childCpuMicros(child)) - childBefore;
    const events = batches * batchSize;
    options.progress(`loader: ${events} events in ${batches} batches, ${requests} requests`);
    return {
      cpu_ms_per_event: (cpu.user + cpu.system) / 1000 / events,
      requests_per_event: requests / events,
      requests_by_command: byCommand,
      endpoint_cpu_ms_per_event: childCpu / 1000 / events,
      wall_ms_per_batch: wall / batches,
      events,
      batch_size: batchSize,
    };
  } finally {
    dynamo.destroy();
    await stopChild(child);
  }
}
