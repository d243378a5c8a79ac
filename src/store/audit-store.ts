import type { Insertable, Kysely } from 'kysely';
import type { Actor, Change } from '../core/change.js';
import { GENESIS } from '../audit/chain.js';
import type { AuditKey } from '../audit/keys.js';
import { kindOf, refsOf, subjectOf } from '../audit/refs.js';
import type { StoreBackend } from './backend.js';
import { inWriteTransaction } from './write-transaction.js';
import type { AccessChangeRecord, AuditEntry, AuditStore, ChangeRecord, Checkpoint, EntryHasher } from './store.js';
import { prepare } from './prepared.js';
import { decodeJson, type ChangesTable, type Database } from './tables.js';

export type WriteRunner = <T>(run: (conn: Kysely<Database>) => Promise<T>) => Promise<T>;

export interface AuditStoreOptions {
  readonly db: Kysely<Database>;
  readonly readDb: Kysely<Database>;
  readonly backend: StoreBackend;
  /** The store's write queue, so audit writes take their turn with the tenant writes (one SQLite writer). */
  readonly enqueueWrite: WriteRunner;
  readonly key: AuditKey;
  readonly hasher: EntryHasher;
}

/** Rows per INSERT: three to ten parameters each keeps every statement under both backends' limits. */
const INSERT_CHUNK = 2000;

export function createAuditStore(options: AuditStoreOptions): AuditStore {
  const { readDb, backend, enqueueWrite, key, hasher } = options;

  return {
    key,
    hasher,

    async entries(tenantId, query) {
      let q = readDb
        .selectFrom('changes as c')
        .select(['c.revision', 'c.at', 'c.actor', 'c.change', 'c.hash'])
        .where('c.tenant_id', '=', tenantId);
      if (query.ref !== undefined) {
        const ref = query.ref;
        q = q.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('change_refs as r')
              .select('r.revision')
              .whereRef('r.tenant_id', '=', 'c.tenant_id')
              .whereRef('r.revision', '=', 'c.revision')
              .where('r.ref_id', '=', ref),
          ),
        );
      }
      if (query.afterRevision !== undefined) {
        q = q.where('c.revision', query.descending ? '<' : '>', query.afterRevision);
      }
      if (query.untilRevision !== undefined) q = q.where('c.revision', '<=', query.untilRevision);
      if (query.since !== undefined) q = q.where('c.at', '>=', query.since);
      if (query.until !== undefined) q = q.where('c.at', '<', query.until);
      if (query.kinds !== undefined && query.kinds.length > 0) q = q.where('c.kind', 'in', query.kinds);
      if (query.actorToken !== undefined) q = q.where('c.actor_token', '=', query.actorToken);
      const rows = await q
        .orderBy('c.revision', query.descending ? 'desc' : 'asc')
        .limit(Math.max(0, query.limit))
        .execute();
      return rows.map(
        (r): AuditEntry => ({
          revision: Number(r.revision),
          at: r.at,
          actor: decodeJson<Actor>(r.actor),
          change: decodeJson<Change>(r.change),
          hash: r.hash ?? '',
        }),
      );
    },

    async revisionAt(tenantId, time) {
      // The newest entry by time, not the highest revision: the two agree unless nodes' clocks
      // disagree, and this one is a single step down the (tenant_id, at, revision) index.
      const row = await readDb
        .selectFrom('changes')
        .select('revision')
        .where('tenant_id', '=', tenantId)
        .where('at', '<=', time)
        .orderBy('at', 'desc')
        .orderBy('revision', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (row) return Number(row.revision);
      // Before the first kept entry: a seal at or before that time still answers.
      const seal = await readDb
        .selectFrom('audit_checkpoints')
        .select((eb) => eb.fn.max('revision').as('revision'))
        .where('tenant_id', '=', tenantId)
        .where('sealed', '=', backend.bool(true))
        .where('at', '<=', time)
        .executeTakeFirst();
      return Number(seal?.revision ?? 0);
    },

    async head(tenantId) {
      const last = await readDb
        .selectFrom('changes')
        .select(['revision', 'hash'])
        .where('tenant_id', '=', tenantId)
        .orderBy('revision', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (last) return { revision: Number(last.revision), hash: last.hash ?? '' };
      const seal = await latestSeal(readDb, tenantId, backend);
      return seal ? { revision: seal.revision, hash: seal.hash } : { revision: 0, hash: GENESIS };
    },

    latestSeal: (tenantId) => latestSeal(readDb, tenantId, backend),

    async checkpoints(tenantId) {
      const rows = await readDb
        .selectFrom('audit_checkpoints')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('revision')
        .orderBy('sealed')
        .execute();
      return rows.map(toCheckpoint);
    },

    async addCheckpoint(tenantId, checkpoint) {
      await enqueueWrite((conn) =>
        conn
          .insertInto('audit_checkpoints')
          .values(checkpointValues(tenantId, checkpoint, backend))
          .onConflict((oc) => oc.columns(['tenant_id', 'revision', 'sealed']).doNothing())
          .execute(),
      );
    },

    async accessChanges(tenantId, query) {
      let q = readDb.selectFrom('access_changes').selectAll().where('tenant_id', '=', tenantId);
      if (query.userId !== undefined) q = q.where('user_id', '=', query.userId);
      if (query.permission !== undefined) q = q.where('permission', '=', query.permission);
      if (query.after !== undefined) {
        const { revision, seq } = query.after;
        q = q.where((eb) => eb.or([eb('revision', '>', revision), eb.and([eb('revision', '=', revision), eb('seq', '>', seq)])]));
      }
      if (query.untilRevision !== undefined) q = q.where('revision', '<=', query.untilRevision);
      const rows = await q.orderBy('revision').orderBy('seq').limit(Math.max(0, query.limit)).execute();
      return rows.map(
        (r): AccessChangeRecord => ({
          revision: Number(r.revision),
          seq: Number(r.seq),
          at: r.at,
          userId: r.user_id,
          permission: r.permission,
          scope: r.scope,
          effect: r.effect as AccessChangeRecord['effect'],
          change: r.change as AccessChangeRecord['change'],
          detail: decodeJson<Record<string, unknown>>(r.detail),
        }),
      );
    },

    cursor: (tenantId, name) => readCursor(readDb, tenantId, name),

    recordDerived(tenantId, from, to, rows, snapshot) {
      return enqueueWrite(async (conn) => {
        if (Number((await readCursor(conn, tenantId, 'derive')) ?? 0) !== from) return false;
        for (const chunk of chunks(rows, INSERT_CHUNK)) {
          await conn
            .insertInto('access_changes')
            .values(
              chunk.map((r) => ({
                tenant_id: tenantId,
                revision: r.revision,
                seq: r.seq,
                at: r.at,
                user_id: r.userId,
                permission: r.permission,
                scope: r.scope,
                effect: r.effect,
                change: r.change,
                detail: JSON.stringify(r.detail),
              })),
            )
            .execute();
        }
        // A user whose access changed is part of that entry's story: "everything about U" finds it.
        const refs = new Map(rows.map((r) => [`${r.revision}\u0000${r.userId}`, { revision: r.revision, ref_id: r.userId }]));
        await insertRefs(conn, tenantId, [...refs.values()]);
        if (snapshot) {
          await conn
            .insertInto('history_snapshots')
            .values({ tenant_id: tenantId, revision: snapshot.revision, state: Buffer.from(snapshot.state) })
            .onConflict((oc) => oc.columns(['tenant_id', 'revision']).doNothing())
            .execute();
        }
        await setCursor(conn, tenantId, 'derive', String(to));
        return true;
      });
    },

    async snapshotAtOrBefore(tenantId, revision) {
      const row = await readDb
        .selectFrom('history_snapshots')
        .select(['revision', 'state'])
        .where('tenant_id', '=', tenantId)
        .where('revision', '<=', revision)
        .orderBy('revision', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row && { revision: Number(row.revision), state: new Uint8Array(row.state) };
    },

    seal(tenantId, checkpoint, snapshot) {
      const upTo = checkpoint.revision;
      return enqueueWrite(async (conn) => {
        await conn.insertInto('audit_checkpoints').values(checkpointValues(tenantId, checkpoint, backend)).execute();
        await conn
          .insertInto('history_snapshots')
          .values({ tenant_id: tenantId, revision: snapshot.revision, state: Buffer.from(snapshot.state) })
          .onConflict((oc) => oc.columns(['tenant_id', 'revision']).doUpdateSet({ state: Buffer.from(snapshot.state) }))
          .execute();
        const removed = await conn
          .deleteFrom('changes')
          .where('tenant_id', '=', tenantId)
          .where('revision', '<=', upTo)
          .executeTakeFirst();
        await conn.deleteFrom('change_refs').where('tenant_id', '=', tenantId).where('revision', '<=', upTo).execute();
        await conn.deleteFrom('access_changes').where('tenant_id', '=', tenantId).where('revision', '<=', upTo).execute();
        await conn.deleteFrom('history_snapshots').where('tenant_id', '=', tenantId).where('revision', '<', upTo).execute();
        return Number(removed.numDeletedRows);
      });
    },
  };
}

/**
 * The statements every write runs once more for its audit entry, compiled once per store (see
 * `prepared.ts`): an entry costs its SQLite or PostgreSQL work, not Kysely's builder.
 */
export function createAuditStatements() {
  return {
    hashAt: prepare<{ tenant: string; revision: number }, { hash: string | null }>((db, p) =>
      db.selectFrom('changes').select('hash').where('tenant_id', '=', p.tenant).where('revision', '=', p.revision),
    ),
    insertEntry: prepare<Insertable<ChangesTable>, never>((db, p) =>
      db.insertInto('changes').values({
        tenant_id: p.tenant_id,
        revision: p.revision,
        at: p.at,
        actor: p.actor,
        change: p.change,
        hash: p.hash,
        kind: p.kind,
        subject_id: p.subject_id,
        actor_token: p.actor_token,
      }),
    ),
    insertRef: prepare<{ tenant: string; ref: string; revision: number }, never>((db, p) =>
      db
        .insertInto('change_refs')
        .values({ tenant_id: p.tenant, ref_id: p.ref, revision: p.revision })
        .onConflict((oc) => oc.columns(['tenant_id', 'ref_id', 'revision']).doNothing()),
    ),
  };
}

export type AuditStatements = ReturnType<typeof createAuditStatements>;

/**
 * One ref (a user's title change) takes the prepared statement; more take one multi-row insert, so
 * a member change is one round trip on PostgreSQL, not one per id.
 */
const SINGLE_REF_INSERTS = 1;

/**
 * The entry last appended in each open write transaction, keyed by the transaction's connection
 * handle (a new one per transaction), so the next write of a group commit chains to it without
 * reading it back: on PostgreSQL a read is a round trip while the tenant's writes wait. It is used
 * only for the revision right after it, so an entry undone by its savepoint (its revision is then
 * given again) is never chained to; and it dies with its transaction, committed or not.
 */
const appendedIn = new WeakMap<Kysely<Database>, { readonly tenantId: string; readonly revision: number; readonly hash: string }>();

/**
 * Writes a change log row with its hash, columns and refs: called by the tenant writer inside the
 * write's transaction, so the entry commits with the change or not at all. The previous hash is
 * the one this transaction just appended, or read from the row before.
 */
export async function appendAuditEntry(
  conn: Kysely<Database>,
  statements: AuditStatements,
  backend: StoreBackend,
  hasher: EntryHasher,
  tenantId: string,
  record: ChangeRecord,
): Promise<void> {
  const { revision } = record;
  const last = appendedIn.get(conn);
  const previous =
    last?.tenantId === tenantId && last.revision === revision - 1 ? last.hash : await previousHash(conn, statements, backend, tenantId, revision);
  // RFC 8785 canonical JSON drops `undefined` members as JSON.stringify does, so the record hashes
  // the same as what the column will give back.
  const hash = hasher(previous, tenantId, record);
  await statements.insertEntry.execute(conn, {
    tenant_id: tenantId,
    revision,
    at: record.at,
    actor: JSON.stringify(record.actor),
    change: JSON.stringify(record.change),
    hash,
    kind: kindOf(record.change),
    subject_id: subjectOf(record.change),
    actor_token: record.actor.tokenId,
  });
  appendedIn.set(conn, { tenantId, revision, hash });
  const refs = refsOf(record.change);
  if (refs.length <= SINGLE_REF_INSERTS) {
    for (const ref of refs) await statements.insertRef.execute(conn, { tenant: tenantId, ref, revision });
  } else {
    await insertRefs(conn, tenantId, refs.map((ref_id) => ({ revision, ref_id })));
  }
}

async function previousHash(
  conn: Kysely<Database>,
  statements: AuditStatements,
  backend: StoreBackend,
  tenantId: string,
  revision: number,
): Promise<string> {
  if (revision === 1) return GENESIS;
  const row = await statements.hashAt.first(conn, { tenant: tenantId, revision: revision - 1 });
  if (row?.hash) return row.hash;
  const seal = await latestSeal(conn, tenantId, backend);
  if (seal && seal.revision === revision - 1) return seal.hash;
  // The entry before is gone or unhashed: chaining to anything would hide that, so refuse the write.
  throw new Error(`audit chain of tenant ${tenantId} has no entry ${revision - 1} to chain revision ${revision} to`);
}

/**
 * Hashes the entries written before the audit migration (their `hash` is null), oldest first, so
 * every tenant's chain starts at revision 1. Runs once when the store opens; a no-op afterwards.
 */
export async function fillMissingHashes(db: Kysely<Database>, backend: StoreBackend, hasher: EntryHasher): Promise<number> {
  const pending = await db.selectFrom('changes').select('tenant_id').where('hash', 'is', null).distinct().execute();
  let filled = 0;
  for (const { tenant_id: tenantId } of pending) {
    filled += await inWriteTransaction(db, backend, async (conn) => {
      const rows = await conn
        .selectFrom('changes')
        .select(['revision', 'at', 'actor', 'change', 'hash'])
        .where('tenant_id', '=', tenantId)
        .orderBy('revision')
        .execute();
      let previous = GENESIS;
      let count = 0;
      for (const row of rows) {
        const record: ChangeRecord = {
          revision: Number(row.revision),
          at: row.at,
          actor: decodeJson<Actor>(row.actor),
          change: decodeJson<Change>(row.change),
        };
        if (row.hash === null) {
          const hash = hasher(previous, tenantId, record);
          await conn
            .updateTable('changes')
            .set({ hash, kind: kindOf(record.change), subject_id: subjectOf(record.change), actor_token: record.actor.tokenId })
            .where('tenant_id', '=', tenantId)
            .where('revision', '=', record.revision)
            .execute();
          await insertRefs(conn, tenantId, refsOf(record.change).map((ref_id) => ({ revision: record.revision, ref_id })));
          previous = hash;
          count += 1;
        } else {
          previous = row.hash;
        }
      }
      return count;
    });
  }
  return filled;
}

async function insertRefs(
  conn: Kysely<Database>,
  tenantId: string,
  refs: readonly { readonly revision: number; readonly ref_id: string }[],
): Promise<void> {
  for (const chunk of chunks(refs, INSERT_CHUNK)) {
    await conn
      .insertInto('change_refs')
      .values(chunk.map((r) => ({ tenant_id: tenantId, revision: r.revision, ref_id: r.ref_id })))
      .onConflict((oc) => oc.columns(['tenant_id', 'ref_id', 'revision']).doNothing())
      .execute();
  }
}

/** A named position (`audit_cursors`); the webhook store keeps its cursors there too. */
export async function readCursor(db: Kysely<Database>, tenantId: string, name: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('audit_cursors')
    .select('position')
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name)
    .executeTakeFirst();
  return row?.position;
}

export async function setCursor(conn: Kysely<Database>, tenantId: string, name: string, position: string): Promise<void> {
  await conn
    .insertInto('audit_cursors')
    .values({ tenant_id: tenantId, name, position })
    .onConflict((oc) => oc.columns(['tenant_id', 'name']).doUpdateSet({ position }))
    .execute();
}

async function latestSeal(db: Kysely<Database>, tenantId: string, backend: StoreBackend): Promise<Checkpoint | undefined> {
  const row = await db
    .selectFrom('audit_checkpoints')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('sealed', '=', backend.bool(true))
    .orderBy('revision', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && toCheckpoint(row);
}

function toCheckpoint(row: {
  revision: number;
  hash: string;
  at: string;
  sealed: number | boolean;
  key_id: string;
  public_key: string;
  signature: string;
}): Checkpoint {
  return {
    revision: Number(row.revision),
    hash: row.hash,
    at: row.at,
    sealed: Boolean(row.sealed),
    keyId: row.key_id,
    publicKey: row.public_key,
    signature: row.signature,
  };
}

function checkpointValues(tenantId: string, c: Checkpoint, backend: StoreBackend) {
  return {
    tenant_id: tenantId,
    revision: c.revision,
    hash: c.hash,
    at: c.at,
    sealed: backend.bool(c.sealed),
    key_id: c.keyId,
    public_key: c.publicKey,
    signature: c.signature,
  };
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
