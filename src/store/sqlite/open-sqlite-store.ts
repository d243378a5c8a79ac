import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase } from 'kysely';
import type { Clock } from '../../core/clock.js';
import { queryLog, type ConstraintViolation, type QueryListener, type StoreBackend } from '../backend.js';
import { sqliteDialect } from '../sql/dialect.js';
import { openKyselyStore } from '../kysely-store.js';
import { resolveAuditKey, type AuditKeyOptions } from '../../audit/keys.js';
import { migrate } from '../migrate.js';
import { startWalCheckpoints } from './wal-checkpoints.js';
import type { Store } from '../store.js';
import type { Database } from '../tables.js';

/** SQLite's capabilities for `openKyselyStore` and `migrate`. */
export const sqliteBackend: StoreBackend = {
  migrations: 'sqlite',
  filterDialect: sqliteDialect,
  // SQLITE_MAX_VARIABLE_NUMBER, as better-sqlite3 builds SQLite.
  maxParameters: 32766,
  beginWrite: 'begin immediate',
  beginSnapshot: 'begin',
  rowLocks: false,
  bool: (value) => (value ? 1 : 0),
  constraintViolation,
};

export interface SqliteStoreOptions extends AuditKeyOptions {
  readonly clock?: Clock;
  /** Sees every statement and its duration (diagnostics, benchmarks, statement-count tests). */
  readonly onQuery?: QueryListener;
  /**
   * Checkpoint the WAL from a worker thread (`wal-checkpoints.ts`): for a server. A short command
   * skips it, as the worker's start costs more than the checkpoints it would move.
   */
  readonly backgroundCheckpoints?: boolean;
}

/**
 * Opens (creating it and its folder if needed) and migrates a SQLite database file; `':memory:'`
 * gives a private in-memory database.
 *
 * A file gets two connections: one for write transactions and one for reads outside them, so WAL
 * lets reads go on while a write transaction is open. Writes are serialised by the write
 * connection (and across processes by `begin immediate` and the busy timeout).
 *
 * @example
 *   const store = await openSqliteStore('./data/scimitar.db');
 */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<Store> {
  const memory = path === ':memory:' || path === '';
  if (!memory) await mkdir(dirname(resolve(path)), { recursive: true });

  const connect = (conn: BetterSqlite3.Database) =>
    new Kysely<Database>({
      dialect: new SqliteDialect({ database: cachingStatements(conn) }),
      ...queryLog(options.onQuery),
    });
  const writeConn = openConnection(path, memory);
  const db = connect(writeConn);
  try {
    await migrate(db, sqliteBackend);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  const readConn = memory ? undefined : openConnection(path, memory);
  const readDb = readConn && connect(readConn);
  const checkpoints = memory || !options.backgroundCheckpoints ? undefined : startWalCheckpoints(path, writeConn);
  // Kysely closes a connection only if a query ever used it; the last connection to close is the
  // one that folds the WAL into the file and removes it, so every one is closed here.
  const closeAll = async () => {
    await checkpoints?.stop();
    await readDb?.destroy();
    await db.destroy();
    for (const conn of [readConn, writeConn]) if (conn?.open) conn.close();
  };
  try {
    // The key lives beside the database file by default: copying the database alone does not carry it.
    const auditKey = resolveAuditKey(options, memory ? undefined : `${path}.audit-key.pem`);
    const store = await openKyselyStore({
      auditKey,
      db,
      ...(readDb ? { readDb } : {}),
      backend: sqliteBackend,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    return { ...store, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function openConnection(path: string, memory: boolean): BetterSqlite3.Database {
  const conn = new BetterSqlite3(memory ? ':memory:' : path);
  if (!memory) conn.pragma('journal_mode = WAL');
  conn.pragma('synchronous = NORMAL');
  conn.pragma('foreign_keys = ON');
  conn.pragma('busy_timeout = 5000');
  conn.pragma('cache_size = -32000');
  // The filter compiler lowercases with this in SQLite (`lower` in PostgreSQL): SQLite's own
  // `lower()` folds ASCII only, and case-insensitive matching must agree with JS.
  conn.function('scim_lower', { deterministic: true }, (value: unknown) =>
    value === null || value === undefined ? null : String(value).toLowerCase(),
  );
  return conn;
}

/**
 * Kysely's SQLite driver prepares every statement anew; this keeps the most recent ones, keyed by
 * their SQL text (parameters are bound per call), which saves the parse on hot paths.
 */
function cachingStatements(conn: BetterSqlite3.Database, capacity = 256): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    prepare(sql) {
      const hit = cache.get(sql);
      if (hit && !hit.busy) {
        cache.delete(sql);
        cache.set(sql, hit);
        return hit;
      }
      const stmt = conn.prepare(sql);
      // Long statements are one-offs (a 10,000-member insert); caching them only costs memory.
      if (!hit && sql.length <= 4096) {
        cache.set(sql, stmt);
        if (cache.size > capacity) cache.delete(cache.keys().next().value as string);
      }
      return stmt;
    },
    close() {
      cache.clear();
      conn.close();
    },
  };
}

function constraintViolation(err: unknown): ConstraintViolation | undefined {
  if (!(err instanceof Error) || !('code' in err)) return undefined;
  const { code } = err as { code: unknown };
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return { kind: 'unique', detail: err.message };
  }
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return { kind: 'foreign_key', detail: err.message };
  return undefined;
}
