import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { findPgBinDir, pgCommand, startPgServer } from './pg-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server for this test run (`postgres://…/postgres`); absent when none could be had. */
    pgUrl?: string;
    /** Test databases are named `<prefix>_<random>`; teardown drops every one of them. */
    pgDatabasePrefix?: string;
  }
}

/**
 * vitest globalSetup: gives the run a PostgreSQL server, so the PostgreSQL store and e2e suites run
 * in every `npm test`, like the SQLite ones.
 *
 * - `SCIMITAR_TEST_PG_URL` set: that server is used (each test file creates its own database on it).
 * - otherwise a throwaway server is started from the local binaries (`initdb` into a temp dir, on
 *   127.0.0.1 and a free port, durability off) and removed at the end. PostgreSQL refuses to run as
 *   root, so under root it runs as the `postgres` user.
 * - no binaries: in CI (`CI` set) that is a failure; elsewhere the PostgreSQL suites skip loudly.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const prefix = `scimitar_test_${randomBytes(3).toString('hex')}`;
  const external = process.env['SCIMITAR_TEST_PG_URL'];
  if (external) {
    project.provide('pgUrl', external);
    project.provide('pgDatabasePrefix', prefix);
    return () => dropTestDatabases(external, prefix);
  }

  const bindir = findPgBinDir();
  if (!bindir) {
    const message =
      'PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and `pg_config --bindir`): ' +
      'install them (`apt-get install postgresql`) or set SCIMITAR_TEST_PG_URL to a server';
    if (process.env['CI']) throw new Error(`${message}; CI must run the PostgreSQL suites`);
    console.warn(`\n\x1b[33m⚠ ${message}. PostgreSQL tests are SKIPPED.\x1b[0m\n`);
    return async () => undefined;
  }

  reapAbandonedServers(bindir);
  // A run that exits without teardown (vitest exits on Ctrl-C) still stops the server, even one
  // still starting; a run killed outright leaves it to the next run's reaper.
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  const onExit = () => {
    stopServerSync(bindir, dir);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  // A test server: durability off, many connections (every test file opens its own pool).
  const server = await startPgServer({
    bindir,
    dir,
    settings: ['fsync=off', 'full_page_writes=off', 'synchronous_commit=off', 'max_connections=300'],
    initdbFlags: ['--no-sync'],
    afterInit: () => writeFileSync(join(dir, OWNER_FILE), String(process.pid)),
    stopMode: 'immediate',
  });
  project.provide('pgUrl', server.adminUrl);
  project.provide('pgDatabasePrefix', prefix);
  return async () => {
    process.off('exit', onExit);
    await server.stop();
  };
}

const DIR_PREFIX = 'scimitar-pg-';
const OWNER_FILE = 'owner.pid';

/**
 * Stops and removes throwaway servers of earlier runs that died without teardown (SIGKILL): each
 * server's folder names the test process that owns it, and one whose owner is gone is abandoned.
 */
function reapAbandonedServers(bindir: string): void {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(DIR_PREFIX))) {
    const dir = join(tmpdir(), name);
    let owner: number | undefined;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      // A run starting right now writes the file after initdb; a folder without one for minutes
      // belongs to a run killed while starting.
      if (Date.now() - statSync(dir).mtimeMs < 10 * 60_000) continue;
    }
    if (owner !== undefined && Number.isInteger(owner) && owner > 0 && alive(owner)) continue;
    stopServerSync(bindir, dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function stopServerSync(bindir: string, dir: string): void {
  const data = join(dir, 'data');
  if (!existsSync(join(data, 'postmaster.pid'))) return;
  try {
    const [file, argv] = pgCommand(bindir, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    execFileSync(file, argv, { stdio: 'ignore', timeout: 30_000 });
  } catch {
    // already stopped
  }
}

/** On a server we do not own, remove what this run created (and nothing else). */
async function dropTestDatabases(url: string, prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [
      `${prefix}\\_%`,
    ]);
    for (const { datname } of rows) await client.query(`drop database if exists "${datname}" with (force)`);
  } finally {
    await client.end();
  }
}
