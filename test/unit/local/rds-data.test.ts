import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchExecuteStatementCommand,
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { startAwsEndpoint, type AwsEndpoint } from '../../../tools/local-cloud/endpoint';
import { FaultController } from '../../../tools/local-cloud/fault-set';

// The local RDS Data API on PGlite, through the real SDK client over HTTP: parameters, result
// shapes, transactions and errors as the Data API answers them.
const region = 'us-east-1';
const accountId = '000000000000';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const resourceArn = `arn:aws:rds:${region}:${accountId}:cluster:local-aurora`;
let secretArn: string;
let endpoint: AwsEndpoint;
let client: RDSDataClient;
const faults = new FaultController();
const database = 'pipeline';

const target = () => ({ resourceArn, secretArn, database });
const run = (sql: string, extra: Record<string, unknown> = {}) => client.send(new ExecuteStatementCommand({ ...target(), sql, ...extra }));
const errorOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error as Error & { $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
};

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0, region, accountId, faults });
  secretArn = endpoint.secrets.put({ name: 'aurora-secret', value: JSON.stringify({ username: 'postgres', password: 'local' }) }).arn;
  endpoint.rdsData.addCluster({ arn: resourceArn, databaseName: database, secretArn });
  await endpoint.rdsData.ready();
  client = new RDSDataClient({ endpoint: endpoint.url, region, credentials, maxAttempts: 1 });
  await run('CREATE TABLE t (id text PRIMARY KEY, n integer, big bigint, price numeric(11,4), at timestamptz, ok boolean, d date, x double precision)');
});

afterAll(async () => {
  client?.destroy();
  await endpoint?.close();
});

describe('local RDS Data API', () => {
  it('binds typed named parameters and returns typed fields', async () => {
    const inserted = await run(
      "INSERT INTO t VALUES (:id, :n, :big, :price, :at::timestamptz, :ok, '2026-11-22', :x)",
      {
        parameters: [
          { name: 'id', value: { stringValue: "a'1" } },
          { name: 'n', value: { longValue: 7 } },
          { name: 'big', value: { longValue: 9_007_199_254_740_991 } },
          { name: 'price', value: { stringValue: '19.9999' }, typeHint: 'DECIMAL' },
          { name: 'at', value: { stringValue: '2026-11-22T10:00:00.123+01:00' } },
          { name: 'ok', value: { booleanValue: true } },
          { name: 'x', value: { doubleValue: 0.5 } },
        ],
      },
    );
    expect(inserted.numberOfRecordsUpdated).toBe(1);
    const selected = await run('SELECT id, n, big, price, at, ok, d, x, NULL AS nothing FROM t WHERE id = :id', {
      parameters: [{ name: 'id', value: { stringValue: "a'1" } }],
      includeResultMetadata: true,
    });
    expect(selected.records).toEqual([
      [
        { stringValue: "a'1" },
        { longValue: 7 },
        { longValue: 9_007_199_254_740_991 },
        { stringValue: '19.9999' },
        { stringValue: '2026-11-22 09:00:00.123' },
        { booleanValue: true },
        { stringValue: '2026-11-22' },
        { doubleValue: 0.5 },
        { isNull: true },
      ],
    ]);
    expect(selected.columnMetadata?.map((c) => [c.name, c.typeName])).toEqual([
      ['id', 'text'],
      ['n', 'int4'],
      ['big', 'int8'],
      ['price', 'numeric'],
      ['at', 'timestamptz'],
      ['ok', 'bool'],
      ['d', 'date'],
      ['x', 'float8'],
      ['nothing', 'text'],
    ]);
  });

  it('formats records as JSON when asked', async () => {
    const answer = await run("SELECT id, n, price, ok FROM t WHERE id = 'a''1'", { formatRecordsAs: 'JSON' });
    expect(answer.records).toBeUndefined();
    expect(JSON.parse(answer.formattedRecords!)).toEqual([{ id: "a'1", n: 7, price: '19.9999', ok: true }]);
  });

  it('binds an untyped string as varchar, as the Data API does: a timestamptz column needs a cast', async () => {
    const error = await errorOf(run("INSERT INTO t (id, at) VALUES ('b', :at)", { parameters: [{ name: 'at', value: { stringValue: '2026-11-22T10:00:00Z' } }] }));
    expect(error.name).toBe('BadRequestException');
    expect(error.message).toMatch(/column "at" is of type timestamp with time zone but expression is of type character varying; SQLState: 42804/);
  });

  it('answers a constraint violation as BadRequestException with the SQLSTATE', async () => {
    const error = await errorOf(run("INSERT INTO t (id) VALUES ('a''1')"));
    expect(error.name).toBe('BadRequestException');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(error.message).toMatch(/duplicate key value violates unique constraint "t_pkey"; SQLState: 23505/);
  });

  it('names a missing parameter, a wrong database and an unknown cluster', async () => {
    expect((await errorOf(run('SELECT :missing'))).message).toMatch(/No value specified for parameter: missing/);
    expect((await errorOf(client.send(new ExecuteStatementCommand({ ...target(), database: 'other', sql: 'SELECT 1' })))).message).toMatch(/database "other" does not exist/);
    const unknown = await errorOf(client.send(new ExecuteStatementCommand({ ...target(), resourceArn: `${resourceArn}-x`, sql: 'SELECT 1' })));
    expect(unknown.name).toBe('BadRequestException');
    const secret = await errorOf(client.send(new ExecuteStatementCommand({ ...target(), secretArn: `${secretArn}-x`, sql: 'SELECT 1' })));
    expect(secret.message).toMatch(/can't find the specified secret/);
  });

  it('runs a batch of parameter sets inside a transaction; commit keeps them, rollback drops them', async () => {
    const { transactionId } = await client.send(new BeginTransactionCommand(target()));
    const batch = await client.send(
      new BatchExecuteStatementCommand({
        ...target(),
        transactionId,
        sql: 'INSERT INTO t (id, n) VALUES (:id, :n) ON CONFLICT (id) DO NOTHING',
        parameterSets: [1, 2, 2].map((n) => [
          { name: 'id', value: { stringValue: `batch-${n}` } },
          { name: 'n', value: { longValue: n } },
        ]),
      }),
    );
    expect(batch.updateResults).toHaveLength(3);
    expect((await client.send(new CommitTransactionCommand({ resourceArn, secretArn, transactionId }))).transactionStatus).toBe('Transaction Committed');

    const second = await client.send(new BeginTransactionCommand(target()));
    await run("INSERT INTO t (id) VALUES ('rolled-back')", { transactionId: second.transactionId });
    await client.send(new RollbackTransactionCommand({ resourceArn, secretArn, transactionId: second.transactionId }));
    const ids = await run("SELECT id FROM t WHERE id LIKE 'batch-%' OR id = 'rolled-back' ORDER BY id");
    expect(ids.records?.map((r) => r[0]?.stringValue)).toEqual(['batch-1', 'batch-2']);
  });

  it('keeps other statements out of an open transaction until it ends', async () => {
    const { transactionId } = await client.send(new BeginTransactionCommand(target()));
    await run("INSERT INTO t (id) VALUES ('isolated')", { transactionId });
    let seen: number | undefined;
    const outside = run("SELECT count(*) FROM t WHERE id = 'isolated'").then((a) => (seen = a.records?.[0]?.[0]?.longValue));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toBeUndefined();
    await client.send(new CommitTransactionCommand({ resourceArn, secretArn, transactionId }));
    await outside;
    expect(seen).toBe(1);
  });

  it('rolls back a transaction whose statement failed, and says so at commit', async () => {
    const { transactionId } = await client.send(new BeginTransactionCommand(target()));
    await run("INSERT INTO t (id) VALUES ('half')", { transactionId });
    await errorOf(run("INSERT INTO t (id) VALUES ('a''1')", { transactionId }));
    const commit = await errorOf(client.send(new CommitTransactionCommand({ resourceArn, secretArn, transactionId })));
    expect(commit.message).toMatch(/rolled back/);
    expect((await run("SELECT count(*) FROM t WHERE id = 'half'")).records?.[0]?.[0]?.longValue).toBe(0);
    const gone = await errorOf(client.send(new CommitTransactionCommand({ resourceArn, secretArn, transactionId })));
    expect(gone.name).toBe('NotFoundException');
  });

  it('answers DatabaseResumingException under the rdsData.resuming fault', async () => {
    faults.apply({ rdsData: { resuming: 1 } });
    try {
      const error = await errorOf(run('SELECT 1'));
      expect(error.name).toBe('DatabaseResumingException');
      expect(faults.state().injected['rdsData.resuming']).toBe(1);
    } finally {
      faults.clear();
    }
    expect((await run('SELECT 1')).records).toEqual([[{ longValue: 1 }]]);
  });

  it('refuses a response over 1 MiB', async () => {
    const error = await errorOf(run("SELECT repeat('x', 1000) FROM generate_series(1, 1500)"));
    expect(error.message).toMatch(/response size limit/);
  });
});
