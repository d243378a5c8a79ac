import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command, openWorld } from '../../test/support/random-writes.js';
import { permissionsOf } from '../authz/queries.js';
import { TenantIndex } from '../authz/tenant-index.js';
import { openSqliteStore } from '../store/sqlite/open-sqlite-store.js';
import type { AccessChangeRecord, ChangeRecord, Store, TenantSnapshot } from '../store/store.js';
import { AccessDeriver } from './access-diff.js';
import { HistoryState } from './replay.js';

/**
 * INVARIANTS under test, after any sequence of SCIM and admin writes through the real services:
 * (a) the state replayed from the change log alone equals the store's own snapshot;
 * (b) at every revision, the access changes the deriver reports are exactly the difference between
 *     what every user held (`permissionsOf`, expiry aside) in an index built from scratch before and after it.
 */

/** Every grant counts, whatever its expiry (as the deriver counts them). */
const EARLIEST = new Date(-8.64e15);

const BASE_POLICY = [
  { kind: 'resourceType', input: { name: 'database', actions: ['read', 'write'] } },
  { kind: 'resourceType', input: { name: 'project', actions: ['read'] } },
  { kind: 'resource', input: { type: 'project', id: 'web' } },
  { kind: 'role', input: { name: 'reader', permissions: ['database:read', 'project:read'] } },
  { kind: 'role', input: { name: 'writer', permissions: ['database:write'], includes: ['reader'] } },
  { kind: 'groupMapping', input: { id: 'base-ext', group: { externalId: 'ext-0' }, role: 'reader', scope: 'project:web' } },
  { kind: 'groupMapping', input: { id: 'base-pattern', group: { displayNamePattern: 'eng*' }, role: 'writer', scope: 'database:*' } },
  { kind: 'attributeRule', input: { id: 'base-rule', filter: 'title co "Manager"', role: 'writer', scope: '*' } },
] as const;

/** What a snapshot says, in a form two snapshots compare by (memberships and policy are sets; the store's order is its own). */
function comparable(s: TenantSnapshot) {
  return {
    revision: s.revision,
    users: s.users.map(({ id, doc, created, lastModified, version }) => ({ id, doc, created, lastModified, version })),
    groups: s.groups.map(({ id, doc, created, lastModified, version }) => ({ id, doc, created, lastModified, version })),
    memberships: s.memberships.map((m) => `${m.groupId}>${m.memberId}:${m.memberType}`).sort(),
    policy: s.policy.map(({ kind, id, doc, version, created, lastModified }) => ({ kind, id, doc, version, created, lastModified })),
  };
}

/** Every (user, effect, permission, scope, condition) held, expiry aside. */
function held(index: TenantIndex): Set<string> {
  const out = new Set<string>();
  for (const user of index.users.values()) {
    for (const p of permissionsOf(index, user, EARLIEST)) out.add(JSON.stringify([user.id, p.effect, p.permission, p.scope, p.condition ?? null]));
  }
  return out;
}

function rowKey(r: AccessChangeRecord): string {
  return JSON.stringify([r.userId, r.effect, r.permission, r.scope, (r.detail as { condition?: string }).condition ?? null]);
}

async function allChanges(store: Store, tenantId: string): Promise<ChangeRecord[]> {
  const out: ChangeRecord[] = [];
  for (;;) {
    const page = await store.changes(tenantId, out.at(-1)?.revision ?? 0, 500);
    out.push(...page);
    if (page.length < 500) return out;
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scimitar-history-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the history replayed from the change log', () => {
  let run = 0;
  it('equals the store, and derives exactly the access each write changed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 40 }), async (commands) => {
        const store = await openSqliteStore(join(dir, `run-${run++}.db`));
        try {
          const tenant = await store.tenants.create('t');
          const world = await openWorld({ store, tenantId: tenant.id, committed: async () => undefined, basePolicy: BASE_POLICY });
          await world.runAll(commands);

          const records = await allChanges(store, tenant.id);
          const deriver = AccessDeriver.start(HistoryState.empty());
          let before = TenantIndex.build(HistoryState.empty().toSnapshot());
          for (const record of records) {
            const rows = deriver.apply(record);
            const after = TenantIndex.build(deriver.state.toSnapshot());
            const was = held(before);
            const is = held(after);
            const gained = [...is].filter((k) => !was.has(k)).sort();
            const lost = [...was].filter((k) => !is.has(k)).sort();
            expect({ revision: record.revision, gained, lost }).toEqual({
              revision: record.revision,
              gained: rows.filter((r) => r.change === 'gained').map(rowKey).sort(),
              lost: rows.filter((r) => r.change === 'lost').map(rowKey).sort(),
            });
            expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
            for (const r of rows) expect(r.detail.reason).toMatch(/\S/);
            before = after;
          }
          expect(comparable(deriver.state.toSnapshot())).toEqual(comparable(await store.snapshot(tenant.id)));
        } finally {
          await store.close();
        }
      }),
      { numRuns: 60 },
    );
  }, 180_000);
});
