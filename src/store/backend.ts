import type { KyselyConfig } from 'kysely';
import type { SqlDialect } from './sql/dialect.js';

/**
 * What differs between the SQLite and the PostgreSQL store, as capabilities and small adapters, so
 * `kysely-store.ts` holds one code path (Kysely's `supportsReturning` idea). Each `open-*-store.ts`
 * builds one of these; nothing else asks which database it talks to.
 */
export interface StoreBackend {
  /** The folder of `migrations/` holding this backend's numbered SQL files. */
  readonly migrations: 'sqlite' | 'postgres';
  /** Handed to the filter compiler (`compile-filter.ts`), which owns the SQL spelling of a filter. */
  readonly filterDialect: SqlDialect;
  /** The most bound parameters one statement may carry (SQLite 32766, PostgreSQL 65535). */
  readonly maxParameters: number;
  /**
   * The statement that opens a write transaction. SQLite's `begin immediate` takes the database's
   * write lock up front, so a read-then-write transaction never fails half-way on a busy database.
   */
  readonly beginWrite: string;
  /**
   * The statement that opens a read-only transaction whose reads all see one committed state, for
   * `snapshot`: SQLite's deferred BEGIN reads one WAL snapshot; PostgreSQL needs REPEATABLE READ.
   */
  readonly beginSnapshot: string;
  /**
   * Whether `SELECT … FOR NO KEY UPDATE` exists. Where it does, a write locks its tenant row first, which
   * serialises a tenant's writes across connections and nodes; where it does not (SQLite), the
   * database-wide write lock of `beginWrite` already does.
   */
  readonly rowLocks: boolean;
  /** Run first inside the migration transaction, so concurrent starts migrate one at a time. */
  readonly migrationLock?: string;
  /** How a boolean is bound: SQLite has no boolean type (0/1), PostgreSQL has. */
  readonly bool: (value: boolean) => number | boolean;
  /** Recognises a driver's constraint violation, so it never leaves the store as a raw error. */
  readonly constraintViolation: (err: unknown) => ConstraintViolation | undefined;
}

export interface ConstraintViolation {
  readonly kind: 'unique' | 'foreign_key';
  /** The driver's text naming the constraint or its columns, e.g. `users.tenant_id, users.user_name_lc`. */
  readonly detail: string;
}

export type QueryListener = (sql: string, durationMs: number) => void;

/** The Kysely `log` option that feeds a `QueryListener`, if there is one. */
export function queryLog(listener: QueryListener | undefined): Pick<KyselyConfig, 'log'> {
  if (!listener) return {};
  return { log: (event) => listener(event.query.sql, event.queryDurationMillis) };
}
