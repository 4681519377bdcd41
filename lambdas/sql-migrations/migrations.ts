import { sql as events } from './migrations/001_events';
import { sql as views } from './migrations/002_views';

/**
 * The SQL sink's schema, as versioned migrations applied in order, each once (migrate.ts). Never
 * edit one that has shipped: add the next version.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'events_and_batch_metrics', sql: events },
  { version: 2, name: 'seed_002_views', sql: views },
];
