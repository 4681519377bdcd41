import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateEvent } from '../../../lambdas/shared/events';
import { eventsEndpoint, sendEvents } from '../../../lambdas/generator/send';
import { runGenerator } from '../../../lambdas/generator/run';
import { apiKeyFromSecret, clearApiKeyCache } from '../../../lambdas/generator/api-key';

const API_KEY = 'test-key-123';
const noSleep = { now: () => 0, sleep: async () => {}, random: () => 0.5 };

interface ReceivedRequest {
  path: string;
  apiKey: string | undefined;
  contentType: string | undefined;
  events: Record<string, unknown>[];
}

type Answer = (request: ReceivedRequest, requestNumber: number) => { status: number; body: unknown };

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
    const { status, body: answer } = this.answer(request, this.requests.length);
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

describe('eventsEndpoint', () => {
  it('joins /events onto the stage URL with or without a trailing slash', () => {
    expect(eventsEndpoint('https://abc.execute-api.eu-west-1.amazonaws.com/v1/')).toBe(
      'https://abc.execute-api.eu-west-1.amazonaws.com/v1/events',
    );
    expect(eventsEndpoint('https://abc.execute-api.eu-west-1.amazonaws.com/v1')).toBe(
      'https://abc.execute-api.eu-west-1.amazonaws.com/v1/events',
    );
    expect(eventsEndpoint('http://127.0.0.1:4566/restapis/x/v1/_user_request_/')).toBe(
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

  it('resends an event without event_id under the id the API assigned', async () => {
    const assigned = randomUUID();
    api.answer = (request, n) => ({
      status: n === 1 ? 207 : 202,
      body: { results: [{ index: 0, event_id: (request.events[0]!.event_id as string) ?? assigned, status: n === 1 ? 'retry' : 'accepted', valid: true }] },
    });
    const { event_id: _none, ...withoutId } = sampleEvents(1)[0]!;

    const summary = await sendEvents([withoutId], { ingestUrl, apiKey: API_KEY, clock: noSleep });

    expect(summary.accepted).toBe(1);
    expect(api.requests[0]!.events[0]!.event_id).toBeUndefined();
    expect(api.requests[1]!.events[0]!.event_id).toBe(assigned);
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
