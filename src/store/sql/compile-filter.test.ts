import BetterSqlite3 from 'better-sqlite3';
import fc from 'fast-check';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteDialect,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type Dialect,
  type Expression,
  type SqlBool,
} from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, hasPostgres, warnPostgresSkipped } from '../../../test/setup/pg.js';
import type { ResourceTypeDef, SchemaDef } from '../../core/attribute.js';
import { AppError } from '../../core/errors.js';
import type { AttrPath, CompareOp, Filter, FilterValue, ResolvedAttr } from '../../core/filter.js';
import { evaluateFilter, parseFilter, printFilter, resolveFilter } from '../../scim/filter/index.js';
import { attr } from '../../scim/schema/define.js';
import { findSubAttribute, findTopAttribute } from '../../scim/schema/lookup.js';
import { groupResourceType, userResourceType } from '../../scim/schema/resource-types.js';
import { ENTERPRISE_USER_SCHEMA as ENTERPRISE } from '../../scim/schema/urns.js';
import { compileFilter, compileSortKey, type FilterTarget } from './compile-filter.js';
import { postgresDialect, sqliteDialect, type SqlDialect } from './dialect.js';
import type { Database } from '../tables.js';

// ---- schemas and paths --------------------------------------------------------------------------

/**
 * A made-up extension with the attribute kinds no real schema has (numbers, multi-valued simple
 * attributes), so the compiler's general paths are exercised too; the evaluator reads any
 * non-core schema as an extension under `resource[urn]`, as the compiler reads `doc[urn]`.
 */
const PROBE = 'urn:example:params:scim:schemas:extension:probe:2.0:User';
const probeSchema: SchemaDef = {
  id: PROBE,
  name: 'Probe',
  description: 'test-only attributes',
  attributes: [
    attr('level', 'integer', 'an integer'),
    attr('score', 'decimal', 'a decimal'),
    attr('tags', 'string', 'multi-valued strings', { multiValued: true }),
    attr('flags', 'boolean', 'multi-valued booleans', { multiValued: true }),
  ],
};
const USER: ResourceTypeDef = {
  ...userResourceType,
  extensions: [...userResourceType.extensions, { schema: probeSchema, required: false }],
};
const GROUP: ResourceTypeDef = groupResourceType;
const RESOURCE_TYPES = { User: USER, Group: GROUP } as const;
type Type = keyof typeof RESOURCE_TYPES;

/**
 * `path('User', 'emails.type')`, `path('User', 'manager.value', ENTERPRISE)`. Shown by name in
 * fast-check counterexamples instead of as whole attribute definitions.
 */
function path(type: Type, name: string, uri?: string): ResolvedAttr {
  const [attrName, subName] = name.split('.') as [string, string | undefined];
  const top = findTopAttribute(RESOURCE_TYPES[type], uri, attrName);
  if (top === undefined) throw new Error(`no attribute ${name}`);
  const sub = subName === undefined ? undefined : findSubAttribute(top.def, subName);
  if (subName !== undefined && sub === undefined) throw new Error(`no attribute ${name}`);
  const label = `${uri === undefined ? '' : `${uri}:`}${name}`;
  return { schema: top.schema, top: top.def, ...(sub ? { sub } : {}), [fc.toStringMethod]: () => label } as ResolvedAttr;
}

function resolved(type: Type, text: string): Filter<ResolvedAttr> {
  const parsed = parseFilter(text);
  const result = parsed.ok ? resolveFilter(parsed.value, RESOURCE_TYPES[type]) : parsed;
  if (!result.ok) throw new Error(`test filter \`${text}\` rejected: ${result.error.detail}`);
  return result.value;
}

/** A resolved filter written back as text, for failure messages. */
function shown(filter: Filter<ResolvedAttr>): string {
  const written = (p: ResolvedAttr, inBracket: boolean): AttrPath => {
    if (inBracket && p.sub !== undefined) return { attr: p.sub.name };
    const core = p.schema === USER.schema.id || p.schema === GROUP.schema.id;
    return { ...(core ? {} : { uri: p.schema }), attr: p.top.name, ...(p.sub ? { sub: p.sub.name } : {}) };
  };
  const convert = (f: Filter<ResolvedAttr>, inBracket: boolean): Filter<AttrPath> => {
    switch (f.kind) {
      case 'and':
      case 'or':
        return { kind: f.kind, left: convert(f.left, inBracket), right: convert(f.right, inBracket) };
      case 'not':
        return { kind: 'not', filter: convert(f.filter, inBracket) };
      case 'present':
        return { kind: 'present', path: written(f.path, inBracket) };
      case 'compare':
        return { kind: 'compare', path: written(f.path, inBracket), op: f.op, value: f.value };
      case 'valuePath':
        return { kind: 'valuePath', path: written(f.path, false), filter: convert(f.filter, true) };
    }
  };
  return printFilter(convert(filter, false));
}

// ---- data: stored rows and their rendering ------------------------------------------------------

interface Row {
  readonly id: string;
  readonly doc: Record<string, unknown>;
  readonly created: string;
  readonly lastModified: string;
  readonly version: number;
}

interface Membership {
  readonly group: string;
  readonly member: string;
  readonly type: 'User' | 'Group';
}

interface Dataset {
  readonly users: readonly Row[];
  readonly groups: readonly Row[];
  readonly members: readonly Membership[];
}

type Resource = Record<string, unknown>;

/** Resources as the server renders them: the document plus `id`, `meta`, and `groups` or `members`. */
function render(type: Type, data: Dataset): Map<string, Resource> {
  const meta = (row: Row) => ({
    resourceType: type,
    created: row.created,
    lastModified: row.lastModified,
    version: `W/"${row.version}"`,
  });
  const out = new Map<string, Resource>();
  if (type === 'User') {
    for (const row of data.users) out.set(row.id, { ...row.doc, id: row.id, meta: meta(row), groups: groupsOf(row.id, data) });
  } else {
    for (const row of data.groups) {
      const members = data.members
        .filter((m) => m.group === row.id)
        .map((m) => {
          const target = (m.type === 'User' ? data.users : data.groups).find((r) => r.id === m.member);
          const display =
            m.type === 'User' ? (target?.doc['displayName'] ?? target?.doc['userName']) : target?.doc['displayName'];
          return { value: m.member, type: m.type, ...(display !== undefined ? { display } : {}) };
        });
      out.set(row.id, { ...row.doc, id: row.id, meta: meta(row), members });
    }
  }
  return out;
}

/** Direct groups, then every group reachable through group-in-group memberships (as the store reads them). */
function groupsOf(userId: string, data: Dataset): Resource[] {
  const depth = new Map<string, number>();
  let frontier = data.members.filter((m) => m.type === 'User' && m.member === userId).map((m) => m.group);
  for (const g of frontier) depth.set(g, 0);
  while (frontier.length > 0) {
    const next = data.members.filter((m) => m.type === 'Group' && frontier.includes(m.member)).map((m) => m.group);
    frontier = next.filter((g) => !depth.has(g));
    for (const g of frontier) depth.set(g, 1);
  }
  return data.groups
    .filter((g) => depth.has(g.id))
    .map((g) => ({ value: g.id, display: g.doc['displayName'], type: depth.get(g.id) === 0 ? 'direct' : 'indirect' }));
}

function idsMatching(type: Type, data: Dataset, filter: Filter<ResolvedAttr>): string[] {
  return [...render(type, data)].filter(([, resource]) => evaluateFilter(filter, resource)).map(([id]) => id).sort();
}

// ---- databases ----------------------------------------------------------------------------------

/** The store's own table types: the test lays the same tables out in `ddl` below. */
type TestTables = Pick<Database, 'users' | 'groups' | 'group_members'>;

interface Backend {
  readonly name: 'sqlite' | 'postgres';
  readonly dialect: SqlDialect;
  readonly db: Kysely<TestTables>;
  readonly bool: (value: boolean) => number | boolean;
}

/** The tables as the store's migrations lay them out (only what filters read). */
function ddl(name: Backend['name']): string[] {
  const serial = name === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY';
  const json = name === 'sqlite' ? 'TEXT' : 'JSONB';
  const bool = name === 'sqlite' ? 'INTEGER' : 'BOOLEAN';
  return [
    `CREATE TABLE users (seq ${serial}, tenant_id TEXT NOT NULL, id TEXT NOT NULL, user_name TEXT NOT NULL,
       user_name_lc TEXT NOT NULL, external_id TEXT, display_name TEXT, active ${bool} NOT NULL, doc ${json} NOT NULL,
       version BIGINT NOT NULL, created TEXT NOT NULL, last_modified TEXT NOT NULL, UNIQUE (tenant_id, id))`,
    `CREATE TABLE groups (seq ${serial}, tenant_id TEXT NOT NULL, id TEXT NOT NULL, display_name TEXT NOT NULL,
       display_name_lc TEXT NOT NULL, external_id TEXT, doc ${json} NOT NULL, version BIGINT NOT NULL,
       created TEXT NOT NULL, last_modified TEXT NOT NULL, UNIQUE (tenant_id, id))`,
    `CREATE TABLE group_members (tenant_id TEXT NOT NULL, group_id TEXT NOT NULL, member_id TEXT NOT NULL,
       member_type TEXT NOT NULL, PRIMARY KEY (tenant_id, group_id, member_id))`,
  ];
}

async function openSqlite(): Promise<Backend> {
  const conn = new BetterSqlite3(':memory:');
  // As the store registers it on every connection.
  conn.function('scim_lower', { deterministic: true }, (value: unknown) =>
    value === null || value === undefined ? null : String(value).toLowerCase(),
  );
  for (const statement of ddl('sqlite')) conn.exec(statement);
  const db = new Kysely<TestTables>({ dialect: new SqliteDialect({ database: conn }) });
  return { name: 'sqlite', dialect: sqliteDialect, db, bool: (v) => (v ? 1 : 0) };
}

async function openPostgres(): Promise<Backend> {
  const pool = new pg.Pool({ connectionString: await createTestDatabase(), max: 2 });
  const db = new Kysely<TestTables>({ dialect: new PostgresDialect({ pool }) });
  for (const statement of ddl('postgres')) await pool.query(statement);
  return { name: 'postgres', dialect: postgresDialect, db, bool: (v) => v };
}

/** Replaces everything with `tenants` (tenant id → data). */
async function load(backend: Backend, tenants: Readonly<Record<string, Dataset>>): Promise<void> {
  const { db } = backend;
  await db.deleteFrom('group_members').execute();
  await db.deleteFrom('users').execute();
  await db.deleteFrom('groups').execute();
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  for (const [tenant, data] of Object.entries(tenants)) {
    const base = (r: Row) => ({
      seq: undefined,
      tenant_id: tenant,
      id: r.id,
      external_id: str(r.doc['externalId']),
      doc: JSON.stringify(r.doc),
      version: r.version,
      created: r.created,
      last_modified: r.lastModified,
    });
    if (data.users.length > 0) {
      await db
        .insertInto('users')
        .values(
          data.users.map((r) => {
            const userName = String(r.doc['userName']);
            return {
              ...base(r),
              user_name: userName,
              user_name_lc: userName.toLowerCase(),
              display_name: str(r.doc['displayName']),
              active: backend.bool(r.doc['active'] !== false),
            };
          }),
        )
        .execute();
    }
    if (data.groups.length > 0) {
      await db
        .insertInto('groups')
        .values(
          data.groups.map((r) => {
            const displayName = String(r.doc['displayName']);
            return { ...base(r), display_name: displayName, display_name_lc: displayName.toLowerCase() };
          }),
        )
        .execute();
    }
    if (data.members.length > 0) {
      await db
        .insertInto('group_members')
        .values(data.members.map((m) => ({ tenant_id: tenant, group_id: m.group, member_id: m.member, member_type: m.type })))
        .execute();
    }
  }
}

const TENANT = 't1';

function target(backend: Backend, type: Type): FilterTarget {
  return { type, dialect: backend.dialect, table: 'r' };
}

function from(backend: Backend, type: Type) {
  return backend.db.selectFrom(`${type === 'User' ? 'users' : 'groups'} as r` as 'users as r').where('r.tenant_id', '=', TENANT);
}

async function query(backend: Backend, type: Type, filter: Filter<ResolvedAttr>): Promise<string[]> {
  const rows = await from(backend, type).select('r.id').where(compileFilter(filter, target(backend, type))).execute();
  return rows.map((r) => r.id).sort();
}

async function sorted(backend: Backend, type: Type, by: ResolvedAttr, descending: boolean): Promise<string[]> {
  const key = compileSortKey(by, target(backend, type));
  const rows = await from(backend, type)
    .select('r.id')
    .orderBy(key, (ob) => (descending ? ob.desc() : ob.asc()).nullsLast())
    .orderBy('r.seq', 'asc')
    .execute();
  return rows.map((r) => r.id);
}

// ---- SQL text, per dialect (Kysely's `testSql`) ---------------------------------------------------

function compilerFor(dialect: 'sqlite' | 'postgres'): Kysely<TestTables> {
  const compilerDialect: Dialect =
    dialect === 'sqlite'
      ? {
          createAdapter: () => new SqliteAdapter(),
          createDriver: () => new DummyDriver(),
          createIntrospector: (db) => new SqliteIntrospector(db),
          createQueryCompiler: () => new SqliteQueryCompiler(),
        }
      : {
          createAdapter: () => new PostgresAdapter(),
          createDriver: () => new DummyDriver(),
          createIntrospector: (db) => new PostgresIntrospector(db),
          createQueryCompiler: () => new PostgresQueryCompiler(),
        };
  return new Kysely<TestTables>({ dialect: compilerDialect });
}

const COMPILERS = { sqlite: compilerFor('sqlite'), postgres: compilerFor('postgres') };
const DIALECTS = { sqlite: sqliteDialect, postgres: postgresDialect };

/** The WHERE clause (after the fixed `select … where `) and the parameters. */
function whereSql(dialect: 'sqlite' | 'postgres', type: Type, condition: (t: FilterTarget) => Expression<SqlBool>) {
  const table = type === 'User' ? 'users' : 'groups';
  const compiled = COMPILERS[dialect]
    .selectFrom(`${table} as r` as 'users as r')
    .select('r.id')
    .where(condition({ type, dialect: DIALECTS[dialect], table: 'r' }))
    .compile();
  const prefix = `select "r"."id" from "${table}" as "r" where `;
  expect(compiled.sql.startsWith(prefix)).toBe(true);
  return { sql: compiled.sql.slice(prefix.length), parameters: compiled.parameters };
}

function orderSql(dialect: 'sqlite' | 'postgres', type: Type, by: ResolvedAttr) {
  const table = type === 'User' ? 'users' : 'groups';
  const compiled = COMPILERS[dialect]
    .selectFrom(`${table} as r` as 'users as r')
    .select('r.id')
    .orderBy(compileSortKey(by, { type, dialect: DIALECTS[dialect], table: 'r' }))
    .compile();
  const prefix = `select "r"."id" from "${table}" as "r" order by `;
  expect(compiled.sql.startsWith(prefix)).toBe(true);
  return { sql: compiled.sql.slice(prefix.length), parameters: compiled.parameters };
}

// ---- the case table -------------------------------------------------------------------------------

const createdAt = (iso: string) => ({ created: iso, lastModified: iso, version: 1 });

/** RFC 7643 §8-style users and groups: Barbara is in Tour Guides, which is in Staff; Ana is in Staff. */
const FIXTURE: Dataset = {
  users: [
    {
      id: 'u-barbara',
      doc: {
        userName: 'BJensen',
        externalId: 'bjensen',
        displayName: 'Babs Jensen',
        title: 'Tour Guide',
        name: { givenName: 'Barbara', familyName: 'Jensen' },
        emails: [
          { value: 'bjensen@example.com', type: 'work', primary: true },
          { value: 'babs@jensen.org', type: 'home' },
        ],
        active: true,
        [ENTERPRISE]: { department: 'Tour Operations', manager: { value: 'u-kim', displayName: 'Kim' } },
        [PROBE]: { level: 3, tags: ['Blue', 'green'] },
      },
      created: '2025-06-01T08:00:00.000Z',
      lastModified: '2026-02-03T10:00:00.000Z',
      version: 3,
    },
    {
      id: 'u-ana',
      doc: {
        userName: 'ana@x.com',
        title: 'Engineering Manager',
        emails: [
          { value: 'ana@x.com', type: 'home' },
          { value: 'ana@corp.example', type: 'work', primary: true },
        ],
        active: true,
        [ENTERPRISE]: { department: 'Engineering' },
        [PROBE]: { level: -1, score: 2.5 },
      },
      created: '2025-12-31T23:00:00.000Z',
      lastModified: '2025-12-31T23:00:00.000Z',
      version: 1,
    },
    {
      id: 'u-kim',
      doc: { userName: 'kim', displayName: 'Kim 100%_sure', active: false },
      created: '2024-01-01T00:00:00.000Z',
      lastModified: '2024-01-01T00:00:00.000Z',
      version: 2,
    },
  ],
  groups: [
    { id: 'g-guides', doc: { displayName: 'Tour Guides' }, ...createdAt('2025-01-01T00:00:00.000Z') },
    { id: 'g-staff', doc: { displayName: 'Staff', externalId: 'S1' }, ...createdAt('2025-01-02T00:00:00.000Z') },
    { id: 'g-empty', doc: { displayName: 'Empty' }, ...createdAt('2025-01-03T00:00:00.000Z') },
  ],
  members: [
    { group: 'g-guides', member: 'u-barbara', type: 'User' },
    { group: 'g-staff', member: 'g-guides', type: 'Group' },
    { group: 'g-staff', member: 'u-ana', type: 'User' },
  ],
};

/**
 * A second tenant with the same ids and different facts: a subquery that forgets the tenant reads
 * these and the expected rows no longer come out.
 */
const DECOY: Dataset = {
  users: FIXTURE.users.map((u) => ({ ...u, doc: { ...u.doc, displayName: 'Decoy', userName: `decoy-${u.id}` } })),
  groups: FIXTURE.groups.map((g) => ({ ...g, doc: { displayName: 'Decoy' } })),
  members: [
    { group: 'g-empty', member: 'u-kim', type: 'User' },
    { group: 'g-empty', member: 'g-staff', type: 'Group' },
    { group: 'g-guides', member: 'u-ana', type: 'User' },
  ],
};

interface Case {
  readonly type: Type;
  readonly filter: string;
  readonly rows: readonly string[];
  readonly sqlite?: readonly [string, readonly unknown[]];
  readonly postgres?: readonly [string, readonly unknown[]];
}

const CASES: readonly Case[] = [
  {
    type: 'User',
    filter: 'userName eq "bjensen"',
    rows: ['u-barbara'],
    sqlite: [`"r"."user_name_lc" = ?`, ['bjensen']],
    postgres: [`"r"."user_name_lc" = $1`, ['bjensen']],
  },
  {
    type: 'User',
    filter: 'id eq "u-ana"',
    rows: ['u-ana'],
    sqlite: [`"r"."id" = ?`, ['u-ana']],
    postgres: [`"r"."id" = $1`, ['u-ana']],
  },
  {
    type: 'User',
    filter: 'id eq "U-ANA"',
    rows: [],
    sqlite: [`"r"."id" = ?`, ['U-ANA']],
    postgres: [`"r"."id" = $1`, ['U-ANA']],
  },
  {
    type: 'User',
    filter: 'title co "guide"',
    rows: ['u-barbara'],
    sqlite: [`COALESCE(instr(scim_lower("r"."doc" ->> '$."title"'), ?) > 0, FALSE)`, ['guide']],
    postgres: [`COALESCE(strpos(lower("r"."doc" ->> 'title'), $1) > 0, FALSE)`, ['guide']],
  },
  {
    type: 'User',
    filter: 'not (title co "guide")',
    rows: ['u-ana', 'u-kim'],
    sqlite: [`NOT (COALESCE(instr(scim_lower("r"."doc" ->> '$."title"'), ?) > 0, FALSE))`, ['guide']],
    postgres: [`NOT (COALESCE(strpos(lower("r"."doc" ->> 'title'), $1) > 0, FALSE))`, ['guide']],
  },
  {
    type: 'User',
    filter: 'title ne "tour guide"',
    rows: ['u-ana', 'u-kim'],
    sqlite: [`NOT (COALESCE(scim_lower("r"."doc" ->> '$."title"') = ?, FALSE))`, ['tour guide']],
    postgres: [`NOT (COALESCE(lower("r"."doc" ->> 'title') = $1, FALSE))`, ['tour guide']],
  },
  {
    type: 'User',
    filter: 'externalId eq "bjensen"',
    rows: ['u-barbara'],
    sqlite: [`("r"."external_id" IS NOT NULL AND "r"."external_id" = ?)`, ['bjensen']],
    postgres: [`("r"."external_id" IS NOT NULL AND "r"."external_id" = $1)`, ['bjensen']],
  },
  {
    type: 'User',
    filter: 'not (externalId eq "bjensen")',
    rows: ['u-ana', 'u-kim'],
    sqlite: [`NOT (("r"."external_id" IS NOT NULL AND "r"."external_id" = ?))`, ['bjensen']],
    postgres: [`NOT (("r"."external_id" IS NOT NULL AND "r"."external_id" = $1))`, ['bjensen']],
  },
  {
    type: 'User',
    filter: 'title sw "TOUR" or title ew "manager"',
    rows: ['u-ana', 'u-barbara'],
    sqlite: [`(COALESCE(substr(scim_lower("r"."doc" ->> '$."title"'), 1, ?) = ?, FALSE) OR COALESCE(substr(scim_lower("r"."doc" ->> '$."title"'), ?) = ?, FALSE))`, [4, 'tour', -7, 'manager']],
    postgres: [`(COALESCE(left(lower("r"."doc" ->> 'title'), $1) = $2, FALSE) OR COALESCE(right(lower("r"."doc" ->> 'title'), $3) = $4, FALSE))`, [4, 'tour', 7, 'manager']],
  },
  {
    type: 'User',
    filter: 'displayName co "%_"',
    rows: ['u-kim'],
    sqlite: [`COALESCE(instr(scim_lower("r"."doc" ->> '$."displayName"'), ?) > 0, FALSE)`, ['%_']],
    postgres: [`COALESCE(strpos(lower("r"."doc" ->> 'displayName'), $1) > 0, FALSE)`, ['%_']],
  },
  {
    type: 'User',
    filter: 'displayName co "0_s"',
    rows: [],
    sqlite: [`COALESCE(instr(scim_lower("r"."doc" ->> '$."displayName"'), ?) > 0, FALSE)`, ['0_s']],
    postgres: [`COALESCE(strpos(lower("r"."doc" ->> 'displayName'), $1) > 0, FALSE)`, ['0_s']],
  },
  {
    type: 'User',
    filter: 'userName gt "b" and userName le "kim"',
    rows: ['u-barbara', 'u-kim'],
    sqlite: [`("r"."user_name_lc" > ? AND "r"."user_name_lc" <= ?)`, ['b', 'kim']],
    postgres: [`(("r"."user_name_lc") COLLATE "C" > $1 AND ("r"."user_name_lc") COLLATE "C" <= $2)`, ['b', 'kim']],
  },
  {
    type: 'User',
    filter: 'emails[type eq "work" and value co "@example.com"]',
    rows: ['u-barbara'],
    sqlite: [`EXISTS (SELECT 1 FROM json_each("r"."doc", '$."emails"') AS "el" WHERE (COALESCE(scim_lower("el"."value" ->> '$."type"') = ?, FALSE) AND COALESCE(instr(scim_lower("el"."value" ->> '$."value"'), ?) > 0, FALSE)))`, ['work', '@example.com']],
    postgres: [`EXISTS (SELECT 1 FROM jsonb_array_elements("r"."doc" -> 'emails') AS "el"("value") WHERE (COALESCE(lower("el"."value" ->> 'type') = $1, FALSE) AND COALESCE(strpos(lower("el"."value" ->> 'value'), $2) > 0, FALSE)))`, ['work', '@example.com']],
  },
  {
    type: 'User',
    filter: 'emails[type eq "home" and value co "@corp"]',
    rows: [],
    sqlite: [`EXISTS (SELECT 1 FROM json_each("r"."doc", '$."emails"') AS "el" WHERE (COALESCE(scim_lower("el"."value" ->> '$."type"') = ?, FALSE) AND COALESCE(instr(scim_lower("el"."value" ->> '$."value"'), ?) > 0, FALSE)))`, ['home', '@corp']],
    postgres: [`EXISTS (SELECT 1 FROM jsonb_array_elements("r"."doc" -> 'emails') AS "el"("value") WHERE (COALESCE(lower("el"."value" ->> 'type') = $1, FALSE) AND COALESCE(strpos(lower("el"."value" ->> 'value'), $2) > 0, FALSE)))`, ['home', '@corp']],
  },
  {
    type: 'User',
    filter: 'emails.type eq "home" and emails.value co "@corp"',
    rows: ['u-ana'],
    sqlite: [`(EXISTS (SELECT 1 FROM json_each("r"."doc", '$."emails"') AS "el" WHERE COALESCE(scim_lower("el"."value" ->> '$."type"') = ?, FALSE)) AND EXISTS (SELECT 1 FROM json_each("r"."doc", '$."emails"') AS "el" WHERE COALESCE(instr(scim_lower("el"."value" ->> '$."value"'), ?) > 0, FALSE)))`, ['home', '@corp']],
    postgres: [`(EXISTS (SELECT 1 FROM jsonb_array_elements("r"."doc" -> 'emails') AS "el"("value") WHERE COALESCE(lower("el"."value" ->> 'type') = $1, FALSE)) AND EXISTS (SELECT 1 FROM jsonb_array_elements("r"."doc" -> 'emails') AS "el"("value") WHERE COALESCE(strpos(lower("el"."value" ->> 'value'), $2) > 0, FALSE)))`, ['home', '@corp']],
  },
  {
    type: 'User',
    filter: 'emails co "JENSEN"',
    rows: ['u-barbara'],
    sqlite: [`EXISTS (SELECT 1 FROM json_each("r"."doc", '$."emails"') AS "el" WHERE COALESCE(instr(scim_lower("el"."value" ->> '$."value"'), ?) > 0, FALSE))`, ['jensen']],
    postgres: [`EXISTS (SELECT 1 FROM jsonb_array_elements("r"."doc" -> 'emails') AS "el"("value") WHERE COALESCE(strpos(lower("el"."value" ->> 'value'), $1) > 0, FALSE))`, ['jensen']],
  },
  {
    type: 'User',
    filter: 'emails.type ne "home"',
    rows: ['u-kim'],
    sqlite: [`NOT (EXISTS (SELECT 1 FROM json_each("r"."doc", '$."emails"') AS "el" WHERE COALESCE(scim_lower("el"."value" ->> '$."type"') = ?, FALSE)))`, ['home']],
    postgres: [`NOT (EXISTS (SELECT 1 FROM jsonb_array_elements("r"."doc" -> 'emails') AS "el"("value") WHERE COALESCE(lower("el"."value" ->> 'type') = $1, FALSE)))`, ['home']],
  },
  { type: 'User', filter: 'emails pr', rows: ['u-ana', 'u-barbara'] },
  { type: 'User', filter: 'not (name pr)', rows: ['u-ana', 'u-kim'] },
  {
    type: 'User',
    filter: 'name.givenName sw "bar"',
    rows: ['u-barbara'],
    sqlite: [`COALESCE(substr(scim_lower("r"."doc" ->> '$."name"."givenName"'), 1, ?) = ?, FALSE)`, [3, 'bar']],
    postgres: [`COALESCE(left(lower("r"."doc" -> 'name' ->> 'givenName'), $1) = $2, FALSE)`, [3, 'bar']],
  },
  {
    type: 'User',
    filter: 'active eq false',
    rows: ['u-kim'],
    sqlite: [`"r"."active" = ?`, [0]],
    postgres: [`"r"."active" = $1`, [false]],
  },
  {
    type: 'User',
    filter: 'emails[primary eq true and value ew ".example"]',
    rows: ['u-ana'],
    sqlite: [`EXISTS (SELECT 1 FROM json_each("r"."doc", '$."emails"') AS "el" WHERE (COALESCE(json_type("el"."value", '$."primary"') = ?, FALSE) AND COALESCE(substr(scim_lower("el"."value" ->> '$."value"'), ?) = ?, FALSE)))`, ['true', -8, '.example']],
    postgres: [`EXISTS (SELECT 1 FROM jsonb_array_elements("r"."doc" -> 'emails') AS "el"("value") WHERE (COALESCE("el"."value" -> 'primary' = CAST($1 AS jsonb), FALSE) AND COALESCE(right(lower("el"."value" ->> 'value'), $2) = $3, FALSE)))`, ['true', 8, '.example']],
  },
  {
    type: 'User',
    filter: `${ENTERPRISE}:department eq "engineering"`,
    rows: ['u-ana'],
    sqlite: [`COALESCE(scim_lower("r"."doc" ->> '$."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"."department"') = ?, FALSE)`, ['engineering']],
    postgres: [`COALESCE(lower("r"."doc" -> 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' ->> 'department') = $1, FALSE)`, ['engineering']],
  },
  {
    type: 'User',
    filter: `${ENTERPRISE}:manager.value eq "u-kim"`,
    rows: ['u-barbara'],
    sqlite: [`COALESCE("r"."doc" ->> '$."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"."manager"."value"' = ?, FALSE)`, ['u-kim']],
    postgres: [`COALESCE("r"."doc" -> 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' -> 'manager' ->> 'value' = $1, FALSE)`, ['u-kim']],
  },
  { type: 'User', filter: `not (${ENTERPRISE}:manager pr)`, rows: ['u-ana', 'u-kim'] },
  {
    type: 'User',
    filter: 'meta.created gt "2025-01-01T00:00:00Z"',
    rows: ['u-ana', 'u-barbara'],
    sqlite: [`"r"."created" > ?`, ['2025-01-01T00:00:00.000Z']],
    postgres: [`("r"."created") COLLATE "C" > $1`, ['2025-01-01T00:00:00.000Z']],
  },
  {
    type: 'User',
    filter: 'meta.lastModified eq "2026-02-03T11:00:00+01:00"',
    rows: ['u-barbara'],
    sqlite: [`"r"."last_modified" = ?`, ['2026-02-03T10:00:00.000Z']],
    postgres: [`"r"."last_modified" = $1`, ['2026-02-03T10:00:00.000Z']],
  },
  {
    type: 'User',
    filter: 'meta.version eq "W/\\"3\\""',
    rows: ['u-barbara'],
    sqlite: [`'W/"' || "r"."version" || '"' = ?`, ['W/"3"']],
    postgres: [`'W/"' || "r"."version" || '"' = $1`, ['W/"3"']],
  },
  {
    type: 'User',
    filter: 'meta.resourceType eq "User"',
    rows: ['u-ana', 'u-barbara', 'u-kim'],
    sqlite: [`'User' = ?`, ['User']],
    postgres: [`'User' = $1`, ['User']],
  },
  { type: 'User', filter: 'groups eq "g-staff"', rows: ['u-ana', 'u-barbara'] },
  {
    type: 'User',
    filter: 'groups[display eq "staff" and type eq "direct"]',
    rows: ['u-ana'],
    sqlite: [`EXISTS (WITH RECURSIVE "anc"("group_id", "depth") AS (SELECT "gm"."group_id", 0 FROM "group_members" AS "gm" WHERE "gm"."tenant_id" = "r"."tenant_id" AND "gm"."member_id" = "r"."id" AND "gm"."member_type" = 'User' UNION SELECT "gm"."group_id", 1 FROM "anc" CROSS JOIN "group_members" AS "gm" WHERE "gm"."member_id" = "anc"."group_id" AND "gm"."tenant_id" = "r"."tenant_id" AND "gm"."member_type" = 'Group') SELECT 1 FROM (SELECT "ag"."id", "ag"."display_name", "ag"."display_name_lc", min("anc"."depth") AS "depth" FROM "anc" CROSS JOIN "groups" AS "ag" WHERE "ag"."tenant_id" = "r"."tenant_id" AND "ag"."id" = "anc"."group_id" GROUP BY "ag"."id", "ag"."display_name", "ag"."display_name_lc") AS "ug" WHERE ("ug"."display_name_lc" = ? AND CASE WHEN "ug"."depth" = 0 THEN 'direct' ELSE 'indirect' END = ?))`, ['staff', 'direct']],
    postgres: [`EXISTS (WITH RECURSIVE "anc"("group_id", "depth") AS (SELECT "gm"."group_id", 0 FROM "group_members" AS "gm" WHERE "gm"."tenant_id" = "r"."tenant_id" AND "gm"."member_id" = "r"."id" AND "gm"."member_type" = 'User' UNION SELECT "gm"."group_id", 1 FROM "anc" CROSS JOIN "group_members" AS "gm" WHERE "gm"."member_id" = "anc"."group_id" AND "gm"."tenant_id" = "r"."tenant_id" AND "gm"."member_type" = 'Group') SELECT 1 FROM (SELECT "ag"."id", "ag"."display_name", "ag"."display_name_lc", min("anc"."depth") AS "depth" FROM "anc" CROSS JOIN "groups" AS "ag" WHERE "ag"."tenant_id" = "r"."tenant_id" AND "ag"."id" = "anc"."group_id" GROUP BY "ag"."id", "ag"."display_name", "ag"."display_name_lc") AS "ug" WHERE ("ug"."display_name_lc" = $1 AND CASE WHEN "ug"."depth" = 0 THEN 'direct' ELSE 'indirect' END = $2))`, ['staff', 'direct']],
  },
  { type: 'User', filter: 'not (groups pr)', rows: ['u-kim'] },
  {
    type: 'Group',
    filter: 'displayName eq "tour guides"',
    rows: ['g-guides'],
    sqlite: [`"r"."display_name_lc" = ?`, ['tour guides']],
    postgres: [`"r"."display_name_lc" = $1`, ['tour guides']],
  },
  {
    type: 'Group',
    filter: 'members eq "u-barbara"',
    rows: ['g-guides'],
    sqlite: [`EXISTS (SELECT 1 FROM "group_members" AS "gm" WHERE "gm"."tenant_id" = "r"."tenant_id" AND "gm"."group_id" = "r"."id" AND "gm"."member_id" = ?)`, ['u-barbara']],
    postgres: [`EXISTS (SELECT 1 FROM "group_members" AS "gm" WHERE "gm"."tenant_id" = "r"."tenant_id" AND "gm"."group_id" = "r"."id" AND "gm"."member_id" = $1)`, ['u-barbara']],
  },
  {
    type: 'Group',
    filter: 'members[type eq "group"]',
    rows: ['g-staff'],
    sqlite: [`EXISTS (SELECT 1 FROM "group_members" AS "gm" WHERE "gm"."tenant_id" = "r"."tenant_id" AND "gm"."group_id" = "r"."id" AND scim_lower("gm"."member_type") = ?)`, ['group']],
    postgres: [`EXISTS (SELECT 1 FROM "group_members" AS "gm" WHERE "gm"."tenant_id" = "r"."tenant_id" AND "gm"."group_id" = "r"."id" AND lower("gm"."member_type") = $1)`, ['group']],
  },
  {
    type: 'Group',
    filter: 'members.display sw "ANA@"',
    rows: ['g-staff'],
    sqlite: [`EXISTS (SELECT 1 FROM "group_members" AS "gm" LEFT JOIN "users" AS "mu" ON "mu"."tenant_id" = "gm"."tenant_id" AND "mu"."id" = "gm"."member_id" AND "gm"."member_type" = 'User' LEFT JOIN "groups" AS "mg" ON "mg"."tenant_id" = "gm"."tenant_id" AND "mg"."id" = "gm"."member_id" AND "gm"."member_type" = 'Group' WHERE "gm"."tenant_id" = "r"."tenant_id" AND "gm"."group_id" = "r"."id" AND (COALESCE("mu"."display_name", "mu"."user_name", "mg"."display_name") IS NOT NULL AND substr(scim_lower(COALESCE("mu"."display_name", "mu"."user_name", "mg"."display_name")), 1, ?) = ?))`, [4, 'ana@']],
    postgres: [`EXISTS (SELECT 1 FROM "group_members" AS "gm" LEFT JOIN "users" AS "mu" ON "mu"."tenant_id" = "gm"."tenant_id" AND "mu"."id" = "gm"."member_id" AND "gm"."member_type" = 'User' LEFT JOIN "groups" AS "mg" ON "mg"."tenant_id" = "gm"."tenant_id" AND "mg"."id" = "gm"."member_id" AND "gm"."member_type" = 'Group' WHERE "gm"."tenant_id" = "r"."tenant_id" AND "gm"."group_id" = "r"."id" AND (COALESCE("mu"."display_name", "mu"."user_name", "mg"."display_name") IS NOT NULL AND left(lower(COALESCE("mu"."display_name", "mu"."user_name", "mg"."display_name")), $1) = $2))`, [4, 'ana@']],
  },
  {
    type: 'Group',
    filter: 'not (members pr) or externalId eq "S1"',
    rows: ['g-empty', 'g-staff'],
    sqlite: [`(NOT (EXISTS (SELECT 1 FROM "group_members" AS "gm" WHERE "gm"."tenant_id" = "r"."tenant_id" AND "gm"."group_id" = "r"."id")) OR ("r"."external_id" IS NOT NULL AND "r"."external_id" = ?))`, ['S1']],
    postgres: [`(NOT (EXISTS (SELECT 1 FROM "group_members" AS "gm" WHERE "gm"."tenant_id" = "r"."tenant_id" AND "gm"."group_id" = "r"."id")) OR ("r"."external_id" IS NOT NULL AND "r"."external_id" = $1))`, ['S1']],
  },
];

interface SortCase {
  readonly type: Type;
  readonly by: ResolvedAttr;
  readonly descending?: boolean;
  readonly order: readonly string[];
  readonly sqlite?: string;
  readonly postgres?: string;
}

const SORT_CASES: readonly SortCase[] = [
  { type: 'User', by: path('User', 'userName'), order: ['u-ana', 'u-barbara', 'u-kim'], sqlite: `"r"."user_name_lc"`, postgres: `("r"."user_name_lc") COLLATE "C"` },
  { type: 'User', by: path('User', 'title'), descending: true, order: ['u-barbara', 'u-ana', 'u-kim'] },
  {
    type: 'User',
    by: path('User', 'emails'),
    order: ['u-ana', 'u-barbara', 'u-kim'],
    sqlite: `(SELECT scim_lower("el"."value" ->> '$."value"') FROM json_each("r"."doc", '$."emails"') AS "el" ORDER BY COALESCE(json_type("el"."value", '$."primary"') = ?, FALSE) DESC, "el"."key" LIMIT 1)`,
    postgres: `(SELECT (lower("el"."value" ->> 'value')) COLLATE "C" FROM jsonb_array_elements("r"."doc" -> 'emails') WITH ORDINALITY AS "el"("value", "ord") ORDER BY COALESCE("el"."value" -> 'primary' = CAST($1 AS jsonb), FALSE) DESC, "el"."ord" LIMIT 1)`,
  },
  { type: 'User', by: path('User', 'emails'), descending: true, order: ['u-barbara', 'u-ana', 'u-kim'] },
  { type: 'User', by: path('User', 'emails.type'), order: ['u-barbara', 'u-ana', 'u-kim'] },
  { type: 'User', by: path('User', 'manager', ENTERPRISE), order: ['u-barbara', 'u-ana', 'u-kim'] },
  { type: 'User', by: path('User', 'level', PROBE), order: ['u-ana', 'u-barbara', 'u-kim'] },
  { type: 'User', by: path('User', 'tags', PROBE), descending: true, order: ['u-barbara', 'u-ana', 'u-kim'] },
  { type: 'User', by: path('User', 'active'), order: ['u-kim', 'u-barbara', 'u-ana'] },
  { type: 'User', by: path('User', 'meta.version'), order: ['u-ana', 'u-kim', 'u-barbara'], sqlite: `"r"."version"`, postgres: `"r"."version"` },
  { type: 'User', by: path('User', 'meta.created'), descending: true, order: ['u-ana', 'u-barbara', 'u-kim'] },
  { type: 'Group', by: path('Group', 'displayName'), order: ['g-empty', 'g-staff', 'g-guides'] },
];

describe('compileFilter', () => {
  describe.each(['sqlite', 'postgres'] as const)('SQL text (%s)', (dialect) => {
    it.each(CASES.filter((c) => c[dialect] !== undefined))('$type $filter', (c) => {
      const [text, parameters] = c[dialect]!;
      expect(whereSql(dialect, c.type, (t) => compileFilter(resolved(c.type, c.filter), t))).toEqual({ sql: text, parameters });
    });

    it('binds every user value as a parameter, whatever it contains', () => {
      const nasty = `x'); DROP TABLE users; --"\\`;
      const filter: Filter<ResolvedAttr> = { kind: 'compare', path: path('User', 'title'), op: 'co', value: nasty };
      const { sql: text, parameters } = whereSql(dialect, 'User', (t) => compileFilter(filter, t));
      expect(text).not.toContain('DROP');
      expect(parameters).toEqual([nasty.toLowerCase()]);
    });
  });

  it('the expected rows of the case table are what the in-memory evaluator says', () => {
    for (const c of CASES) expect(idsMatching(c.type, FIXTURE, resolved(c.type, c.filter)), c.filter).toEqual([...c.rows].sort());
  });

  it.each([
    ['User', 'meta.location sw "https://"', 'filtering on `meta.location` is not supported'],
    ['User', 'groups[$ref pr]', 'filtering on `groups.$ref` is not supported'],
    ['Group', 'members.$ref co "/Users/"', 'filtering on `members.$ref` is not supported'],
  ] as const)('rejects what it cannot compute: %s %s', (type, text, detail) => {
    const compile = () => compileFilter(resolved(type, text), { type, dialect: sqliteDialect, table: 'r' });
    expect(compile).toThrow(AppError);
    expect(compile).toThrow(expect.objectContaining({ code: 'invalid_filter', detail }));
  });

  it('refuses a table alias that its own subqueries use', () => {
    expect(() => compileFilter(resolved('User', 'emails pr'), { type: 'User', dialect: sqliteDialect, table: 'el' })).toThrow(
      expect.objectContaining({ code: 'internal' }),
    );
  });
});

describe('compileSortKey', () => {
  describe.each(['sqlite', 'postgres'] as const)('SQL text (%s)', (dialect) => {
    it.each(SORT_CASES.filter((c) => c[dialect] !== undefined))('$type $by.top.name $by.sub.name', (c) => {
      expect(orderSql(dialect, c.type, c.by).sql).toBe(c[dialect]);
    });
  });

  it.each([
    ['Group', 'members', 'sorting by `members` is not supported'],
    ['User', 'groups.display', 'sorting by `groups.display` is not supported'],
    ['User', 'name', 'sorting by complex attribute `name` is not supported'],
    ['User', 'meta.location', 'sorting by `meta.location` is not supported'],
  ] as const)('rejects %s %s', (type, name, detail) => {
    expect(() => compileSortKey(path(type, name), { type, dialect: postgresDialect, table: 'r' })).toThrow(
      expect.objectContaining({ code: 'invalid_value', detail }),
    );
  });
});

// ---- random data and filters ------------------------------------------------------------------------

/**
 * Strings come from a small alphabet so that values collide and every operator finds matches. It
 * is restricted to characters whose case mapping is the same in JS `toLowerCase`, SQLite's
 * `scim_lower` (which is JS) and PostgreSQL's `lower` under `C.UTF-8`: ASCII letters and digits,
 * `@ . _ - %` (`%` and `_` being LIKE wildcards), and é/É from Latin-1, which also sort after `z`
 * by code point. Outside such a set, PostgreSQL's `lower` may fold differently from JS.
 */
const CHARS = ['a', 'A', 'b', 'B', 'é', 'É', '1', '@', '.', '_', '-', '%'];
const text = (minLength = 0) => fc.string({ unit: fc.constantFrom(...CHARS), minLength, maxLength: 3 });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });

/** `u-a` and `U-a` differ only in case: ids (and member/manager values) are caseExact. */
const USER_IDS = ['u-a', 'U-a', 'u-b', 'u-é', 'u-c', 'u-d'];
const GROUP_IDS = ['g-a', 'G-A', 'g-b', 'g-c'];
const TIMES = ['2024-01-01T00:00:00.000Z', '2024-06-30T12:00:00.000Z', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.001Z'];
/** The same instants written differently, and one in between. */
const TIME_VALUES = [...TIMES, '2024-06-30T14:00:00+02:00', '2024-12-31T23:59:59.9999Z', '2024-03-01T00:00:00Z'];

/** Drops `undefined` members, as a stored document has none. */
function compact(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

const rowMeta = {
  created: fc.constantFrom(...TIMES),
  lastModified: fc.constantFrom(...TIMES),
  version: fc.integer({ min: 1, max: 3 }),
};

const userDoc = fc
  .record({
    userName: text(1),
    displayName: maybe(text()),
    externalId: maybe(text()),
    title: maybe(text()),
    name: maybe(fc.record({ givenName: maybe(text()), familyName: maybe(text()) }).map(compact)),
    emails: maybe(
      fc.array(
        fc
          .record({
            value: maybe(text()),
            type: maybe(fc.constantFrom('work', 'Work', 'home', 'é')),
            primary: maybe(fc.boolean()),
            display: maybe(text()),
          })
          .map(compact),
        { maxLength: 3 },
      ),
    ),
    active: fc.boolean(),
    enterprise: maybe(
      fc
        .record({
          department: maybe(text()),
          manager: maybe(fc.record({ value: maybe(fc.constantFrom(...USER_IDS)), displayName: maybe(text()) }).map(compact)),
        })
        .map(compact),
    ),
    probe: maybe(
      fc
        .record({
          level: maybe(fc.integer({ min: -3, max: 3 })),
          score: maybe(fc.constantFrom(-1.5, 0, 0.25, 2, 2.5)),
          tags: maybe(fc.array(text(), { maxLength: 3 })),
          flags: maybe(fc.array(fc.boolean(), { maxLength: 2 })),
        })
        .map(compact),
    ),
  })
  .map(({ enterprise, probe, ...core }) => compact({ ...core, [ENTERPRISE]: enterprise, [PROBE]: probe }));

const groupDoc = fc.record({ displayName: text(1), externalId: maybe(text()) }).map(compact);

function rows(ids: readonly string[], doc: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Row[]> {
  return fc.tuple(...ids.map((id) => fc.record({ doc, ...rowMeta }).map((r) => ({ id, ...r }))));
}

function memberCandidates(users: readonly string[], groups: readonly string[]) {
  return [
    ...users.map((member) => ({ member, type: 'User' as const })),
    ...groups.map((member) => ({ member, type: 'Group' as const })),
  ];
}

const dataset: fc.Arbitrary<Dataset> = fc
  .tuple(fc.integer({ min: 0, max: USER_IDS.length }), fc.integer({ min: 0, max: GROUP_IDS.length }))
  .chain(([nu, ng]) => {
    const users = USER_IDS.slice(0, nu);
    const groups = GROUP_IDS.slice(0, ng);
    const candidates = memberCandidates(users, groups);
    return fc.record({
      users: rows(users, userDoc),
      groups: rows(groups, groupDoc),
      // Group-in-group memberships may form cycles (even a group in itself): the walk must stop.
      members: fc
        .tuple(...groups.map((group) => fc.subarray(candidates).map((ms) => ms.map((m) => ({ group, ...m })))))
        .map((lists) => lists.flat()),
    });
  });

const OPS: readonly CompareOp[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];

interface LeafSpec {
  readonly path: ResolvedAttr;
  readonly values: fc.Arbitrary<FilterValue>;
}

const strings = (...extra: string[]) => (extra.length > 0 ? fc.oneof(text(), fc.constantFrom(...extra)) : text());
const ids = (pool: readonly string[]) =>
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: text() });

function leaf(type: Type, name: string, values: fc.Arbitrary<FilterValue>, uri?: string): LeafSpec {
  return { path: path(type, name, uri), values };
}

/** Compare and `pr` leaves over the attributes the data has, and value paths over the complex ones. */
function filters(type: Type): fc.Arbitrary<Filter<ResolvedAttr>> {
  const times = fc.constantFrom(...TIME_VALUES);
  const common = [
    leaf(type, 'id', ids(type === 'User' ? USER_IDS : GROUP_IDS)),
    leaf(type, 'externalId', strings()),
    leaf(type, 'meta.created', times),
    leaf(type, 'meta.lastModified', times),
    leaf(type, 'meta.resourceType', fc.constantFrom('User', 'user', 'Group', 'Us', '')),
    leaf(type, 'meta.version', fc.constantFrom('W/"1"', 'W/"2"', 'w/"1"', 'W/', '"')),
  ];
  const bracketed: Record<string, LeafSpec[]> =
    type === 'User'
      ? {
          emails: [
            leaf(type, 'emails.value', strings()),
            leaf(type, 'emails.type', strings('work', 'WORK', 'home')),
            leaf(type, 'emails.primary', fc.boolean()),
            leaf(type, 'emails.display', strings()),
          ],
          groups: [
            leaf(type, 'groups.value', ids(GROUP_IDS)),
            leaf(type, 'groups.display', strings()),
            leaf(type, 'groups.type', fc.constantFrom('direct', 'Indirect', 'dir', '')),
          ],
          name: [leaf(type, 'name.givenName', strings()), leaf(type, 'name.familyName', strings())],
          manager: [
            leaf(type, 'manager.value', ids(USER_IDS), ENTERPRISE),
            leaf(type, 'manager.displayName', strings(), ENTERPRISE),
          ],
          meta: [common[2]!, common[4]!, common[5]!],
        }
      : {
          members: [
            leaf(type, 'members.value', ids([...USER_IDS, ...GROUP_IDS])),
            leaf(type, 'members.type', fc.constantFrom('User', 'user', 'Group', 'GROUP', 'Use')),
            leaf(type, 'members.display', strings()),
          ],
          meta: [common[2]!, common[3]!],
        };
  const leaves: LeafSpec[] =
    type === 'User'
      ? [
          ...common,
          leaf(type, 'userName', strings()),
          leaf(type, 'displayName', strings()),
          leaf(type, 'title', strings()),
          leaf(type, 'active', fc.boolean()),
          leaf(type, 'department', strings(), ENTERPRISE),
          leaf(type, 'level', fc.integer({ min: -4, max: 4 }), PROBE),
          leaf(type, 'score', fc.constantFrom(-2, -1.5, 0, 0.25, 1, 2.5, 3), PROBE),
          leaf(type, 'tags', strings(), PROBE),
          leaf(type, 'flags', fc.boolean(), PROBE),
          ...Object.values(bracketed).flat(),
        ]
      : [...common, leaf(type, 'displayName', strings()), ...Object.values(bracketed).flat()];
  const present =
    type === 'User'
      ? ['name', 'emails', 'groups', 'meta', 'displayName', 'externalId', 'title'].map((n) => path(type, n)).concat(
          path(type, 'manager', ENTERPRISE),
          path(type, 'tags', PROBE),
          path(type, 'flags', PROBE),
          path(type, 'level', PROBE),
        )
      : ['members', 'externalId', 'meta', 'displayName'].map((n) => path(type, n));

  const compare = (specs: readonly LeafSpec[]) =>
    fc
      .constantFrom(...specs)
      .chain((spec) =>
        fc
          .record({ op: fc.constantFrom(...OPS), value: spec.values })
          .map(({ op, value }): Filter<ResolvedAttr> => ({ kind: 'compare', path: spec.path, op, value })),
      );
  const presentOf = (paths: readonly ResolvedAttr[]) =>
    fc.constantFrom(...paths).map((p): Filter<ResolvedAttr> => ({ kind: 'present', path: p }));
  const valuePath = fc.constantFrom(...Object.values(bracketed)).chain((specs) => {
    const inner = fc.oneof(
      { weight: 3, arbitrary: compare(specs) },
      { weight: 1, arbitrary: presentOf(specs.map((s) => s.path)) },
    );
    const { schema, top } = specs[0]!.path;
    const bracket = { schema, top, [fc.toStringMethod]: () => top.name } as ResolvedAttr;
    return tree(inner, 2).map((filter): Filter<ResolvedAttr> => ({ kind: 'valuePath', path: bracket, filter }));
  });
  const leafFilter = fc.oneof(
    { weight: 5, arbitrary: compare(leaves) },
    { weight: 2, arbitrary: presentOf(present) },
    { weight: 2, arbitrary: valuePath },
  );
  return tree(leafFilter, 3);
}

/** `and`/`or`/`not` over `leafArb`, at most `depth` levels deep. */
function tree(leafArb: fc.Arbitrary<Filter<ResolvedAttr>>, depth: number): fc.Arbitrary<Filter<ResolvedAttr>> {
  if (depth === 0) return leafArb;
  const sub = tree(leafArb, depth - 1);
  return fc.oneof(
    { weight: 4, arbitrary: leafArb },
    { weight: 1, arbitrary: fc.tuple(sub, sub).map(([left, right]): Filter<ResolvedAttr> => ({ kind: 'and', left, right })) },
    { weight: 1, arbitrary: fc.tuple(sub, sub).map(([left, right]): Filter<ResolvedAttr> => ({ kind: 'or', left, right })) },
    { weight: 1, arbitrary: sub.map((filter): Filter<ResolvedAttr> => ({ kind: 'not', filter })) },
  );
}

const SORTABLE: Readonly<Record<Type, readonly ResolvedAttr[]>> = {
  User: [
    ...['userName', 'displayName', 'title', 'name.givenName', 'emails', 'emails.type', 'externalId', 'id', 'active']
      .concat('meta.created', 'meta.lastModified', 'meta.version')
      .map((n) => path('User', n)),
    path('User', 'department', ENTERPRISE),
    path('User', 'manager', ENTERPRISE),
    ...['level', 'score', 'tags', 'flags'].map((n) => path('User', n, PROBE)),
  ],
  Group: ['displayName', 'externalId', 'id', 'meta.created'].map((n) => path('Group', n)),
};

/** RFC 7644 §3.4.2.3 in JS: the primary (else first) element of a multi-valued attribute, lowercased unless caseExact. */
function sortValue(resource: Resource, by: ResolvedAttr): string | number | boolean | undefined {
  const core = by.schema === USER.schema.id || by.schema === GROUP.schema.id;
  const container = (core ? resource : (resource[by.schema] ?? {})) as Resource;
  let value = container[by.top.name];
  let leafDef = by.sub ?? by.top;
  if (by.top.type === 'complex') {
    const subName = by.sub?.name ?? 'value';
    leafDef = by.sub ?? by.top.subAttributes!.find((a) => a.name === 'value')!;
    const list = (Array.isArray(value) ? value : value === undefined ? [] : [value]) as Resource[];
    const element = by.top.multiValued ? (list.find((e) => e['primary'] === true) ?? list[0]) : list[0];
    value = element?.[subName];
  } else if (by.top.multiValued) {
    value = (value as unknown[] | undefined)?.[0];
  }
  if (by.top.name === 'meta' && by.sub?.name === 'version') return Number(/\d+/.exec(String(value))?.[0]);
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' && !leafDef.caseExact ? value.toLowerCase() : (value as string | number | boolean);
}

function compareSortValues(a: string | number | boolean, b: string | number | boolean): number {
  if (typeof a === 'string' && typeof b === 'string') {
    const x = [...a].map((c) => c.codePointAt(0)!);
    const y = [...b].map((c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return x.length - y.length;
  }
  return Number(a) - Number(b);
}

function expectedOrder(type: Type, data: Dataset, by: ResolvedAttr, descending: boolean): string[] {
  const entries = [...render(type, data)].map(([id, resource]) => ({ id, key: sortValue(resource, by) }));
  // Stable: ties keep insertion (seq) order.
  return entries
    .sort((a, b) => {
      if (a.key === undefined || b.key === undefined) return (a.key === undefined ? 1 : 0) - (b.key === undefined ? 1 : 0);
      const c = compareSortValues(a.key, b.key);
      return descending ? -c : c;
    })
    .map((e) => e.id);
}

/**
 * The other tenant: the same ids, other names, and exactly the memberships `data` lacks, so that a
 * subquery or join that forgets the tenant finds rows it must not.
 */
function decoyOf(data: Dataset): Dataset {
  const other = (row: Row, key: string): Row => ({ ...row, doc: { ...row.doc, [key]: `decoy ${String(row.doc[key] ?? '')}` } });
  const candidates = memberCandidates(
    data.users.map((u) => u.id),
    data.groups.map((g) => g.id),
  );
  return {
    users: data.users.map((u) => other(other(u, 'displayName'), 'userName')),
    groups: data.groups.map((g) => other(g, 'displayName')),
    members: data.groups.flatMap((g) =>
      candidates
        .filter((c) => !data.members.some((m) => m.group === g.id && m.member === c.member))
        .map((c) => ({ group: g.id, ...c })),
    ),
  };
}

// ---- running it on real databases -----------------------------------------------------------------

function executionSuite(open: () => Promise<Backend>): void {
  let backend: Backend;
  beforeAll(async () => {
    backend = await open();
  });
  afterAll(async () => {
    await backend?.db.destroy();
  });

  it('returns the rows of the case table, and nothing of the other tenant', async () => {
    await load(backend, { [TENANT]: FIXTURE, t2: DECOY });
    for (const c of CASES) {
      expect(await query(backend, c.type, resolved(c.type, c.filter)), `${c.type} ${c.filter}`).toEqual([...c.rows].sort());
    }
  });

  it('sorts as the sort table says', async () => {
    await load(backend, { [TENANT]: FIXTURE, t2: DECOY });
    for (const c of SORT_CASES) {
      const label = `${c.type} ${c.by.top.name}${c.by.sub ? `.${c.by.sub.name}` : ''}${c.descending ? ' desc' : ''}`;
      expect(await sorted(backend, c.type, c.by, c.descending === true), label).toEqual(c.order);
      expect(expectedOrder(c.type, FIXTURE, c.by, c.descending === true), `${label} (reference)`).toEqual(c.order);
    }
  });

  it('property: SQL selects exactly the resources evaluateFilter accepts', { timeout: 180_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        dataset,
        fc.array(filters('User'), { minLength: 1, maxLength: 6 }),
        fc.array(filters('Group'), { minLength: 1, maxLength: 4 }),
        async (data, userFilters, groupFilters) => {
          await load(backend, { [TENANT]: data, t2: decoyOf(data) });
          for (const [type, list] of [['User', userFilters], ['Group', groupFilters]] as const) {
            for (const filter of list) {
              expect(await query(backend, type, filter), `${type} ${shown(filter)}`).toEqual(idsMatching(type, data, filter));
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('property: ORDER BY the sort key orders as RFC 7644 §3.4.2.3 says', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        dataset,
        fc
          .constantFrom<Type>('User', 'Group')
          .chain((type) => fc.record({ type: fc.constant(type), by: fc.constantFrom(...SORTABLE[type]), descending: fc.boolean() })),
        async (data, { type, by, descending }) => {
          await load(backend, { [TENANT]: data });
          expect(await sorted(backend, type, by, descending)).toEqual(expectedOrder(type, data, by, descending));
        },
      ),
      { numRuns: 100 },
    );
  });
}

describe('on SQLite', () => executionSuite(openSqlite));

if (!hasPostgres()) warnPostgresSkipped('filter compiler on PostgreSQL');
describe.runIf(hasPostgres())('on PostgreSQL', () => executionSuite(openPostgres));
