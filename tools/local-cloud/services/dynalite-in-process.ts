import { createRequire } from 'node:module';
import type { DynamoDbCall } from './dynamodb-transactions';
import { installCachedExpressions } from './dynalite-expressions';
import { loadActions } from './in-process-actions';

/**
 * dynalite's store, validations and actions called in this process, without its HTTP server:
 * every DynamoDB request reaches the endpoint anyway (for faults and TransactWriteItems), and a
 * second HTTP hop plus JSON round trip per call was most of the local DynamoDB's CPU (an emulated
 * transaction makes two calls per item). The answers are dynalite's own, as its server sends them.
 */

const require = createRequire(import.meta.url);

type Store = { db: { close(callback: (error?: Error) => void): void } };

/** The operations dynalite implements (its server's list). */
export const DYNALITE_OPERATIONS = [
  'BatchGetItem',
  'BatchWriteItem',
  'CreateTable',
  'DeleteItem',
  'DeleteTable',
  'DescribeTable',
  'DescribeTimeToLive',
  'GetItem',
  'ListTables',
  'PutItem',
  'Query',
  'Scan',
  'TagResource',
  'UntagResource',
  'ListTagsOfResource',
  'UpdateItem',
  'UpdateTable',
] as const;

export interface DynaliteInProcess {
  call: DynamoDbCall;
  close(): Promise<void>;
}

export function startDynaliteInProcess(options: Record<string, unknown> = {}): DynaliteInProcess {
  const db = require('dynalite/db') as { create(options: Record<string, unknown>): Store };
  installCachedExpressions();
  const store = db.create({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...options });
  const actions = loadActions<Store>('dynalite', DYNALITE_OPERATIONS);

  const call: DynamoDbCall = async (operation, body) =>
    // checkTypes drops unknown members of what it is given: hand it a copy of the top level.
    (await actions.run(operation, store, { ...body }, store)) ?? {
      status: 400,
      body: { __type: 'com.amazon.coral.service#UnknownOperationException', message: `${operation} is not emulated by the local cloud` },
    };

  return {
    call,
    close: () => new Promise<void>((resolve) => store.db.close(() => resolve())),
  };
}
