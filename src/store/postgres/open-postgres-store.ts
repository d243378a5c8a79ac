import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { Clock } from '../../core/clock.js';
import { queryLog, type ConstraintViolation, type QueryListener, type StoreBackend } from '../backend.js';
import { postgresDialect } from '../sql/dialect.js';
import { openKyselyStore } from '../kysely-store.js';
import { resolveAuditKey, type AuditKeyOptions } from '../../audit/keys.js';
import { migrate } from '../migrate.js';
import type { Store } from '../store.js';
import type { Database } from '../tables.js';

/** PostgreSQL's capabilities for `openKyselyStore` and `migrate`. */
export const postgresBackend: StoreBackend = {
  migrations: 'postgres',
  filterDialect: postgresDialect,
  // The wire protocol counts parameters in an int16.
  maxParameters: 65535,
  beginWrite: 'begin',
  beginSnapshot: 'begin isolation level repeatable read read only',
  rowLocks: true,
  // Nodes starting together migrate one after the other; the lock ends with the transaction.
  migrationLock: 'select pg_advisory_xact_lock(7294401377385017)',
  bool: (value) => value,
  constraintViolation,
};

/** Relative to the working directory, beside SQLite's default `./data/scimitar.db`. */
export const DEFAULT_POSTGRES_AUDIT_KEY_FILE = './data/scimitar-audit-key.pem';

export interface PostgresStoreOptions extends AuditKeyOptions {
  /** Connections in the pool (default 10). */
  readonly poolSize?: number;
  readonly clock?: Clock;
  /** Sees every statement and its duration (diagnostics, benchmarks, statement-count tests). */
  readonly onQuery?: QueryListener;
}

/**
 * Connects to PostgreSQL through a `pg` pool and migrates the database.
 *
 * @example
 *   const store = await openPostgresStore('postgres://scimitar@localhost/scimitar', { poolSize: 20 });
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, types: { getTypeParser } });
  // An idle client losing its connection (server restart) must not crash the process; the next
  // query through the pool gets a fresh connection or a real error.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }), ...queryLog(options.onQuery) });
  try {
    await migrate(db, postgresBackend);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  // Every node of a deployment must use the same key file: configure it (SCIMITAR_AUDIT_KEY_FILE).
  const auditKey = resolveAuditKey(options, DEFAULT_POSTGRES_AUDIT_KEY_FILE);
  return openKyselyStore({ db, backend: postgresBackend, auditKey, ...(options.clock ? { clock: options.clock } : {}) });
}

/**
 * Runs statements the process has already seen as named prepared statements, so PostgreSQL parses
 * and plans them once per connection rather than on every call (what better-sqlite3's prepared
 * statements give SQLite). Only parameterised statements whose SQL repeats get a name, and at most
 * `limit` of them, so one-off SQL (a 10,000-member insert) never piles up on the server.
 */
function preparingPool(pool: pg.Pool, limit = 500): PostgresPool {
  const seen = new Map<string, number>();
  const names = new Map<string, string>();
  const nameFor = (text: string, parameters: ReadonlyArray<unknown>): string | undefined => {
    // Long SQL is a bulk statement (its text varies with the number of rows): never remembered.
    if (parameters.length === 0 || text.length > 8192) return undefined;
    const name = names.get(text);
    if (name || names.size >= limit) return name;
    const count = (seen.get(text) ?? 0) + 1;
    if (count < 2) {
      if (seen.size < limit * 4) seen.set(text, count);
      return undefined;
    }
    seen.delete(text);
    const fresh = `scimitar_${names.size + 1}`;
    names.set(text, fresh);
    return fresh;
  };
  return {
    async connect() {
      const client = await pool.connect();
      const wrapped = {
        query(textOrCursor: string | object, parameters?: ReadonlyArray<unknown>) {
          if (typeof textOrCursor !== 'string') return client.query(textOrCursor as never);
          const values = [...(parameters ?? [])];
          const name = nameFor(textOrCursor, values);
          return name ? client.query({ name, text: textOrCursor, values }) : client.query(textOrCursor, values);
        },
        release: (destroy?: boolean) => client.release(destroy),
      };
      return wrapped as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}

const INT8 = 20;

/** BIGINT (revisions, versions, seq, counts) as a number while it is a safe integer; text beyond. */
function parseInt8(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
  oid === INT8 && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser;

function constraintViolation(err: unknown): ConstraintViolation | undefined {
  if (!(err instanceof Error) || !('code' in err)) return undefined;
  const { code, constraint } = err as { code: unknown; constraint?: string };
  if (code === '23505') return { kind: 'unique', detail: constraint ?? err.message };
  if (code === '23503') return { kind: 'foreign_key', detail: constraint ?? err.message };
  return undefined;
}
