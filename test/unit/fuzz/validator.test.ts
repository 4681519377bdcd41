import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ENRICHMENT_FIELDS,
  ERROR_CODES,
  enrichedEventSchema,
  isDynamoStorable,
  partitionKeyOf,
  validateEvent,
} from '../../../lambdas/shared/events';
import { sqsMessageBytes, type MessageEntry, type StreamEntry } from '../../../lambdas/shared/delivery';
import { DeadLetterMessageSchema, RawRecordSchema } from '../../../lambdas/shared/records';
import { validateBatch, type ValidatorDeps } from '../../../lambdas/validator/validate-batch';
import { RAW_STREAM_ARN, kinesisEvent, kinesisRecord } from '../../fixtures/kinesis';
import { anyEvent, edgeEvent, isoAt, validEvent, type Event } from './arbitraries';
import { faultPlan, fakePort, instantRetry, type FaultPlan } from './ports';
import { PROPERTY_TIMEOUT_MS, fuzzParams } from './settings';

// Property-based: arbitrary raw-stream records (bytes, JSON, envelopes with arbitrary events and
// events near every rule's edge) into validateBatch with fake ports, sometimes failing entries.

const RECEIVED_AT = new Date('2026-11-22T10:00:00.000Z');
const NOW = new Date(RECEIVED_AT.getTime() + 2_000);
const STREAM_NAME = RAW_STREAM_ARN.slice(RAW_STREAM_ARN.lastIndexOf('/') + 1);
/** Codes of dead letters for records that are not envelopes (route.ts), besides validateEvent's. */
const KNOWN_CODES = new Set([...Object.keys(ERROR_CODES), 'not_json', 'not_an_envelope']);
/** What SQS accepts in a message body. */
const SQS_BODY = /^[\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const SQS_MAX_BYTES = 256 * 1024;

/** A record template: the raw record's bytes, made once its position (and so its unique ids) is known. */
interface Template {
  kind: string;
  build: (position: number) => Buffer;
}

const PLACEHOLDER = '__fuzz_placeholder__';
const RAW_NUMBERS = ['-0', '5e-324', '1e999', '-1e999', '1e-400', '1E2', '1e126', '9007199254740993', '1000000.00001', '0.00010', '1e-7'];

/** Receipt times: the usual one written several ways, and a few far from it. */
const receipt = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom(0, 60, -300, 330), fc.boolean()).map(([offset, millis]) => ({ at: RECEIVED_AT, text: isoAt(RECEIVED_AT.getTime(), offset, millis) })) },
  {
    // Far from now, at the ends of the 4-digit years ISO-8601 (and so the stored-event schema) writes.
    weight: 2,
    arbitrary: fc
      .constantFrom(
        '2000-02-29T12:00:00Z',
        '1970-01-01T00:00:00Z',
        '2099-12-31T23:59:59.999Z',
        '9999-12-31T23:58:00Z',
        '9999-12-31T23:58:00-05:00',
        '0000-01-01T00:01:00Z',
        '0000-01-01T00:01:00+05:00',
      )
      .map((text) => ({ at: new Date(text), text })),
  },
);

/** An event_id as a UUID that no other record of the batch has (only valid events need one, for matching). */
function uniqueIds(event: unknown, position: number): unknown {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return event;
  const record = event as Event;
  if (typeof record.event_id !== 'string' || record.event_id.length !== 36) return event;
  const id = `0000fade-0000-4000-8000-${String(position).padStart(12, '0')}`;
  return { ...record, event_id: record.event_id === record.event_id.toUpperCase() ? id.toUpperCase() : id };
}

const envelope: fc.Arbitrary<Template> = receipt.chain(({ at, text }) =>
  fc
    .record({
      event: fc.oneof({ weight: 3, arbitrary: validEvent(at) }, { weight: 4, arbitrary: edgeEvent(at) }, { weight: 1, arbitrary: anyEvent(at) }),
      requestId: fc.oneof(fc.uuid(), fc.string({ maxLength: 8 })),
      replayed: fc.constantFrom(false, false, false, true),
      raw: fc.option(fc.tuple(fc.constantFrom('price', 'quantity', 'user_id', 'schema_version'), fc.constantFrom(...RAW_NUMBERS)), { freq: 4 }),
    })
    .map(({ event, requestId, replayed, raw }) => ({
      kind: raw ? `envelope (raw ${raw[1]} in ${raw[0]})` : 'envelope',
      build: (position: number) => {
        let value = uniqueIds(event, position);
        if (raw && typeof value === 'object' && value !== null && !Array.isArray(value)) value = { ...value, [raw[0]]: PLACEHOLDER };
        const record = { received_at: text, request_id: requestId, event: value, ...(replayed ? { replayed_at: NOW.toISOString() } : {}) };
        const json = JSON.stringify(record);
        return Buffer.from(raw ? json.replace(`"${PLACEHOLDER}"`, raw[1]) : json, 'utf8');
      },
    })),
);

const brokenEnvelope: fc.Arbitrary<Template> = fc
  .tuple(
    fc.record(
      {
        received_at: fc.oneof(fc.constantFrom(RECEIVED_AT.toISOString(), '2026-11-22', 'yesterday', '2026-02-30T10:00:00Z', ''), fc.jsonValue({ maxDepth: 1 })),
        request_id: fc.oneof(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 })),
        event: fc.jsonValue({ maxDepth: 2 }),
        replayed_at: fc.jsonValue({ maxDepth: 1 }),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
  )
  .map(([record]) => ({ kind: 'broken envelope', build: () => Buffer.from(JSON.stringify(record), 'utf8') }));

const garbage: fc.Arbitrary<Template> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'bytes', build: () => Buffer.from(bytes) })),
  fc.json({ maxDepth: 3 }).map((text) => ({ kind: 'json', build: () => Buffer.from(text, 'utf8') })),
  fc.string({ unit: 'binary', maxLength: 100 }).map((text) => ({ kind: 'text', build: () => Buffer.from(text, 'utf8') })),
  fc.constantFrom('', '{', 'null', '"\\ud800"', '\uFFFE\uFFFF', '\u0000').map((text) => ({ kind: 'short', build: () => Buffer.from(text, 'utf8') })),
  // Near SQS's message limit once escaped in a dead letter: 40 KiB of control characters (6 bytes each as JSON).
  fc.constantFrom('\u0001', '\uFFFE', 'x').map((c) => ({ kind: `40 KiB of ${JSON.stringify(c)}`, build: () => Buffer.from(c.repeat(40 * 1024), 'utf8') })),
);

const template: fc.Arbitrary<Template> = fc.oneof(
  { weight: 12, arbitrary: envelope },
  { weight: 2, arbitrary: brokenEnvelope },
  { weight: 2, arbitrary: garbage },
);

interface Batch {
  [fc.toStringMethod]?: () => string;
  data: Buffer[];
  kinds: string[];
  sequenceNumbers: string[];
}

const batch: fc.Arbitrary<Batch> = fc.array(template, { minLength: 1, maxLength: 12 }).map((templates) => ({
  [fc.toStringMethod]: () => `[${templates.map((t, position) => JSON.stringify(t.build(position).subarray(0, 600).toString('utf8'))).join(', ')}]`,
  data: templates.map((t, position) => t.build(position)),
  kinds: templates.map((t) => t.kind),
  sequenceNumbers: templates.map((_, position) => `4959033827149025660855969253836157109592157598913658${String(position).padStart(4, '0')}`),
}));

interface Expected {
  to: 'processed' | 'dead_letter';
  reason?: 'unparseable' | 'validation_failed';
  receivedAt?: Date;
  replay: boolean;
  migrated?: Record<string, unknown>;
  originalVersion?: number;
}

const ARRIVED_AT = new Date(RECEIVED_AT.getTime() + 500);

/** Where the contract sends a raw-stream record, worked out from its bytes. */
function expectedRoute(data: Buffer): Expected {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    return { to: 'dead_letter', reason: 'unparseable', replay: false };
  }
  const envelopeResult = RawRecordSchema.safeParse(parsed);
  if (!envelopeResult.success) return { to: 'dead_letter', reason: 'unparseable', replay: false };
  const fromText = new Date(envelopeResult.data.received_at);
  // A received_at that is no date, or none the stored event could hold (outside the years 0000 to
  // 9999 in UTC), gives way to the record's arrival time.
  const usable = !Number.isNaN(fromText.getTime()) && /^\d{4}-/.test(fromText.toISOString());
  const receivedAt = usable ? fromText : ARRIVED_AT;
  const replay = envelopeResult.data.replayed_at !== undefined;
  const verdict = validateEvent(envelopeResult.data.event, receivedAt);
  return verdict.ok
    ? { to: 'processed', receivedAt, replay, migrated: verdict.event as Record<string, unknown>, originalVersion: verdict.originalVersion }
    : { to: 'dead_letter', reason: 'validation_failed', receivedAt, replay };
}

function numbersIn(value: unknown, out: number[] = []): number[] {
  if (typeof value === 'number') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => numbersIn(v, out));
  else if (typeof value === 'object' && value !== null) Object.values(value).forEach((v) => numbersIn(v, out));
  return out;
}

function checkBatch(input: Batch, plans: { processed: FaultPlan; dlq: FaultPlan }, outcome: Awaited<ReturnType<typeof validateBatch>>, processed: ReturnType<typeof fakePort<StreamEntry>>, dlq: ReturnType<typeof fakePort<MessageEntry>>): void {
  const n = input.data.length;
  const expected = input.data.map(expectedRoute);
  const positionOfSequence = new Map(input.sequenceNumbers.map((seq, position) => [seq, position]));
  const positionOfId = new Map<string, number>();
  expected.forEach((e, position) => {
    if (e.migrated) {
      const id = e.migrated.event_id as string;
      expect(positionOfId.has(id), `two valid records share event_id ${id}`).toBe(false);
      positionOfId.set(id, position);
    }
  });

  /** How each record was handed on, if it was. */
  const handed = new Map<number, 'processed' | 'dead_letter'>();
  expect(new Set(processed.acked).size).toBe(processed.acked.length);
  expect(new Set(dlq.acked).size).toBe(dlq.acked.length);

  for (const entry of processed.attempted) expect(entry.data.byteLength).toBeLessThanOrEqual(1024 * 1024);
  for (const entry of processed.acked) {
    const stored = JSON.parse(Buffer.from(entry.data).toString('utf8')) as Record<string, unknown>;
    const position = positionOfId.get(stored.event_id as string);
    expect(position, `processed event ${String(stored.event_id)} matches no valid record`).toBeDefined();
    expect(handed.has(position!), `record ${position} handed on twice`).toBe(false);
    handed.set(position!, 'processed');
    const want = expected[position!]!;

    // A valid record: an enriched event the stored-event schema accepts, every number storable.
    const parsed = enrichedEventSchema.safeParse(stored);
    if (!parsed.success) throw new Error(`stored-event schema refuses ${JSON.stringify(stored)}: ${parsed.error.message}`);
    for (const number of numbersIn(stored)) expect(isDynamoStorable(number), `${number} is not storable`).toBe(true);
    expect(entry.partitionKey).toBe(partitionKeyOf(stored));
    // It is the event as validated and migrated, plus the enrichment for its receipt.
    const event = Object.fromEntries(Object.entries(stored).filter(([key]) => !ENRICHMENT_FIELDS.includes(key)));
    expect(event).toEqual(JSON.parse(JSON.stringify(want.migrated)));
    expect(stored.received_at).toBe(want.receivedAt!.toISOString());
    expect(stored.processed_at).toBe(NOW.toISOString());
    expect(stored.original_schema_version).toBe(want.originalVersion);
  }

  for (const entry of dlq.attempted) {
    expect(entry.body).toMatch(SQS_BODY);
    expect(sqsMessageBytes(entry)).toBeLessThanOrEqual(SQS_MAX_BYTES);
  }
  const dlqPositions: number[] = [];
  for (const entry of dlq.acked) {
    const raw = JSON.parse(entry.body) as Record<string, unknown>;
    const message = DeadLetterMessageSchema.parse(raw);
    const position = positionOfSequence.get(message.source.sequence_number ?? '');
    expect(position, `dead letter for unknown record ${message.source.sequence_number}`).toBeDefined();
    expect(handed.has(position!), `record ${position} handed on twice`).toBe(false);
    handed.set(position!, 'dead_letter');
    dlqPositions.push(position!);
    const want = expected[position!]!;

    // An invalid record: its reason, at least one error, every code a known one, and the record.
    expect(want.to).toBe('dead_letter');
    expect(message.reason).toBe(want.reason);
    expect(message.errors.length).toBeGreaterThanOrEqual(1);
    for (const error of message.errors) expect(KNOWN_CODES.has(error.code), `unknown code ${error.code}`).toBe(true);
    expect(Object.hasOwn(raw, 'record')).toBe(true);
    expect(message.source.stream).toBe(STREAM_NAME);
    expect(message.first_failed_at).toBe(NOW.toISOString());
    expect(message.attempts).toBe(1);
    expect(entry.attributes?.reason?.StringValue).toBe(message.reason);
  }

  // Valid records go to the processed stream and only there; invalid ones to the DLQ.
  for (const [position, to] of handed) expect(to).toBe(expected[position]!.to);

  // Stream semantics: the reported failures are exactly the first record not handed on and all after it.
  let cut = 0;
  while (cut < n && handed.has(cut)) cut++;
  const reported = outcome.response.batchItemFailures.map((f) => f.itemIdentifier);
  expect(reported).toEqual(input.sequenceNumbers.slice(cut));
  // Nothing after the cut was counted, and nothing after it was dead-lettered, with the one
  // exception README's "At least once" documents: when the cut is a dead letter that could not be
  // sent, dead letters of later records sent in the same hand-over stay sent (a SendMessageBatch
  // entry cannot be taken back) and are sent again on the retry. Nothing at or after a record the
  // processed stream did not take is ever dead-lettered, not even attempted.
  const firstStreamFailure = expected.findIndex((e, position) => e.to === 'processed' && !handed.has(position));
  const streamCut = firstStreamFailure === -1 ? n : firstStreamFailure;
  const attemptedPositions = dlq.attempted.map((entry) => positionOfSequence.get(DeadLetterMessageSchema.parse(JSON.parse(entry.body)).source.sequence_number ?? '')!);
  for (const position of attemptedPositions) expect(position, `dead letter attempted for record ${position}, at or after the processed-stream failure at ${streamCut}`).toBeLessThan(streamCut);
  if (cut < n && expected[cut]!.to === 'processed') {
    for (const position of dlqPositions) expect(position, `record ${position} dead-lettered after the cut at ${cut}`).toBeLessThan(cut);
  }
  if (dlqPositions.some((position) => position >= cut)) {
    expect(expected[cut]!.to).toBe('dead_letter');
    expect(dlq.faulted).toBe(true);
  }
  const { tally } = outcome;
  expect(tally.redriven + tally.redriveFailed).toBe(0);
  const before = expected.slice(0, cut);
  expect(tally.valid).toBe(before.filter((e) => e.to === 'processed' && !e.replay).length);
  expect(tally.invalid).toBe(before.filter((e) => e.reason === 'validation_failed' && !e.replay).length);
  expect(tally.unparseable).toBe(before.filter((e) => e.reason === 'unparseable').length);
  expect(tally.replayed).toBe(before.filter((e) => e.reason !== 'unparseable' && e.replay).length);

  // With ports that never fail, every record is handed on.
  if (!processed.faulted && !dlq.faulted) expect(reported).toEqual([]);
}

/** FUZZ_STATS=1 prints what the runs covered. */
const stats = new Map<string, number>();
function count(label: string): void {
  if (process.env.FUZZ_STATS) stats.set(label, (stats.get(label) ?? 0) + 1);
}
afterAll(() => {
  if (stats.size > 0) console.log([...stats].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${String(n).padStart(5)}  ${k}`).join('\n'));
});

describe('validator (fast-check)', () => {
  it(
    'never throws; hands every record on or reports it, failures exactly a suffix; valid records stored-event-valid and storable, invalid ones dead-lettered with known codes',
    async () => {
      await fc.assert(
        fc.asyncProperty(batch, faultPlan, faultPlan, async (input, processedPlan, dlqPlan) => {
          const processed = fakePort<StreamEntry>(processedPlan);
          const dlq = fakePort<MessageEntry>(dlqPlan);
          const deps: ValidatorDeps = {
            putProcessed: processed.send,
            sendDeadLetters: dlq.send,
            now: () => NOW,
            retry: instantRetry,
          };
          const event = kinesisEvent(
            input.data.map((data, position) =>
              kinesisRecord(data, { sequenceNumber: input.sequenceNumbers[position], arrivalSeconds: ARRIVED_AT.getTime() / 1000 }),
            ),
          );
          const outcome = await validateBatch(event, deps);
          if (process.env.FUZZ_STATS) {
            count(`batch: ${outcome.response.batchItemFailures.length > 0 ? 'some reported' : 'all handed on'}${processed.faulted || dlq.faulted ? ' (faulted)' : ''}`);
            for (const data of input.data) {
              const e = expectedRoute(data);
              count(`record ${e.to}${e.reason ? ` ${e.reason}` : ''}${e.to === 'processed' ? ` v${e.originalVersion}` : ''}`);
            }
            for (const entry of dlq.acked) for (const error of (JSON.parse(entry.body) as { errors: Array<{ code: string }> }).errors) count(`dead letter error ${error.code}`);
          }
          try {
            checkBatch(input, { processed: processedPlan, dlq: dlqPlan }, outcome, processed, dlq);
          } catch (error) {
            throw new Error(
              `${(error as Error).message}\n  records: ${input.kinds.join(' | ')}\n  faults: processed ${JSON.stringify(processedPlan)}, dlq ${JSON.stringify(dlqPlan)}\n  reported: ${JSON.stringify(outcome.response.batchItemFailures)}`,
            );
          }
        }),
        fuzzParams(300),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
