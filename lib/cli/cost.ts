import { CliError } from './errors';
import { PRICES } from './prices';

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
   * table's ByUser index too (ProjectionType ALL: a second write and a second copy).
   */
  anonymousShare: number;
  kinesisMode: 'provisioned' | 'on-demand';
  /** Provisioned: at least this many shards per stream (more when throughput needs them). */
  minShards: number;
  /** Kinesis event source mapping batch size (records per validator/loader invocation). */
  streamBatchSize: number;
  collector: FunctionProfile;
  validator: FunctionProfile;
  loader: FunctionProfile;
  /**
   * Aggregate item writes per loader batch: the distinct items (type, category, product) of each
   * of the batch's transactions, added up.
   */
  aggregateKeysPerBatch: number;
  sink: 'dynamodb' | 'aurora';
  /** Aurora Serverless v2: average ACUs over the month. */
  auroraAverageAcu: number;
}

export interface FunctionProfile {
  memoryMb: number;
  /** Billed duration of one invocation. */
  durationMs: number;
}

/**
 * Share of valid events without a user_id that the traffic generator produces: measured with
 * createTrafficGenerator (invalidShare 0) over 10,000 events for each of the seeds 1, 2, 3 and 42,
 * validated with validateEvent: 20.8%, 21.5%, 22.2% and 21.6% had no user_id. Anonymous
 * sessions are a quarter of the sessions but shorter, so a smaller share of the events.
 */
export const GENERATOR_ANONYMOUS_SHARE = 0.21;

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
  collector: { memoryMb: 256, durationMs: 50 },
  validator: { memoryMb: 512, durationMs: 120 },
  loader: { memoryMb: 512, durationMs: 200 },
  // Measured: generator traffic (seeds 1, 2, 3, 42), 100 batches of 100 events each, grouped as
  // the loader groups them (planWrites): 2 transactions and 79-82 aggregate items per batch.
  aggregateKeysPerBatch: 80,
  sink: 'dynamodb',
  auroraAverageAcu: 0.5,
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
  const validatorInvocations = events / inputs.streamBatchSize;
  const loaderInvocations = validEvents / inputs.streamBatchSize;
  const lines: Array<Omit<CostLine, 'perMillionEvents'>> = [];

  const api = PRICES.apiGatewayRest;
  lines.push({
    component: 'API Gateway REST',
    priceSource: api.page,
    basis: `${fmt(requests)} requests x $${api.perMillionRequests}/M`,
    monthly: (requests / MILLION) * api.perMillionRequests,
  });

  const lambda = PRICES.lambdaArm64;
  for (const [name, profile, invocations] of [
    ['Lambda collector', inputs.collector, requests],
    ['Lambda validator', inputs.validator, validatorInvocations],
    ['Lambda loader', inputs.loader, loaderInvocations],
  ] as const) {
    const gbSeconds = invocations * (profile.durationMs / 1000) * (profile.memoryMb / 1024);
    lines.push({
      component: name,
      priceSource: lambda.page,
      basis: `${fmt(invocations)} invocations x ${profile.durationMs} ms x ${profile.memoryMb} MB = ${fmt(gbSeconds)} GB-s`,
      monthly: gbSeconds * lambda.perGbSecond + (invocations / MILLION) * lambda.perMillionRequests,
    });
  }

  if (inputs.kinesisMode === 'provisioned') {
    const kp = PRICES.kinesisProvisioned;
    const shardsFor = (recordsPerSecond: number, bytes: number) =>
      Math.max(inputs.minShards, Math.ceil(recordsPerSecond / 1000), Math.ceil((recordsPerSecond * bytes) / (1024 * 1024)));
    const rawShards = shardsFor(inputs.eventsPerSecond, rawBytes);
    const processedShards = shardsFor(inputs.eventsPerSecond * (1 - inputs.invalidShare), storedBytes);
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
  const invalidPerBatch = inputs.streamBatchSize * inputs.invalidShare;
  const messageBytes = inputs.eventBytes + 400;
  const requestsPerBatch = invalidPerBatch === 0 ? 0 : Math.max(Math.ceil(invalidPerBatch / 10), Math.ceil((invalidPerBatch * messageBytes) / sqs.requestChunkBytes));
  const sqsRequests = validatorInvocations * requestsPerBatch;
  lines.push({
    component: 'SQS (dead letters)',
    priceSource: sqs.page,
    basis: `${fmt(invalidEvents)} dead letters in ${fmt(sqsRequests)} SendMessageBatch requests x $${sqs.perMillionRequests}/M`,
    monthly: (sqsRequests / MILLION) * sqs.perMillionRequests,
  });

  const writesPerEvent = Math.ceil(storedBytes / 1024);
  const aggregateWrites = loaderInvocations * inputs.aggregateKeysPerBatch;
  const storedGb = (validEvents * storedBytes) / GB;
  if (inputs.sink === 'dynamodb') {
    const ddb = PRICES.dynamoDbOnDemand;
    // The ByUser index projects ALL attributes: each event with a user_id is written and stored a
    // second time, at the same size. (DynamoDB's ~100 B per-item overhead is left out for the
    // index as for the table.)
    const indexedEvents = validEvents * (1 - inputs.anonymousShare);
    // The loader writes events and aggregates in transactions: 2 WRU per KB per item written
    // (https://aws.amazon.com/dynamodb/pricing/on-demand/, "transactional write requests").
    const tableWru = TRANSACTIONAL_WRITE_FACTOR * (validEvents * writesPerEvent + aggregateWrites);
    const indexWru = indexedEvents * writesPerEvent;
    const wru = tableWru + indexWru;
    const indexGb = (indexedEvents * storedBytes) / GB;
    lines.push({
      component: 'DynamoDB on-demand',
      priceSource: ddb.page,
      basis:
        `${fmt(tableWru)} table (transactional) + ${fmt(indexWru)} ByUser index WRU x $${ddb.perMillionWriteRequestUnits}/M; ` +
        `${fmt(storedGb)} + ${fmt(indexGb)} GB stored this month x $${ddb.perGbMonth}`,
      monthly: (wru / MILLION) * ddb.perMillionWriteRequestUnits + (storedGb + indexGb) * ddb.perGbMonth,
    });
  } else {
    const aurora = PRICES.auroraServerlessV2;
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

function checkInputs(inputs: CostInputs): void {
  const problems: string[] = [];
  if (!(inputs.eventsPerSecond > 0)) problems.push('--rate must be above 0');
  if (!Number.isInteger(inputs.batchSize) || inputs.batchSize < 1 || inputs.batchSize > 500) problems.push('--batch must be 1 to 500');
  if (!(inputs.eventBytes > 0)) problems.push('--event-bytes must be above 0');
  if (!(inputs.invalidShare >= 0 && inputs.invalidShare <= 1)) problems.push('--invalid-share must be 0 to 1');
  if (!(inputs.anonymousShare >= 0 && inputs.anonymousShare <= 1)) problems.push('--anonymous-share must be 0 to 1');
  if (!(inputs.streamBatchSize >= 1)) problems.push('--stream-batch must be at least 1');
  if (problems.length > 0) throw new CliError(problems.join('; '));
}

function fmt(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : String(Math.round(value * 1000) / 1000);
}
