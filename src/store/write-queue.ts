import { sql, type Kysely } from 'kysely';
import type { StoreBackend } from './backend.js';
import type { Database } from './tables.js';
import { inWriteTransaction } from './write-transaction.js';

/** One write waiting for its turn: its work, and the caller's promise to settle after the commit. */
interface Pending {
  readonly run: (conn: Kysely<Database>) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
}

const SAVEPOINT = 'scimitar_write';

/**
 * Group commit. Writes that arrive while a transaction is running wait, then run together in the
 * next transaction, each inside its own savepoint: a write that fails is undone alone and its caller
 * gets the error, the others commit together. Every caller hears back only after the COMMIT that
 * holds its write, so a response never reports a change that a crash could still lose.
 *
 * One commit for many writes is what makes writes fast under concurrency: on SQLite a commit's WAL
 * writes cost more than the statements before it, on PostgreSQL each commit waits for an fsync. With a
 * single client nothing waits and each write is its own transaction, as before.
 */
export function createWriteQueue(
  db: Kysely<Database>,
  backend: Pick<StoreBackend, 'beginWrite'>,
  maxBatch = 64,
): <T>(run: (conn: Kysely<Database>) => Promise<T>) => Promise<T> {
  const queue: Pending[] = [];
  let draining = false;

  async function runBatch(batch: readonly Pending[]): Promise<void> {
    const outcomes: (() => void)[] = [];
    try {
      await inWriteTransaction(db, backend, async (conn) => {
        for (const item of batch) {
          await sql.raw(`savepoint ${SAVEPOINT}`).execute(conn);
          try {
            const value = await item.run(conn);
            await sql.raw(`release savepoint ${SAVEPOINT}`).execute(conn);
            outcomes.push(() => item.resolve(value));
          } catch (err) {
            await sql.raw(`rollback to savepoint ${SAVEPOINT}`).execute(conn);
            await sql.raw(`release savepoint ${SAVEPOINT}`).execute(conn);
            outcomes.push(() => item.reject(err));
          }
        }
      });
    } catch (err) {
      // Nothing of the batch committed: every write in it failed, whatever its own outcome was.
      for (const item of batch) item.reject(err);
      return;
    }
    for (const settle of outcomes) settle();
  }

  async function drain(): Promise<void> {
    draining = true;
    try {
      while (queue.length > 0) await runBatch(queue.splice(0, maxBatch));
    } finally {
      draining = false;
    }
  }

  return <T>(run: (conn: Kysely<Database>) => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!draining) void drain();
    });
}
