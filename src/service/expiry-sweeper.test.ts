import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HistoryState } from '../audit/replay.js';
import type { Actor } from '../core/change.js';
import { USER_SCHEMA } from '../scim/schema/urns.js';
import { openSqliteStore } from '../store/sqlite/open-sqlite-store.js';
import type { Store } from '../store/store.js';
import { createExpirySweeper, type ExpirySweeper } from './expiry-sweeper.js';
import { createHistory } from './history.js';
import { createPolicyAdmin } from './policy-admin.js';
import { createScimService } from './scim-service.js';

const admin: Actor = { tokenId: 'admin-token', kind: 'admin' };
const ONE = '2026-06-01T01:00:00.000Z';

let dir: string;
let store: Store;
let tenantId: string;
let now: Date;
const clock = { now: () => now };
const errors: unknown[] = [];
const sweepers: ExpirySweeper[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scimitar-expiry-'));
  store = await openSqliteStore(join(dir, 'expiry.db'));
  tenantId = (await store.tenants.create('t')).id;
  now = new Date('2026-06-01T00:00:00Z');
  errors.length = 0;
});

afterEach(async () => {
  for (const s of sweepers.splice(0)) await s.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A sweeper as one node runs it; two of them stand for two nodes on one database. */
function sweeper(): ExpirySweeper {
  const s = createExpirySweeper({ store, clock, committed: async () => undefined, onError: (err) => errors.push(err) });
  sweepers.push(s);
  return s;
}

/** alice holds `doc:read` through a grant to 01:00 only; bob through a binding to 01:00 and one without end. */
async function model() {
  const committed = async () => undefined;
  const policy = createPolicyAdmin({ store, clock, committed });
  const scim = createScimService({ store, clock, committed });
  const alice = (await scim.create(tenantId, admin, 'User', { schemas: [USER_SCHEMA], userName: 'alice' }, {})).resource.id;
  const bob = (await scim.create(tenantId, admin, 'User', { schemas: [USER_SCHEMA], userName: 'bob' }, {})).resource.id;
  await policy.put(tenantId, admin, 'resourceType', { name: 'doc', actions: ['read'] }, { mode: 'create' });
  await policy.put(tenantId, admin, 'role', { name: 'reader', permissions: ['doc:read'] }, { mode: 'create' });
  const grant = { id: 'g1', subject: { type: 'user', id: alice }, role: 'reader', scope: 'doc:*', expiresAt: ONE, reason: 'INC-1' };
  await policy.put(tenantId, admin, 'grant', grant, { mode: 'create' });
  await policy.put(tenantId, admin, 'binding', { id: 'b1', subject: { type: 'user', id: bob }, role: 'reader', scope: 'doc:*', expiresAt: ONE }, { mode: 'create' });
  await policy.put(tenantId, admin, 'binding', { id: 'b2', subject: { type: 'user', id: bob }, role: 'reader', scope: 'doc:*' }, { mode: 'create' });
  return { policy, alice, bob, grant };
}

async function expiries() {
  const log = await store.changes(tenantId, 0, 10_000);
  return log.flatMap(({ revision, actor, change }) =>
    change.kind === 'policy' && change.operation === 'expire' ? [{ revision, actor, object: `${change.objectKind} ${change.objectId}` }] : [],
  );
}

async function replayed(): Promise<HistoryState> {
  const state = HistoryState.empty();
  for (const record of await store.changes(tenantId, 0, 10_000)) state.apply(record);
  return state;
}

describe('createExpirySweeper', () => {
  it('logs each passed expiry once, as the system, even when two nodes sweep, and leaves the objects as they were', async () => {
    await model();
    const [a, b] = [sweeper(), sweeper()];
    await a.sweep();
    expect(await expiries()).toEqual([]);
    const before = await store.snapshot(tenantId);

    now = new Date('2026-06-01T02:00:00Z');
    await Promise.all([a.sweep(), b.sweep()]);
    await a.sweep();
    await b.sweep();
    const system = { tokenId: null, kind: 'system' };
    // Policy objects are read in kind then id order.
    expect(await expiries()).toEqual([
      { revision: 8, actor: system, object: 'binding b1' },
      { revision: 9, actor: system, object: 'grant g1' },
    ]);
    const after = await store.snapshot(tenantId);
    expect(after.policy).toEqual(before.policy);
    // The log replayed is the store, an expiry included; the replay knows what expired.
    const state = await replayed();
    expect({ ...state.toSnapshot(), revision: 0 }).toEqual({ ...after, revision: 0 });
    expect([state.hasExpired('grant', 'g1'), state.hasExpired('binding', 'b1'), state.hasExpired('binding', 'b2')]).toEqual([true, true, false]);
    expect(HistoryState.decode(state.encode()).hasExpired('grant', 'g1')).toBe(true);
    expect(state.clone().hasExpired('binding', 'b1')).toBe(true);
    expect(errors).toEqual([]);
  });

  it('derives the access an expiry ends, and again after an extension runs out', async () => {
    const { policy, alice, grant } = await model();
    const history = createHistory({ store });
    const s = sweeper();
    now = new Date('2026-06-01T02:00:00Z');
    await s.sweep();
    // Extended at 02:00 to 03:00: alice holds it again, until the extension passes too.
    await policy.put(tenantId, admin, 'grant', { ...grant, expiresAt: '2026-06-01T03:00:00.000Z' }, { mode: 'replace' });
    now = new Date('2026-06-01T04:00:00Z');
    await s.sweep();
    expect((await expiries()).map(({ revision, object }) => `${revision} ${object}`)).toEqual(['8 binding b1', '9 grant g1', '11 grant g1']);

    await history.derive(tenantId);
    const rows = (await store.audit.accessChanges(tenantId, { limit: 100 })).filter((r) => r.revision > 7);
    // bob keeps `doc:read` through b2 when b1 expires: no row for him.
    expect(rows.map(({ userId, permission, scope, change, detail }) => ({ userId, permission, scope, change, reason: detail.reason }))).toEqual([
      { userId: alice, permission: 'doc:read', scope: 'doc:*', change: 'lost', reason: `grant g1 expired at ${ONE}` },
      { userId: alice, permission: 'doc:read', scope: 'doc:*', change: 'gained', reason: 'grant g1 replaced' },
      { userId: alice, permission: 'doc:read', scope: 'doc:*', change: 'lost', reason: 'grant g1 expired at 2026-06-01T03:00:00.000Z' },
    ]);
    expect((await replayed()).hasExpired('grant', 'g1')).toBe(true);
  });

  it('logs nothing before an expiry passes, and nothing for a grant deleted before it did', async () => {
    const { policy } = await model();
    const s = sweeper();
    now = new Date('2026-06-01T00:59:59.999Z');
    await s.sweep();
    await policy.remove(tenantId, admin, 'grant', 'g1');
    now = new Date('2026-06-01T01:00:00Z');
    await s.sweep();
    expect((await expiries()).map((e) => e.object)).toEqual(['binding b1']);
  });
});
