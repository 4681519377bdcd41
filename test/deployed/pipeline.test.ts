import { randomUUID } from 'node:crypto';
import { DeleteMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTrafficGenerator } from '../../lambdas/generator/traffic';
import type { AggregateSource } from '../../lambdas/shared/aggregates';
import { sendToIngest, type SentEvent } from '../../lambdas/shared/ingest-client';
import type { DeadLetterMessage } from '../../lambdas/shared/records';
import { pollUntil } from '../../tools/shared/poll';
import { compareOwnAggregates, deadLettersFor, ENRICHED, storedEvents } from '../harness/checks';
import { DEPLOYED_TIMEOUT_MS, openDeployed, type Deployed } from './target';

// The end-to-end scenarios that need no fault injection, against a deployed stack (or LocalStack,
// or the local cloud) from its outputs file. The stack may be shared and busy: every check reads
// this run's own keys (its event ids; user, product and category names carrying RUN), never a
// whole table, and the run deletes nothing but the dead letters of its own events.

const RUN = `deployed-test-${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
const wait = <T>(what: string, check: () => Promise<T | undefined>) => pollUntil(what, check, { timeoutMs: DEPLOYED_TIMEOUT_MS, intervalMs: 1_000 });

let stack: Deployed;
/** Every event id of this run that must end up stored. */
const mustBeStored = new Set<string>();
/** Event ids of this run that must never be stored. */
const neverStored = new Set<string>();

beforeAll(async () => {
  stack = await openDeployed();
});

/** Generated traffic whose event ids, users, products and categories are this run's own. */
function ownTraffic(count: number): Array<Record<string, unknown>> {
  const renamed = new Map<string, string>();
  const own = (kind: string, value: unknown) => {
    if (typeof value !== 'string' || value === '') return value;
    const key = `${kind}:${value}`;
    if (!renamed.has(key)) renamed.set(key, `${RUN}-${kind}${renamed.size}`);
    return renamed.get(key);
  };
  return createTrafficGenerator({ invalidShare: 0.25 })
    .batch(count)
    .map(({ event }) => {
      // A fresh event_id each: a malformed one (the generator makes some) could match another run's dead letter.
      const copy: Record<string, unknown> = { ...event, event_id: randomUUID() };
      for (const [field, kind] of [['user_id', 'u'], ['product_id', 'p'], ['category', 'c']] as const) {
        if (field in copy) copy[field] = own(kind, copy[field]);
      }
      return copy;
    });
}

const send = (events: readonly unknown[]) => sendToIngest(events, { ingestUrl: stack.ingestUrl, apiKey: stack.apiKey });
const idOf = (sent: SentEvent) => String((sent.event as { event_id: string }).event_id);
const now = () => new Date().toISOString();

describe(`the deployed pipeline (run ${RUN})`, () => {
  let valid: SentEvent[] = [];

  it('answers 403 without an API key, or with a wrong one, and writes nothing', async () => {
    const event = { event_id: randomUUID(), event_type: 'page_view', event_time: now(), user_id: `${RUN}-forbidden`, session_id: `${RUN}-s` };
    neverStored.add(event.event_id);
    for (const headers of [{}, { 'x-api-key': `${RUN}-not-the-key` }] as Array<Record<string, string>>) {
      const response = await fetch(`${stack.ingestUrl.replace(/\/+$/, '')}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(event),
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ message: 'Forbidden' });
    }
  });

  it('stores every valid event of a mixed batch once, enriched, and dead-letters every invalid one with its reasons', async () => {
    const broken = { event_type: 'purchase', event_time: now(), user_id: `${RUN}-u-broken`, session_id: `${RUN}-s-broken`, product_id: `${RUN}-p-broken`, price: 0, currency: 'EUR', quantity: 1 };
    const report = await send([...ownTraffic(60), broken]);
    expect(report.events.map((e) => e.outcome.status)).toEqual(report.events.map(() => 'accepted'));
    expect(report.requests).toBe(1);
    valid = report.events.filter((e) => e.outcome.status === 'accepted' && e.outcome.valid);
    const invalidIds = new Set(report.events.filter((e) => e.outcome.status === 'accepted' && !e.outcome.valid).map(idOf));
    expect(valid.length).toBeGreaterThan(0);
    expect(invalidIds.size).toBeGreaterThan(0);
    for (const sent of valid) mustBeStored.add(idOf(sent));
    for (const id of invalidIds) neverStored.add(id);

    const ids = valid.map(idOf);
    const stored = await wait('every valid event stored', async () => {
      const found = await storedEvents(stack.dynamo, stack.outputs.EventsTableName!, ids);
      return found.size === ids.length ? found : undefined;
    });
    for (const item of stored.values()) expect(item).toMatchObject(ENRICHED);

    // Read, then deleted: only this run's own dead letters.
    const letters = await deadLettersFor(stack.sqs, stack.outputs.DeadLetterQueueUrl!, invalidIds, {
      timeoutMs: DEPLOYED_TIMEOUT_MS,
      take: async ({ message }) => {
        await stack.sqs.send(new DeleteMessageCommand({ QueueUrl: stack.outputs.DeadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle }));
      },
    });
    expect(new Set(letters.map((l) => (l.body.record as { event_id: string }).event_id))).toEqual(invalidIds);
    for (const { message, body } of letters) {
      expect(body.reason).toBe('validation_failed');
      expect(body.errors.length).toBeGreaterThan(0);
      expect(message.MessageAttributes?.reason?.StringValue).toBe('validation_failed');
      expect(message.MessageAttributes?.error_codes?.StringValue).toContain(body.errors[0]!.code);
    }
    expect((await storedEvents(stack.dynamo, stack.outputs.EventsTableName!, [...invalidIds])).size).toBe(0);
  });

  it('stores nothing new when the events are sent again under the same event_ids', async () => {
    const again = valid.filter((sent) => typeof (sent.event as { session_id?: unknown }).session_id === 'string');
    expect(again.length).toBeGreaterThan(0);
    const before = await storedEvents(stack.dynamo, stack.outputs.EventsTableName!, again.map(idOf));
    const resend = await send(again.map((sent) => sent.event));
    expect(resend.events.every((e) => e.outcome.status === 'accepted')).toBe(true);

    // One marker per session, sent after the resend: same partition key, so the same shard, behind it.
    const sessions = [...new Set(again.map((sent) => (sent.event as { session_id: string }).session_id))];
    const markers = await send(sessions.map((session_id) => ({ event_type: 'page_view', event_time: now(), user_id: `${RUN}-marker`, session_id })));
    const markerIds = markers.events.map(idOf);
    for (const id of markerIds) mustBeStored.add(id);
    await wait('the markers behind the resend stored', async () => {
      const found = await storedEvents(stack.dynamo, stack.outputs.EventsTableName!, markerIds);
      return found.size === markerIds.length ? true : undefined;
    });

    const after = await storedEvents(stack.dynamo, stack.outputs.EventsTableName!, again.map(idOf));
    expect(after).toEqual(before);
  });

  it('stores a dead letter that was fixed and redriven through RedriveQueue', async () => {
    const broken = {
      event_id: randomUUID(),
      event_type: 'purchase',
      event_time: now(),
      user_id: `${RUN}-u-redrive`,
      session_id: `${RUN}-s-redrive`,
      product_id: `${RUN}-p-redrive`,
      category: `${RUN}-c-redrive`,
      price: 0,
      currency: 'EUR',
      quantity: 3,
    };
    const report = await send([broken]);
    expect(report.events[0]!.outcome).toMatchObject({ status: 'accepted', valid: false });

    const [letter] = await deadLettersFor(stack.sqs, stack.outputs.DeadLetterQueueUrl!, new Set([broken.event_id]), {
      timeoutMs: DEPLOYED_TIMEOUT_MS,
      take: async ({ message, body }) => {
        const fixed: DeadLetterMessage = { ...body, record: { ...(body.record as object), price: 12.5 } };
        await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.outputs.RedriveQueueUrl, MessageBody: JSON.stringify(fixed) }));
        await stack.sqs.send(new DeleteMessageCommand({ QueueUrl: stack.outputs.DeadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle }));
      },
    });
    expect(letter!.body.errors).toContainEqual(expect.objectContaining({ path: 'price', code: 'too_small' }));
    mustBeStored.add(broken.event_id);

    const stored = await wait('the redriven event stored', async () => (await storedEvents(stack.dynamo, stack.outputs.EventsTableName!, [broken.event_id])).get(broken.event_id));
    expect(stored).toMatchObject({ ...ENRICHED, price: 12.5, quantity: 3, total_amount: 37.5 });
  });

  it("keeps this run's hourly aggregates equal to the sum of its stored events", async () => {
    const stored = await storedEvents(stack.dynamo, stack.outputs.EventsTableName!, [...mustBeStored]);
    expect(stored.size).toBe(mustBeStored.size);
    expect((await storedEvents(stack.dynamo, stack.outputs.EventsTableName!, [...neverStored])).size).toBe(0);
    const { items, problems } = await compareOwnAggregates(stack.dynamo, stack.outputs.AggregatesTableName!, stored.values() as Iterable<AggregateSource>, RUN);
    expect(problems).toEqual([]);
    expect(items).toBeGreaterThan(0);
  });
});
