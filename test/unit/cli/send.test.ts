import { describe, expect, it } from 'vitest';
import type { IngestResult } from '../../../lambdas/shared/ingest-response';
import { eventsUrl } from '../../../lambdas/shared/ingest-client';
import { parseEvents, sendEvents, sendSucceeded } from '../../../tools/cli/send';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('parseEvents', () => {
  it('reads a JSON array, an {"events": [...]} body and one object', () => {
    expect(parseEvents('[{"event_id":"a"},{"event_id":"b"}]', 'f')).toEqual([{ event_id: 'a' }, { event_id: 'b' }]);
    expect(parseEvents('{"events":[{"event_id":"a"}]}', 'f')).toEqual([{ event_id: 'a' }]);
    expect(parseEvents('{"event_id":"a"}', 'f')).toEqual([{ event_id: 'a' }]);
  });

  it('reads JSON Lines, skipping blank lines', () => {
    expect(parseEvents('{"event_id":"a"}\n\n{"event_id":"b"}\n', 'f')).toEqual([{ event_id: 'a' }, { event_id: 'b' }]);
  });

  it('gives an event_id to objects without one, so a resend can reuse it', () => {
    const [event] = parseEvents('{"event_type":"page_view"}', 'f') as Array<Record<string, unknown>>;
    expect(event?.event_id).toMatch(UUID);
  });

  it('names the bad lines and sends nothing', () => {
    expect(() => parseEvents('{"a":1}\n{oops\n', 'events.jsonl')).toThrow(/events.jsonl is neither JSON nor JSON Lines; nothing was sent. line 2:/);
    expect(() => parseEvents('  ', 'f')).toThrow(/holds no events/);
  });
});

describe('eventsUrl', () => {
  it('appends /events with or without a trailing slash', () => {
    expect(eventsUrl('https://x.execute-api.us-east-1.amazonaws.com/v1/')).toBe('https://x.execute-api.us-east-1.amazonaws.com/v1/events');
    expect(eventsUrl('http://127.0.0.1:4566/v1')).toBe('http://127.0.0.1:4566/v1/events');
  });
});

/** A fake ingest API: answers from `decide` and records every request's events. */
function fakeApi(decide: (events: Array<Record<string, unknown>>, call: number) => { status: number; body: unknown }) {
  const calls: Array<{ events: Array<Record<string, unknown>>; apiKey: string | null }> = [];
  const fetchFn = (async (_url: string, init: RequestInit) => {
    const body = JSON.parse(String(init.body)) as Record<string, unknown>;
    const events = (Array.isArray(body.events) ? body.events : [body]) as Array<Record<string, unknown>>;
    calls.push({ events, apiKey: new Headers(init.headers).get('x-api-key') });
    const answer = decide(events, calls.length);
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  }) as unknown as typeof fetch;
  return { calls, fetchFn };
}

const results = (events: Array<Record<string, unknown>>, status: (e: Record<string, unknown>) => IngestResult['status'], valid = () => true) =>
  events.map((e, index) => ({ index, event_id: e.event_id as string, status: status(e), valid: valid(), errors: [] }));

const noSleep = async () => {};
const options = { ingestUrl: 'http://api/v1', apiKey: 'k', batchSize: 2, concurrency: 1, maxAttempts: 3, sleep: noSleep };

describe('sendEvents', () => {
  it('resends retry results with the same event_id and counts each event once', async () => {
    const events = [{ event_id: 'e1' }, { event_id: 'e2' }, { event_id: 'e3' }];
    const { calls, fetchFn } = fakeApi((batch, call) => ({
      status: 207,
      // e2 gets `retry` the first time it is seen, then `accepted`.
      body: { results: results(batch, (e) => (e.event_id === 'e2' && call === 1 ? 'retry' : 'accepted')) },
    }));
    const summary = await sendEvents(events, { ...options, fetch: fetchFn });
    expect(calls.map((c) => c.events.map((e) => e.event_id))).toEqual([['e1', 'e2'], ['e3'], ['e2']]);
    expect(calls.every((c) => c.apiKey === 'k')).toBe(true);
    expect(summary).toMatchObject({ events: 3, requests: 3, accepted: 3, valid: 3, invalid: 0, rejected: 0, failed: 0, resent: 1 });
    expect(summary.latencyMs.p50).toBeGreaterThanOrEqual(0);
  });

  it('counts accepted-but-invalid events by code, and rejected ones apart', async () => {
    const { fetchFn } = fakeApi((batch) => ({
      status: 207,
      body: {
        results: batch.map((e, index) =>
          e.event_id === 'bad'
            ? { index, event_id: 'bad', status: 'accepted', valid: false, errors: [{ path: 'price', code: 'too_small', message: 'm' }] }
            : e.event_id === 'big'
              ? { index, event_id: 'big', status: 'rejected', valid: false, errors: [{ path: '', code: 'too_large', message: 'm' }] }
              : { index, event_id: e.event_id, status: 'accepted', valid: true, errors: [] },
        ),
      },
    }));
    const summary = await sendEvents([{ event_id: 'ok' }, { event_id: 'bad' }, { event_id: 'big' }], { ...options, fetch: fetchFn });
    expect(summary).toMatchObject({ accepted: 2, valid: 1, invalid: 1, rejected: 1, invalidCodes: { too_small: 1 }, rejectedCodes: { too_large: 1 } });
  });

  it('resends a whole batch after a 503 and gives up after maxAttempts', async () => {
    const { calls, fetchFn } = fakeApi(() => ({ status: 503, body: { error: { code: 'unavailable', message: 'm' } } }));
    const summary = await sendEvents([{ event_id: 'e1' }], { ...options, fetch: fetchFn });
    expect(calls).toHaveLength(3);
    expect(calls.every((c) => c.events[0]?.event_id === 'e1')).toBe(true);
    expect(summary).toMatchObject({ accepted: 0, failed: 1, resent: 2, requestErrors: { '503': 3 } });
  });

  it('counts a refused request (400) as rejected without resending it', async () => {
    const { calls, fetchFn } = fakeApi(() => ({ status: 400, body: { error: { code: 'too_deep', message: 'nesting too deep' } } }));
    const summary = await sendEvents([{ event_id: 'e1' }, { event_id: 'e2' }], { ...options, fetch: fetchFn });
    expect(calls).toHaveLength(1);
    expect(summary).toMatchObject({ rejected: 2, rejectedCodes: { too_deep: 2 }, failed: 0, notWritten: 2 });
  });

  it('stops with a clear error on a wrong API key', async () => {
    const { fetchFn } = fakeApi(() => ({ status: 403, body: { message: 'Forbidden' } }));
    await expect(sendEvents([{ event_id: 'e1' }], { ...options, fetch: fetchFn })).rejects.toThrow(
      /the ingest API refused the API key \(403 Forbidden\)/,
    );
  });

  it('says which URL it cannot reach', async () => {
    const refused = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    }) as unknown as typeof fetch;
    await expect(sendEvents([{ event_id: 'e1' }], { ...options, fetch: refused })).rejects.toThrow(
      /cannot reach http:\/\/api\/v1\/events \(ECONNREFUSED\)/,
    );
  });

  it('refuses a batch size the API would refuse', async () => {
    await expect(sendEvents([{}], { ...options, batchSize: 501 })).rejects.toThrow(/--batch must be 1 to 500/);
  });
});

// A 202/207 with fewer results than events used to leave the events without a result unaccounted
// for (neither accepted, rejected nor failed) and the command succeeded; they are resent now.
describe('sendEvents: a 2xx without one result per event', () => {
  it('resends the request under the same event_ids instead of losing the events without a result', async () => {
    const { calls, fetchFn } = fakeApi((batch, call) => ({
      status: 202,
      body: { results: results(call === 1 ? batch.slice(0, 1) : batch, () => 'accepted') },
    }));
    const summary = await sendEvents([{ event_id: 'e1' }, { event_id: 'e2' }], { ...options, fetch: fetchFn });
    expect(calls.map((c) => c.events.map((e) => e.event_id))).toEqual([['e1', 'e2'], ['e1', 'e2']]);
    expect(summary).toMatchObject({ events: 2, accepted: 2, failed: 0, resent: 2, requestErrors: { '202': 1 } });
    expect(sendSucceeded(summary)).toBe(true);
  });
});

describe('sendEvents: a request too large as a whole (413)', () => {
  const events = (n: number) => Array.from({ length: n }, (_, i) => ({ event_id: `e${i + 1}`, big: false }));
  const accepted = (batch: Array<Record<string, unknown>>) => ({ status: 202, body: { results: results(batch, () => 'accepted') } });

  it('splits the request in halves until each part fits, and writes every event', async () => {
    // The API takes at most 2 events a request.
    const { calls, fetchFn } = fakeApi((batch) =>
      batch.length > 2 ? { status: 413, body: { message: 'Request Too Long' } } : accepted(batch),
    );
    const summary = await sendEvents(events(5), { ...options, batchSize: 5, fetch: fetchFn });
    expect(calls.map((c) => c.events.map((e) => e.event_id))).toEqual([
      ['e1', 'e2', 'e3', 'e4', 'e5'],
      ['e1', 'e2', 'e3'],
      ['e1', 'e2'],
      ['e3'],
      ['e4', 'e5'],
    ]);
    expect(summary).toMatchObject({ events: 5, accepted: 5, rejected: 0, notWritten: 0, failed: 0, splitRequests: 2, requestErrors: { '413': 2 } });
    expect(sendSucceeded(summary)).toBe(true);
  });

  it('rejects only the event that is too large on its own, and the command fails', async () => {
    const all = events(4);
    all[2]!.big = true;
    const { fetchFn } = fakeApi((batch) =>
      batch.some((e) => e.big) ? { status: 413, body: { error: { code: 'payload_too_large', message: 'too large' } } } : accepted(batch),
    );
    const summary = await sendEvents(all, { ...options, batchSize: 4, fetch: fetchFn });
    expect(summary).toMatchObject({
      accepted: 3,
      rejected: 1,
      notWritten: 1,
      notWrittenByStatus: { '413': 1 },
      rejectedCodes: { payload_too_large: 1 },
    });
    expect(sendSucceeded(summary)).toBe(false);
  });

  it('fails the command when a whole request is refused (400, 415) and leaves its events unwritten', async () => {
    for (const status of [400, 415]) {
      const { calls, fetchFn } = fakeApi(() => ({ status, body: { error: { code: 'bad_request', message: 'm' } } }));
      const summary = await sendEvents(events(2), { ...options, fetch: fetchFn });
      expect(calls).toHaveLength(1);
      expect(summary).toMatchObject({ rejected: 2, notWritten: 2, notWrittenByStatus: { [status]: 2 }, splitRequests: 0 });
      expect(sendSucceeded(summary)).toBe(false);
    }
  });

  it('does not fail the command for per-event rejections in a 207', async () => {
    const { fetchFn } = fakeApi((batch) => ({
      status: 207,
      body: {
        results: batch.map((e, index) =>
          index === 0
            ? { index, event_id: e.event_id, status: 'accepted', valid: true, errors: [] }
            : { index, event_id: e.event_id, status: 'rejected', valid: false, errors: [{ path: '', code: 'too_large', message: 'm' }] },
        ),
      },
    }));
    const summary = await sendEvents(events(2), { ...options, fetch: fetchFn });
    expect(summary).toMatchObject({ accepted: 1, rejected: 1, notWritten: 0 });
    expect(sendSucceeded(summary)).toBe(true);
  });
});

describe('sendEvents: 400 all_rejected', () => {
  it('counts every event rejected and not written, by its own code, and the command fails', async () => {
    const { calls, fetchFn } = fakeApi((batch) => ({
      status: 400,
      body: {
        error: { code: 'all_rejected', message: 'no event was accepted and none can be retried' },
        results: batch.map((_e, index) => ({ index, event_id: null, status: 'rejected', valid: false, errors: [{ path: '', code: 'not_an_object', message: 'm' }] })),
      },
    }));
    const summary = await sendEvents(['x', 1, null], { ...options, batchSize: 3, fetch: fetchFn });
    expect(calls).toHaveLength(1);
    expect(summary).toMatchObject({
      events: 3,
      accepted: 0,
      rejected: 3,
      failed: 0,
      notWritten: 3,
      notWrittenByStatus: { '400': 3 },
      rejectedCodes: { not_an_object: 3 },
      requestErrors: { '400': 1 },
      resent: 0,
    });
    expect(sendSucceeded(summary)).toBe(false);
  });
});

// Hole 3: the API wrote the events, then answered 503 or not at all. Events sent without an
// event_id were resent without one, and the collector stored them again under new ids.
describe('sendEvents: a resend after a lost answer reuses the event_ids', () => {
  const withoutIds = (n: number) => Array.from({ length: n }, (_, i) => ({ event_type: 'page_view', session_id: `s-${i}` }));
  const idsOf = (call: { events: Array<Record<string, unknown>> }) => call.events.map((e) => e.event_id);

  it('503 with results: resends only the retry items, under the event_ids given back', async () => {
    const { calls, fetchFn } = fakeApi((batch, call) =>
      call === 1
        ? {
            status: 503,
            body: {
              error: { code: 'unavailable', message: 'm' },
              results: batch.map((e, index) =>
                index === 0
                  ? { index, event_id: null, status: 'rejected', valid: false, errors: [{ path: '', code: 'too_large', message: 'm' }] }
                  : { index, event_id: e.event_id, status: 'retry', valid: true, errors: [] },
              ),
            },
          }
        : { status: 202, body: { results: results(batch, () => 'accepted') } },
    );
    const summary = await sendEvents(withoutIds(3), { ...options, batchSize: 3, fetch: fetchFn });

    expect(calls).toHaveLength(2);
    expect(idsOf(calls[0]!).every((id) => typeof id === 'string' && UUID.test(id))).toBe(true);
    expect(idsOf(calls[1]!)).toEqual(idsOf(calls[0]!).slice(1));
    expect(summary).toMatchObject({ accepted: 2, rejected: 1, failed: 0, notWritten: 0, resent: 2, requestErrors: { '503': 1 } });
  });

  it('503 without results: the resend carries the ids of the first attempt', async () => {
    const { calls, fetchFn } = fakeApi((batch, call) =>
      call === 1 ? { status: 503, body: { message: 'Service Unavailable' } } : { status: 202, body: { results: results(batch, () => 'accepted') } },
    );
    const summary = await sendEvents(withoutIds(2), { ...options, fetch: fetchFn });

    expect(idsOf(calls[0]!).every((id) => typeof id === 'string' && UUID.test(id))).toBe(true);
    expect(idsOf(calls[1]!)).toEqual(idsOf(calls[0]!));
    expect(summary).toMatchObject({ accepted: 2, failed: 0, resent: 2 });
  });

  it('a request that times out after the API wrote it: the resend carries the same ids', async () => {
    const calls: Array<Array<Record<string, unknown>>> = [];
    const fetchFn = (async (_url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body)) as Record<string, unknown>;
      const batch = (Array.isArray(body.events) ? body.events : [body]) as Array<Record<string, unknown>>;
      calls.push(batch);
      if (calls.length === 1) {
        // Written, but the answer never comes: the client's timeout ends the wait.
        await new Promise((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)));
      }
      return new Response(JSON.stringify({ results: results(batch, () => 'accepted') }), { status: 202 });
    }) as unknown as typeof fetch;

    const summary = await sendEvents(withoutIds(2), { ...options, fetch: fetchFn, requestTimeoutMs: 50 });

    expect(calls).toHaveLength(2);
    expect(calls[0]!.map((e) => e.event_id).every((id) => typeof id === 'string' && UUID.test(id))).toBe(true);
    expect(calls[1]!.map((e) => e.event_id)).toEqual(calls[0]!.map((e) => e.event_id));
    expect(summary).toMatchObject({ accepted: 2, failed: 0, resent: 2, requestErrors: { ETIMEDOUT: 1 } });
  });
});
