import { AppError } from '../core/errors.js';
import type { AuditKeyOptions } from '../audit/keys.js';
import type { Store } from './store.js';

/**
 * Opens the store a database URL names, migrating it:
 *
 * - `postgres://…` or `postgresql://…` → PostgreSQL
 * - `sqlite:./data/x.db`, `sqlite:///abs/x.db`, `sqlite::memory:` or a bare path → SQLite
 *
 * Each backend is imported on demand, so a SQLite deployment never loads `pg` and a PostgreSQL one
 * never loads the native SQLite module. The audit key (which chains the change log) comes from
 * `options`, or from a file created beside a SQLite database or in `./data` for PostgreSQL.
 *
 * @example
 *   const store = await openStore(config.database); // 'sqlite:./data/scimitar.db'
 */
export interface OpenStoreOptions extends AuditKeyOptions {
  /** SQLite: checkpoint the WAL off the event loop, for a long-running server (see `openSqliteStore`). */
  readonly backgroundCheckpoints?: boolean;
}

export async function openStore(databaseUrl: string, options: OpenStoreOptions = {}): Promise<Store> {
  const target = parseDatabaseUrl(databaseUrl);
  if (target.kind === 'postgres') {
    const { openPostgresStore } = await import('./postgres/open-postgres-store.js');
    return openPostgresStore(target.url, options);
  }
  const { openSqliteStore } = await import('./sqlite/open-sqlite-store.js');
  return openSqliteStore(target.path, options);
}

export type DatabaseTarget = { readonly kind: 'postgres'; readonly url: string } | { readonly kind: 'sqlite'; readonly path: string };

/** Which backend a database URL names (see `openStore`); `invalid_value` for anything else. */
export function parseDatabaseUrl(databaseUrl: string): DatabaseTarget {
  const url = databaseUrl.trim();
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', url };
  if (/^sqlite:/i.test(url)) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') throw new AppError('invalid_value', `database url \`${url}\` names no file`);
    return { kind: 'sqlite', path };
  }
  // Anything else with a scheme is a database we do not speak; never echo credentials back.
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (scheme) throw new AppError('invalid_value', `database url scheme \`${scheme}\` is not supported (use sqlite: or postgres://)`);
  if (url === '') throw new AppError('invalid_value', 'database url is empty');
  return { kind: 'sqlite', path: url };
}
