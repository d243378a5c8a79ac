import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { findPgBinDir, startPgServer } from '../test/setup/pg-server.js';

/** The PostgreSQL settings the benchmark runs with, besides the listen address: durability stays ON. */
export const BENCH_PG_SETTINGS: readonly string[] = [
  // Defaults restated so the result file says what was measured: every commit waits for its WAL flush.
  'fsync=on',
  'synchronous_commit=on',
  'full_page_writes=on',
  'max_connections=100',
];

export interface BenchPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (the maintenance database). */
  readonly adminUrl: string;
  readonly version: string;
  readonly settings: readonly string[];
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway PostgreSQL server for a benchmark: `initdb` into a temp dir, 127.0.0.1 on a
 * free port, its unix socket in the temp dir, normal durability (the test run's server, started by the
 * same `startPgServer`, has durability off).
 *
 * @example
 *   const pgs = await startBenchPostgres();
 *   const url = await pgs.createDatabase('scimitar_bench');
 *   ...
 *   await pgs.stop();
 */
export async function startBenchPostgres(options: { bindir?: string; keep?: boolean } = {}): Promise<BenchPostgres> {
  const bindir = options.bindir ?? findPgBinDir();
  if (!bindir) throw new Error('PostgreSQL binaries not found (looked for /usr/lib/postgresql/*/bin and `pg_config --bindir`); set BENCH_PG_URL');
  const dir = await mkdtemp(join(tmpdir(), 'scimitar-bench-pg-'));
  const server = await startPgServer({ bindir, dir, settings: BENCH_PG_SETTINGS, ...(options.keep ? { keep: true } : {}) });
  const { adminUrl } = server;
  const version = await query<{ server_version: string }>(adminUrl, 'show server_version').then((r) => r[0]!.server_version);
  return {
    adminUrl,
    version,
    settings: BENCH_PG_SETTINGS,
    createDatabase: (name) => createDatabase(adminUrl, name),
    stop: () => server.stop(),
  };
}

/** Uses a server someone else runs (BENCH_PG_URL): creates and later drops only its own database. */
export async function externalBenchPostgres(adminUrl: string): Promise<BenchPostgres> {
  const created: string[] = [];
  const version = await query<{ server_version: string }>(adminUrl, 'show server_version').then((r) => r[0]!.server_version);
  const settings = await query<{ name: string; setting: string }>(
    adminUrl,
    `select name, setting from pg_settings where name in ('fsync','synchronous_commit','full_page_writes','shared_buffers','max_connections') order by name`,
  ).then((rows) => rows.map((r) => `${r.name}=${r.setting}`));
  return {
    adminUrl,
    version,
    settings,
    async createDatabase(name) {
      const url = await createDatabase(adminUrl, name);
      created.push(name);
      return url;
    },
    async stop() {
      for (const name of created) await query(adminUrl, `drop database if exists "${name}" with (force)`).catch(() => undefined);
    },
  };
}

async function createDatabase(adminUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name \`${name}\``);
  await query(adminUrl, `drop database if exists "${name}" with (force)`);
  await query(adminUrl, `create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function query<T extends object>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}
