import type { FunctionPermissions } from '../shared/permissions';

/**
 * Every AWS call the Loader's code makes (lib/constructs grants exactly these; the tests hold
 * both sides to this list):
 * - TransactWriteItemsCommand (store.ts): IAM has no TransactWriteItems action of its own; each item is
 *   authorized as its own action on its own table: a conditional `Put` per event on EventsTable
 *   (`dynamodb:PutItem`; a ConditionExpression on a Put needs no ConditionCheckItem, which only a
 *   `ConditionCheck` item would) and an `ADD` `Update` per aggregate on AggregatesTable
 *   (`dynamodb:UpdateItem`).
 * - GetItemCommand (store.ts sourceOf): the fallback read of an existing event's `_source` on
 *   EventsTable (`dynamodb:GetItem`).
 * - SendMessageBatchCommand (dead-letters.ts via shared/delivery.ts) on the DeadLetterQueue:
 *   IAM authorizes SendMessageBatch as `sqs:SendMessage`.
 * Reading the processed stream is Lambda's event source mapping, granted by the construct.
 */
export const permissions = {
  dynamodb: {
    EventsTable: ['dynamodb:PutItem', 'dynamodb:GetItem'],
    AggregatesTable: ['dynamodb:UpdateItem'],
  },
  sqs: { DeadLetterQueue: ['sqs:SendMessage'] },
} as const satisfies FunctionPermissions;
