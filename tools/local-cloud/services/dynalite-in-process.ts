import { createRequire } from 'node:module';
import type { DynamoDbAnswer, DynamoDbCall } from './dynamodb-transactions';
import { installCachedExpressions } from './dynalite-expressions';

/**
 * dynalite's store, validations and actions called in this process, without its HTTP server:
 * every DynamoDB request reaches the endpoint anyway (for faults and TransactWriteItems), and a
 * second HTTP hop plus JSON round trip per call was most of the local DynamoDB's CPU (an emulated
 * transaction makes two calls per item). The answers are dynalite's own, as its server sends them.
 */

const require = createRequire(import.meta.url);

interface DynaliteError extends Error {
  statusCode?: number;
  body?: Record<string, unknown>;
}
type Store = { db: { close(callback: (error?: Error) => void): void } };
type Action = (store: Store, data: Record<string, unknown>, callback: (error: DynaliteError | null, data?: Record<string, unknown>) => void) => void;
interface ActionValidation {
  types: Record<string, unknown>;
  custom?: unknown;
}
interface Validations {
  toLowerFirst(name: string): string;
  checkTypes(data: Record<string, unknown>, types: Record<string, unknown>): Record<string, unknown>;
  checkValidations(data: Record<string, unknown>, types: Record<string, unknown>, custom: unknown, store: Store): void;
}

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
  const validations = require('dynalite/validations') as Validations;
  installCachedExpressions();
  const store = db.create({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...options });
  const actions = new Map<string, { action: Action; validation: ActionValidation }>();
  for (const operation of DYNALITE_OPERATIONS) {
    const name = validations.toLowerFirst(operation);
    actions.set(operation, {
      action: require(`dynalite/actions/${name}`) as Action,
      validation: require(`dynalite/validations/${name}`) as ActionValidation,
    });
  }

  const call: DynamoDbCall = (operation, body) =>
    new Promise<DynamoDbAnswer>((resolve, reject) => {
      const entry = actions.get(operation);
      if (!entry) {
        resolve({ status: 400, body: { __type: 'com.amazon.coral.service#UnknownOperationException', message: `${operation} is not emulated by the local cloud` } });
        return;
      }
      let data: Record<string, unknown>;
      try {
        // checkTypes drops unknown members of what it is given: hand it a copy of the top level.
        data = validations.checkTypes({ ...body }, entry.validation.types);
        validations.checkValidations(data, entry.validation.types, entry.validation.custom, store);
      } catch (error) {
        const failure = error as DynaliteError;
        if (failure.statusCode && failure.body) resolve({ status: failure.statusCode, body: failure.body });
        else reject(error);
        return;
      }
      entry.action(store, data, (error, answer) => {
        if (error?.statusCode && error.body) resolve({ status: error.statusCode, body: error.body });
        else if (error) reject(error);
        // dynalite's server sends what the action returns as JSON: the same plain data here.
        else resolve({ status: 200, body: answer ?? {} });
      });
    });

  return {
    call,
    close: () => new Promise<void>((resolve) => store.db.close(() => resolve())),
  };
}
