import { randomUUID } from 'node:crypto';
import { sql, type Expression, type Insertable, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { ResourceTypeName } from '../core/attribute.js';
import type { Actor, Change } from '../core/change.js';
import { systemClock, type Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import type { StoreBackend } from './backend.js';
import { createEntryHasher } from '../audit/chain.js';
import type { AuditKey } from '../audit/keys.js';
import { appendAuditEntry, createAuditStatements, createAuditStore, fillMissingHashes } from './audit-store.js';
import { prepare } from './prepared.js';
import { createWebhookStore } from './webhook-store.js';
import { createWriteQueue } from './write-queue.js';
import { inTransaction } from './write-transaction.js';
import { assertStorableFilter, assertStorableJson, storableKey } from './text.js';
import {
  decodeCursor,
  encodeCursor,
  queryFingerprint,
  toSortKeyValue,
  type CursorPosition,
  type SortKeyValue,
} from './cursor.js';
import { compileFilter, compileSortKey, type FilterTarget } from './sql/compile-filter.js';
import type {
  ChangeRecord,
  EntryHasher,
  GroupRef,
  ListPage,
  ListQuery,
  MembershipStamp,
  MemberRef,
  PolicyRecord,
  ReadOptions,
  ScimDoc,
  ScimWriter,
  Store,
  StoredGroup,
  StoredResource,
  StoredUser,
  Tenant,
  TenantStore,
  TokenRecord,
  TokenScope,
  TokenStore,
} from './store.js';
import {
  decodeJson,
  type Database,
  type GroupsTable,
  type PolicyObjectsTable,
  type TenantsTable,
  type TokensTable,
  type UsersTable,
} from './tables.js';

export interface KyselyStoreOptions {
  /** Runs every write transaction (and every read when `readDb` is absent). */
  readonly db: Kysely<Database>;
  /**
   * Optional second handle for reads outside transactions. SQLite files use a second connection
   * here, so reads never wait behind an open write transaction (WAL lets them run side by side).
   */
  readonly readDb?: Kysely<Database>;
  readonly backend: StoreBackend;
  readonly clock?: Clock;
  /** Chains the change log and signs its checkpoints (see `audit/keys.ts`). */
  readonly auditKey: AuditKey;
}

/**
 * The one `Store` implementation, over Kysely, for both backends. Backend differences come in as
 * `StoreBackend` capabilities; the filter compiler owns the SQL spelling of SCIM filters.
 *
 * @example
 *   const store = await openKyselyStore({ db, backend: sqliteBackend, auditKey });
 *   await store.write(tenantId, async (tx) => { const rev = await tx.nextRevision(); … });
 */
export async function openKyselyStore(options: KyselyStoreOptions): Promise<Store> {
  await fillMissingHashes(options.db, options.backend, createEntryHasher(options.auditKey.chainKey));
  return createKyselyStore(options);
}

function createKyselyStore(options: KyselyStoreOptions): Store {
  const { db, backend } = options;
  const readDb = options.readDb ?? db;
  const clock = options.clock ?? systemClock;
  const statements = createStatements(backend);
  // INVARIANT: tenants are never deleted, so a tenant seen once exists for good.
  const knownTenants = new Set<string>();
  const enqueueWrite = createWriteQueue(db, backend);
  const counts: CountCache = new Map();
  const hasher = createEntryHasher(options.auditKey.chainKey);
  const audit = createAuditStore({ db, readDb, backend, enqueueWrite, key: options.auditKey, hasher });
  const webhooks = createWebhookStore(db, backend);

  const tenants: TenantStore = {
    async create(name) {
      if (!storableKey(name)) throw new AppError('invalid_value', 'a tenant name cannot hold U+0000');
      const tenant: Tenant = { id: randomUUID(), name, revision: 0, createdAt: clock.now().toISOString() };
      const row = await db
        .insertInto('tenants')
        .values({ id: tenant.id, name, revision: 0, created_at: tenant.createdAt })
        .onConflict((oc) => oc.column('name').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!row) throw new AppError('uniqueness', `tenant \`${name}\` already exists`);
      return tenant;
    },
    async findByName(name) {
      if (!storableKey(name)) return undefined;
      const row = await statements.tenantByName.first(readDb, { name });
      return row && toTenant(row);
    },
    async findById(id) {
      if (!storableKey(id)) return undefined;
      const row = await statements.tenantById.first(readDb, { id });
      return row && toTenant(row);
    },
    async list() {
      const rows = await readDb.selectFrom('tenants').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map(toTenant);
    },
  };

  const tokens: TokenStore = {
    async create(token) {
      if (![token.id, token.name, token.hash].every(storableKey)) {
        throw new AppError('invalid_value', 'a token cannot hold U+0000');
      }
      try {
        await db
          .insertInto('tokens')
          .values({
            id: token.id,
            tenant_id: token.tenantId,
            name: token.name,
            scope: token.scope,
            hash: token.hash,
            created_at: token.createdAt,
            revoked_at: null,
          })
          .execute();
      } catch (err) {
        const violation = backend.constraintViolation(err);
        if (violation?.kind === 'unique') throw new AppError('uniqueness', 'token already exists', { cause: err });
        if (violation?.kind === 'foreign_key') {
          throw new AppError('not_found', `tenant \`${token.tenantId}\` not found`, { cause: err });
        }
        throw err;
      }
      return { ...token, revokedAt: null };
    },
    async findByHash(hash) {
      if (!storableKey(hash)) return undefined;
      const row = await statements.tokenByHash.first(readDb, { hash });
      return row && toToken(row);
    },
    async list(tenantId) {
      const rows = await readDb
        .selectFrom('tokens')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toToken);
    },
    async revoke(tenantId, id, at) {
      if (!storableKey(id)) return false;
      const result = await db
        .updateTable('tokens')
        .set({ revoked_at: at })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };

  return {
    tenants,
    tokens,
    audit,
    webhooks,
    reader: (tenantId) => new ScimTx(readDb, backend, statements, tenantId, counts),
    async write(tenantId, fn) {
      return enqueueWrite(async (conn) => {
        const tx = new ScimTx(conn, backend, statements, tenantId, undefined, hasher);
        try {
          // With row locks, this is the tenant's write lock; without, `beginWrite` already locked.
          if (backend.rowLocks || !knownTenants.has(tenantId)) {
            const found = await statements.lockTenant.first(conn, { tenant: tenantId });
            if (!found) throw new AppError('not_found', `tenant \`${tenantId}\` not found`);
            knownTenants.add(tenantId);
          }
          return await fn(tx);
        } finally {
          // INVARIANT: a writer is only usable inside its own transaction.
          tx.closed = true;
        }
      });
    },
    async snapshot(tenantId) {
      if (!storableKey(tenantId)) throw new AppError('not_found', 'tenant not found');
      // INVARIANT: every read below runs in this one transaction (one SQLite WAL snapshot, one
      // PostgreSQL REPEATABLE READ snapshot), and the revision is read first, so the rows are
      // exactly the state at `revision`: the index built from them can follow the change log from
      // `revision + 1` without missing or repeating a write.
      return inTransaction(readDb, backend.beginSnapshot, async (conn) => {
        const tenant = await conn.selectFrom('tenants').select('revision').where('id', '=', tenantId).executeTakeFirst();
        if (!tenant) throw new AppError('not_found', `tenant \`${tenantId}\` not found`);
        // One statement per table, only the columns the index needs (no derived columns, no
        // `seq`), each doc parsed once: at start-up this runs over 100,000 users.
        const columns = ['id', 'doc', 'version', 'created', 'last_modified'] as const;
        const users = await conn.selectFrom('users').select(columns).where('tenant_id', '=', tenantId).orderBy('seq').execute();
        const groups = await conn.selectFrom('groups').select(columns).where('tenant_id', '=', tenantId).orderBy('seq').execute();
        const memberships = await membershipsQuery(conn, tenantId).execute();
        const policy = await policyQuery(conn, tenantId).execute();
        return {
          revision: Number(tenant.revision),
          users: users.map(toResource),
          groups: groups.map(toResource),
          memberships: memberships.flatMap((row) =>
            decodeMemberIds(row.member_ids).map((memberId) => ({ groupId: row.group_id, memberId, memberType: row.member_type })),
          ),
          policy: policy.map(toPolicyRecord),
        };
      });
    },
    async changes(tenantId, afterRevision, limit) {
      const rows = await readDb
        .selectFrom('changes')
        .select(['revision', 'at', 'actor', 'change'])
        .where('tenant_id', '=', tenantId)
        .where('revision', '>', afterRevision)
        .orderBy('revision')
        .limit(Math.max(0, limit))
        .execute();
      return rows.map((r) => ({
        revision: Number(r.revision),
        at: r.at,
        actor: decodeJson<Actor>(r.actor),
        change: decodeJson<Change>(r.change),
      }));
    },
    async close() {
      if (readDb !== db) await readDb.destroy();
      await db.destroy();
    },
  };
}

/**
 * A tenant's direct memberships, one row per group and member type with the member ids joined in
 * one text (`string_agg`, in both SQLite ≥ 3.44 and PostgreSQL): a tenant has hundreds of
 * thousands of edges, and reading each as a row of its own costs more than twice as long as
 * reading the ids. The ids are written with `,` between them, and `%` and `,` inside an id as
 * `%25` and `%2C` (`decodeMemberIds` undoes it). Ordered by group, then type, then member id.
 */
function membershipsQuery(db: Kysely<Database>, tenantId: string) {
  const escaped = sql`replace(replace(${sql.ref('member_id')}, '%', '%25'), ',', '%2C')`;
  return db
    .selectFrom('group_members')
    .select(['group_id', 'member_type', sql<string>`string_agg(${escaped}, ',' ORDER BY ${sql.ref('member_id')})`.as('member_ids')])
    .where('tenant_id', '=', tenantId)
    .groupBy(['group_id', 'member_type'])
    .orderBy('group_id')
    .orderBy('member_type');
}

/** The ids `membershipsQuery` joined; escapes are rare (ids are UUIDs), so they cost only when present. */
export function decodeMemberIds(joined: string): string[] {
  const ids = joined.split(',');
  if (!joined.includes('%')) return ids;
  return ids.map((id) => id.replace(/%2C|%25/g, (escape) => (escape === '%2C' ? ',' : '%')));
}

/**
 * A tenant's policy objects, in key order (kind, id), with `doc` read as JSON text on both
 * backends. `decodeJson` cannot be used here: a policy doc may be any JSON value, and a JSONB
 * string (`"reader"`) comes back from PostgreSQL already parsed, indistinguishable from SQLite's
 * JSON text. Asking for text makes it one unambiguous shape.
 */
function policyQuery(db: Kysely<Database>, tenantId: string) {
  return db
    .selectFrom('policy_objects')
    .select(['kind', 'id', sql<string>`cast(${sql.ref('doc')} as text)`.as('doc'), 'version', 'created', 'last_modified'])
    .where('tenant_id', '=', tenantId)
    .orderBy('kind')
    .orderBy('id');
}

type PolicyRow = Pick<PolicyObjectRow, 'kind' | 'id' | 'version' | 'created' | 'last_modified'> & { readonly doc: string };

function toPolicyRecord(row: PolicyRow): PolicyRecord {
  return {
    kind: row.kind,
    id: row.id,
    doc: JSON.parse(row.doc) as unknown,
    version: Number(row.version),
    created: row.created,
    lastModified: row.last_modified,
  };
}

function toResource(row: Pick<ResourceRow, 'id' | 'doc' | 'version' | 'created' | 'last_modified'>): StoredResource {
  return {
    id: row.id,
    doc: decodeJson<ScimDoc>(row.doc),
    created: row.created,
    lastModified: row.last_modified,
    version: Number(row.version),
  };
}

/** The hot statements, compiled once per store (see `prepared.ts`). */
/**
 * The groups of users: direct memberships and, through a recursive walk up nested groups, indirect
 * ones. `UNION` (not `UNION ALL`) makes the walk stop on membership cycles.
 */
function groupsQuery(db: Kysely<Database>, tenant: string, userIds: readonly string[]) {
  return db
    .withRecursive('anc(user_id, group_id, depth)', (cte) =>
      cte
        .selectFrom('group_members')
        .select(['member_id as user_id', 'group_id', sql<number>`0`.as('depth')])
        .where('tenant_id', '=', tenant)
        .where('member_type', '=', 'User')
        .where('member_id', 'in', userIds)
        .union(
          // CROSS JOIN keeps `anc` (a handful of rows) as the outer loop: SQLite's planner, knowing
          // nothing of a CTE's size, otherwise scans the tenant's every membership per step.
          cte
            .selectFrom('anc')
            .crossJoin('group_members as gm')
            .select(['anc.user_id', 'gm.group_id', sql<number>`1`.as('depth')])
            .whereRef('gm.member_id', '=', 'anc.group_id')
            .where('gm.tenant_id', '=', tenant)
            .where('gm.member_type', '=', 'Group'),
        ),
    )
    .selectFrom('anc')
    .crossJoin('groups as g')
    .whereRef('g.id', '=', 'anc.group_id')
    .where('g.tenant_id', '=', tenant)
    .select((eb) => ['anc.user_id', 'g.id', 'g.display_name', 'g.display_name_lc', eb.fn.min('anc.depth').as('depth')])
    .groupBy(['anc.user_id', 'g.id', 'g.display_name', 'g.display_name_lc'])
    .orderBy('g.display_name_lc')
    .orderBy('g.id');
}

type GroupsRow = { user_id: string; id: string; display_name: string; display_name_lc: string; depth: number };

/** Runs one query per item, one after another (a transaction's connection takes one query at a time). */
async function inSequence<T, R>(items: Iterable<T>, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (const item of items) results.push(await run(item));
  return results;
}

function createStatements(backend: StoreBackend) {
  type T = { tenant: string };
  type TI = { tenant: string; id: string };
  const resourceById = (table: 'users' | 'groups') =>
    prepare<TI, ResourceRow>((db, p) =>
      db
        .selectFrom(`${table} as r` as 'users as r')
        .select(RESOURCE_COLUMNS)
        .where('r.tenant_id', '=', p.tenant)
        .where('r.id', '=', p.id),
    );
  return {
    tenantById: prepare<{ id: string }, TenantRow>((db, p) => db.selectFrom('tenants').selectAll().where('id', '=', p.id)),
    tenantByName: prepare<{ name: string }, TenantRow>((db, p) =>
      db.selectFrom('tenants').selectAll().where('name', '=', p.name),
    ),
    tokenByHash: prepare<{ hash: string }, TokenRow>((db, p) => db.selectFrom('tokens').selectAll().where('hash', '=', p.hash)),
    lockTenant: prepare<T, { id: string }>((db, p) => {
      const query = db.selectFrom('tenants').select('id').where('id', '=', p.tenant);
      // NO KEY UPDATE: conflicts with itself (and with `nextRevision`), not with the key-share
      // locks that inserting a token (a foreign key to tenants) takes.
      return backend.rowLocks ? query.forNoKeyUpdate() : query;
    }),
    nextRevision: prepare<T, { revision: number }>((db, p) =>
      db
        .updateTable('tenants')
        .set((eb) => ({ revision: eb('revision', '+', 1) }))
        .where('id', '=', p.tenant)
        .returning('revision'),
    ),
    get: { User: resourceById('users'), Group: resourceById('groups') },
    groupsOfUser: prepare<TI, GroupsRow>((db, p) => groupsQuery(db, p.tenant, [p.id])),
    insertUser: prepare<UserValues, { seq: number }>((db, p) =>
      db
        .insertInto('users')
        .values({
          tenant_id: p.tenant_id,
          id: p.id,
          user_name: p.user_name,
          user_name_lc: p.user_name_lc,
          external_id: p.external_id,
          display_name: p.display_name,
          active: p.active,
          doc: p.doc,
          version: p.version,
          created: p.created,
          last_modified: p.last_modified,
        })
        // A taken userName is an answer, not an error: the statement succeeds with no row, which
        // also keeps a PostgreSQL transaction usable.
        .onConflict((oc) => oc.columns(['tenant_id', 'user_name_lc']).doNothing())
        .returning('seq'),
    ),
    insertGroup: prepare<GroupValues, never>((db, p) =>
      db.insertInto('groups').values({
        tenant_id: p.tenant_id,
        id: p.id,
        display_name: p.display_name,
        display_name_lc: p.display_name_lc,
        external_id: p.external_id,
        doc: p.doc,
        version: p.version,
        created: p.created,
        last_modified: p.last_modified,
      }),
    ),
    updateUser: prepare<UserValues, { seq: number }>((db, p) =>
      db
        .updateTable('users')
        .set({
          user_name: p.user_name,
          user_name_lc: p.user_name_lc,
          external_id: p.external_id,
          display_name: p.display_name,
          active: p.active,
          doc: p.doc,
          version: p.version,
          last_modified: p.last_modified,
        })
        .where('tenant_id', '=', p.tenant_id)
        .where('id', '=', p.id)
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('users as other')
                .select(sql<number>`1`.as('one'))
                .where('other.tenant_id', '=', p.tenant_id)
                .where('other.user_name_lc', '=', p.user_name_lc)
                .where('other.id', '<>', p.id),
            ),
          ),
        )
        .returning('seq'),
    ),
    updateGroup: prepare<GroupValues, never>((db, p) =>
      db
        .updateTable('groups')
        .set({
          display_name: p.display_name,
          display_name_lc: p.display_name_lc,
          external_id: p.external_id,
          doc: p.doc,
          version: p.version,
          last_modified: p.last_modified,
        })
        .where('tenant_id', '=', p.tenant_id)
        .where('id', '=', p.id),
    ),
    groupName: prepare<TI, { display_name: string }>((db, p) =>
      db.selectFrom('groups').select('display_name').where('tenant_id', '=', p.tenant).where('id', '=', p.id),
    ),
    memberIds: prepare<{ tenant: string; group: string }, { member_id: string; member_type: ResourceTypeName }>((db, p) =>
      db
        .selectFrom('group_members')
        .select(['member_id', 'member_type'])
        .where('tenant_id', '=', p.tenant)
        .where('group_id', '=', p.group)
        .orderBy('member_id'),
    ),
    audit: createAuditStatements(),
  };
}

type Statements = ReturnType<typeof createStatements>;

// The values a write binds, as Kysely derives them from the table types (seq is generated).
type UserValues = Omit<Insertable<UsersTable>, 'seq'>;
type GroupValues = Omit<Insertable<GroupsTable>, 'seq'>;
type ResourceTable = 'users' | 'groups';

/** Query fingerprint → the COUNT at a tenant revision; oldest entries go first. */
type CountCache = Map<string, { readonly revision: number; readonly total: number }>;
const COUNT_CACHE_SIZE = 1000;

function tableOf(type: ResourceTypeName): ResourceTable {
  return type === 'User' ? 'users' : 'groups';
}

/** The columns both resource tables share, as every read selects them. */
interface ResourceRow {
  readonly seq: number;
  readonly id: string;
  readonly doc: unknown;
  readonly version: number;
  readonly created: string;
  readonly last_modified: string;
  readonly sort_key?: unknown;
}

const RESOURCE_COLUMNS = ['r.seq', 'r.id', 'r.doc', 'r.version', 'r.created', 'r.last_modified'] as const;
const RESOURCE_SELECT = sql`"r"."seq", "r"."id", "r"."doc", "r"."version", "r"."created", "r"."last_modified"`;

/**
 * One tenant's SCIM reads and writes over one Kysely handle: the pool (reads outside transactions)
 * or a single connection inside `write`. Every statement is scoped by `tenant_id`.
 */
class ScimTx implements ScimWriter {
  closed = false;
  private savepoints = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly backend: StoreBackend,
    private readonly statements: Statements,
    private readonly tenantId: string,
    /** Only for readers outside transactions (see `cachedCount`). */
    private readonly counts?: CountCache,
    /** Only for writers: chains each change log row to the one before. */
    private readonly hasher?: EntryHasher,
  ) {}

  private conn(): Kysely<Database> {
    if (this.closed) throw new AppError('internal', 'store writer used after its transaction ended');
    return this.db;
  }

  private target(type: ResourceTypeName): FilterTarget {
    return { type, dialect: this.backend.filterDialect, table: 'r' };
  }

  // ---- reads --------------------------------------------------------------------------------

  get(type: 'User', id: string, options?: ReadOptions): Promise<StoredUser | undefined>;
  get(type: 'Group', id: string, options?: ReadOptions): Promise<StoredGroup | undefined>;
  get(type: ResourceTypeName, id: string, options?: ReadOptions): Promise<StoredUser | StoredGroup | undefined>;
  async get(type: ResourceTypeName, id: string, options: ReadOptions = {}): Promise<StoredUser | StoredGroup | undefined> {
    if (!storableKey(id)) return undefined;
    const row = await this.statements.get[type].first(this.conn(), { tenant: this.tenantId, id });
    if (!row) return undefined;
    const [resource] = await this.hydrate(type, [row], options);
    return resource;
  }

  list(type: 'User', query: ListQuery): Promise<ListPage<StoredUser>>;
  list(type: 'Group', query: ListQuery): Promise<ListPage<StoredGroup>>;
  list(type: ResourceTypeName, query: ListQuery): Promise<ListPage<StoredUser | StoredGroup>>;
  async list(type: ResourceTypeName, query: ListQuery): Promise<ListPage<StoredUser | StoredGroup>> {
    // Written as one `sql` template rather than with the query builder: on an indexed lookup
    // (`userName eq "…"`, what IdPs send before every write) building the query cost several
    // times more than running it.
    const db = this.conn();
    const target = this.target(type);
    const from = sql`${sql.table(tableOf(type))} AS "r"`;
    const conditions: Expression<SqlBool>[] = [sql<SqlBool>`"r"."tenant_id" = ${this.tenantId}`];
    if (query.filter) {
      assertStorableFilter(query.filter);
      conditions.push(compileFilter(query.filter, target));
    }
    const count = Number.isFinite(query.count) ? Math.max(0, Math.floor(query.count)) : 0;
    const countRows = async () => {
      const { rows } = await sql<{ n: number }>`SELECT count(*) AS "n" FROM ${from} WHERE ${sql.join(conditions, sql` AND `)}`.execute(db);
      return Number(rows[0]?.n ?? 0);
    };
    const total = () => (this.counts ? this.cachedCount(type, query, countRows) : countRows());
    if (count === 0) return { totalResults: await total(), resources: [] };

    const sortKey = query.sortBy ? compileSortKey(query.sortBy, target) : undefined;
    const descending = query.descending === true;
    const columns = sortKey ? sql`${RESOURCE_SELECT}, ${sortKey} AS "sort_key"` : RESOURCE_SELECT;
    // Resources without a value sort last in either direction, as SCIM servers commonly do; `seq`
    // (creation order) breaks ties, so the order is total and pages never overlap.
    const order = sortKey
      ? sql`"sort_key" ${sql.raw(descending ? 'DESC' : 'ASC')} NULLS LAST, "r"."seq" ASC`
      : sql`"r"."seq" ASC`;
    const select = (where: readonly Expression<SqlBool>[], limit: number, offset: number) =>
      sql<ResourceRow>`SELECT ${columns} FROM ${from} WHERE ${sql.join(where, sql` AND `)} ORDER BY ${order} LIMIT ${limit} OFFSET ${offset}`
        .execute(db)
        .then((r) => r.rows);

    if (query.cursor === undefined) {
      const offset = Number.isFinite(query.startIndex) ? Math.max(1, Math.floor(query.startIndex)) - 1 : 0;
      const rows = await select(conditions, count, offset);
      // A short page tells the total without counting, unless it is empty past the start.
      const totalResults =
        rows.length < count && (rows.length > 0 || offset === 0) ? offset + rows.length : await total();
      return { totalResults, resources: await this.hydrate(type, rows, query) };
    }

    const fingerprint = queryFingerprint({ tenantId: this.tenantId, type, ...query });
    const where = [...conditions];
    if (query.cursor !== '') where.push(this.after(decodeCursor(query.cursor, fingerprint), sortKey, descending));
    const rows = await select(where, count + 1, 0);
    const more = rows.length > count;
    if (more) rows.length = count;
    const totalResults = query.cursor === '' && !more ? rows.length : await total();
    const last = rows[rows.length - 1];
    return {
      totalResults,
      resources: await this.hydrate(type, rows, query),
      ...(more && last
        ? { nextCursor: encodeCursor(fingerprint, { seq: Number(last.seq), key: toSortKeyValue(last.sort_key) }) }
        : {}),
    };
  }

  /**
   * COUNT for `totalResults`, remembered per tenant revision: every page of a cursor walk (and
   * every full page) needs the total, and counting 100,000 rows costs far more than the page.
   *
   * INVARIANT: every write that changes users or groups allocates a revision (`nextRevision`), in
   * the same transaction. The revision is read *before* counting, so a count can only be newer than
   * the revision it is filed under, and any later read sees a higher revision and counts again.
   * Only readers outside transactions use this: a transaction's own uncommitted rows must never be
   * filed.
   */
  private async cachedCount(type: ResourceTypeName, query: ListQuery, count: () => Promise<number>): Promise<number> {
    const counts = this.counts!;
    const tenant = await this.statements.tenantById.first(this.conn(), { id: this.tenantId });
    if (!tenant) return count();
    const key = queryFingerprint({ tenantId: this.tenantId, type, ...(query.filter ? { filter: query.filter } : {}) });
    const hit = counts.get(key);
    if (hit && hit.revision === Number(tenant.revision)) return hit.total;
    const total = await count();
    counts.delete(key);
    counts.set(key, { revision: Number(tenant.revision), total });
    if (counts.size > COUNT_CACHE_SIZE) counts.delete(counts.keys().next().value as string);
    return total;
  }

  /** Keyset pagination: the rows after `position` in the walk's order (missing keys last). */
  private after(position: CursorPosition, sortKey: Expression<unknown> | undefined, descending: boolean): Expression<SqlBool> {
    const seqAfter = sql<SqlBool>`"r"."seq" > ${position.seq}`;
    if (!sortKey) return seqAfter;
    if (position.key === null) return sql<SqlBool>`(${sortKey} IS NULL AND ${seqAfter})`;
    const key = this.bindKey(position.key);
    const beyond = sql.raw(descending ? '<' : '>');
    return sql<SqlBool>`(${sortKey} ${beyond} ${key} OR (${sortKey} = ${key} AND ${seqAfter}) OR ${sortKey} IS NULL)`;
  }

  private bindKey(key: Exclude<SortKeyValue, null>): Expression<unknown> {
    if (typeof key === 'boolean') return sql.val(this.backend.bool(key));
    if (typeof key === 'object' && !(key instanceof Date)) return sql.val(key.json);
    return sql.val(key);
  }

  async kindsOf(ids: readonly string[]): Promise<Map<string, ResourceTypeName>> {
    const kinds = new Map<string, ResourceTypeName>();
    const unique = [...new Set(ids)].filter(storableKey);
    // Two parameters per id (one per table) plus two tenant ids.
    for (const chunk of chunks(unique, Math.floor((this.backend.maxParameters - 2) / 2))) {
      const db = this.conn();
      const rows = await db
        .selectFrom('users')
        .select(['id', sql<ResourceTypeName>`'User'`.as('kind')])
        .where('tenant_id', '=', this.tenantId)
        .where('id', 'in', chunk)
        .unionAll(
          db
            .selectFrom('groups')
            .select(['id', sql<ResourceTypeName>`'Group'`.as('kind')])
            .where('tenant_id', '=', this.tenantId)
            .where('id', 'in', chunk),
        )
        .execute();
      for (const row of rows) kinds.set(row.id, row.kind);
    }
    return kinds;
  }

  async memberIds(groupId: string): Promise<MemberRef[]> {
    if (!storableKey(groupId)) return [];
    const rows = await this.statements.memberIds.rows(this.conn(), { tenant: this.tenantId, group: groupId });
    return rows.map((r) => ({ value: r.member_id, type: r.member_type }));
  }

  async usersByIds(ids: readonly string[]): Promise<StoredUser[]> {
    const unique = [...new Set(ids)].filter(storableKey);
    const found = new Map<string, StoredUser>();
    // One parameter per id plus the tenant id.
    for (const chunk of chunks(unique, this.backend.maxParameters - 1)) {
      const rows = await this.conn()
        .selectFrom('users')
        .select(['id', 'doc', 'version', 'created', 'last_modified'])
        .where('tenant_id', '=', this.tenantId)
        .where('id', 'in', chunk)
        .execute();
      for (const row of rows) found.set(row.id, toResource(row));
    }
    return unique.flatMap((id) => found.get(id) ?? []);
  }

  async policy(kind?: string): Promise<PolicyRecord[]> {
    if (kind !== undefined && !storableKey(kind)) return [];
    let query = policyQuery(this.conn(), this.tenantId);
    if (kind !== undefined) query = query.where('kind', '=', kind);
    return (await query.execute()).map(toPolicyRecord);
  }

  async policyObject(kind: string, id: string): Promise<PolicyRecord | undefined> {
    if (!storableKey(kind) || !storableKey(id)) return undefined;
    const row = await policyQuery(this.conn(), this.tenantId).where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
    return row && toPolicyRecord(row);
  }

  /** Turns rows into resources, reading members or groups for the whole page in one query each. */
  private async hydrate(
    type: ResourceTypeName,
    rows: readonly ResourceRow[],
    options: ReadOptions,
  ): Promise<(StoredUser | StoredGroup)[]> {
    const resources = rows.map(toResource);
    if (resources.length === 0) return resources;
    if (type === 'Group' && options.members) {
      const members = await this.membersOf(resources.map((r) => r.id));
      return resources.map((r): StoredGroup => ({ ...r, members: members.get(r.id) ?? [] }));
    }
    if (type === 'User' && options.groups) {
      const groups = await this.groupsOf(resources.map((r) => r.id));
      return resources.map((r): StoredUser => ({ ...r, groups: groups.get(r.id) ?? [] }));
    }
    return resources;
  }

  private async membersOf(groupIds: readonly string[]): Promise<Map<string, MemberRef[]>> {
    const byGroup = new Map<string, MemberRef[]>();
    for (const chunk of chunks(groupIds, this.backend.maxParameters - 3)) {
      const rows = await this.conn()
        .selectFrom('group_members as gm')
        .leftJoin('users as u', (join) =>
          join.onRef('u.tenant_id', '=', 'gm.tenant_id').onRef('u.id', '=', 'gm.member_id').on('gm.member_type', '=', 'User'),
        )
        .leftJoin('groups as g', (join) =>
          join.onRef('g.tenant_id', '=', 'gm.tenant_id').onRef('g.id', '=', 'gm.member_id').on('gm.member_type', '=', 'Group'),
        )
        .select((eb) => [
          'gm.group_id',
          'gm.member_id',
          'gm.member_type',
          eb.fn.coalesce('u.display_name', 'u.user_name', 'g.display_name').as('display'),
        ])
        .where('gm.tenant_id', '=', this.tenantId)
        .where('gm.group_id', 'in', chunk)
        .orderBy('gm.group_id')
        .orderBy('gm.member_id')
        .execute();
      for (const row of rows) {
        const member: MemberRef = {
          value: row.member_id,
          type: row.member_type,
          ...(row.display !== null ? { display: row.display } : {}),
        };
        const list = byGroup.get(row.group_id);
        if (list) list.push(member);
        else byGroup.set(row.group_id, [member]);
      }
    }
    return byGroup;
  }

  private async groupsOf(userIds: readonly string[]): Promise<Map<string, GroupRef[]>> {
    const byUser = new Map<string, GroupRef[]>();
    // One user (a GET, a lookup, a write's response) is the hot case: a statement compiled once.
    const batches =
      userIds.length === 1
        ? [await this.statements.groupsOfUser.rows(this.conn(), { tenant: this.tenantId, id: userIds[0]! })]
        : await inSequence(chunks(userIds, this.backend.maxParameters - 4), (chunk) =>
            groupsQuery(this.conn(), this.tenantId, chunk).execute(),
          );
    for (const row of batches.flat()) {
      const ref: GroupRef = { value: row.id, display: row.display_name, type: Number(row.depth) === 0 ? 'direct' : 'indirect' };
      const list = byUser.get(row.user_id);
      if (list) list.push(ref);
      else byUser.set(row.user_id, [ref]);
    }
    return byUser;
  }

  // ---- writes -------------------------------------------------------------------------------

  async nextRevision(): Promise<number> {
    const row = await this.statements.nextRevision.first(this.conn(), { tenant: this.tenantId });
    if (!row) throw new AppError('not_found', `tenant \`${this.tenantId}\` not found`);
    return Number(row.revision);
  }

  async insert(type: ResourceTypeName, resource: StoredResource): Promise<void> {
    const db = this.conn();
    if (!storableKey(resource.id)) throw new AppError('invalid_value', 'an id cannot hold U+0000');
    try {
      if (type === 'User') {
        const values = this.userValues(resource);
        const row = await this.statements.insertUser.first(db, values);
        if (!row) throw userNameTaken(values.user_name);
      } else {
        await this.statements.insertGroup.execute(db, groupValues(this.tenantId, resource));
      }
    } catch (err) {
      throw this.mapViolation(err, type, resource.id);
    }
  }

  async update(type: ResourceTypeName, resource: StoredResource): Promise<void> {
    const db = this.conn();
    if (!storableKey(resource.id)) throw notFound(type, resource.id);
    try {
      if (type === 'User') {
        const values = this.userValues(resource);
        if (await this.statements.updateUser.first(db, values)) return;
        // Nothing updated: either the user is missing or the new userName is taken.
        const exists = await this.statements.get.User.first(db, { tenant: this.tenantId, id: resource.id });
        throw exists ? userNameTaken(values.user_name) : notFound(type, resource.id);
      }
      const values = groupValues(this.tenantId, resource);
      const before = await this.statements.groupName.first(db, { tenant: this.tenantId, id: resource.id });
      if (!before) throw notFound(type, resource.id);
      await this.statements.updateGroup.execute(db, values);
      if (before.display_name !== values.display_name) {
        await this.touchUsers([{ value: resource.id, type }], { revision: resource.version, at: resource.lastModified });
      }
    } catch (err) {
      throw this.mapViolation(err, type, resource.id);
    }
  }

  async remove(type: ResourceTypeName, id: string, revision: number, at: string): Promise<boolean> {
    const db = this.conn();
    if (!storableKey(id)) return false;
    const deleted = await db
      .deleteFrom(tableOf(type))
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (deleted.numDeletedRows === 0n) return false;
    if (type === 'Group') await this.touchUsers([{ value: id, type }], { revision, at });
    await db
      .updateTable('groups')
      .set({ version: revision, last_modified: at })
      .where('tenant_id', '=', this.tenantId)
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('group_members')
          .select('group_id')
          .where('tenant_id', '=', this.tenantId)
          .where('member_id', '=', id)
          .where('member_type', '=', type),
      )
      .execute();
    await db
      .deleteFrom('group_members')
      .where('tenant_id', '=', this.tenantId)
      .where((eb) => {
        const asMember = eb.and([eb('member_id', '=', id), eb('member_type', '=', type)]);
        return type === 'Group' ? eb.or([asMember, eb('group_id', '=', id)]) : asMember;
      })
      .execute();
    return true;
  }

  async addMembers(groupId: string, members: readonly MemberRef[]): Promise<string[]> {
    const unique = [...new Map(members.map((m) => [m.value, m])).values()];
    if (![groupId, ...unique.map((m) => m.value)].every(storableKey)) {
      throw new AppError('invalid_value', 'a member id cannot hold U+0000');
    }
    const added = new Set<string>();
    // Four parameters per row: one multi-row INSERT per chunk, whatever the group's size.
    for (const chunk of chunks(unique, Math.floor(this.backend.maxParameters / 4))) {
      const rows = await this.conn()
        .insertInto('group_members')
        .values(chunk.map((m) => ({ tenant_id: this.tenantId, group_id: groupId, member_id: m.value, member_type: m.type })))
        .onConflict((oc) => oc.doNothing())
        .returning('member_id')
        .execute();
      for (const row of rows) added.add(row.member_id);
    }
    return unique.filter((m) => added.has(m.value)).map((m) => m.value);
  }

  async removeMembers(groupId: string, ids: readonly string[] | 'all'): Promise<string[]> {
    const base = () =>
      this.conn().deleteFrom('group_members').where('tenant_id', '=', this.tenantId).where('group_id', '=', groupId);
    const removed: MemberRef[] = [];
    if (!storableKey(groupId)) return [];
    if (ids === 'all') {
      const rows = await base().returning(['member_id', 'member_type']).execute();
      removed.push(...rows.map((r) => ({ value: r.member_id, type: r.member_type })).sort((a, b) => compare(a.value, b.value)));
    } else {
      const unique = [...new Set(ids)].filter(storableKey);
      const found = new Map<string, ResourceTypeName>();
      for (const chunk of chunks(unique, this.backend.maxParameters - 2)) {
        const rows = await base().where('member_id', 'in', chunk).returning(['member_id', 'member_type']).execute();
        for (const row of rows) found.set(row.member_id, row.member_type);
      }
      for (const id of unique) {
        const type = found.get(id);
        if (type) removed.push({ value: id, type });
      }
    }
    return removed.map((m) => m.value);
  }

  async stampMembers(memberIds: readonly string[], stamp: MembershipStamp): Promise<void> {
    // The ids' types are not needed: a user id matches no group_id, a group id no user id.
    const refs = memberIds.flatMap((value): MemberRef[] => [
      { value, type: 'User' },
      { value, type: 'Group' },
    ]);
    await this.touchUsers(refs, stamp);
  }

  /**
   * Gives the users whose `groups` a membership change alters — the `members` themselves and every
   * user inside a member group, however deep — the changing write's version and time, so their
   * ETag changes with their representation. One statement per chunk; the walk down nested groups
   * is a recursive CTE (`UNION` stops on cycles).
   */
  // CROSS JOIN keeps the small `down` as the outer loop in SQLite (see `groupsOf`).
  private async touchUsers(members: readonly MemberRef[], stamp: MembershipStamp): Promise<void> {
    const db = this.conn();
    const users = members.filter((m) => m.type === 'User').map((m) => m.value);
    const groups = members.filter((m) => m.type === 'Group').map((m) => m.value);
    for (const chunk of chunks(users, this.backend.maxParameters - 3)) {
      await db
        .updateTable('users')
        .set({ version: stamp.revision, last_modified: stamp.at })
        .where('tenant_id', '=', this.tenantId)
        .where('id', 'in', chunk)
        .execute();
    }
    const tenant = this.tenantId;
    for (const chunk of chunks(groups, this.backend.maxParameters - 6)) {
      await sql`UPDATE "users" SET "version" = ${stamp.revision}, "last_modified" = ${stamp.at}
        WHERE "tenant_id" = ${tenant} AND "id" IN (
          WITH RECURSIVE "down"("group_id") AS (
            SELECT DISTINCT "group_id" FROM "group_members" WHERE "tenant_id" = ${tenant} AND "group_id" IN (${sql.join(chunk)})
            UNION
            SELECT "gm"."member_id" FROM "down" CROSS JOIN "group_members" AS "gm"
            WHERE "gm"."group_id" = "down"."group_id" AND "gm"."tenant_id" = ${tenant} AND "gm"."member_type" = 'Group'
          )
          SELECT "gm"."member_id" FROM "group_members" AS "gm"
          WHERE "gm"."tenant_id" = ${tenant} AND "gm"."member_type" = 'User'
            AND "gm"."group_id" IN (SELECT "group_id" FROM "down")
        )`.execute(db);
    }
  }

  async loggedSince(kind: string, id: string, since: number): Promise<boolean> {
    // Through the refs (an index range on the id), not a scan of the log since `since`.
    const row = await this.conn()
      .selectFrom('change_refs as r')
      .innerJoin('changes as c', (join) => join.onRef('c.tenant_id', '=', 'r.tenant_id').onRef('c.revision', '=', 'r.revision'))
      .select('c.revision')
      .where('r.tenant_id', '=', this.tenantId)
      .where('r.ref_id', '=', id)
      .where('r.revision', '>', since)
      .where('c.kind', '=', kind)
      .where('c.subject_id', '=', id)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async appendChange(record: ChangeRecord): Promise<void> {
    if (!this.hasher) throw new AppError('internal', 'a store reader cannot append to the change log');
    await appendAuditEntry(this.conn(), this.statements.audit, this.backend, this.hasher, this.tenantId, record);
  }

  async putPolicy(record: PolicyRecord): Promise<void> {
    if (![record.kind, record.id, record.created, record.lastModified].every(storableKey)) {
      throw new AppError('invalid_value', 'a policy object key or time cannot hold U+0000');
    }
    const doc = policyJson(record);
    const db = this.conn();
    await db
      .insertInto('policy_objects')
      .values({
        tenant_id: this.tenantId,
        kind: record.kind,
        id: record.id,
        doc,
        version: record.version,
        created: record.created,
        last_modified: record.lastModified,
      })
      // A replace keeps the object's `created`, as `update` keeps a resource's.
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'kind', 'id']).doUpdateSet((eb) => ({
          doc: eb.ref('excluded.doc'),
          version: eb.ref('excluded.version'),
          last_modified: eb.ref('excluded.last_modified'),
        })),
      )
      .execute();
  }

  async deletePolicy(kind: string, id: string): Promise<boolean> {
    if (!storableKey(kind) || !storableKey(id)) return false;
    const result = await this.conn()
      .deleteFrom('policy_objects')
      .where('tenant_id', '=', this.tenantId)
      .where('kind', '=', kind)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async attempt<T>(fn: () => Promise<T>): Promise<T> {
    const db = this.conn();
    const name = `scimitar_attempt_${++this.savepoints}`;
    await sql.raw(`savepoint ${name}`).execute(db);
    try {
      const result = await fn();
      await sql.raw(`release savepoint ${name}`).execute(db);
      return result;
    } catch (err) {
      await sql.raw(`rollback to savepoint ${name}`).execute(db);
      await sql.raw(`release savepoint ${name}`).execute(db);
      throw err;
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** The row of a user: the indexed columns are derived from the document on every write. */
  private userValues(resource: StoredResource): UserValues {
    const { doc } = resource;
    const userName = doc['userName'];
    if (typeof userName !== 'string' || userName === '') {
      throw new AppError('invalid_value', 'attribute `userName` is required');
    }
    return {
      tenant_id: this.tenantId,
      id: resource.id,
      user_name: userName,
      // JS lowercasing, so uniqueness and filters agree with the in-memory evaluator.
      user_name_lc: userName.toLowerCase(),
      external_id: optionalString(doc['externalId']),
      display_name: optionalString(doc['displayName']),
      active: this.backend.bool(doc['active'] !== false),
      doc: storableJson(doc),
      version: resource.version,
      created: resource.created,
      last_modified: resource.lastModified,
    };
  }

  /** Any constraint violation that got past the statements' own checks, as an `AppError`. */
  private mapViolation(err: unknown, type: ResourceTypeName, id: string): unknown {
    if (err instanceof AppError) return err;
    const violation = this.backend.constraintViolation(err);
    if (violation?.kind !== 'unique') return err;
    if (/user_name/.test(violation.detail)) return new AppError('uniqueness', 'userName is already taken', { cause: err });
    return new AppError('uniqueness', `${type} \`${id}\` already exists`, { cause: err });
  }
}

function groupValues(tenantId: string, resource: StoredResource): GroupValues {
  const { doc } = resource;
  const displayName = doc['displayName'];
  if (typeof displayName !== 'string') throw new AppError('invalid_value', 'attribute `displayName` is required');
  return {
    tenant_id: tenantId,
    id: resource.id,
    display_name: displayName,
    display_name_lc: displayName.toLowerCase(),
    external_id: optionalString(doc['externalId']),
    doc: storableJson(doc),
    version: resource.version,
    created: resource.created,
    last_modified: resource.lastModified,
  };
}

/** A policy object's doc as JSON text: any JSON value, and only one. */
function policyJson(record: PolicyRecord): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(record.doc) as string | undefined;
  } catch (err) {
    // A cycle or a BigInt: not JSON.
    throw new AppError('invalid_value', `policy object \`${record.kind}/${record.id}\` is not JSON`, { cause: err });
  }
  if (json === undefined) throw new AppError('invalid_value', `policy object \`${record.kind}/${record.id}\` has no JSON value`);
  assertStorableJson(json, record.doc);
  return json;
}

function storableJson(doc: ScimDoc): string {
  const json = JSON.stringify(doc);
  assertStorableJson(json, doc);
  return json;
}

function optionalString(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function userNameTaken(userName: string): AppError {
  return new AppError('uniqueness', `userName \`${userName}\` is already taken`);
}

function notFound(type: ResourceTypeName, id: string): AppError {
  return new AppError('not_found', `${type} \`${id}\` not found`);
}

/** Code-unit order, the same in every locale (for ids, which are compared exactly). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

type TenantRow = Selectable<TenantsTable>;
type TokenRow = Selectable<TokensTable>;
type PolicyObjectRow = Selectable<PolicyObjectsTable>;

function toTenant(row: TenantRow): Tenant {
  return { id: row.id, name: row.name, revision: Number(row.revision), createdAt: row.created_at };
}

function toToken(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    scope: row.scope as TokenScope,
    hash: row.hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

