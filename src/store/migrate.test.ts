import { Kysely, SqliteDialect } from 'kysely';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, splitSqlStatements } from './migrate.js';
import { sqliteBackend } from './sqlite/open-sqlite-store.js';
import type { Database } from './tables.js';

describe('splitSqlStatements', () => {
  it('splits at top-level semicolons only', () => {
    const script = `
      -- a comment; with a semicolon
      CREATE TABLE a (x TEXT DEFAULT 'a;b'); /* block; comment */
      CREATE TABLE "b;c" (y INT);
      CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;
    `;
    expect(splitSqlStatements(script)).toEqual([
      "CREATE TABLE a (x TEXT DEFAULT 'a;b')",
      'CREATE TABLE "b;c" (y INT)',
      'CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql',
    ]);
  });
});

describe('migrate', () => {
  it('applies each migration once and records it', async () => {
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
    expect(await migrate(db, sqliteBackend)).toEqual(['001_init', '002_policy', '003_audit']);
    expect(await migrate(db, sqliteBackend)).toEqual([]);
    const applied = await db.selectFrom('schema_migrations').select('version').execute();
    expect(applied.map((r) => r.version)).toEqual(['001_init', '002_policy', '003_audit']);
    await db.destroy();
  });

  it('refuses a database migrated by a newer build', async () => {
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
    await migrate(db, sqliteBackend);
    await db.insertInto('schema_migrations').values({ version: '999_future', applied_at: 'x' }).execute();
    await expect(migrate(db, sqliteBackend)).rejects.toMatchObject({ code: 'internal' });
    await db.destroy();
  });
});
