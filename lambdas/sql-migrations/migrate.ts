import { sqlParam, type DataApi } from '../shared/data-api';
import { MIGRATIONS, type Migration } from './migrations';

/**
 * Applies the migrations not yet applied, in version order, each in its own transaction together
 * with its row in `schema_migrations`; running it again applies nothing. Two runs at once: the
 * table lock makes the second wait and then find the versions applied.
 */

export const SCHEMA_MIGRATIONS_SQL =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())';

export interface MigrationReport {
  /** Versions this run applied. */
  applied: number[];
  /** The latest version now in the database. */
  current: number;
}

export async function migrate(api: DataApi, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationReport> {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  await api.execute(SCHEMA_MIGRATIONS_SQL);
  const applied: number[] = [];
  for (const migration of ordered) {
    const ran = await api.inTransaction(async (transactionId) => {
      await api.execute('LOCK TABLE schema_migrations IN SHARE ROW EXCLUSIVE MODE', [], { transactionId });
      const found = await api.execute('SELECT 1 FROM schema_migrations WHERE version = :version', [sqlParam.long('version', migration.version)], { transactionId });
      if ((found.records ?? []).length > 0) return false;
      // One statement per call: the Data API runs one statement per ExecuteStatement.
      for (const statement of splitStatements(migration.sql)) await api.execute(statement, [], { transactionId });
      await api.execute('INSERT INTO schema_migrations (version, name) VALUES (:version, :name)', [sqlParam.long('version', migration.version), sqlParam.text('name', migration.name)], {
        transactionId,
      });
      return true;
    });
    if (ran) applied.push(migration.version);
  }
  const latest = await api.execute('SELECT coalesce(max(version), 0) FROM schema_migrations');
  return { applied, current: Number(latest.records?.[0]?.[0]?.longValue ?? 0) };
}

/**
 * A script's statements, split at semicolons outside quotes, identifiers, comments and
 * dollar-quoted bodies; empty statements and comments alone are dropped.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  while (i < script.length) {
    const char = script[i]!;
    const rest = script.slice(i);
    if (rest.startsWith('--')) {
      const end = script.indexOf('\n', i);
      i = end === -1 ? script.length : end + 1;
      current += '\n';
      continue;
    }
    if (rest.startsWith('/*')) {
      const end = script.indexOf('*/', i + 2);
      i = end === -1 ? script.length : end + 2;
      current += ' ';
      continue;
    }
    const dollar = /^\$[A-Za-z_]*\$/.exec(rest);
    if (dollar) {
      const end = script.indexOf(dollar[0], i + dollar[0].length);
      const stop = end === -1 ? script.length : end + dollar[0].length;
      current += script.slice(i, stop);
      i = stop;
      continue;
    }
    if (char === "'" || char === '"') {
      let j = i + 1;
      while (j < script.length) {
        if (script[j] === char && script[j + 1] === char) j += 2;
        else if (script[j] === char) break;
        else j += 1;
      }
      current += script.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (char === ';') {
      if (current.trim() !== '') statements.push(current.trim());
      current = '';
      i += 1;
      continue;
    }
    current += char;
    i += 1;
  }
  if (current.trim() !== '') statements.push(current.trim());
  return statements;
}
