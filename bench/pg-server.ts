import { execFile as execFileCallback, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './scim/process.js';

const execFile = promisify(execFileCallback);

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
 * free port, its unix socket in the temp dir, normal durability. Under root it runs as the
 * `postgres` user (PostgreSQL refuses root). `test/setup/postgres.global.ts` starts one for tests,
 * but with durability off (fsync, synchronous_commit) and not as an exported function, so the
 * benchmark has its own.
 *
 * @example
 *   const pgs = await startBenchPostgres();
 *   const url = await pgs.createDatabase('scimitar_bench');
 *   ...
 *   await pgs.stop();
 */
export async function startBenchPostgres(options: { bindir?: string; keep?: boolean } = {}): Promise<BenchPostgres> {
  const bindir = options.bindir ?? findBinDir();
  if (!bindir) throw new Error('PostgreSQL binaries not found (looked for /usr/lib/postgresql/15/bin and `pg_config --bindir`); set BENCH_PG_URL');
  const dir = await mkdtemp(join(tmpdir(), 'scimitar-bench-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const asRoot = process.getuid?.() === 0;
  const run = (program: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bindir, program), ...args]]
      : [join(bindir, program), args];
    return execFile(file, argv, { cwd: dir, timeout: 120_000 });
  };
  const cleanup = async () => {
    await run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']).catch(() => undefined);
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  };

  try {
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      await chown(dir, uid, gid);
    }
    await run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8']);
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const settings = ['listen_addresses=127.0.0.1', `port=${port}`, `unix_socket_directories=${dir}`, ...BENCH_PG_SETTINGS];
      try {
        await run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', settings.map((s) => `-c ${s}`).join(' '), 'start']);
      } catch (err) {
        lastError = err;
        continue; // most likely the port was taken between probing and binding
      }
      const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
      const version = await query<{ server_version: string }>(adminUrl, 'show server_version').then((r) => r[0]!.server_version);
      return {
        adminUrl,
        version,
        settings: BENCH_PG_SETTINGS,
        createDatabase: (name) => createDatabase(adminUrl, name),
        stop: cleanup,
      };
    }
    const serverLog = await readFile(log, 'utf8').catch(() => '');
    throw new Error(`could not start PostgreSQL: ${String(lastError)}\n${serverLog}`);
  } catch (err) {
    await cleanup();
    throw err;
  }
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

function findBinDir(): string | undefined {
  const preferred = '/usr/lib/postgresql/15/bin';
  if (existsSync(join(preferred, 'initdb'))) return preferred;
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (dir && existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    // no pg_config on PATH
  }
  return undefined;
}
