import { KinesisClient, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ingest, type CollectorDeps } from '../../../lambdas/collector/ingest';
import type { StreamEntry } from '../../../lambdas/shared/delivery';
import { ERROR_CODES, LIMITS, partitionKeyOf, validateEvent } from '../../../lambdas/shared/events';
import { RawRecordSchema } from '../../../lambdas/shared/records';
import { faultPlan, fakePort, instantRetry, type FakePort, type FaultPlan } from './ports';
import { requestCase, type RequestCase } from './requests';
import { PROPERTY_TIMEOUT_MS, fuzzParams } from './settings';

// Property-based: arbitrary bodies, headers and encodings into the collector's use case (ingest,
// the handler's core with its PutRecords port injected), some runs with the port failing entries
// or throwing. The properties are contract §1's.

const RECEIVED_AT = new Date('2026-11-22T10:00:00.000Z');

interface Result {
  index: number;
  event_id: string | null;
  status: 'accepted' | 'rejected' | 'retry';
  valid: boolean;
  errors: Array<{ path: string; code: string; message: string }>;
}

/** Keys sorted: two events are the same event whatever the order of their fields. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** How a response names an event_id it was sent (a non-string one as its JSON). */
function idKey(id: unknown): string {
  return typeof id === 'string' ? id : JSON.stringify(id);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function multiset(keys: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

/** The submitted items, read back from the body as the contract describes it (only when the body parsed). */
function submittedItems(request: RequestCase): unknown[] | undefined {
  if (!request.cleanTransport) return undefined;
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(request.body.bytes));
  } catch {
    return undefined;
  }
  if (!isObject(document)) return undefined;
  return Object.hasOwn(document, 'events') ? (document.events as unknown[]) : [document];
}

function checkResponse(request: RequestCase, port: FakePort<StreamEntry>, assigned: Set<string>, response: { statusCode: number; headers?: Record<string, unknown>; body: string }): void {
  const status = response.statusCode;
  expect(String(response.headers?.['Content-Type'])).toMatch(/^application\/json/);
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect(isObject(body)).toBe(true);

  // Never 5xx unless a fault was injected, and then only 503.
  if (status >= 500) {
    expect(status).toBe(503);
    expect(port.faulted).toBe(true);
  }

  // The envelope checks the contract names.
  if (!request.jsonContentType) expect(status).toBe(415);
  else if (!request.encodingAllowed) expect(status).toBe(415);
  else if (request.cleanTransport) {
    if (request.body.expected) {
      expect(status).toBe(request.body.expected.status);
      expect((body.error as { code: string }).code).toBe(request.body.expected.code);
    }
    if (request.body.decodedBytes > LIMITS.maxBodyBytes) expect(status).toBe(413);
    else expect(status).not.toBe(413);
  }

  if (!Array.isArray(body.results)) {
    // Refused as a whole: a 4xx with a JSON error body, and nothing written.
    expect([400, 413, 415]).toContain(status);
    const error = body.error as { code: unknown; message: unknown };
    expect(typeof error.code).toBe('string');
    expect(typeof error.message).toBe('string');
    expect(error.code).not.toBe('all_rejected');
    expect(port.calls).toBe(0);
    return;
  }

  const results = body.results as Result[];
  expect(results.length).toBeGreaterThanOrEqual(1);
  expect(results.length).toBeLessThanOrEqual(LIMITS.maxBatchEvents);
  const accepted = results.filter((r) => r.status === 'accepted');
  const retry = results.filter((r) => r.status === 'retry');
  results.forEach((result, i) => {
    expect(result.index).toBe(i);
    expect(['accepted', 'rejected', 'retry']).toContain(result.status);
    expect(typeof result.valid).toBe('boolean');
    expect(Array.isArray(result.errors)).toBe(true);
    for (const error of result.errors) {
      expect(typeof error.path).toBe('string');
      expect(typeof error.message).toBe('string');
      expect(Object.keys(ERROR_CODES)).toContain(error.code);
    }
    if (result.status === 'rejected') {
      expect(result.valid).toBe(false);
      expect(result.errors.map((e) => e.code)).toEqual([expect.stringMatching(/^(not_an_object|too_large)$/)]);
      if (result.errors[0]!.code === 'not_an_object') expect(result.event_id).toBeNull();
    } else {
      // A parsed event always has an event_id: its own or the one assigned.
      expect(typeof result.event_id).toBe('string');
      expect(result.valid).toBe(result.errors.length === 0);
    }
  });

  // The status summarises the results (contract §1).
  if (accepted.length === results.length) expect(status).toBe(202);
  else if (accepted.length > 0) expect(status).toBe(207);
  else if (retry.length > 0) expect(status).toBe(503);
  else {
    expect(status).toBe(400);
    expect((body.error as { code: string }).code).toBe('all_rejected');
  }
  if (status === 202 || status === 207) {
    expect(body.accepted).toBe(accepted.length);
    expect(body.invalid).toBe(accepted.filter((r) => !r.valid).length);
  } else {
    expect(typeof (body.error as { message: unknown }).message).toBe('string');
  }
  // retry only when the port failed; nothing written unless something was accepted.
  if (retry.length > 0) expect(port.faulted).toBe(true);

  // Every accepted result was written exactly once, every written record is an accepted one, and
  // valid is the verdict validateEvent gives the record as written (what the validator will read).
  expect(new Set(port.acked).size).toBe(port.acked.length);
  const written = port.acked.map((entry) => {
    const record = RawRecordSchema.parse(JSON.parse(Buffer.from(entry.data).toString('utf8')));
    expect(record.received_at).toBe(RECEIVED_AT.toISOString());
    expect(record.request_id).toBe(request.event.requestContext.requestId);
    expect(isObject(record.event)).toBe(true);
    const event = record.event as Record<string, unknown>;
    expect(entry.partitionKey).toBe(partitionKeyOf(event));
    expect(Array.from(entry.partitionKey).length).toBeGreaterThanOrEqual(1);
    expect(Array.from(entry.partitionKey).length).toBeLessThanOrEqual(256);
    return { event, valid: validateEvent(event, new Date(record.received_at)).ok };
  });
  const key = (id: unknown, valid: boolean) => `${idKey(id)}|${valid}`;
  expect(multiset(written.map((w) => key(w.event.event_id, w.valid)))).toEqual(multiset(accepted.map((r) => key(r.event_id, r.valid))));

  // Where the body is known: each result is about its item, as sent.
  const items = submittedItems(request);
  if (!items) return;
  expect(results.length).toBe(items.length);
  const writtenEvents = multiset(written.map((w) => canonical(w.event)));
  results.forEach((result, i) => {
    const item = items[i];
    if (!isObject(item)) {
      expect(result.status).toBe('rejected');
      expect(result.errors[0]!.code).toBe('not_an_object');
      return;
    }
    const hasId = item.event_id !== undefined && item.event_id !== null;
    if (hasId) expect(result.event_id).toBe(idKey(item.event_id));
    else if (result.status !== 'rejected') expect(assigned).toContain(result.event_id);
    // Measured as the collector writes it: with its event_id (an assigned one is a 36-character UUID).
    const asWritten = hasId ? item : { ...item, event_id: result.event_id ?? '00000000-0000-4000-8000-000000000000' };
    const bytes = Buffer.byteLength(JSON.stringify(asWritten));
    if (result.status === 'rejected') {
      expect(result.errors[0]!.code).toBe('too_large');
      expect(bytes).toBeGreaterThan(LIMITS.maxEventBytes);
      return;
    }
    expect(bytes).toBeLessThanOrEqual(LIMITS.maxEventBytes);
    expect(result.valid).toBe(validateEvent(asWritten, RECEIVED_AT).ok);
    if (result.status === 'accepted') {
      const text = canonical(asWritten);
      const left = writtenEvents.get(text) ?? 0;
      expect(left, `accepted item ${i} was not written as sent`).toBeGreaterThan(0);
      writtenEvents.set(text, left - 1);
    }
  });
}

async function runCollector(request: RequestCase, plan: FaultPlan) {
  const port = fakePort<StreamEntry>(plan);
  const assigned = new Set<string>();
  let next = 0;
  const deps: CollectorDeps = {
    putRecords: port.send,
    now: () => RECEIVED_AT,
    uuid: () => {
      const id = `00000000-0000-4000-8000-${String(++next).padStart(12, '0')}`;
      assigned.add(id);
      return id;
    },
    retry: instantRetry,
  };
  const { response } = await ingest(request.event, { requestId: request.event.requestContext.requestId }, deps);
  return { response, port, assigned };
}

/** FUZZ_STATS=1 prints what the runs covered (kinds of body, statuses, faults). */
const stats = new Map<string, number>();
function count(label: string): void {
  if (process.env.FUZZ_STATS) stats.set(label, (stats.get(label) ?? 0) + 1);
}
afterAll(() => {
  if (stats.size > 0) console.log([...stats].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${String(n).padStart(5)}  ${k}`).join('\n'));
});

describe('collector (fast-check)', () => {
  it(
    'never throws, answers by contract §1, writes exactly the accepted events, and agrees with validateEvent',
    async () => {
      await fc.assert(
        fc.asyncProperty(requestCase(RECEIVED_AT), faultPlan, async (request, plan) => {
          const { response, port, assigned } = await runCollector(request, plan);
          count(`status ${response.statusCode}${port.faulted ? ' (faulted)' : ''}`);
          count(`body ${request.body.kind.replace(/ .*/, '')}${request.cleanTransport ? '' : ' (transport altered)'}`);
          const parsedBody = JSON.parse(response.body) as { results?: Result[]; error?: { code: string } };
          if (parsedBody.error) count(`error ${parsedBody.error.code}`);
          for (const r of parsedBody.results ?? []) count(`result ${r.status} ${r.valid ? 'valid' : r.errors[0]?.code}`);
          try {
            checkResponse(request, port, assigned, response);
          } catch (error) {
            throw new Error(`${(error as Error).message}\n  request: ${request.describe}\n  fault: ${JSON.stringify(plan)}\n  status ${response.statusCode}: ${response.body.slice(0, 2_000)}`);
          }
        }),
        fuzzParams(400),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});

describe('collector handler (fast-check)', () => {
  const kinesisMock = mockClient(KinesisClient);
  let collector: typeof import('../../../lambdas/collector/handler');
  let powertools: typeof import('../../../lambdas/shared/powertools');

  beforeAll(async () => {
    vi.stubEnv('RAW_STREAM_NAME', 'raw-fuzz');
    vi.stubEnv('CORS_ALLOWED_ORIGINS', '["https://shop.example"]');
    collector = await import('../../../lambdas/collector/handler');
    powertools = await import('../../../lambdas/shared/powertools');
    // Quiet: a refused request is logged at INFO, and metrics would flush to stdout.
    for (const level of ['info', 'warn', 'error'] as const) vi.spyOn(powertools.logger, level).mockImplementation(() => {});
    vi.spyOn(powertools.metrics, 'addMetric').mockImplementation(() => powertools.metrics);
    kinesisMock.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => ({
      FailedRecordCount: 0,
      Records: (input.Records ?? []).map((_, i) => ({ SequenceNumber: `4959${i}`, ShardId: 'shardId-000000000000' })),
    }));
  });

  afterAll(() => {
    kinesisMock.restore();
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it(
    'the deployed handler (real PutRecords writer, CORS) never answers 5xx when Kinesis takes every record, and always answers JSON',
    async () => {
      await fc.assert(
        fc.asyncProperty(requestCase(new Date()), async (request) => {
          const response = await collector.collect(request.event);
          expect(response.statusCode, `${request.describe}: ${response.body.slice(0, 500)}`).toBeLessThan(500);
          expect(String(response.headers?.['Content-Type'])).toMatch(/^application\/json/);
          expect(() => JSON.parse(response.body)).not.toThrow();
          expect(response.headers?.['Access-Control-Allow-Origin']).not.toBe('*');
        }),
        fuzzParams(100),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
