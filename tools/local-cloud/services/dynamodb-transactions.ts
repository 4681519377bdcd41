import { createHash } from 'node:crypto';

/**
 * TransactWriteItems for dynalite, which has no transactions. The endpoint serializes it against
 * every other DynamoDB request (`ReadWriteLock`): while a transaction runs nothing else reaches
 * dynalite, so applying its actions one by one as single-item calls and putting back the old
 * images when any of them fails is atomic and isolated as seen from every client.
 *
 * Answers follow the API reference (TransactWriteItems, TransactionCanceledException): every
 * action gets a cancellation reason, in request order, `None` when it had no error.
 */

export interface DynamoDbAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** One JSON-protocol call to dynalite (`operation` without the `DynamoDB_20120810.` prefix). */
export type DynamoDbCall = (operation: string, body: Record<string, unknown>) => Promise<DynamoDbAnswer>;

type AttributeMap = Record<string, unknown>;

interface ActionBody {
  TableName?: string;
  Key?: AttributeMap;
  Item?: AttributeMap;
  UpdateExpression?: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: AttributeMap;
  ReturnValuesOnConditionCheckFailure?: string;
}

type ActionKind = 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
const ACTION_KINDS: ActionKind[] = ['ConditionCheck', 'Put', 'Delete', 'Update'];

interface Action {
  kind: ActionKind;
  body: ActionBody;
  table: string;
  key: AttributeMap;
}

export interface CancellationReason {
  Code: string;
  Message?: string;
  Item?: AttributeMap;
}

const TYPE_PREFIX = 'com.amazonaws.dynamodb.v20120810#';
const MAX_ACTIONS = 100;
/** AWS keeps a ClientRequestToken for 10 minutes. */
const TOKEN_TTL_MS = 10 * 60 * 1000;

/** The messages of the TransactionCanceledException reference for each cancellation code. */
export const CANCELLATION_MESSAGES = {
  ConditionalCheckFailed: 'The conditional request failed',
  ThrottlingError:
    'Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html',
} as const;

export function dynamoDbError(status: number, type: string, message: string, extra: Record<string, unknown> = {}): DynamoDbAnswer {
  return { status, body: { __type: `${TYPE_PREFIX}${type}`, message, ...extra } };
}

function validationError(message: string): DynamoDbAnswer {
  return dynamoDbError(400, 'ValidationException', message);
}

/** `com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException` -> `ConditionalCheckFailedException` */
function errorName(answer: DynamoDbAnswer): string {
  const type = String(answer.body.__type ?? '');
  return type.slice(type.lastIndexOf('#') + 1);
}

/** `TransactionCanceledException` with one reason per action, as AWS words it. */
export function transactionCanceled(reasons: CancellationReason[]): DynamoDbAnswer {
  const codes = reasons.map((reason) => reason.Code).join(', ');
  return dynamoDbError(400, 'TransactionCanceledException', `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes}]`, {
    CancellationReasons: reasons,
  });
}

/**
 * Many readers or one writer, writers first: ordinary DynamoDB requests share the lock, a
 * transaction holds it alone, and a waiting transaction keeps new requests from starving it.
 */
export class ReadWriteLock {
  private readers = 0;
  private writing = false;
  private readonly waitingWriters: Array<() => void> = [];
  private waitingReaders: Array<() => void> = [];

  async shared<T>(work: () => Promise<T>): Promise<T> {
    if (this.writing || this.waitingWriters.length > 0) await new Promise<void>((resolve) => this.waitingReaders.push(resolve));
    else this.readers += 1;
    try {
      return await work();
    } finally {
      this.readers -= 1;
      this.wake();
    }
  }

  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.writing || this.readers > 0 || this.waitingWriters.length > 0) await new Promise<void>((resolve) => this.waitingWriters.push(resolve));
    else this.writing = true;
    try {
      return await work();
    } finally {
      this.writing = false;
      this.wake();
    }
  }

  /** Hands the lock on: to the next writer once no reader holds it, else to every waiting reader. */
  private wake(): void {
    if (this.writing || this.readers > 0) return;
    const writer = this.waitingWriters.shift();
    if (writer) {
      this.writing = true;
      writer();
      return;
    }
    const readers = this.waitingReaders;
    this.waitingReaders = [];
    this.readers += readers.length;
    for (const reader of readers) reader();
  }
}

function isAnswer(value: unknown): value is DynamoDbAnswer {
  return typeof value === 'object' && value !== null && typeof (value as DynamoDbAnswer).status === 'number' && 'body' in value;
}

/** A stable identity for an item: table plus its key attributes in name order. */
function itemIdentity(table: string, key: AttributeMap): string {
  const sorted = Object.keys(key)
    .sort()
    .map((name) => [name, key[name]]);
  return `${table}\u0000${JSON.stringify(sorted)}`;
}

export interface TransactWriteOptions {
  /** The fault set throttled this request: cancel it as AWS does for a throttled on-demand table. */
  throttled?: boolean;
}

export class DynamoDbTransactions {
  readonly lock = new ReadWriteLock();
  private readonly keyNames = new Map<string, string[]>();
  private readonly tokens = new Map<string, { fingerprint: string; answer: DynamoDbAnswer; expires: number }>();

  constructor(
    private readonly call: DynamoDbCall,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs an ordinary DynamoDB request; it waits while a transaction runs. */
  shared<T>(work: () => Promise<T>): Promise<T> {
    return this.lock.shared(work);
  }

  async transactWriteItems(request: Record<string, unknown>, options: TransactWriteOptions = {}): Promise<DynamoDbAnswer> {
    const token = typeof request.ClientRequestToken === 'string' ? request.ClientRequestToken : undefined;
    const fingerprint = createHash('sha256').update(JSON.stringify(request.TransactItems ?? null)).digest('hex');
    const replay = token === undefined ? undefined : this.idempotentAnswer(token, fingerprint);
    if (replay) return replay;

    const parsed = await this.parse(request.TransactItems);
    if (isAnswer(parsed)) return parsed;
    if (options.throttled) return transactionCanceled(parsed.map(() => ({ Code: 'ThrottlingError', Message: CANCELLATION_MESSAGES.ThrottlingError })));

    const answer = await this.lock.exclusive(() => this.apply(parsed));
    if (token !== undefined && answer.status === 200) this.tokens.set(token, { fingerprint, answer, expires: this.now() + TOKEN_TTL_MS });
    return answer;
  }

  /** A token seen in the last 10 minutes: the same request succeeds again without effect, another one is refused. */
  private idempotentAnswer(token: string, fingerprint: string): DynamoDbAnswer | undefined {
    // Tokens are kept in the order they were answered, so the expired ones come first.
    const now = this.now();
    for (const [key, entry] of this.tokens) {
      if (entry.expires > now) break;
      this.tokens.delete(key);
    }
    const seen = this.tokens.get(token);
    if (!seen) return undefined;
    if (seen.fingerprint !== fingerprint) {
      return dynamoDbError(400, 'IdempotentParameterMismatchException', 'Request parameters do not match the parameters of the original request with the same ClientRequestToken');
    }
    return seen.answer;
  }

  /** Validates the request as AWS does before anything is applied. */
  private async parse(items: unknown): Promise<Action[] | DynamoDbAnswer> {
    if (!Array.isArray(items)) return validationError("1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null");
    if (items.length < 1) {
      return validationError("1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1");
    }
    if (items.length > MAX_ACTIONS) {
      return validationError(
        `1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ACTIONS}`,
      );
    }
    const actions: Action[] = [];
    const seen = new Set<string>();
    for (const item of items as Array<Record<string, unknown>>) {
      const kinds = ACTION_KINDS.filter((kind) => item?.[kind] !== undefined && item[kind] !== null);
      if (kinds.length !== 1) return validationError('TransactItems can only contain one of Check, Put, Update or Delete');
      const kind = kinds[0]!;
      const body = item[kind] as ActionBody;
      if (typeof body.TableName !== 'string') return validationError(`1 validation error detected: Value null at 'transactItems.${actions.length + 1}.member.${kind.toLowerCase()}.tableName' failed to satisfy constraint: Member must not be null`);
      const key = kind === 'Put' ? await this.keyOf(body.TableName, body.Item) : body.Key;
      if (isAnswer(key)) return key;
      if (!key || typeof key !== 'object') return validationError('The provided key element does not match the schema');
      const identity = itemIdentity(body.TableName, key);
      if (seen.has(identity)) return validationError('Transaction request cannot include multiple operations on one item');
      seen.add(identity);
      actions.push({ kind, body, table: body.TableName, key });
    }
    return actions;
  }

  /** A Put names its item, not its key: the table's key schema (from DescribeTable, cached) picks the key out. */
  private async keyOf(table: string, item: AttributeMap | undefined): Promise<AttributeMap | DynamoDbAnswer | undefined> {
    if (!item || typeof item !== 'object') return undefined;
    let names = this.keyNames.get(table);
    if (!names) {
      const described = await this.call('DescribeTable', { TableName: table });
      if (described.status !== 200) return described;
      const schema = ((described.body.Table as { KeySchema?: Array<{ AttributeName: string }> } | undefined)?.KeySchema ?? []).map((k) => k.AttributeName);
      names = schema;
      this.keyNames.set(table, names);
    }
    const key: AttributeMap = {};
    for (const name of names) {
      if (item[name] === undefined) return validationError(`One or more parameter values were invalid: Missing the key ${name} in the item`);
      key[name] = item[name];
    }
    return key;
  }

  /**
   * Under the exclusive lock. Most transactions succeed, so each action is first applied as it
   * stands, its write answering with the item's old image (`ReturnValues: ALL_OLD`): one call per
   * action instead of a read and a write. When any action fails, the changed items are put back,
   * which leaves the tables as they were before the transaction, and the careful path
   * (`applyCarefully`) runs it again to word the answer: what it answers then is what it would
   * have answered alone.
   */
  private async apply(actions: Action[]): Promise<DynamoDbAnswer> {
    const applied: Array<{ action: Action; old: AttributeMap | undefined }> = [];
    let failed = false;
    for (const action of actions) {
      const [operation, body] = singleItemCall(action);
      const answer = await this.call(operation, { ...body, ReturnValues: 'ALL_OLD' });
      if (answer.status !== 200) {
        failed = true;
        break;
      }
      applied.push({ action, old: answer.body.Attributes as AttributeMap | undefined });
    }
    // A ConditionCheck may have created its item (an UpdateItem without updates); it never stays.
    await this.restore(failed ? applied : applied.filter(({ action }) => action.kind === 'ConditionCheck'));
    return failed ? this.applyCarefully(actions) : { status: 200, body: {} };
  }

  /** Under the exclusive lock: old images, every action in order, then keep or put back. */
  private async applyCarefully(actions: Action[]): Promise<DynamoDbAnswer> {
    const oldImages: Array<AttributeMap | undefined> = [];
    for (const action of actions) {
      const got = await this.call('GetItem', { TableName: action.table, Key: action.key, ConsistentRead: true });
      if (got.status !== 200) return got;
      oldImages.push(got.body.Item as AttributeMap | undefined);
    }

    const reasons: CancellationReason[] = [];
    const changed: number[] = [];
    let wholeRequestError: DynamoDbAnswer | undefined;
    for (const [index, action] of actions.entries()) {
      const answer = await this.call(...singleItemCall(action));
      if (answer.status === 200) {
        reasons.push({ Code: 'None' });
        changed.push(index);
        continue;
      }
      const name = errorName(answer);
      if (name === 'ConditionalCheckFailedException') {
        const old = oldImages[index];
        const wantsItem = action.body.ReturnValuesOnConditionCheckFailure === 'ALL_OLD';
        reasons.push({ Code: 'ConditionalCheckFailed', Message: CANCELLATION_MESSAGES.ConditionalCheckFailed, ...(wantsItem && old ? { Item: old } : {}) });
      } else if (name === 'ValidationException') {
        reasons.push({ Code: 'ValidationError', Message: String(answer.body.message ?? answer.body.Message ?? '') });
      } else {
        // A missing table or an emulator failure fails the whole request, as on AWS.
        wholeRequestError ??= answer;
        reasons.push({ Code: 'None' });
      }
    }

    const failed = wholeRequestError !== undefined || reasons.some((reason) => reason.Code !== 'None');
    // A ConditionCheck may have created its item (an UpdateItem without updates); it never stays.
    const restore = failed ? changed : changed.filter((index) => actions[index]!.kind === 'ConditionCheck');
    await this.restore(restore.map((index) => ({ action: actions[index]!, old: oldImages[index] })));
    if (wholeRequestError) return wholeRequestError;
    if (failed) return transactionCanceled(reasons);
    return { status: 200, body: {} };
  }

  /** Puts every changed item back to its old image (or deletes it when it did not exist). */
  private async restore(items: Array<{ action: Action; old: AttributeMap | undefined }>): Promise<void> {
    for (const { action, old } of items) {
      const answer = old
        ? await this.call('PutItem', { TableName: action.table, Item: old })
        : await this.call('DeleteItem', { TableName: action.table, Key: action.key });
      if (answer.status !== 200) throw new Error(`could not roll back ${action.kind} on ${action.table}: ${JSON.stringify(answer.body)}`);
    }
  }
}

/** The single-item call that does what one transaction action does (a ConditionCheck: an UpdateItem without updates). */
function singleItemCall(action: Action): [string, Record<string, unknown>] {
  const { TableName, ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues } = action.body;
  const common: Record<string, unknown> = {
    TableName,
    ...(ConditionExpression !== undefined ? { ConditionExpression } : {}),
    ...(ExpressionAttributeNames !== undefined ? { ExpressionAttributeNames } : {}),
    ...(ExpressionAttributeValues !== undefined ? { ExpressionAttributeValues } : {}),
  };
  switch (action.kind) {
    case 'Put':
      return ['PutItem', { ...common, Item: action.body.Item }];
    case 'Update':
      return ['UpdateItem', { ...common, Key: action.key, UpdateExpression: action.body.UpdateExpression }];
    case 'Delete':
      return ['DeleteItem', { ...common, Key: action.key }];
    case 'ConditionCheck':
      return ['UpdateItem', { ...common, Key: action.key }];
  }
}
