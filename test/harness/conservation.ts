import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { aggregateFromItem, expectedAggregates, mergeWriteShards, sameAggregate, type AggregateContribution, type AggregateSource } from '../../lambdas/shared/aggregates';
import { DeadLetterMessageSchema } from '../../lambdas/shared/records';
import { pollUntil } from '../../tools/shared/poll';

/**
 * The exactly-once promise as one reusable check, for the scenario tests and the load run:
 * every accepted valid event stored once, every accepted invalid event in the DeadLetterQueue,
 * the validator's first-pass counts equal to what was accepted, and every aggregate equal to
 * what the Events table implies.
 */

export interface Accepted {
  /** event_id -> the collector's synchronous verdict. */
  verdicts: Map<string, boolean>;
  /** Accepted records by verdict: a producer may send one event_id twice, and each record is judged. */
  records: { valid: number; invalid: number };
  /** Requests answered 207/503/network error whose `retry` items were sent again. */
  resends: number;
  requests: number;
}

export function emptyAccepted(): Accepted {
  return { verdicts: new Map(), records: { valid: 0, invalid: 0 }, resends: 0, requests: 0 };
}

interface IngestAnswer {
  results?: Array<{ index: number; event_id: string; status: string; valid?: boolean }>;
}

/**
 * Posts events in batches as a careful producer does: sends with the event_ids the collector
 * returned (or that it set itself), resends `retry` items of 207 and 503 answers and whole
 * requests that failed on the network, until every event is accepted or rejected.
 */
export async function ingest(
  ingestUrl: string,
  apiKey: string,
  events: ReadonlyArray<Record<string, unknown>>,
  accepted: Accepted,
  options: { batch?: number; maxRounds?: number; pauseMs?: number } = {},
): Promise<Accepted> {
  const batchSize = options.batch ?? 50;
  for (let start = 0; start < events.length; start += batchSize) {
    if (start > 0 && options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
    let pending = events.slice(start, start + batchSize).map((e) => ({ ...e }));
    for (let round = 0; pending.length > 0; round += 1) {
      if (round >= (options.maxRounds ?? 30)) throw new Error(`${pending.length} event(s) still not accepted after ${round} rounds`);
      if (round > 0) {
        accepted.resends += 1;
        await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * 2 ** round)));
      }
      accepted.requests += 1;
      let status: number;
      let answer: IngestAnswer;
      try {
        const response = await fetch(`${ingestUrl.replace(/\/+$/, '')}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
          body: JSON.stringify({ events: pending }),
          signal: AbortSignal.timeout(60_000),
        });
        status = response.status;
        answer = (await response.json()) as IngestAnswer;
      } catch {
        continue; // resend the same events, event_ids included
      }
      if (status === 429 || !answer.results) continue;
      const retry: Array<Record<string, unknown>> = [];
      for (const result of answer.results) {
        const event = pending[result.index]!;
        if (result.status === 'accepted') {
          accepted.verdicts.set(result.event_id, result.valid === true);
          if (result.valid === true) accepted.records.valid += 1;
          else accepted.records.invalid += 1;
        }
        else if (result.status === 'retry') retry.push({ ...event, event_id: result.event_id });
      }
      pending = retry;
    }
  }
  return accepted;
}

export interface ConservationClients {
  dynamo: DynamoDBDocumentClient;
  sqs: SQSClient;
  outputs: Record<string, string>;
}

export async function scanAll(dynamo: DynamoDBDocumentClient, tableName: string): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

async function storedIds(dynamo: DynamoDBDocumentClient, table: string, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  // An empty event_id is a validation error: it can never be a key.
  const keyable = ids.filter((id) => id !== '');
  for (let i = 0; i < keyable.length; i += 100) {
    const keys = keyable.slice(i, i + 100).map((event_id) => ({ event_id }));
    let request: Record<string, { Keys: Array<Record<string, unknown>>; ProjectionExpression: string }> | undefined = {
      [table]: { Keys: keys, ProjectionExpression: 'event_id' },
    };
    while (request && Object.keys(request).length > 0) {
      const answer = await dynamo.send(new BatchGetCommand({ RequestItems: request }));
      for (const item of answer.Responses?.[table] ?? []) found.add(String(item.event_id));
      request = answer.UnprocessedKeys as typeof request;
    }
  }
  return found;
}

/** Dead letters seen in the DeadLetterQueue, by event_id (each message counted once). */
export class DeadLetterWatcher {
  readonly byEventId = new Map<string, Set<string>>();
  readonly reasons = new Map<string, string>();
  constructor(private readonly clients: ConservationClients) {}

  async drainVisible(): Promise<void> {
    for (let round = 0; round < 50; round += 1) {
      const answer = await this.clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.clients.outputs.DeadLetterQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 2 }),
      );
      const messages = answer.Messages ?? [];
      if (messages.length === 0) return;
      for (const message of messages) {
        const body = DeadLetterMessageSchema.safeParse(JSON.parse(message.Body ?? 'null'));
        const id = body.success ? (body.data.record as { event_id?: unknown } | null)?.event_id : undefined;
        if (typeof id !== 'string') continue;
        const set = this.byEventId.get(id) ?? new Set<string>();
        set.add(message.MessageId!);
        this.byEventId.set(id, set);
        if (body.success) this.reasons.set(id, body.data.reason);
      }
    }
  }
}

export interface ConservationReport {
  accepted: number;
  valid: number;
  invalid: number;
  stored: number;
  deadLettered: number;
  /** Invalid events with more than one dead letter (dead letters are at least once). */
  duplicateDeadLetters: number;
  aggregateItems: number;
  problems: string[];
}

export interface ConservationOptions {
  /** Counters now and when the scenario started: the first-pass counts must have grown by exactly what was accepted. */
  metrics?: { before: Record<string, number>; now: () => Promise<Record<string, number>> };
  timeoutMs?: number;
  /** Called once everything arrived, before the final reads (e.g. to switch the faults off). */
  beforeFinalChecks?: () => Promise<void> | void;
}

/**
 * Waits until every accepted event is stored or dead-lettered (or the timeout), then checks the
 * promise and returns what it found; `problems` is empty when it holds.
 */
export async function checkConservation(clients: ConservationClients, accepted: Accepted, options: ConservationOptions = {}): Promise<ConservationReport> {
  const valid = [...accepted.verdicts].filter(([, v]) => v).map(([id]) => id);
  const invalid = [...accepted.verdicts].filter(([, v]) => !v).map(([id]) => id);
  const letters = new DeadLetterWatcher(clients);
  let stored = new Set<string>();
  const problems: string[] = [];
  const complete = async () => {
    try {
      stored = await storedIds(clients.dynamo, clients.outputs.EventsTableName!, valid);
      await letters.drainVisible();
    } catch {
      return undefined; // the harness's own reads may meet the faults too
    }
    return stored.size === valid.length && invalid.every((id) => letters.byEventId.has(id)) ? true : undefined;
  };
  try {
    await pollUntil('every accepted event stored or dead-lettered', complete, { timeoutMs: options.timeoutMs ?? 120_000, intervalMs: 500 });
  } catch {
    problems.push(`${valid.length - stored.size} valid event(s) not stored, ${invalid.filter((id) => !letters.byEventId.has(id)).length} invalid event(s) not in the DeadLetterQueue`);
  }
  await options.beforeFinalChecks?.();
  const wronglyStored = await storedIds(clients.dynamo, clients.outputs.EventsTableName!, invalid);
  if (wronglyStored.size > 0) problems.push(`${wronglyStored.size} invalid event(s) stored`);
  const validDeadLettered = valid.filter((id) => letters.byEventId.has(id));
  if (validDeadLettered.length > 0) problems.push(`${validDeadLettered.length} valid event(s) dead-lettered (${[...new Set(validDeadLettered.map((id) => letters.reasons.get(id)))].join(', ')})`);

  if (options.metrics) {
    const expectValid = accepted.records.valid;
    const expectInvalid = accepted.records.invalid;
    const delta = (now: Record<string, number>, name: string) => (now[name] ?? 0) - (options.metrics!.before[name] ?? 0);
    try {
      await pollUntil(
        'first-pass counts',
        async () => {
          const now = await options.metrics!.now();
          return delta(now, 'EventsValid') >= expectValid && delta(now, 'EventsInvalid') >= expectInvalid ? now : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 300 },
      );
    } catch {
      // reported below
    }
    const now = await options.metrics.now();
    if (delta(now, 'EventsValid') !== expectValid || delta(now, 'EventsInvalid') !== expectInvalid) {
      problems.push(`first-pass counts EventsValid +${delta(now, 'EventsValid')} EventsInvalid +${delta(now, 'EventsInvalid')}, expected +${expectValid} and +${expectInvalid}`);
    }
  }

  const aggregateProblems = await compareAggregates(clients);
  problems.push(...aggregateProblems.problems);
  return {
    accepted: accepted.verdicts.size,
    valid: valid.length,
    invalid: invalid.length,
    stored: stored.size,
    deadLettered: invalid.filter((id) => letters.byEventId.has(id)).length,
    duplicateDeadLetters: invalid.filter((id) => (letters.byEventId.get(id)?.size ?? 0) > 1).length,
    aggregateItems: aggregateProblems.items,
    problems,
  };
}

/** The whole Aggregates table against what the whole Events table implies. */
export async function compareAggregates(clients: ConservationClients): Promise<{ items: number; problems: string[] }> {
  const events = (await scanAll(clients.dynamo, clients.outputs.EventsTableName!)) as unknown as AggregateSource[];
  const expected = new Map<string, AggregateContribution>(expectedAggregates(events).map((a) => [`${a.pk}|${a.sk}`, a]));
  const actual = new Map<string, AggregateContribution>(
    mergeWriteShards((await scanAll(clients.dynamo, clients.outputs.AggregatesTableName!)).map(aggregateFromItem)).map((a) => [`${a.pk}|${a.sk}`, a]),
  );
  const problems: string[] = [];
  const show = (a: AggregateContribution | undefined) => (a ? JSON.stringify({ count: a.count, units: a.units, revenue: a.revenue }) : 'absent');
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(key);
    const got = actual.get(key);
    const zero = { pk: '', sk: '', count: 0, units: 0, revenue: {} };
    if (!sameAggregate(want ?? zero, got ?? zero)) problems.push(`aggregate ${key}: table ${show(got)}, events imply ${show(want)}`);
  }
  return { items: actual.size, problems: problems.slice(0, 20).concat(problems.length > 20 ? [`... ${problems.length - 20} more`] : []) };
}

/** Events with their event_id set by the producer (a careful producer's choice). */
export function withIds(events: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> {
  return events.map((e) => ({ ...e, event_id: typeof e.event_id === 'string' ? e.event_id : randomUUID() }));
}
