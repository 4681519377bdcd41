import {
  BatchExecuteStatementCommand,
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
  type ExecuteStatementCommandOutput,
  type Field,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';

/**
 * The RDS Data API, as the SQL sink, the migrations and `pipeline sql` use it: statements with
 * named parameters (`:name`), batches of parameter sets, and transactions. The same calls reach
 * Aurora or the local cloud's PGlite (AWS_ENDPOINT_URL / the client's endpoint).
 */

export type DataApiSender = Pick<RDSDataClient, 'send'>;

export interface DataApiTarget {
  /** The Aurora cluster's ARN. */
  resourceArn: string;
  /** The Secrets Manager secret holding the database credentials. */
  secretArn: string;
  database: string;
}

let client: RDSDataClient | undefined;

/** The container's Data API client, built once. */
export function rdsDataClient(): RDSDataClient {
  client ??= new RDSDataClient({ maxAttempts: 3 });
  return client;
}

/** Request limit of the Data API: 4 MiB of HTTP request, headers and JSON included. */
export const DATA_API_REQUEST_LIMIT_BYTES = 4 * 1024 * 1024;
/** Response limit: 1 MiB; and at most 64 KB per row of a result. */
export const DATA_API_RESPONSE_LIMIT_BYTES = 1024 * 1024;
export const DATA_API_ROW_LIMIT_BYTES = 64 * 1024;

/** Typed parameters in the Data API's shape. */
export const sqlParam = {
  text: (name: string, value: string | null | undefined): SqlParameter =>
    value === null || value === undefined ? { name, value: { isNull: true } } : { name, value: { stringValue: value } },
  long: (name: string, value: number | null | undefined): SqlParameter =>
    value === null || value === undefined ? { name, value: { isNull: true } } : { name, value: { longValue: value } },
  bool: (name: string, value: boolean | null | undefined): SqlParameter =>
    value === null || value === undefined ? { name, value: { isNull: true } } : { name, value: { booleanValue: value } },
  /** NUMERIC without binary rounding: the decimal's text with typeHint DECIMAL. */
  decimal: (name: string, value: number | string | null | undefined): SqlParameter =>
    value === null || value === undefined ? { name, value: { isNull: true } } : { name, value: { stringValue: String(value) }, typeHint: 'DECIMAL' },
  json: (name: string, value: unknown): SqlParameter => ({ name, value: { stringValue: JSON.stringify(value) }, typeHint: 'JSON' }),
};

/** SQLSTATE of a database error the Data API passed on (`...; SQLState: 23505`), if any. */
export function sqlStateOf(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : '';
  return /SQLState: ([0-9A-Z]{5})/.exec(message)?.[1];
}

/**
 * The database refused this data itself (SQLSTATE class 22, data exception; 23, integrity
 * constraint violation): the same statement with the same values fails again.
 */
export function isDataRefusal(error: unknown): boolean {
  const state = sqlStateOf(error);
  const databaseError = error instanceof Error && (error.name === 'BadRequestException' || error.name === 'DatabaseErrorException');
  return databaseError && state !== undefined && /^2[23]/.test(state);
}

/**
 * Worth retrying: Aurora resuming from zero capacity (DatabaseResumingException), throttling,
 * the service or the database unavailable, a timeout, a serialization failure or deadlock, the
 * network. Everything else (a refused value, bad SQL, missing permissions) fails again.
 */
export function isTransientDataApiError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const state = sqlStateOf(error);
  if (state !== undefined) return /^(40001|40P01|08...|53...|57P0[1-3])$/.test(state);
  return [
    'DatabaseResumingException',
    'DatabaseUnavailableException',
    'DatabaseNotFoundException',
    'ThrottlingException',
    'TooManyRequestsException',
    'ServiceUnavailableError',
    'InternalServerErrorException',
    'StatementTimeoutException',
    'TimeoutError',
  ].includes(error.name) || (error as { $metadata?: unknown }).$metadata === undefined;
}

export interface ExecuteOptions {
  transactionId?: string;
  /** Ask for `formattedRecords` (a JSON array of objects) instead of `records`. */
  json?: boolean;
  /** Ask for `columnMetadata`. */
  metadata?: boolean;
}

/** One database through the Data API. */
export class DataApi {
  constructor(
    private readonly sender: DataApiSender,
    readonly target: DataApiTarget,
  ) {}

  execute(sql: string, parameters: SqlParameter[] = [], options: ExecuteOptions = {}): Promise<ExecuteStatementCommandOutput> {
    return this.sender.send(
      new ExecuteStatementCommand({
        ...this.target,
        sql,
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(options.transactionId ? { transactionId: options.transactionId } : {}),
        ...(options.json ? { formatRecordsAs: 'JSON' } : {}),
        ...(options.metadata ? { includeResultMetadata: true } : {}),
      }),
    );
  }

  async batch(sql: string, parameterSets: SqlParameter[][], transactionId?: string): Promise<void> {
    await this.sender.send(new BatchExecuteStatementCommand({ ...this.target, sql, parameterSets, ...(transactionId ? { transactionId } : {}) }));
  }

  async begin(): Promise<string> {
    const { transactionId } = await this.sender.send(new BeginTransactionCommand({ ...this.target }));
    if (!transactionId) throw new Error('BeginTransaction returned no transactionId');
    return transactionId;
  }

  async commit(transactionId: string): Promise<void> {
    await this.sender.send(new CommitTransactionCommand({ resourceArn: this.target.resourceArn, secretArn: this.target.secretArn, transactionId }));
  }

  async rollback(transactionId: string): Promise<void> {
    await this.sender.send(new RollbackTransactionCommand({ resourceArn: this.target.resourceArn, secretArn: this.target.secretArn, transactionId }));
  }

  /** Runs `work` in a transaction: committed when it resolves, rolled back when it throws. */
  async inTransaction<T>(work: (transactionId: string) => Promise<T>): Promise<T> {
    const transactionId = await this.begin();
    let result: T;
    try {
      result = await work(transactionId);
    } catch (error) {
      // The transaction ends anyway (Data API: 3 minutes idle); the work's error is the one to report.
      await this.rollback(transactionId).catch(() => undefined);
      throw error;
    }
    await this.commit(transactionId);
    return result;
  }
}

/** A Data API field as a plain value (null for isNull; arrays and blobs as their JSON text). */
export function fieldValue(field: Field): string | number | boolean | null {
  if (field.isNull) return null;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue).toString('base64');
  if (field.arrayValue !== undefined) return JSON.stringify(field.arrayValue);
  return null;
}
