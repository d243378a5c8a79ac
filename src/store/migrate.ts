import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { AppError } from '../core/errors.js';
import type { StoreBackend } from './backend.js';
import { inWriteTransaction } from './write-transaction.js';
import type { Database } from './tables.js';

/**
 * A small migration runner: numbered SQL files per dialect (`migrations/sqlite/001_init.sql`), a
 * `schema_migrations` table naming the applied ones, and one transaction for the whole run, so a
 * failed migration leaves the database as it was. Running it again applies nothing.
 *
 * Returns the versions it applied (e.g. `['001_init']`).
 */
export async function migrate(
  db: Kysely<Database>,
  backend: Pick<StoreBackend, 'migrations' | 'beginWrite' | 'migrationLock'>,
): Promise<string[]> {
  const files = await migrationFiles(backend.migrations);
  return inWriteTransaction(db, backend, async (conn) => {
    if (backend.migrationLock) await sql.raw(backend.migrationLock).execute(conn);
    await sql
      .raw('CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)')
      .execute(conn);
    const applied = new Set((await conn.selectFrom('schema_migrations').select('version').execute()).map((r) => r.version));
    const known = new Set(files.map((f) => f.version));
    const unknown = [...applied].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      throw new AppError('internal', `database has migrations this build does not know: \`${unknown.join(', ')}\``);
    }
    const done: string[] = [];
    for (const file of files) {
      if (applied.has(file.version)) continue;
      const text = await readFile(file.path, 'utf8');
      for (const statement of splitSqlStatements(text)) await sql.raw(statement).execute(conn);
      await conn
        .insertInto('schema_migrations')
        .values({ version: file.version, applied_at: new Date().toISOString() })
        .execute();
      done.push(file.version);
    }
    return done;
  });
}

interface MigrationFile {
  readonly version: string;
  readonly path: string;
}

async function migrationFiles(dialect: string): Promise<MigrationFile[]> {
  const dir = `${migrationsRoot()}/${dialect}`;
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  return names.map((name) => {
    if (!/^\d{3}_[a-z0-9_]+\.sql$/.test(name)) {
      throw new AppError('internal', `migration file \`${name}\` is not named like \`001_init.sql\``);
    }
    return { version: name.slice(0, -'.sql'.length), path: `${dir}/${name}` };
  });
}

/**
 * The migrations ship as SQL under `src/store/migrations` (package.json `files`), while the code
 * runs either from `src/store/*.ts` (vitest, tsx) or from the build in `dist/store/*.js`.
 */
export function migrationsRoot(): string {
  const candidates = [new URL('./migrations', import.meta.url), new URL('../../src/store/migrations', import.meta.url)];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(`${path}/sqlite`)) return path;
  }
  throw new AppError('internal', `migrations folder not found next to \`${fileURLToPath(import.meta.url)}\``);
}

/**
 * Splits a SQL script into statements at top-level semicolons, skipping comments and quoted text
 * (`'…'`, `"…"`, `$tag$…$tag$`), because a prepared statement holds exactly one statement.
 */
export function splitSqlStatements(script: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  while (i < script.length) {
    const ch = script[i]!;
    const next = script[i + 1];
    if (ch === '-' && next === '-') {
      const end = script.indexOf('\n', i);
      i = end === -1 ? script.length : end + 1;
      current += '\n';
      continue;
    }
    if (ch === '/' && next === '*') {
      const end = script.indexOf('*/', i + 2);
      i = end === -1 ? script.length : end + 2;
      current += ' ';
      continue;
    }
    if (ch === "'" || ch === '"') {
      let j = i + 1;
      while (j < script.length) {
        if (script[j] === ch) {
          if (script[j + 1] === ch) j += 2;
          else break;
        } else j++;
      }
      current += script.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (ch === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(script.slice(i))?.[0];
      if (tag) {
        const end = script.indexOf(tag, i + tag.length);
        const stop = end === -1 ? script.length : end + tag.length;
        current += script.slice(i, stop);
        i = stop;
        continue;
      }
    }
    if (ch === ';') {
      if (current.trim()) statements.push(current.trim());
      current = '';
      i++;
      continue;
    }
    current += ch;
    i++;
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}
