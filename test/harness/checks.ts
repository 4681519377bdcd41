import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import {
  aggregateFromItem,
  expectedAggregates,
  hourPartitionKey,
  mergeWriteShards,
  sameAggregate,
  type AggregateContribution,
  type AggregateSource,
} from '../../lambdas/shared/aggregates';
import { DeadLetterMessageSchema, type DeadLetterMessage } from '../../lambdas/shared/records';
import { expect } from 'vitest';
import { pollUntil } from '../../tools/shared/poll';

/**
 * The end-to-end checks of one scenario, by the scenario's own keys (its event ids, its product
 * and category names): they hold on a stack that other traffic shares, and never scan a table.
 * Used by the local cloud's integration tests and by `npm run test:deployed`.
 */

/** The stored items of these event ids (consistent reads; unprocessed keys read again). */
export async function storedEvents(dynamo: DynamoDBDocumentClient, table: string, ids: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  // An empty event_id is a validation error: it can never be a key.
  const keyable = [...new Set(ids)].filter((id) => id !== '');
  for (let i = 0; i < keyable.length; i += 100) {
    let request: Record<string, { Keys: Array<Record<string, unknown>>; ConsistentRead: boolean }> | undefined = {
      [table]: { Keys: keyable.slice(i, i + 100).map((event_id) => ({ event_id })), ConsistentRead: true },
    };
    while (request && Object.keys(request).length > 0) {
      const answer = await dynamo.send(new BatchGetCommand({ RequestItems: request }));
      for (const item of answer.Responses?.[table] ?? []) found.set(String(item.event_id), item);
      request = answer.UnprocessedKeys as typeof request;
    }
  }
  return found;
}

export interface DeadLetter {
  message: Message;
  body: DeadLetterMessage;
}

/**
 * Waits for a dead letter of each of these event ids and returns them (one each). Messages are
 * only looked at: a received message is hidden for `visibilitySeconds` (default 1) and then
 * visible again; none is deleted here. `take` is called on each of the caller's own letters right
 * after it was received, while its receipt handle is the latest (to move or delete it).
 */
export async function deadLettersFor(
  sqs: SQSClient,
  queueUrl: string,
  ids: ReadonlySet<string>,
  options: { visibilitySeconds?: number; timeoutMs?: number; take?: (letter: DeadLetter) => Promise<void> } = {},
): Promise<DeadLetter[]> {
  const found = new Map<string, DeadLetter>();
  await pollUntil(
    `${ids.size} dead letters`,
    async () => {
      const answer = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: options.visibilitySeconds ?? 1,
          MessageAttributeNames: ['All'],
        }),
      );
      for (const message of answer.Messages ?? []) {
        const parsed = DeadLetterMessageSchema.safeParse(safeJson(message.Body));
        if (!parsed.success) continue;
        const id = (parsed.data.record as { event_id?: unknown } | null)?.event_id;
        if (typeof id !== 'string' || !ids.has(id) || found.has(id)) continue;
        const letter = { message, body: parsed.data };
        await options.take?.(letter);
        found.set(id, letter);
      }
      return found.size >= ids.size ? true : undefined;
    },
    { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 200 },
  );
  return [...found.values()];
}

/** What enrichment adds to every stored event (contract §2). */
export const ENRICHED = {
  received_at: expect.any(String),
  processed_at: expect.any(String),
  late_arrival: expect.any(Boolean),
  original_schema_version: expect.any(Number),
  event_date: expect.any(String),
  event_hour: expect.any(Number),
  schema_version: 3,
};

function safeJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? 'null');
  } catch {
    return undefined;
  }
}

/**
 * Compares the Aggregates table with what these stored events imply, on the items whose sort key
 * contains `token` only (items no other traffic adds to: the scenario's own products and
 * categories). Reads the hour partitions the events fall in (a key condition cannot pick sort keys
 * by what they contain, and write-shard parts prefix them), one Query each; never a scan.
 */
export async function compareOwnAggregates(
  dynamo: DynamoDBDocumentClient,
  table: string,
  events: Iterable<AggregateSource>,
  token: string,
): Promise<{ items: number; problems: string[] }> {
  const own = (a: AggregateContribution) => a.sk.includes(token);
  const list = [...events];
  const expected = new Map(expectedAggregates(list).filter(own).map((a) => [`${a.pk}|${a.sk}`, a]));
  const parts: AggregateContribution[] = [];
  for (const pk of new Set(list.map((e) => hourPartitionKey(e.event_time)))) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      parts.push(...(page.Items ?? []).map(aggregateFromItem));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
  const actual = new Map(mergeWriteShards(parts).filter(own).map((a) => [`${a.pk}|${a.sk}`, a]));
  const zero = { pk: '', sk: '', count: 0, units: 0, revenue: {} };
  const show = (a: AggregateContribution | undefined) => (a ? JSON.stringify({ count: a.count, units: a.units, revenue: a.revenue }) : 'absent');
  const problems: string[] = [];
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(key);
    const got = actual.get(key);
    if (!sameAggregate(want ?? zero, got ?? zero)) problems.push(`aggregate ${key}: table ${show(got)}, events imply ${show(want)}`);
  }
  return { items: actual.size, problems };
}
