import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { command, openWorld } from '../../test/support/random-writes.js';
import { isAllowed } from '../authz/evaluate.js';
import { TenantIndex } from '../authz/tenant-index.js';
import { openSqliteStore } from '../store/sqlite/open-sqlite-store.js';
import { createAuthzIndexes } from './authz-service.js';

/**
 * INVARIANT under test: after any sequence of SCIM and admin writes, the index kept current change by
 * change equals an index built from scratch from the database. Everything a check reads is compared:
 * users, groups, memberships, rule matches, the grants each user holds, and a grid of decisions.
 */
const BASE_POLICY = [
  { kind: 'resourceType', input: { name: 'database', actions: ['read', 'write'] } },
  { kind: 'resourceType', input: { name: 'project', actions: ['read'] } },
  { kind: 'resource', input: { type: 'project', id: 'web' } },
  { kind: 'resource', input: { type: 'database', id: 'orders', parent: 'project:web' } },
  { kind: 'role', input: { name: 'reader', permissions: ['database:read', 'project:read'] } },
  { kind: 'role', input: { name: 'writer', permissions: ['database:write'], includes: ['reader'] } },
  // Grants through every kind of subject from the start, so membership and attribute changes always matter.
  { kind: 'groupMapping', input: { id: 'base-ext', group: { externalId: 'ext-0' }, role: 'reader', scope: 'project:web' } },
  { kind: 'groupMapping', input: { id: 'base-pattern', group: { displayNamePattern: 'eng*' }, role: 'writer', scope: 'database:*' } },
  { kind: 'binding', input: { id: 'base-group', subject: { type: 'group', displayName: 'design' }, role: 'reader', scope: '*' } },
  { kind: 'attributeRule', input: { id: 'base-rule', filter: 'title co "Manager"', role: 'writer', scope: '*' } },
] as const;

/** Everything a check depends on, in a form two indexes can be compared by. */
function canonical(index: TenantIndex) {
  const sorted = (values: Iterable<string>) => [...values].sort();
  const users = sorted(index.users.keys()).map((id) => {
    const u = index.users.get(id)!;
    return { id, userName: u.userName, active: u.active, groups: sorted(u.groups), rules: sorted(u.rules), grants: sorted(u.profile.grants.map((g) => g.key)) };
  });
  const groups = sorted(index.groups.keys()).map((id) => {
    const g = index.groups.get(id)!;
    return { id, displayName: g.displayName, externalId: g.externalId, parents: sorted(g.parents), users: sorted(g.users), children: sorted(g.children) };
  });
  const now = new Date('2026-06-01T00:00:00Z');
  const decisions = users.flatMap(({ id }) =>
    ['database:orders', 'project:web', 'database:other'].flatMap((resource) =>
      ['read', 'write'].map((action) => {
        const [type, rid] = resource.split(':') as [string, string];
        if (type === 'project' && action === 'write') return null;
        return isAllowed(index, { user: index.users.get(id), action, resource: { type, id: rid }, now });
      }),
    ),
  );
  return { revision: index.revision, users, groups, decisions };
}

describe('the incrementally kept permission index', () => {
  it('equals a full rebuild after any sequence of SCIM and admin writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 40 }), async (commands) => {
        const store = await openSqliteStore(':memory:');
        try {
          const tenant = await store.tenants.create('t');
          const indexes = createAuthzIndexes({ store, pollMs: 0 });
          // The index exists before the writes, so every one of them is applied incrementally.
          await indexes.index(tenant.id);
          const world = await openWorld({ store, tenantId: tenant.id, committed: (id) => indexes.sync(id), basePolicy: BASE_POLICY });
          await world.runAll(commands);
          const incremental = await indexes.index(tenant.id);
          const rebuilt = TenantIndex.build(await store.snapshot(tenant.id));
          expect(canonical(incremental)).toEqual(canonical(rebuilt));
        } finally {
          await store.close();
        }
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
