import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateEvent } from '../../../lambdas/shared/events';
import { sendEvents } from '../../../lambdas/generator/send';
import { eventsUrl } from '../../../lambdas/shared/ingest-client';
import { runGenerator } from '../../../lambdas/generator/run';
import { apiKeyFromSecret, clearApiKeyCache } from '../../../lambdas/generator/api-key';

const API_KEY = 'test-key-123';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const noSleep = { now: () => 0, sleep: async () => {}, random: () => 0.5 };

interface ReceivedRequest {
  path: string;
  apiKey: string | undefined;
  contentType: string | undefined;
  events: Record<string, unknown>[];
}

/** `delayMs`: hold the answer that long (a request that outlives the client's timeout). */
type Answer = (request: ReceivedRequest, requestNumber: number) => { status: number; body: unknown; delayMs?: number };

/** A stand-in ingest API on 127.0.0.1 that records what it gets and answers as told. */
class FakeIngestApi {
  readonly requests: ReceivedRequest[] = [];
  private server: Server | undefined;
  answer: Answer = () => ({ status: 500, body: {} });

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events: Record<string, unknown>[] };
    const request: ReceivedRequest = {
      path: req.url ?? '',
      apiKey: req.headers['x-api-key'] as string | undefined,
      contentType: req.headers['content-type'],
      events: body.events,
    };
    this.requests.push(request);
    const { status, body: answer, delayMs } = this.answer(request, this.requests.length);
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
  }
}

/** 202/207 body: one result per event, with the verdict of the real schema. */
function results(events: Record<string, unknown>[], statusOf: (event: Record<string, unknown>, index: number) => 'accepted' | 'retry' | 'rejected') {
  const list = events.map((event, index) => {
    const verdict = validateEvent(event, new Date());
    return {
      index,
      event_id: (event.event_id as string | undefined) ?? randomUUID(),
      status: statusOf(event, index),
      valid: verdict.ok,
      errors: verdict.ok ? [] : verdict.errors,
    };
  });
  const allAccepted = list.every((r) => r.status === 'accepted');
  return {
    status: allAccepted ? 202 : 207,
    body: { accepted: list.filter((r) => r.status === 'accepted').length, invalid: list.filter((r) => !r.valid).length, results: list },
  };
}

function sampleEvents(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    event_id: randomUUID(),
    event_type: 'page_view',
    event_time: new Date().toISOString(),
    session_id: `sess-${i}`,
  }));
}

let api: FakeIngestApi;
let ingestUrl: string;

beforeEach(async () => {
  api = new FakeIngestApi();
  ingestUrl = await api.start();
});

afterEach(async () => {
  await api.stop();
});

describe('eventsUrl', () => {
  it('joins /events onto the stage URL with or without a trailing slash', () => {
    expect(eventsUrl('https://abc.execute-api.eu-west-1.amazonaws.com/v1/')).toBe(
      'https://abc.execute-api.eu-west-1.amazonaws.com/v1/events',
    );
    expect(eventsUrl('https://abc.execute-api.eu-west-1.amazonaws.com/v1')).toBe(
      'https://abc.execute-api.eu-west-1.amazonaws.com/v1/events',
    );
    expect(eventsUrl('http://127.0.0.1:4566/restapis/x/v1/_user_request_/')).toBe(
      'http://127.0.0.1:4566/restapis/x/v1/_user_request_/events',
    );
  });
});

describe('sendEvents', () => {
  it('posts batches of at most 500 with the API key, and resends `retry` events with the same event_id', async () => {
    const acceptedIds = new Map<string, number>();
    const seen = new Set<string>();
    api.answer = (request) =>
      results(request.events, (event) => {
        const id = event.event_id as string;
        // Every seventh event is retried the first time it arrives.
        const firstTime = !seen.has(id);
        seen.add(id);
        if (firstTime && parseInt(id.slice(0, 2), 16) % 7 === 0) return 'retry';
        acceptedIds.set(id, (acceptedIds.get(id) ?? 0) + 1);
        return 'accepted';
      });
    const events = sampleEvents(1_234);

    const summary = await sendEvents(events, { ingestUrl, apiKey: API_KEY, clock: noSleep });

    expect(summary).toMatchObject({ events: 1_234, accepted: 1_234, undelivered: 0, rejected: 0, refused: 0 });
    expect(summary.resent).toBeGreaterThan(0);
    expect([...acceptedIds.keys()].sort()).toEqual(events.map((e) => e.event_id).sort());
    expect([...acceptedIds.values()].every((n) => n === 1)).toBe(true);
    for (const request of api.requests) {
      expect(request.path).toBe('/v1/events');
      expect(request.apiKey).toBe(API_KEY);
      expect(request.contentType).toMatch(/^application\/json/);
      expect(request.events.length).toBeLessThanOrEqual(500);
    }
    const resentRequests = api.requests.slice(3);
    expect(resentRequests.length).toBeGreaterThan(0);
    expect(resentRequests.flatMap((r) => r.events).length).toBe(summary.resent);
  });

  it('resends a whole batch answered 503 or 429, and gives up after a bounded number of attempts', async () => {
    api.answer = (request, n) => (n <= 2 ? { status: n === 1 ? 503 : 429, body: { error: { code: 'busy' } } } : results(request.events, () => 'accepted'));
    const events = sampleEvents(10);

    const summary = await sendEvents(events, { ingestUrl, apiKey: API_KEY, clock: noSleep });

    expect(summary).toMatchObject({ accepted: 10, resent: 10, requests: 3 });
    expect(api.requests.map((r) => r.events.map((e) => e.event_id))).toEqual([0, 1, 2].map(() => events.map((e) => e.event_id)));

    api.answer = () => ({ status: 503, body: { error: { code: 'unavailable' } } });
    const errors: unknown[] = [];
    const stuck = await sendEvents(sampleEvents(3), {
      ingestUrl,
      apiKey: API_KEY,
      clock: noSleep,
      policy: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 60_000 },
      onError: (error) => errors.push(error),
    });
    expect(stuck).toMatchObject({ accepted: 0, undelivered: 3, requests: 4 });
    expect(errors).toHaveLength(4);
  });

  it('does not resend a request refused for good', async () => {
    api.answer = () => ({ status: 403, body: { message: 'Forbidden' } });

    const summary = await sendEvents(sampleEvents(5), { ingestUrl: `${ingestUrl}/`, apiKey: 'wrong', clock: noSleep });

    expect(summary).toMatchObject({ refused: 5, accepted: 0, requests: 1 });
    expect(api.requests).toHaveLength(1);
  });

  it('gives an event without event_id one before the first attempt and resends a retry result under it', async () => {
    api.answer = (request, n) => ({
      status: n === 1 ? 207 : 202,
      body: { results: [{ index: 0, event_id: request.events[0]!.event_id, status: n === 1 ? 'retry' : 'accepted', valid: true }] },
    });
    const { event_id: _none, ...withoutId } = sampleEvents(1)[0]!;

    const summary = await sendEvents([withoutId], { ingestUrl, apiKey: API_KEY, clock: noSleep });

    expect(summary.accepted).toBe(1);
    expect(api.requests[0]!.events[0]!.event_id).toMatch(UUID);
    expect(api.requests[1]!.events[0]!.event_id).toBe(api.requests[0]!.events[0]!.event_id);
    expect(withoutId).not.toHaveProperty('event_id');
  });
});

// Hole 3: the API wrote the events, then the answer was a 503 or never came. A producer that left
// event_id to the collector resent without one and the events were stored twice, under two ids.
describe('sendEvents: a resend after a write whose answer was lost reuses the event_ids', () => {
  /** What the fake API wrote, by event_id (the collector assigns a UUID when absent). */
  function writingApi(after: (request: ReceivedRequest, n: number, ids: string[]) => { status: number; body: unknown; delayMs?: number }) {
    const written: string[] = [];
    api.answer = (request, n) => {
      const ids = request.events.map((event) => (event.event_id as string | undefined) ?? randomUUID());
      written.push(...ids);
      return after(request, n, ids);
    };
    return written;
  }
  const withoutIds = (count: number) => sampleEvents(count).map(({ event_id: _none, ...event }) => event);
  const sentIds = (n: number) => api.requests[n]!.events.map((event) => event.event_id);

  it('503 with results: resends the retry items with the event_ids the API gave back', async () => {
    const written = writingApi((request, n, ids) =>
      n === 1
        ? { status: 503, body: { error: { code: 'unavailable', message: 'm' }, results: ids.map((event_id, index) => ({ index, event_id, status: 'retry', valid: true, errors: [] })) } }
        : results(request.events, () => 'accepted'),
    );
    const summary = await sendEvents(withoutIds(3), { ingestUrl, apiKey: API_KEY, clock: noSleep });

    expect(summary).toMatchObject({ events: 3, accepted: 3, undelivered: 0, resent: 3, requests: 2 });
    expect(sentIds(0).every((id) => typeof id === 'string' && UUID.test(id))).toBe(true);
    expect(sentIds(1)).toEqual(sentIds(0));
    expect(new Set(written).size).toBe(3);
  });

  it('503 with results: a rejected item is settled, only the retry items go again', async () => {
    api.answer = (request, n) =>
      n === 1
        ? {
            status: 503,
            body: {
              error: { code: 'unavailable', message: 'm' },
              results: request.events.map((event, index) => ({ index, event_id: event.event_id, status: index === 0 ? 'rejected' : 'retry', valid: false, errors: [] })),
            },
          }
        : results(request.events, () => 'accepted');
    const summary = await sendEvents(withoutIds(3), { ingestUrl, apiKey: API_KEY, clock: noSleep });

    expect(summary).toMatchObject({ accepted: 2, rejected: 1, refused: 0, undelivered: 0, resent: 2 });
    expect(sentIds(1)).toEqual(sentIds(0).slice(1));
  });

  it('503 without results (gateway level): the resend carries the ids of the first attempt', async () => {
    const written = writingApi((request, n) =>
      n === 1 ? { status: 503, body: { message: 'Service Unavailable' } } : results(request.events, () => 'accepted'),
    );
    const summary = await sendEvents(withoutIds(4), { ingestUrl, apiKey: API_KEY, clock: noSleep });

    expect(summary).toMatchObject({ accepted: 4, resent: 4 });
    expect(sentIds(0).every((id) => typeof id === 'string' && UUID.test(id))).toBe(true);
    expect(sentIds(1)).toEqual(sentIds(0));
    expect(new Set(written).size).toBe(4);
  });

  it('a request that times out after the API wrote it: the resend carries the same ids', async () => {
    const written = writingApi((request, n) => ({ ...results(request.events, () => 'accepted'), delayMs: n === 1 ? 1_000 : 0 }));
    const errors: unknown[] = [];
    const summary = await sendEvents(withoutIds(2), {
      ingestUrl,
      apiKey: API_KEY,
      clock: noSleep,
      requestTimeoutMs: 100,
      onError: (error) => errors.push(error),
    });

    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).name).toBe('TimeoutError');
    expect(summary).toMatchObject({ accepted: 2, resent: 2, requests: 2 });
    expect(sentIds(0).every((id) => typeof id === 'string' && UUID.test(id))).toBe(true);
    expect(sentIds(1)).toEqual(sentIds(0));
    expect(new Set(written).size).toBe(2);
  });

  it('keeps an event_id the producer set, and a malformed one as sent', async () => {
    api.answer = (request) => results(request.events, () => 'accepted');
    const events = [...sampleEvents(1), { ...sampleEvents(1)[0]!, event_id: 'not-a-uuid' }];
    await sendEvents(events, { ingestUrl, apiKey: API_KEY, clock: noSleep });
    expect(sentIds(0)).toEqual([events[0]!.event_id, 'not-a-uuid']);
  });
});

describe('sendEvents: 400 all_rejected', () => {
  it('counts each event rejected, from the results, and does not resend', async () => {
    api.answer = (request) => ({
      status: 400,
      body: {
        error: { code: 'all_rejected', message: 'm' },
        results: request.events.map((_event, index) => ({ index, event_id: null, status: 'rejected', valid: false, errors: [{ path: '', code: 'too_large', message: 'm' }] })),
      },
    });
    const errors: unknown[] = [];
    const summary = await sendEvents(sampleEvents(2), { ingestUrl, apiKey: API_KEY, clock: noSleep, onError: (e) => errors.push(e) });

    expect(summary).toMatchObject({ events: 2, accepted: 0, rejected: 2, refused: 0, undelivered: 0, requests: 1 });
    expect(errors).toHaveLength(1);
  });
});

// The generator used to count every event of a request answered 413 as refused (not written),
// although halves of it would have been written; the shared client splits it like pipeline send.
describe('sendEvents: a request too large as a whole (413)', () => {
  it('is split in halves until each part fits, and every event is written', async () => {
    api.answer = (request) => (request.events.length > 3 ? { status: 413, body: { message: 'Request Too Long' } } : results(request.events, () => 'accepted'));
    const events = sampleEvents(10);

    const summary = await sendEvents(events, { ingestUrl, apiKey: API_KEY, clock: noSleep });

    expect(summary).toMatchObject({ events: 10, accepted: 10, refused: 0, undelivered: 0, resent: 0 });
    const written = api.requests.filter((r) => r.events.length <= 3).flatMap((r) => r.events.map((e) => e.event_id));
    expect(written.sort()).toEqual(events.map((e) => e.event_id).sort());
  });

  it('refuses only an event too large on its own', async () => {
    const events = sampleEvents(4);
    events[1]!.big = true;
    api.answer = (request) =>
      request.events.some((e) => e.big) ? { status: 413, body: { error: { code: 'payload_too_large', message: 'm' } } } : results(request.events, () => 'accepted');

    const summary = await sendEvents(events, { ingestUrl, apiKey: API_KEY, clock: noSleep });

    expect(summary).toMatchObject({ accepted: 3, refused: 1, undelivered: 0 });
  });
});

describe('runGenerator', () => {
  it('sends the configured number of generated events; the intended-invalid ones come back invalid', async () => {
    api.answer = (request) => results(request.events, () => 'accepted');

    const run = await runGenerator(
      { ingestUrl, eventsPerRun: 700, invalidShare: 0.1 },
      { apiKey: API_KEY, seed: 99, clock: noSleep },
    );

    expect(run.generated.total).toBe(700);
    expect(api.requests.flatMap((r) => r.events)).toHaveLength(700);
    expect(run.summary.accepted).toBe(700);
    expect(run.generated.intendedInvalid).toBeGreaterThan(0);
    expect(run.summary.acceptedInvalid).toBe(run.generated.intendedInvalid);
  });
});

describe('apiKeyFromSecret', () => {
  const secrets = new SecretsManagerClient({ region: 'us-east-1' });
  const secretsMock = mockClient(secrets);

  beforeEach(() => {
    secretsMock.reset();
    clearApiKeyCache();
  });

  it('reads the key once per container', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ apiKey: 'k-1' }) });

    expect(await apiKeyFromSecret(secrets, 'arn:secret')).toBe('k-1');
    expect(await apiKeyFromSecret(secrets, 'arn:secret')).toBe('k-1');
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(secretsMock.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: 'arn:secret' });
  });

  it('fails clearly on a malformed secret and reads again next time', async () => {
    secretsMock.on(GetSecretValueCommand).resolvesOnce({ SecretString: '{"key":"x"}' }).resolves({ SecretString: '{"apiKey":"k-2"}' });

    await expect(apiKeyFromSecret(secrets, 'arn:secret')).rejects.toThrow(/apiKey/);
    expect(await apiKeyFromSecret(secrets, 'arn:secret')).toBe('k-2');
  });
});
