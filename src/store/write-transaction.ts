import { sql, type Kysely } from 'kysely';
import type { StoreBackend } from './backend.js';
import type { Database } from './tables.js';

/**
 * Runs `fn` on one connection inside a write transaction opened the backend's way (`begin
 * immediate` on SQLite takes the write lock up front): commit on success, rollback on any error.
 * Kysely's own `transaction()` cannot choose the BEGIN statement.
 */
export function inWriteTransaction<T>(
  db: Kysely<Database>,
  backend: Pick<StoreBackend, 'beginWrite'>,
  fn: (conn: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return inTransaction(db, backend.beginWrite, fn);
}

/** The same, opened by any BEGIN statement (e.g. a backend's `beginSnapshot`). */
export function inTransaction<T>(db: Kysely<Database>, begin: string, fn: (conn: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql.raw(begin).execute(conn);
    try {
      const result = await fn(conn);
      await sql.raw('commit').execute(conn);
      return result;
    } catch (err) {
      // The driver may already have ended the transaction (SQLite does on some errors).
      await sql
        .raw('rollback')
        .execute(conn)
        .catch(() => undefined);
      throw err;
    }
  });
}
