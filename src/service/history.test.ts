import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessDeriver } from '../audit/access-diff.js';
import { signCheckpoint } from '../audit/checkpoint.js';
import { HistoryState } from '../audit/replay.js';
import { isAllowed } from '../authz/evaluate.js';
import type { TenantIndex } from '../authz/tenant-index.js';
import type { Actor } from '../core/change.js';
import { systemClock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import { GROUP_SCHEMA, PATCH_OP, USER_SCHEMA } from '../scim/schema/urns.js';
import { openSqliteStore } from '../store/sqlite/open-sqlite-store.js';
import type { AccessChangeRecord, AuditQuery, Store } from '../store/store.js';
import { createHistory } from './history.js';
import { createPolicyAdmin } from './policy-admin.js';
import { createScimService } from './scim-service.js';

const actor: Actor = { tokenId: null, kind: 'system' };
const now = new Date('2026-06-01T00:00:00Z');

let dir: string;
let file: string;
let store: Store;
let tenantId: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scimitar-history-'));
  file = join(dir, 'history.db');
  store = await openSqliteStore(file);
  tenantId = (await store.tenants.create('t')).id;
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function services(on: Store) {
  const committed = async () => undefined;
  return {
    scim: createScimService({ store: on, clock: systemClock, committed }),
    policy: createPolicyAdmin({ store: on, clock: systemClock, committed }),
  };
}

/**
 * r1–r3 the model (reader on `doc:*` for members of `eng`), r4 alice, r5 the `eng` group with
 * alice in it, r6 a title change, r7 bob, r8 alice removed from `eng`.
 */
async function story(on: Store): Promise<{ alice: string; group: string }> {
  const { scim, policy } = services(on);
  await policy.put(tenantId, actor, 'resourceType', { name: 'doc', actions: ['read'] }, { mode: 'create' });
  await policy.put(tenantId, actor, 'role', { name: 'reader', permissions: ['doc:read'] }, { mode: 'create' });
  await policy.put(tenantId, actor, 'groupMapping', { id: 'm1', group: { displayName: 'eng' }, role: 'reader', scope: 'doc:*' }, { mode: 'create' });
  const alice = (await scim.create(tenantId, actor, 'User', { schemas: [USER_SCHEMA], userName: 'alice' }, {})).resource.id;
  const group = (await scim.create(tenantId, actor, 'Group', { schemas: [GROUP_SCHEMA], displayName: 'eng', members: [{ value: alice }] }, {})).resource.id;
  await scim.patch(tenantId, actor, 'User', alice, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'SRE' }] }, {}, {});
  await scim.create(tenantId, actor, 'User', { schemas: [USER_SCHEMA], userName: 'bob' }, {});
  await scim.patch(tenantId, actor, 'Group', group, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${alice}"]` }] }, {}, {});
  return { alice, group };
}

function canRead(index: TenantIndex, userId: string): boolean {
  const user = index.users.get(userId);
  return user !== undefined && isAllowed(index, { user, action: 'read', resource: { type: 'doc', id: 'd1' }, now });
}

async function derived(on: Store): Promise<AccessChangeRecord[]> {
  return on.audit.accessChanges(tenantId, { limit: 10_000 });
}

/** The rows one deriver gives over the whole log, in memory: what any way of deriving must store. */
async function expectedRows(on: Store): Promise<AccessChangeRecord[]> {
  const deriver = AccessDeriver.start(HistoryState.empty());
  const rows: AccessChangeRecord[] = [];
  for (const record of await on.changes(tenantId, 0, 10_000)) rows.push(...deriver.apply(record));
  return rows;
}

async function appError(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('createHistory', () => {
  it('answers a check as it was at each revision', async () => {
    const { alice } = await story(store);
    const history = createHistory({ store });
    const answers: Record<number, boolean> = {};
    for (let r = 4; r <= 8; r++) answers[r] = canRead(await history.indexAt(tenantId, r), alice);
    expect(answers).toEqual({ 4: false, 5: true, 6: true, 7: true, 8: false });
    expect((await history.indexAt(tenantId, 3)).users.size).toBe(0);
    expect((await history.indexAt(tenantId, 0)).revision).toBe(0);
  });

  it('finds the revision at a time', async () => {
    await story(store);
    const history = createHistory({ store });
    const [fifth] = await store.audit.entries(tenantId, { afterRevision: 4, limit: 1 });
    expect(await history.revisionAt(tenantId, new Date(fifth!.at))).toBeGreaterThanOrEqual(5);
    expect(await history.revisionAt(tenantId, new Date('2000-01-01T00:00:00Z'))).toBe(0);
  });

  it('derives who gained and lost access, and why', async () => {
    const { alice, group } = await story(store);
    const history = createHistory({ store });
    expect(await history.derive(tenantId)).toBe(8);
    const rows = await derived(store);
    expect(rows.map(({ revision, userId, permission, scope, change }) => ({ revision, userId, permission, scope, change }))).toEqual([
      { revision: 5, userId: alice, permission: 'doc:read', scope: 'doc:*', change: 'gained' },
      { revision: 8, userId: alice, permission: 'doc:read', scope: 'doc:*', change: 'lost' },
    ]);
    expect(rows[0]!.detail).toEqual({
      reason: `added to group eng (${group}) by POST`,
      via: [{ origin: 'groupMapping', id: 'm1', role: 'reader', rolePath: ['reader'] }],
    });
    expect(rows[1]!.detail.reason).toBe(`removed from group eng (${group}) by PATCH`);
    expect(await store.audit.cursor(tenantId, 'derive')).toBe('8');
  });

  it('refuses revisions before the retention horizon and after the head', async () => {
    const { alice } = await story(store);
    const history = createHistory({ store });
    await history.derive(tenantId);
    // Built before the seal, and still in its cache after it.
    expect(canRead(await history.indexAt(tenantId, 5), alice)).toBe(true);
    const [sealed] = await store.audit.entries(tenantId, { untilRevision: 6, descending: true, limit: 1 });
    const seal = signCheckpoint(tenantId, store.audit.key, { revision: 6, hash: sealed!.hash, at: now.toISOString(), sealed: true });
    await store.audit.seal(tenantId, seal, { revision: 6, state: await history.sealState(tenantId, 6) });

    expect((await appError(history.indexAt(tenantId, 5))).message).toMatch(/before the retention horizon: the history starts at revision 6/);
    const fresh = createHistory({ store });
    expect((await appError(fresh.indexAt(tenantId, 5))).code).toBe('invalid_value');
    expect((await appError(fresh.indexAt(tenantId, 0))).code).toBe('invalid_value');
    expect((await appError(fresh.indexAt(tenantId, 9))).code).toBe('invalid_value');
    expect(canRead(await fresh.indexAt(tenantId, 6), alice)).toBe(true);
    expect(canRead(await fresh.indexAt(tenantId, 8), alice)).toBe(false);
  });

  it('resumes deriving after a restart without writing a row twice', async () => {
    const { alice, group } = await story(store);
    expect(await createHistory({ store, snapshotEvery: 3 }).derive(tenantId)).toBe(8);
    const { scim } = services(store);
    await scim.patch(tenantId, actor, 'Group', group, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: alice }] }] }, {}, {});
    await store.close();

    store = await openSqliteStore(file);
    const restarted = createHistory({ store, snapshotEvery: 3 });
    expect(await restarted.derive(tenantId)).toBe(9);
    expect(await restarted.derive(tenantId)).toBe(9);
    expect(await derived(store)).toEqual(await expectedRows(store));
    // The deriver left snapshots as it passed multiples of 3, and they hold the state of their revision.
    const snapshot = await store.audit.snapshotAtOrBefore(tenantId, 9);
    expect(snapshot!.revision).toBeGreaterThanOrEqual(6);
    const replayed = HistoryState.empty();
    for (const record of await store.changes(tenantId, 0, snapshot!.revision)) replayed.apply(record);
    expect(HistoryState.decode(snapshot!.state).toSnapshot()).toEqual(replayed.toSnapshot());
  });

  it('lets other work run between batches of a long derivation or replay', async () => {
    await store.write(tenantId, async (tx) => {
      for (let i = 0; i < 1500; i++) {
        const revision = await tx.nextRevision();
        const change = { resourceType: 'User', resourceId: `u${i}`, operation: 'create', attributes: [], membersAdded: [], membersRemoved: [] } as const;
        await tx.appendChange({ revision, at: new Date().toISOString(), actor, change });
      }
    });
    const history = createHistory({ store });
    const order: string[] = [];
    setTimeout(() => order.push('timer'), 0);
    await history.derive(tenantId).then((revision) => order.push(`derived ${revision}`));
    setTimeout(() => order.push('timer'), 0);
    await history.indexAt(tenantId, 1400).then((index) => order.push(`index ${index.revision}`));
    expect(order).toEqual(['timer', 'derived 1500', 'timer', 'index 1400']);
  });

  it('writes each row once when two processes derive at the same time, and calls of one share a run', async () => {
    await story(store);
    const one = createHistory({ store });
    const two = createHistory({ store });
    const results = await Promise.all([one.derive(tenantId), two.derive(tenantId), one.derive(tenantId), two.derive(tenantId)]);
    expect(results).toEqual([8, 8, 8, 8]);
    expect(await derived(store)).toEqual(await expectedRows(store));
  });

  it('replays forward from a cached index', async () => {
    const { alice } = await story(store);
    const reads: (number | undefined)[] = [];
    const audit = { ...store.audit, entries: (id: string, query: AuditQuery) => (reads.push(query.afterRevision), store.audit.entries(id, query)) };
    const history = createHistory({ store: { ...store, audit }, cacheSize: 2 });
    const at5 = await history.indexAt(tenantId, 5);
    expect(await history.indexAt(tenantId, 5)).toBe(at5);
    reads.length = 0;
    expect(canRead(await history.indexAt(tenantId, 8), alice)).toBe(false);
    expect(reads).toEqual([5]);
    // The cached state stays at its revision.
    expect(canRead(await history.indexAt(tenantId, 5), alice)).toBe(true);
  });
});
