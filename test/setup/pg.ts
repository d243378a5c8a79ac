import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/**
 * Creates a fresh, empty database on the run's PostgreSQL server (see `postgres.global.ts`) and
 * returns its URL, so each test file (or test) has a database of its own. Teardown drops them.
 *
 * @example
 *   const url = await createTestDatabase(); // postgres://postgres@127.0.0.1:54012/scimitar_test_3fa2c1_9b0e2d41
 */
export async function createTestDatabase(): Promise<string> {
  const server = inject('pgUrl');
  const prefix = inject('pgDatabasePrefix');
  if (!server || !prefix) throw new Error(`no PostgreSQL server in this test run: ${POSTGRES_MISSING}`);
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Whether this run has a PostgreSQL server; suites use it with `describe.runIf`. */
export function hasPostgres(): boolean {
  return Boolean(inject('pgUrl'));
}

export const POSTGRES_MISSING =
  'install the PostgreSQL server binaries (`apt-get install postgresql`) or set SCIMITAR_TEST_PG_URL';

/** Says out loud that a PostgreSQL suite did not run, so a skip is never silent. */
export function warnPostgresSkipped(suite: string): void {
  console.warn(`\x1b[33m⚠ ${suite}: SKIPPED, no PostgreSQL server — ${POSTGRES_MISSING}\x1b[0m`);
}
