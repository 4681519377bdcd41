import { describe, expect, it } from 'vitest';
import type { DataApiSender } from '../../../lambdas/shared/data-api';
import { boundedQuery, formatQueryResult, normalizeQuery, queryResultJson, runReadOnlyQuery } from '../../../tools/cli/sql';

// pipeline sql's logic: the query runs in a READ ONLY transaction that is always rolled back,
// row queries are bounded, and what is printed is escaped and cut.
const target = { resourceArn: 'arn:aws:rds:us-east-1:1:cluster:c', secretArn: 'arn:s', database: 'ecommerce' };

function fakeDataApi(answer: (sql: string) => object) {
  const calls: Array<{ command: string; input: Record<string, unknown> }> = [];
  const sender = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      calls.push({ command: command.constructor.name, input: command.input });
      if (command.constructor.name === 'BeginTransactionCommand') return { transactionId: 'tx-1' };
      if (command.constructor.name === 'ExecuteStatementCommand') return answer(String(command.input.sql));
      return {};
    },
  } as unknown as DataApiSender;
  return { sender, calls };
}

describe('pipeline sql', () => {
  it('runs the query read-only in a transaction it always rolls back, fetching at most max-rows + 1', async () => {
    const { sender, calls } = fakeDataApi((sql) =>
      sql.startsWith('SET')
        ? {}
        : {
            columnMetadata: [{ name: 'event_type' }, { name: 'events' }],
            records: [1, 2, 3].map((n) => [{ stringValue: `type-${n}` }, { longValue: n }]),
          },
    );
    const result = await runReadOnlyQuery(sender, target, 'SELECT event_type, events FROM v_hourly_event_summary;  ', { maxRows: 2 });
    expect(calls.map((c) => c.command)).toEqual(['BeginTransactionCommand', 'ExecuteStatementCommand', 'ExecuteStatementCommand', 'RollbackTransactionCommand']);
    expect(calls[1]!.input).toMatchObject({ sql: 'SET TRANSACTION READ ONLY', transactionId: 'tx-1' });
    expect(calls[2]!.input).toMatchObject({ sql: 'SELECT * FROM (\nSELECT event_type, events FROM v_hourly_event_summary\n) AS query LIMIT 3', transactionId: 'tx-1', includeResultMetadata: true });
    expect(result).toEqual({ columns: ['event_type', 'events'], rows: [['type-1', 1], ['type-2', 2]], truncated: true });
  });

  it('rolls back and names the database\'s refusal', async () => {
    const { sender, calls } = fakeDataApi((sql) => {
      if (sql.startsWith('SET')) return {};
      throw Object.assign(new Error('ERROR: cannot execute DELETE in a read-only transaction; SQLState: 25006'), { name: 'BadRequestException' });
    });
    await expect(runReadOnlyQuery(sender, target, 'DELETE FROM ecommerce_events', { maxRows: 10 })).rejects.toThrow(/the database refused the query: .*read-only transaction/);
    expect(calls.at(-1)!.command).toBe('RollbackTransactionCommand');
    expect(calls[2]!.input.sql).toBe('DELETE FROM ecommerce_events');
  });

  it('refuses an empty query and bounds only row queries', () => {
    expect(() => normalizeQuery(' ;; ')).toThrow(/empty/);
    expect(boundedQuery('with x as (select 1) select * from x', 5)).toMatch(/LIMIT 5$/);
    expect(boundedQuery('EXPLAIN SELECT 1', 5)).toBe('EXPLAIN SELECT 1');
  });

  it('prints a terminal-safe, bounded table: controls escaped, cells cut, NULL shown, numbers right-aligned', () => {
    const text = formatQueryResult(
      { columns: ['city', 'n', 'note'], rows: [['Berlin\u001b[2J', 7, null], ['x'.repeat(50), 12, 'ok']], truncated: true },
      10,
    );
    expect(text).not.toContain('\u001b');
    expect(text.split('\n')).toEqual([
      'city         n  note',
      'Berlin\\x1…   7  NULL',
      'xxxxxxxxx…  12  ok',
      '(first 2 rows; more exist: raise --max-rows or add a LIMIT)',
    ]);
    expect(queryResultJson({ columns: ['a', 'b'], rows: [[1, null]], truncated: false })).toEqual({ columns: ['a', 'b'], rows: [{ a: 1, b: null }], truncated: false });
    expect(formatQueryResult({ columns: [], rows: [], truncated: false })).toBe('(no result set)');
  });
});
