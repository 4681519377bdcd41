import { randomUUID } from 'node:crypto';
import type { SqlParameter } from '@aws-sdk/client-rds-data';
import { PGlite } from '@electric-sql/pglite';
import type { FaultController } from '../fault-set';
import { DataApiRequestError, TEXT_PARSERS, columnMetadataOf, fieldOf, jsonValueOf, toPositional } from './rds-data-sql';

/**
 * The RDS Data API on PGlite (PostgreSQL compiled to WASM), one database per Aurora cluster of
 * the template: ExecuteStatement, BatchExecuteStatement, BeginTransaction, CommitTransaction and
 * RollbackTransaction with the Data API's parameter, result and error shapes, so the SqlSink and
 * `pipeline sql` run the same code as on AWS.
 *
 * PGlite is one session: a transaction holds it from BeginTransaction to Commit or Rollback (or
 * 3 minutes without a call, as the Data API ends idle transactions), and statements outside a
 * transaction wait their turn and autocommit. A BatchExecuteStatement outside a transaction is
 * all or nothing here. Because one open transaction blocks every other caller here (on Aurora it
 * blocks only writers of its rows), a transaction idle for CONTENDED_IDLE_MS while another call
 * waits is rolled back, as the idle timeout would eventually: a client that crashed mid-transaction
 * stalls the local database for seconds, not minutes. Its next call finds no transaction.
 */

export const RDS_DATA_PATHS = new Set(['/Execute', '/BatchExecute', '/BeginTransaction', '/CommitTransaction', '/RollbackTransaction']);

/** The Data API's limits: 1 MiB per response, 64 KB per row, 4 MiB per request. */
const RESPONSE_LIMIT_BYTES = 1024 * 1024;
const ROW_LIMIT_BYTES = 64 * 1024;
export const REQUEST_LIMIT_BYTES = 4 * 1024 * 1024;
const TRANSACTION_IDLE_MS = 3 * 60_000;
export const CONTENDED_IDLE_MS = 5_000;

export interface RdsDataAnswer {
  status: number;
  body: unknown;
  /** x-amzn-errortype, for errors. */
  errorType?: string;
}

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tail;
    this.tail = previous.then(() => next);
    return previous.then(() => release);
  }
}

interface Cluster {
  arn: string;
  databaseName: string;
  secretArn?: string;
  db: Promise<PGlite>;
  session: Mutex;
}

interface OpenTransaction {
  cluster: Cluster;
  release: () => void;
  timer: NodeJS.Timeout;
  /** A statement in it failed: PostgreSQL has aborted it, so a commit rolls back. */
  failed: boolean;
  /** Calls of it in progress, and when the last one ended (or it began). */
  busy: number;
  lastCall: number;
}

export interface RdsDataServiceOptions {
  faults?: FaultController;
  /** Whether a secret ARN names a secret of the local Secrets Manager. */
  secretExists?: (arn: string) => boolean;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export class RdsDataService {
  private readonly clusters = new Map<string, Cluster>();
  private readonly transactions = new Map<string, OpenTransaction>();

  constructor(private readonly options: RdsDataServiceOptions = {}) {}

  /** A cluster of the template: its database starts (empty) now, in the background. */
  addCluster(cluster: { arn: string; databaseName: string; secretArn?: string }): void {
    const db = PGlite.create().then(async (pg) => {
      await pg.exec("SET TIME ZONE 'UTC'");
      return pg;
    });
    db.catch(() => undefined);
    this.clusters.set(cluster.arn, { ...cluster, db, session: new Mutex() });
  }

  /** Resolves once every cluster's database is up. */
  async ready(): Promise<void> {
    await Promise.all([...this.clusters.values()].map((cluster) => cluster.db));
  }

  async close(): Promise<void> {
    for (const [id, transaction] of this.transactions) {
      clearTimeout(transaction.timer);
      transaction.release();
      this.transactions.delete(id);
    }
    for (const cluster of this.clusters.values()) await (await cluster.db).close().catch(() => undefined);
    this.clusters.clear();
  }

  async handle(path: string, body: Record<string, unknown>): Promise<RdsDataAnswer> {
    try {
      return { status: 200, body: await this.dispatch(path, body) };
    } catch (error) {
      if (error instanceof DataApiRequestError) return { status: error.status, errorType: error.type, body: { message: error.message } };
      const pg = error as { message?: string; code?: string };
      if (typeof pg.code === 'string' && /^[0-9A-Z]{5}$/.test(pg.code)) {
        return { status: 400, errorType: 'BadRequestException', body: { message: `ERROR: ${pg.message ?? 'error'}; SQLState: ${pg.code}` } };
      }
      throw error;
    }
  }

  private clusterOf(body: Record<string, unknown>): Cluster {
    const arn = str(body.resourceArn);
    if (!arn) throw new DataApiRequestError('BadRequestException', 'resourceArn is required');
    const cluster = this.clusters.get(arn);
    if (!cluster) throw new DataApiRequestError('BadRequestException', `HttpEndpoint is not enabled for resource ${arn}`);
    const secretArn = str(body.secretArn);
    if (!secretArn) throw new DataApiRequestError('BadRequestException', 'secretArn is required');
    if (this.options.secretExists && !this.options.secretExists(secretArn)) {
      throw new DataApiRequestError('BadRequestException', `Secrets Manager can't find the specified secret: ${secretArn}`);
    }
    const database = str(body.database);
    if (database !== undefined && database !== cluster.databaseName) {
      throw new DataApiRequestError('BadRequestException', `FATAL: database "${database}" does not exist; SQLState: 3D000`);
    }
    return cluster;
  }

  private transactionOf(id: unknown, cluster: Cluster): OpenTransaction {
    const transaction = typeof id === 'string' ? this.transactions.get(id) : undefined;
    if (!transaction || transaction.cluster !== cluster) throw new DataApiRequestError('NotFoundException', `Transaction ${String(id)} is not found`, 404);
    transaction.timer.refresh();
    transaction.lastCall = Date.now();
    return transaction;
  }

  /** Waits for the cluster's session, rolling back a transaction that sits idle meanwhile (see above). */
  private async acquireSession(cluster: Cluster): Promise<() => void> {
    const acquiring = cluster.session.acquire();
    const check = setInterval(() => {
      for (const [id, transaction] of this.transactions) {
        if (transaction.cluster === cluster && transaction.busy === 0 && Date.now() - transaction.lastCall > CONTENDED_IDLE_MS) {
          void this.end(id, 'ROLLBACK').catch(() => undefined);
        }
      }
    }, 1_000);
    try {
      return await acquiring;
    } finally {
      clearInterval(check);
    }
  }

  /** Injected before a statement that would wake the database: Aurora resuming from zero ACUs. */
  private maybeResuming(body: Record<string, unknown>): void {
    if (body.transactionId === undefined && this.options.faults?.rdsDataResuming()) {
      throw new DataApiRequestError('DatabaseResumingException', 'The Aurora DB instance is resuming after being auto-paused. Please wait a few seconds and try again.');
    }
  }

  private async dispatch(path: string, body: Record<string, unknown>): Promise<unknown> {
    const cluster = this.clusterOf(body);
    switch (path) {
      case '/BeginTransaction': {
        this.maybeResuming(body);
        const db = await cluster.db;
        const release = await this.acquireSession(cluster);
        try {
          await db.exec('BEGIN');
        } catch (error) {
          release();
          throw error;
        }
        const transactionId = randomUUID();
        const timer = setTimeout(() => void this.end(transactionId, 'ROLLBACK').catch(() => undefined), TRANSACTION_IDLE_MS);
        timer.unref();
        this.transactions.set(transactionId, { cluster, release, timer, failed: false, busy: 0, lastCall: Date.now() });
        return { transactionId };
      }
      case '/CommitTransaction':
      case '/RollbackTransaction': {
        const id = String(body.transactionId);
        const { failed } = this.transactionOf(id, cluster);
        const commit = path === '/CommitTransaction' && !failed;
        await this.end(id, commit ? 'COMMIT' : 'ROLLBACK');
        if (path === '/CommitTransaction' && failed) {
          throw new DataApiRequestError('BadRequestException', `Transaction ${id} was rolled back: a statement in it failed`);
        }
        return { transactionStatus: commit ? 'Transaction Committed' : 'Rollback Complete' };
      }
      case '/Execute':
        this.maybeResuming(body);
        return this.inSession(cluster, body.transactionId, false, (db) => this.execute(db, body));
      case '/BatchExecute':
        this.maybeResuming(body);
        return this.inSession(cluster, body.transactionId, true, async (db) => {
          const sets = Array.isArray(body.parameterSets) && body.parameterSets.length > 0 ? (body.parameterSets as SqlParameter[][]) : [[]];
          const updateResults = [];
          for (const parameters of sets) {
            const { text, values } = toPositional(String(body.sql ?? ''), parameters);
            const result = await db.query<unknown[]>(text, values, { rowMode: 'array', parsers: TEXT_PARSERS });
            const first = result.rows[0];
            updateResults.push({ generatedFields: first ? first.map((value, index) => fieldOf(value, result.fields[index]!.dataTypeID)) : [] });
          }
          return { updateResults };
        });
      default:
        throw new DataApiRequestError('BadRequestException', `${path} is not emulated by the local cloud`);
    }
  }

  private async end(transactionId: string, statement: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    const transaction = this.transactions.get(transactionId);
    if (!transaction) return;
    this.transactions.delete(transactionId);
    clearTimeout(transaction.timer);
    try {
      await (await transaction.cluster.db).exec(statement);
    } finally {
      transaction.release();
    }
  }

  /** Runs `work` in the given transaction, or alone on the session (autocommitted; a batch all or nothing). */
  private async inSession<T>(cluster: Cluster, transactionId: unknown, atomic: boolean, work: (db: PGlite) => Promise<T>): Promise<T> {
    const db = await cluster.db;
    if (transactionId !== undefined) {
      const transaction = this.transactionOf(transactionId, cluster);
      transaction.busy += 1;
      try {
        return await work(db);
      } catch (error) {
        transaction.failed = true;
        throw error;
      } finally {
        transaction.busy -= 1;
        transaction.lastCall = Date.now();
      }
    }
    const release = await this.acquireSession(cluster);
    try {
      if (!atomic) return await work(db);
      await db.exec('BEGIN');
      try {
        const result = await work(db);
        await db.exec('COMMIT');
        return result;
      } catch (error) {
        await db.exec('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      release();
    }
  }

  private async execute(db: PGlite, body: Record<string, unknown>): Promise<object> {
    const sql = str(body.sql);
    if (!sql) throw new DataApiRequestError('BadRequestException', 'sql is required');
    const { text, values } = toPositional(sql, (body.parameters as SqlParameter[] | undefined) ?? []);
    const result = await db.query<unknown[]>(text, values, { rowMode: 'array', parsers: TEXT_PARSERS });
    const answer: Record<string, unknown> = { numberOfRecordsUpdated: result.fields.length > 0 ? 0 : (result.affectedRows ?? 0), generatedFields: [] };
    if (result.fields.length > 0) {
      for (const row of result.rows) {
        if (Buffer.byteLength(JSON.stringify(row)) > ROW_LIMIT_BYTES) {
          throw new DataApiRequestError('BadRequestException', 'Database response exceeded size limit: a row is larger than 64 KB');
        }
      }
      if (body.formatRecordsAs === 'JSON') {
        answer.formattedRecords = JSON.stringify(
          result.rows.map((row) => Object.fromEntries(result.fields.map((field, index) => [field.name, jsonValueOf(row[index], field.dataTypeID)]))),
        );
      } else {
        answer.records = result.rows.map((row) => row.map((value, index) => fieldOf(value, result.fields[index]!.dataTypeID)));
      }
      if (body.includeResultMetadata === true || body.formatRecordsAs === 'JSON') answer.columnMetadata = columnMetadataOf(result.fields);
    }
    if (Buffer.byteLength(JSON.stringify(answer)) > RESPONSE_LIMIT_BYTES) {
      throw new DataApiRequestError('BadRequestException', 'Database returned more than the allowed response size limit (1 MiB)');
    }
    return answer;
  }
}
