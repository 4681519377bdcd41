import { describe, expect, it } from 'vitest';
import { eventsUrl, sendToIngest } from '../../../lambdas/shared/ingest-client';

const noSleep = { now: () => 0, sleep: async () => {}, random: () => 0.5 };

/** Records each request's URL and events; answers every event accepted. */
function acceptingFetch() {
  const calls: Array<{ url: string; events: Array<Record<string, unknown>> }> = [];
  const fetchFn = (async (url: string, init: RequestInit) => {
    const events = (JSON.parse(String(init.body)) as { events: Array<Record<string, unknown>> }).events;
    calls.push({ url, events });
    const results = events.map((e, index) => ({ index, event_id: e.event_id, status: 'accepted', valid: true, errors: [] }));
    return new Response(JSON.stringify({ accepted: events.length, invalid: 0, results }), { status: 202 });
  }) as unknown as typeof fetch;
  return { calls, fetchFn };
}

describe('eventsUrl', () => {
  it('joins /events onto the stage URL whatever trailing slashes it has', () => {
    for (const base of ['https://x.execute-api.eu-west-1.amazonaws.com/v1', 'https://x.execute-api.eu-west-1.amazonaws.com/v1/', 'https://x.execute-api.eu-west-1.amazonaws.com/v1//']) {
      expect(eventsUrl(base)).toBe('https://x.execute-api.eu-west-1.amazonaws.com/v1/events');
    }
    expect(eventsUrl('http://127.0.0.1:4566/restapis/x/v1/_user_request_/')).toBe('http://127.0.0.1:4566/restapis/x/v1/_user_request_/events');
  });
});

describe('sendToIngest', () => {
  it('always posts {"events": [...]}, one event too, to the joined URL', async () => {
    const { calls, fetchFn } = acceptingFetch();
    const report = await sendToIngest([{ event_id: 'a' }], { ingestUrl: 'http://api/v1/', apiKey: 'k', fetch: fetchFn, clock: noSleep });
    expect(calls).toEqual([{ url: 'http://api/v1/events', events: [{ event_id: 'a' }] }]);
    expect(report.events[0]).toMatchObject({ attempts: 1, outcome: { status: 'accepted', valid: true } });
  });

  it('with maxRequestBytes cuts requests by size and does not send an event too large on its own', async () => {
    const { calls, fetchFn } = acceptingFetch();
    const errors: string[] = [];
    const events = [{ event_id: 'a', pad: 'x'.repeat(40) }, { event_id: 'b', pad: 'x'.repeat(40) }, { event_id: 'c', pad: 'x'.repeat(400) }];
    const report = await sendToIngest(events, {
      ingestUrl: 'http://api/v1',
      apiKey: 'k',
      fetch: fetchFn,
      clock: noSleep,
      maxRequestBytes: 100,
      onRequestError: (error) => errors.push((error as Error).message),
    });
    expect(calls.map((c) => c.events.map((e) => e.event_id))).toEqual([['a'], ['b']]);
    expect(report.events.map((e) => e.outcome.status)).toEqual(['accepted', 'accepted', 'undelivered']);
    expect(errors).toEqual(['1 events exceed the 100-byte request limit']);
  });

  it('paces the first attempt at `rate` events per second', async () => {
    const { fetchFn } = acceptingFetch();
    const now = 0;
    const waits: number[] = [];
    const clock = { now: () => now, sleep: async (ms: number) => void waits.push(ms), random: () => 0.5 };
    await sendToIngest(
      Array.from({ length: 6 }, (_, i) => ({ event_id: `e${i}` })),
      { ingestUrl: 'http://api/v1', apiKey: 'k', fetch: fetchFn, clock, batchSize: 2, concurrency: 1, rate: 2 },
    );
    // Each request waits until the last of its events is due: 2, 4 and 6 events at 2/s.
    expect(waits).toEqual([1_000, 2_000, 3_000]);
  });

  it('refuses a batch size the API would refuse', async () => {
    await expect(sendToIngest([{}], { ingestUrl: 'http://api/v1', apiKey: 'k', batchSize: 501 })).rejects.toThrow(/batchSize must be 1 to 500/);
  });
});
