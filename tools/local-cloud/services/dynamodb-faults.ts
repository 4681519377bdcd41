import type { FaultController } from '../fault-set';
import { CANCELLATION_MESSAGES, dynamoDbError, type DynamoDbAnswer } from './dynamodb-transactions';

/**
 * DynamoDB faults on the data plane, answered as DynamoDB answers (Developer Guide, "Error
 * handling with DynamoDB"; API reference, BatchWriteItem):
 *
 * - `throttle`, per request: HTTP 400 ProvisionedThroughputExceededException with the message
 *   AWS gives for an on-demand table (the project's tables are PAY_PER_REQUEST) and its
 *   `ThrottlingReasons`. BatchWriteItem rolls per entry instead: throttled entries come back in
 *   `UnprocessedItems`, and only when every entry is throttled does the request fail.
 *   TransactWriteItems is cancelled (see dynamodb-transactions.ts).
 * - `unavailableForSeconds`: HTTP 503 ServiceUnavailable, "DynamoDB is currently unavailable.
 *   (This should be a temporary state.)", which the SDKs retry as a transient error.
 *
 * Control-plane calls (CreateTable, DescribeTable, ListTables, ...) are never faulted.
 */

export const DATA_PLANE_OPERATIONS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactWriteItems',
  'TransactGetItems',
]);

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

export function serviceUnavailable(): DynamoDbAnswer {
  return dynamoDbError(503, 'ServiceUnavailable', 'DynamoDB is currently unavailable. (This should be a temporary state.)');
}

export interface DynamoDbFaultsOptions {
  faults: FaultController;
  region: string;
  accountId: string;
}

export function createDynamoDbFaults({ faults, region, accountId }: DynamoDbFaultsOptions) {
  const tableArn = (table: string) => `arn:aws:dynamodb:${region}:${accountId}:table/${table}`;

  /** ProvisionedThroughputExceededException naming the throttled table or index, as AWS now does. */
  const throttled = (operation: string, body: Record<string, unknown>): DynamoDbAnswer => {
    const requestItems = body.RequestItems as Record<string, unknown> | undefined;
    const table = typeof body.TableName === 'string' ? body.TableName : Object.keys(requestItems ?? {})[0];
    const index = typeof body.IndexName === 'string' ? body.IndexName : undefined;
    const kind = READS.has(operation) ? 'Read' : 'Write';
    const reasons =
      table === undefined
        ? []
        : [
            {
              reason: `${index ? 'Index' : 'Table'}${kind}KeyRangeThroughputExceeded`,
              resource: index ? `${tableArn(table)}/index/${index}` : tableArn(table),
            },
          ];
    return dynamoDbError(400, 'ProvisionedThroughputExceededException', CANCELLATION_MESSAGES.ThrottlingError, { ThrottlingReasons: reasons });
  };

  return {
    /** Whether the endpoint must look at this request at all (fast path otherwise). */
    concerns(operation: string): boolean {
      return faults.any && DATA_PLANE_OPERATIONS.has(operation) && (faults.configured('dynamodb.unavailable') || faults.configured('dynamodb.throttle'));
    },

    /** In an outage window: the answer for every data-plane request. */
    outage(): DynamoDbAnswer | undefined {
      return faults.dynamodbUnavailable() ? serviceUnavailable() : undefined;
    },

    /** One roll for a whole request (not BatchWriteItem, which rolls per entry). */
    throttleRequest(operation: string, body: Record<string, unknown>): DynamoDbAnswer | undefined {
      return faults.dynamodbThrottle() ? throttled(operation, body) : undefined;
    },

    /**
     * BatchWriteItem: which entries go on to dynalite and which come back unprocessed. `forward`
     * is undefined when nothing was throttled, `refused` is set when everything was.
     */
    splitBatchWrite(body: Record<string, unknown>): { forward?: Record<string, unknown>; unprocessed: Record<string, unknown[]>; refused?: DynamoDbAnswer } {
      const requestItems = (body.RequestItems ?? {}) as Record<string, unknown[]>;
      const kept: Record<string, unknown[]> = {};
      const unprocessed: Record<string, unknown[]> = {};
      let total = 0;
      let throttledCount = 0;
      for (const [table, entries] of Object.entries(requestItems)) {
        if (!Array.isArray(entries)) return { unprocessed: {} }; // malformed: dynalite answers it
        for (const entry of entries) {
          total += 1;
          const target = faults.dynamodbThrottle() ? unprocessed : kept;
          if (target === unprocessed) throttledCount += 1;
          (target[table] ??= []).push(entry);
        }
      }
      if (throttledCount === 0) return { unprocessed };
      if (throttledCount === total) return { unprocessed, refused: throttled('BatchWriteItem', body) };
      return { forward: { ...body, RequestItems: kept }, unprocessed };
    },
  };
}

/** dynalite's BatchWriteItem answer with the throttled entries added to its UnprocessedItems. */
export function mergeUnprocessed(answer: Record<string, unknown>, unprocessed: Record<string, unknown[]>): Record<string, unknown> {
  const merged = { ...((answer.UnprocessedItems ?? {}) as Record<string, unknown[]>) };
  for (const [table, entries] of Object.entries(unprocessed)) merged[table] = [...(merged[table] ?? []), ...entries];
  return { ...answer, UnprocessedItems: merged };
}
