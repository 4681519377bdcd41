import { performance } from 'node:perf_hooks';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { parser } from '@aws-lambda-powertools/batch/parser';
import { parse } from '@aws-lambda-powertools/parser';
import { Base64Encoded } from '@aws-lambda-powertools/parser/helpers';
import { KinesisDataStreamRecord, KinesisDataStreamRecordPayload } from '@aws-lambda-powertools/parser/schemas/kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { EVENT_SCHEMAS, enrichEvent, migrateToV3, partitionKeyOf, type SchemaVersion } from '../lambdas/shared/events';
import { RawRecordSchema, type RawRecord } from '../lambdas/shared/records';
import { validateBatch, type ValidatorDeps } from '../lambdas/validator/validate-batch';
import { profiled } from './profile';
import { median } from './stats';
import { rawStreamBatch } from './records';

/**
 * The validator's core on one core: `validateBatch` on 500-record raw-stream batches of generator
 * traffic (2% invalid) with in-memory deps that accept everything, beside
 * (a) the floor: base64 decode + JSON.parse of the same records, and
 * (b) the alternative: Powertools BatchProcessor + its parser (the envelope schema on the base64
 *     payload) and a per-record parse with the project's own event schemas, then the same
 *     migration and enrichment, and JSON encoding of what goes on (as validateBatch does).
 */

export type ValidatorResult = {
  events_per_s: number;
  floor_events_per_s: number;
  alternative_events_per_s: number;
  /** The same alternative with `innerSchema` + `transformer` (Powertools rebuilds the schema per record). */
  alternative_inner_schema_events_per_s: number;
  batches_per_round: number;
  batch_size: number;
  rounds: number;
};

const accepted = async <T>(entries: T[]) => entries.map(() => true);

const deps: ValidatorDeps = { putProcessed: accepted, sendDeadLetters: accepted, now: () => new Date() };

async function runValidateBatch(batches: readonly KinesisStreamEvent[]): Promise<number> {
  let handedOn = 0;
  for (const batch of batches) {
    const { tally, response } = await validateBatch(batch, deps);
    if (response.batchItemFailures.length > 0) throw new Error('validateBatch left records for retry with accepting deps');
    handedOn += tally.valid + tally.invalid;
  }
  return handedOn;
}

async function runFloor(batches: readonly KinesisStreamEvent[]): Promise<number> {
  let n = 0;
  for (const batch of batches) {
    for (const record of batch.Records) {
      const value = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')) as unknown;
      if (value !== null) n += 1;
    }
  }
  return n;
}

/**
 * What a user would write with Powertools instead of validateBatch. `prebuilt` passes the whole
 * record schema (built once); otherwise `innerSchema` + `transformer: 'base64'`, with which
 * Powertools 2.x builds the extended record schema again for every record (much slower).
 */
function alternative(variant: 'prebuilt' | 'innerSchema') {
  const processor =
    variant === 'prebuilt'
      ? new BatchProcessor(EventType.KinesisDataStreams, {
          parser,
          schema: KinesisDataStreamRecord.extend({ kinesis: KinesisDataStreamRecordPayload.extend({ data: Base64Encoded(RawRecordSchema) }) }),
        })
      : new BatchProcessor(EventType.KinesisDataStreams, { parser, innerSchema: RawRecordSchema, transformer: 'base64' });
  let toStream: Array<{ data: Buffer; partitionKey: string }> = [];
  let deadLetters: string[] = [];
  const recordHandler = async (record: KinesisStreamRecord) => {
    const envelope = (record.kinesis as unknown as { data: RawRecord }).data;
    const event = envelope.event as Record<string, unknown>;
    const version = (event.schema_version ?? 3) as SchemaVersion;
    const schema = EVENT_SCHEMAS[version] ?? EVENT_SCHEMAS[3];
    const receivedAt = new Date(envelope.received_at);
    const result = parse(event, undefined, schema, true);
    if (!result.success) {
      deadLetters.push(JSON.stringify({ reason: 'validation_failed', errors: result.error.message, record: event }));
      return;
    }
    const enriched = enrichEvent(migrateToV3(result.data, version), { receivedAt, processedAt: new Date(), originalVersion: version });
    toStream.push({ data: Buffer.from(JSON.stringify(enriched), 'utf8'), partitionKey: partitionKeyOf(enriched) });
  };
  return async (batches: readonly KinesisStreamEvent[]): Promise<number> => {
    let n = 0;
    for (const batch of batches) {
      toStream = [];
      deadLetters = [];
      const response = await processPartialResponse(batch, recordHandler, processor);
      if (response.batchItemFailures.length > 0) throw new Error(`the alternative failed ${response.batchItemFailures.length} records`);
      n += toStream.length + deadLetters.length;
    }
    return n;
  };
}

export async function benchValidator(options: { quick: boolean; progress: (line: string) => void }): Promise<ValidatorResult> {
  const batchSize = 500;
  const batchesPerRound = options.quick ? 4 : 20;
  const rounds = options.quick ? 3 : 9;
  const warmups = options.quick ? 1 : 3;
  const batches = Array.from({ length: batchesPerRound }, (_, i) => rawStreamBatch(batchSize, 1000 + i));
  const records = batchSize * batchesPerRound;
  const contenders: Record<'validator' | 'floor' | 'alternative', (b: readonly KinesisStreamEvent[]) => Promise<number>> = {
    validator: (b) => profiled('validator-validateBatch', () => runValidateBatch(b)),
    floor: runFloor,
    alternative: alternative('prebuilt'),
  };
  const rates: Record<keyof typeof contenders, number[]> = { validator: [], floor: [], alternative: [] };
  // The innerSchema variant is two orders of magnitude slower: one batch per round is enough.
  const innerSchema = alternative('innerSchema');
  const innerRates: number[] = [];
  for (let round = 0; round < warmups + rounds; round += 1) {
    // Interleaved, so drift in the machine's speed touches all three alike.
    for (const [name, run] of Object.entries(contenders) as Array<[keyof typeof contenders, (b: readonly KinesisStreamEvent[]) => Promise<number>]>) {
      const started = performance.now();
      const n = await run(batches);
      const elapsed = performance.now() - started;
      if (n !== records) throw new Error(`${name} handled ${n} of ${records} records`);
      if (round >= warmups) rates[name].push((records * 1000) / elapsed);
    }
    const started = performance.now();
    const n = await innerSchema(batches.slice(0, 1));
    if (n !== batchSize) throw new Error(`alternative (innerSchema) handled ${n} of ${batchSize} records`);
    if (round >= warmups) innerRates.push((batchSize * 1000) / (performance.now() - started));
    options.progress(`validator: ${round < warmups ? 'warm-up' : 'round'} ${round < warmups ? round + 1 : round - warmups + 1} done`);
  }
  return {
    events_per_s: median(rates.validator),
    floor_events_per_s: median(rates.floor),
    alternative_events_per_s: median(rates.alternative),
    alternative_inner_schema_events_per_s: median(innerRates),
    batches_per_round: batchesPerRound,
    batch_size: batchSize,
    rounds,
  };
}
