import { CliError } from './errors';
import { sqlSinkLines } from './cost-sql';
import { PRICES } from './prices';
import { archiveCostLines, type ArchiveCostInputs } from './cost-archive';

/** The traffic and the knobs of the stack that drive its cost. */
export interface CostInputs {
  eventsPerSecond: number;
  /** Events per ingest API request. */
  batchSize: number;
  /** Average serialised event, as sent. */
  eventBytes: number;
  invalidShare: number;
  /**
   * Share of stored events without a user_id. Every other stored event is written to the Events
   * table's ByUser index too (a second write; a second copy of what the projection holds).
   */
  anonymousShare: number;
  /** cdk.json streamMode. */
  kinesisMode: 'provisioned' | 'on-demand';
  /** Provisioned: at least this many shards per stream (cdk.json shardCount; more when throughput needs them). */
  minShards: number;
  /** Kinesis event source mapping batch size (cdk.json streamBatchSize): at most this many records per validator/loader invocation. */
  streamBatchSize: number;
  /**
   * cdk.json streamBatchingWindowSeconds. 0: Lambda polls each shard about once a second and
   * invokes with what it found; N: it waits up to N seconds to fill a batch of streamBatchSize.
   */
  streamBatchingWindowSeconds: number;
  collector: FunctionProfile;
  validator: FunctionProfile;
  loader: FunctionProfile;
  /**
   * Aggregate item writes per 100 stored events: the distinct items (type, category, product) of
   * each loader transaction, added up. A transaction holds at most 100 items (events + aggregate
   * items), so the ratio hardly moves with the batch size (measured below).
   */
  aggregateItemsPer100Events: number;
  sink: 'dynamodb' | 'aurora';
  /** Aurora Serverless v2: average ACUs over the month. */
  auroraAverageAcu: number;
  /** cdk.json auroraSink: the SQL sink besides DynamoDB (SqlSink function, Aurora, Data API; cost-sql.ts). */
  sqlSink: boolean;
  sqlSinkFunction: FunctionProfile;
  /** cdk.json tableCapacity and its auto scaling bounds (each table and the ByUser index). */
  tableCapacity: 'on-demand' | 'provisioned';
  tableMinWriteCapacity: number;
  tableMaxWriteCapacity: number;
  tableMinReadCapacity: number;
  tableMaxReadCapacity: number;
  /** cdk.json eventsTtlDays: 0 keeps events; N stores N days of them at steady state. */
  eventsTtlDays: number;
  /** cdk.json byUserProjection. */
  byUserProjection: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  /** The raw archive (cdk.json rawArchive and its settings, tools/cli/cost-archive.ts); absent: off. */
  archive?: ArchiveCostInputs;
}

export interface FunctionProfile {
  memoryMb: number;
  /**
   * Billed duration of one invocation of up to 100 records. A larger batch is billed
   * proportionally longer (conservative: its fixed overhead is not counted as saved).
   */
  durationMs: number;
}

/**
 * Share of valid events without a user_id that the traffic generator produces: measured with
 * createTrafficGenerator (invalidShare 0) over 10,000 events for each of the seeds 1, 2, 3 and 42,
 * validated with validateEvent: 20.8%, 21.5%, 22.2% and 21.6% had no user_id. Anonymous
 * sessions are a quarter of the sessions but shorter, so a smaller share of the events.
 */
export const GENERATOR_ANONYMOUS_SHARE = 0.21;

/**
 * ByUser index item sizes (DynamoDB's measure: attribute names + values) of generator events
 * with a user_id, measured over 10,000 events for each of the seeds 1, 2, 3 and 42: the keys
 * (event_id, user_id, event_time) 94 B each time; the keys plus byUserProjection INCLUDE's list
 * 166-168 B. DynamoDB's ~100 B per-item overhead is left out here as for the table.
 */
export const KEYS_ONLY_INDEX_ITEM_BYTES = 94;
export const INCLUDE_INDEX_ITEM_BYTES = 167;
/** expires_at (10 B name + a 10-digit number, 6 B) on every stored event when eventsTtlDays > 0. */
export const TTL_ATTRIBUTE_BYTES = 16;
/** Auto scaling's target utilization (lib/constructs/loader.ts). */
export const TARGET_UTILIZATION = 0.7;
/** A new on-demand stream's write capacity is 4 MB/s: 4 shards for the event sources to poll. */
export const ON_DEMAND_SHARDS = 4;
/** Lambda's invocation payload limit caps a Kinesis batch. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Records per invocation that durationMs is measured for. */
const DURATION_RECORDS = 100;

/** Defaults from the stack: memory as the constructs set it; durations are typical measurements. */
export const DEFAULT_COST_INPUTS: CostInputs = {
  eventsPerSecond: 100,
  batchSize: 100,
  eventBytes: 600,
  invalidShare: 0.02,
  anonymousShare: GENERATOR_ANONYMOUS_SHARE,
  kinesisMode: 'provisioned',
  minShards: 1,
  streamBatchSize: 100,
  streamBatchingWindowSeconds: 0,
  collector: { memoryMb: 256, durationMs: 50 },
  validator: { memoryMb: 512, durationMs: 120 },
  loader: { memoryMb: 512, durationMs: 200 },
  // Measured: generator traffic (seeds 1, 2, 3, 42), 20,000 events in batches grouped as the
  // loader groups them (planWrites): 79.7-80.9 aggregate items per 100 events in batches of 100
  // (2 transactions each), 77.4-78.6 in batches of 500 or 1,000 (about 9 or 18 transactions).
  aggregateItemsPer100Events: 80,
  sink: 'dynamodb',
  auroraAverageAcu: 0.5,
  sqlSink: false,
  // Estimated: four or five Data API round trips of 20-30 ms per batch of 100 (Aurora's own latency).
  sqlSinkFunction: { memoryMb: 256, durationMs: 150 },
  tableCapacity: 'on-demand',
  tableMinWriteCapacity: 5,
  tableMaxWriteCapacity: 1000,
  tableMinReadCapacity: 5,
  tableMaxReadCapacity: 500,
  eventsTtlDays: 0,
  byUserProjection: 'ALL',
  archive: { bufferMb: 64, bufferSeconds: 300, iaDays: 30, months: 12 },
};

/** What the collector wraps around each event (received_at, request_id) in the raw record. */
export const RAW_ENVELOPE_BYTES = 120;
/** What enrichment adds to a stored event (received_at, processed_at, total_amount, ...). */
export const ENRICHMENT_BYTES = 200;

export interface CostLine {
  component: string;
  /** The AWS pricing page its prices come from. */
  priceSource: string;
  /** How the number was reached, in words and figures. */
  basis: string;
  monthly: number;
  perMillionEvents: number;
}

export interface CostReport {
  inputs: CostInputs;
  eventsPerMonth: number;
  lines: CostLine[];
  totalMonthly: number;
  totalPerMillionEvents: number;
  /** The pricing pages of the components priced, in the order of the lines. */
  prices: { sources: string[]; asOf: string; region: string };
}

const GB = 1024 ** 3;
/** A transactional write costs two write request units per KB, an ordinary one one. */
export const TRANSACTIONAL_WRITE_FACTOR = 2;
const MILLION = 1_000_000;

/** Cents, the way a bill rounds. */
export function cents(value: number): number {
  return Math.round(value * 100) / 100;
}

export function estimateCost(inputs: CostInputs): CostReport {
  checkInputs(inputs);
  const seconds = PRICES.hoursPerMonth * 3600;
  const events = inputs.eventsPerSecond * seconds;
  const requests = events / inputs.batchSize;
  const validEvents = events * (1 - inputs.invalidShare);
  const invalidEvents = events * inputs.invalidShare;
  const rawBytes = inputs.eventBytes + RAW_ENVELOPE_BYTES;
  const storedBytes = inputs.eventBytes + ENRICHMENT_BYTES;
  const validRate = inputs.eventsPerSecond * (1 - inputs.invalidShare);
  const shardsFor = (recordsPerSecond: number, bytes: number) =>
    inputs.kinesisMode === 'on-demand'
      ? ON_DEMAND_SHARDS
      : Math.max(inputs.minShards, Math.ceil(recordsPerSecond / 1000), Math.ceil((recordsPerSecond * bytes) / (1024 * 1024)));
  const rawShards = shardsFor(inputs.eventsPerSecond, rawBytes);
  const processedShards = shardsFor(validRate, storedBytes);
  // What one invocation gets: what a shard holds after a poll (about a second) or the batching
  // window, up to the batch size and Lambda's 6 MB payload.
  const batchOf = (recordsPerSecond: number, shards: number, bytes: number) =>
    Math.max(
      1,
      Math.min(
        inputs.streamBatchSize,
        Math.floor(MAX_PAYLOAD_BYTES / bytes),
        (recordsPerSecond / shards) * Math.max(1, inputs.streamBatchingWindowSeconds),
      ),
    );
  const validatorBatch = batchOf(inputs.eventsPerSecond, rawShards, rawBytes);
  const loaderBatch = batchOf(validRate, processedShards, storedBytes);
  const validatorInvocations = events / validatorBatch;
  const loaderInvocations = validEvents / loaderBatch;
  const lines: Array<Omit<CostLine, 'perMillionEvents'>> = [];

  const api = PRICES.apiGatewayRest;
  lines.push({
    component: 'API Gateway REST',
    priceSource: api.page,
    basis: `${fmt(requests)} requests x $${api.perMillionRequests}/M`,
    monthly: (requests / MILLION) * api.perMillionRequests,
  });

  const lambda = PRICES.lambdaArm64;
  for (const [name, profile, invocations, records] of [
    ['Lambda collector', inputs.collector, requests, 0],
    ['Lambda validator', inputs.validator, validatorInvocations, validatorBatch],
    ['Lambda loader', inputs.loader, loaderInvocations, loaderBatch],
  ] as const) {
    const durationMs = profile.durationMs * Math.max(1, records / DURATION_RECORDS);
    const gbSeconds = invocations * (durationMs / 1000) * (profile.memoryMb / 1024);
    lines.push({
      component: name,
      priceSource: lambda.page,
      basis:
        `${fmt(invocations)} invocations${records > 0 ? ` of ${fmt(records)} records` : ''} x ${fmt(durationMs)} ms x ${profile.memoryMb} MB = ${fmt(gbSeconds)} GB-s`,
      monthly: gbSeconds * lambda.perGbSecond + (invocations / MILLION) * lambda.perMillionRequests,
    });
  }

  if (inputs.kinesisMode === 'provisioned') {
    const kp = PRICES.kinesisProvisioned;
    const units =
      events * Math.ceil(rawBytes / kp.putPayloadUnitBytes) + validEvents * Math.ceil(storedBytes / kp.putPayloadUnitBytes);
    lines.push({
      component: 'Kinesis provisioned',
      priceSource: kp.page,
      basis: `${rawShards}+${processedShards} shards x ${PRICES.hoursPerMonth} h x $${kp.perShardHour}; ${fmt(units)} PUT units x $${kp.perMillionPutPayloadUnits}/M`,
      monthly: (rawShards + processedShards) * PRICES.hoursPerMonth * kp.perShardHour + (units / MILLION) * kp.perMillionPutPayloadUnits,
    });
  } else {
    const ko = PRICES.kinesisOnDemand;
    const kb = (bytes: number) => Math.ceil(bytes / 1024) * 1024;
    const ingestedGb = (events * kb(rawBytes) + validEvents * kb(storedBytes)) / GB;
    // Each stream has one consumer (the validator, the loader).
    const retrievedGb = (events * rawBytes + validEvents * storedBytes) / GB;
    lines.push({
      component: 'Kinesis on-demand',
      priceSource: ko.page,
      basis: `2 streams x ${PRICES.hoursPerMonth} h x $${ko.perStreamHour}; ${fmt(ingestedGb)} GB in x $${ko.perGbIngested}; ${fmt(retrievedGb)} GB out x $${ko.perGbRetrieved}`,
      monthly: 2 * PRICES.hoursPerMonth * ko.perStreamHour + ingestedGb * ko.perGbIngested + retrievedGb * ko.perGbRetrieved,
    });
  }

  // The validator sends a batch's dead letters with SendMessageBatch (10 per request); a dead
  // letter carries the record, so it is about the event's size plus the errors.
  const sqs = PRICES.sqsStandard;
  const invalidPerBatch = validatorBatch * inputs.invalidShare;
  const messageBytes = inputs.eventBytes + 400;
  const requestsPerBatch =
    invalidPerBatch === 0 ? 0 : Math.max(Math.ceil(invalidPerBatch / 10), Math.ceil((invalidPerBatch * messageBytes) / sqs.requestChunkBytes));
  const sqsRequests = validatorInvocations * requestsPerBatch;
  lines.push({
    component: 'SQS (dead letters)',
    priceSource: sqs.page,
    basis: `${fmt(invalidEvents)} dead letters in ${fmt(sqsRequests)} SendMessageBatch requests x $${sqs.perMillionRequests}/M`,
    monthly: (sqsRequests / MILLION) * sqs.perMillionRequests,
  });

  const aggregateWrites = (validEvents * inputs.aggregateItemsPer100Events) / 100;
  if (inputs.sink === 'dynamodb') {
    lines.push(...dynamoDbLines(inputs, { seconds, validEvents, validRate, storedBytes, aggregateWrites }));
  } else {
    const aurora = PRICES.auroraServerlessV2;
    const storedGb = (validEvents * storedBytes) / GB;
    const io = validEvents + aggregateWrites;
    lines.push({
      component: 'Aurora Serverless v2',
      priceSource: aurora.page,
      basis: `${inputs.auroraAverageAcu} ACU x ${PRICES.hoursPerMonth} h x $${aurora.perAcuHour}; ${fmt(io)} I/O x $${aurora.perMillionIoRequests}/M; ${fmt(storedGb)} GB x $${aurora.perGbMonth}`,
      monthly:
        inputs.auroraAverageAcu * PRICES.hoursPerMonth * aurora.perAcuHour +
        (io / MILLION) * aurora.perMillionIoRequests +
        storedGb * aurora.perGbMonth,
    });
  }

  if (inputs.sqlSink) lines.push(...sqlSinkLines(inputs, { validEvents, storedBytes, batchRecords: loaderBatch, invocations: loaderInvocations }, fmt));

  if (inputs.archive) lines.push(...archiveCostLines(inputs.archive, { events, eventsPerSecond: inputs.eventsPerSecond, rawBytes }, fmt));

  const perMillion = (monthly: number) => (events === 0 ? 0 : monthly / (events / MILLION));
  const totalMonthly = lines.reduce((sum, line) => sum + line.monthly, 0);
  return {
    inputs,
    eventsPerMonth: events,
    lines: lines.map((line) => ({ ...line, perMillionEvents: perMillion(line.monthly) })),
    totalMonthly,
    totalPerMillionEvents: perMillion(totalMonthly),
    prices: { sources: [...new Set(lines.map((line) => line.priceSource))], asOf: PRICES.asOf, region: PRICES.region },
  };
}

/**
 * The Events table (each stored event, written in a transaction), the Aggregates table (the
 * aggregate item updates, in the same transactions) and the ByUser index (each event with a
 * user_id, a standard write of the projected item): capacity, then storage.
 */
function dynamoDbLines(
  inputs: CostInputs,
  m: { seconds: number; validEvents: number; validRate: number; storedBytes: number; aggregateWrites: number },
): Array<Omit<CostLine, 'perMillionEvents'>> {
  const itemBytes = m.storedBytes + (inputs.eventsTtlDays > 0 ? TTL_ATTRIBUTE_BYTES : 0);
  const indexBytes =
    inputs.byUserProjection === 'ALL' ? itemBytes : inputs.byUserProjection === 'INCLUDE' ? INCLUDE_INDEX_ITEM_BYTES : KEYS_ONLY_INDEX_ITEM_BYTES;
  const indexedEvents = m.validEvents * (1 - inputs.anonymousShare);
  // The loader writes events and aggregates in transactions: 2 write units per KB per item
  // (https://aws.amazon.com/dynamodb/pricing/on-demand/, "transactional write requests"); the
  // index is written by DynamoDB with standard writes of the projected item (1 per KB, at least 1).
  const eventsUnits = TRANSACTIONAL_WRITE_FACTOR * m.validEvents * Math.ceil(itemBytes / 1024);
  const aggregatesUnits = TRANSACTIONAL_WRITE_FACTOR * m.aggregateWrites;
  const indexUnits = indexedEvents * Math.ceil(indexBytes / 1024);
  const lines: Array<Omit<CostLine, 'perMillionEvents'>> = [];

  if (inputs.tableCapacity === 'on-demand') {
    const ddb = PRICES.dynamoDbOnDemand;
    const tableUnits = eventsUnits + aggregatesUnits;
    lines.push({
      component: 'DynamoDB on-demand',
      priceSource: ddb.page,
      basis: `${fmt(tableUnits)} table (transactional) + ${fmt(indexUnits)} ByUser index WRU x $${ddb.perMillionWriteRequestUnits}/M`,
      monthly: ((tableUnits + indexUnits) / MILLION) * ddb.perMillionWriteRequestUnits,
    });
  } else {
    // Auto scaling keeps consumed / provisioned near 70%: provisioned = consumed per second / 0.7,
    // within the configured bounds. Reads: the pipeline hardly reads (the loader reads only to
    // name a duplicate's source), so each table and the index sit at the minimum.
    const ddb = PRICES.dynamoDbProvisioned;
    const throttled: string[] = [];
    const wcu = (name: string, units: number) => {
      const needed = Math.ceil(units / m.seconds / TARGET_UTILIZATION);
      if (needed > inputs.tableMaxWriteCapacity) throttled.push(`${name} needs ${needed}`);
      return Math.min(inputs.tableMaxWriteCapacity, Math.max(inputs.tableMinWriteCapacity, needed));
    };
    const provisioned = [wcu('Events', eventsUnits), wcu('Aggregates', aggregatesUnits), wcu('ByUser', indexUnits)];
    const totalWcu = provisioned.reduce((sum, n) => sum + n, 0);
    const totalRcu = 3 * inputs.tableMinReadCapacity;
    lines.push({
      component: 'DynamoDB provisioned',
      priceSource: ddb.page,
      basis:
        `${provisioned.join(' + ')} WCU (Events, Aggregates, ByUser at ${TARGET_UTILIZATION * 100}%) x ${PRICES.hoursPerMonth} h x $${ddb.perWcuHour}; ` +
        `3 x ${inputs.tableMinReadCapacity} RCU x ${PRICES.hoursPerMonth} h x $${ddb.perRcuHour}` +
        (throttled.length > 0 ? `; THROTTLED above tableMaxWriteCapacity ${inputs.tableMaxWriteCapacity}: ${throttled.join(', ')}` : ''),
      monthly: totalWcu * PRICES.hoursPerMonth * ddb.perWcuHour + totalRcu * PRICES.hoursPerMonth * ddb.perRcuHour,
    });
  }

  // Storage: without TTL, the month's new events (the table keeps growing by this every month);
  // with TTL, the steady state: eventsTtlDays of events (expired ones are deleted for free).
  const storage = inputs.tableCapacity === 'on-demand' ? PRICES.dynamoDbOnDemand : PRICES.dynamoDbProvisioned;
  const kept = inputs.eventsTtlDays > 0 ? m.validRate * inputs.eventsTtlDays * 86_400 : m.validEvents;
  const tableGb = (kept * itemBytes) / GB;
  const indexGb = (kept * (1 - inputs.anonymousShare) * indexBytes) / GB;
  lines.push({
    component: 'DynamoDB storage',
    priceSource: storage.page,
    basis:
      `${fmt(tableGb)} + ${fmt(indexGb)} GB (table + ByUser ${inputs.byUserProjection}) ` +
      `${inputs.eventsTtlDays > 0 ? `kept ${inputs.eventsTtlDays} days (TTL)` : 'stored this month'} x $${storage.perGbMonth}`,
    monthly: (tableGb + indexGb) * storage.perGbMonth,
  });
  return lines;
}

function checkInputs(inputs: CostInputs): void {
  const problems: string[] = [];
  if (!(inputs.eventsPerSecond > 0)) problems.push('--rate must be above 0');
  if (!Number.isInteger(inputs.batchSize) || inputs.batchSize < 1 || inputs.batchSize > 500) problems.push('--batch must be 1 to 500');
  if (!(inputs.eventBytes > 0)) problems.push('--event-bytes must be above 0');
  if (!(inputs.invalidShare >= 0 && inputs.invalidShare <= 1)) problems.push('--invalid-share must be 0 to 1');
  if (!(inputs.anonymousShare >= 0 && inputs.anonymousShare <= 1)) problems.push('--anonymous-share must be 0 to 1');
  if (!(inputs.streamBatchSize >= 1)) problems.push('--stream-batch must be at least 1');
  if (!(inputs.streamBatchingWindowSeconds >= 0)) problems.push('streamBatchingWindowSeconds must be at least 0');
  if (!(inputs.eventsTtlDays >= 0)) problems.push('eventsTtlDays must be at least 0');
  if (!(inputs.tableMaxWriteCapacity >= inputs.tableMinWriteCapacity)) problems.push('tableMaxWriteCapacity must be at least tableMinWriteCapacity');
  if (problems.length > 0) throw new CliError(problems.join('; '));
}

function fmt(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : String(Math.round(value * 1000) / 1000);
}

// ---- The stack's cost knobs, read as the CDK reads them -------------------------------------
