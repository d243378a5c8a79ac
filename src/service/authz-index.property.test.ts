import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Actor } from '../core/change.js';
import { systemClock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import { isAllowed } from '../authz/evaluate.js';
import { TenantIndex } from '../authz/tenant-index.js';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA } from '../scim/schema/urns.js';
import { openSqliteStore } from '../store/sqlite/open-sqlite-store.js';
import type { Store } from '../store/store.js';
import { createAuthzIndexes } from './authz-service.js';
import { createPolicyAdmin } from './policy-admin.js';
import { createScimService } from './scim-service.js';

/**
 * INVARIANT under test: after any sequence of SCIM and admin writes, the index kept current change by
 * change equals an index built from scratch from the database. Everything a check reads is compared:
 * users, groups, memberships, rule matches, the grants each user holds, and a grid of decisions.
 */
const actor: Actor = { tokenId: null, kind: 'system' };
const USERS = 4;
const GROUPS = 4;
const TITLES = ['Engineer', 'Engineering Manager', 'Designer'];
const DEPARTMENTS = ['Engineering', 'Sales'];
const NAMES = ['eng', 'eng-backend', 'Design', 'ops'];

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

type Command =
  | { op: 'createUser'; slot: number; title: number; department: number }
  | { op: 'patchUser'; slot: number; title: number; active: boolean }
  | { op: 'deleteUser'; slot: number }
  | { op: 'createGroup'; slot: number; name: number }
  | { op: 'renameGroup'; slot: number; name: number }
  | { op: 'deleteGroup'; slot: number }
  | { op: 'addUser'; group: number; user: number }
  | { op: 'removeUser'; group: number; user: number }
  | { op: 'nest'; parent: number; child: number }
  | { op: 'binding'; id: number; subject: number; role: number; scope: number; deny: boolean; condition: boolean }
  | { op: 'mapping'; id: number; match: number; role: number; scope: number }
  | { op: 'rule'; id: number; filter: number; role: number }
  | { op: 'role'; wide: boolean }
  | { op: 'deletePolicy'; kind: number; id: number };

const slot = (n: number) => fc.integer({ min: 0, max: n - 1 });
const often = <T>(arbitrary: fc.Arbitrary<T>) => ({ arbitrary, weight: 3 });
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('createUser' as const), slot: slot(USERS), title: slot(TITLES.length), department: slot(2) }),
  often(fc.record({ op: fc.constant('patchUser' as const), slot: slot(USERS), title: slot(TITLES.length), active: fc.boolean() })),
  fc.record({ op: fc.constant('deleteUser' as const), slot: slot(USERS) }),
  fc.record({ op: fc.constant('createGroup' as const), slot: slot(GROUPS), name: slot(NAMES.length) }),
  often(fc.record({ op: fc.constant('renameGroup' as const), slot: slot(GROUPS), name: slot(NAMES.length) })),
  fc.record({ op: fc.constant('deleteGroup' as const), slot: slot(GROUPS) }),
  often(fc.record({ op: fc.constant('addUser' as const), group: slot(GROUPS), user: slot(USERS) })),
  often(fc.record({ op: fc.constant('removeUser' as const), group: slot(GROUPS), user: slot(USERS) })),
  often(fc.record({ op: fc.constant('nest' as const), parent: slot(GROUPS), child: slot(GROUPS) })),
  fc.record({
    op: fc.constant('binding' as const),
    id: slot(3),
    subject: slot(5),
    role: slot(2),
    scope: slot(3),
    deny: fc.boolean(),
    condition: fc.boolean(),
  }),
  fc.record({ op: fc.constant('mapping' as const), id: slot(3), match: slot(3), role: slot(2), scope: slot(3) }),
  fc.record({ op: fc.constant('rule' as const), id: slot(2), filter: slot(3), role: slot(2) }),
  fc.record({ op: fc.constant('role' as const), wide: fc.boolean() }),
  fc.record({ op: fc.constant('deletePolicy' as const), kind: slot(3), id: slot(3) }),
);

const SCOPES = ['*', 'project:web', 'database:*'];
const ROLES = ['reader', 'writer'];
const RULE_FILTERS = [
  `title co "Manager"`,
  `${ENTERPRISE_USER_SCHEMA}:department eq "Engineering"`,
  `active eq true and title sw "Eng"`,
];

class World {
  readonly users = new Map<number, string>();
  readonly groups = new Map<number, string>();
  constructor(
    readonly store: Store,
    readonly tenantId: string,
    readonly scim: ReturnType<typeof createScimService>,
    readonly policy: ReturnType<typeof createPolicyAdmin>,
  ) {}

  async run(c: Command): Promise<void> {
    const t = this.tenantId;
    const patch = (type: 'User' | 'Group', id: string, Operations: unknown[]) =>
      this.scim.patch(t, actor, type, id, { schemas: [PATCH_OP], Operations }, {}, {});
    const user = this.users.get('slot' in c ? c.slot : 'user' in c ? c.user : -1);
    switch (c.op) {
      case 'createUser': {
        if (user) return;
        const body = {
          schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
          userName: `user${c.slot}`,
          title: TITLES[c.title],
          [ENTERPRISE_USER_SCHEMA]: { department: DEPARTMENTS[c.department] },
        };
        this.users.set(c.slot, (await this.scim.create(t, actor, 'User', body, {})).resource.id);
        return;
      }
      case 'patchUser':
        if (user) await patch('User', user, [{ op: 'replace', value: { title: TITLES[c.title], active: c.active } }]);
        return;
      case 'deleteUser':
        if (user) await this.scim.remove(t, actor, 'User', user, {});
        this.users.delete(c.slot);
        return;
      case 'createGroup': {
        if (this.groups.has(c.slot)) return;
        const body = { schemas: [GROUP_SCHEMA], displayName: NAMES[c.name], externalId: `ext-${c.slot}` };
        this.groups.set(c.slot, (await this.scim.create(t, actor, 'Group', body, {})).resource.id);
        return;
      }
      case 'renameGroup': {
        const group = this.groups.get(c.slot);
        if (group) await patch('Group', group, [{ op: 'replace', path: 'displayName', value: NAMES[c.name] }]);
        return;
      }
      case 'deleteGroup': {
        const group = this.groups.get(c.slot);
        if (group) await this.scim.remove(t, actor, 'Group', group, {});
        this.groups.delete(c.slot);
        return;
      }
      case 'addUser':
      case 'removeUser': {
        const group = this.groups.get(c.group);
        if (!group || !user) return;
        const op = c.op === 'addUser' ? { op: 'add', path: 'members', value: [{ value: user }] } : { op: 'remove', path: `members[value eq "${user}"]` };
        await patch('Group', group, [op]);
        return;
      }
      case 'nest': {
        const parent = this.groups.get(c.parent);
        const child = this.groups.get(c.child);
        if (parent && child && parent !== child) await patch('Group', parent, [{ op: 'add', path: 'members', value: [{ value: child }] }]);
        return;
      }
      case 'binding': {
        const subjects = [
          { type: 'user', userName: 'user0' },
          { type: 'group', externalId: 'ext-1' },
          { type: 'group', displayName: 'ENG' },
          { type: 'rule', id: 'rule-0' },
          { type: 'everyone' },
        ];
        await this.policy.put(t, actor, 'binding', {
          id: `binding-${c.id}`,
          subject: subjects[c.subject],
          role: ROLES[c.role],
          scope: SCOPES[c.scope],
          ...(c.deny ? { effect: 'deny' } : {}),
          ...(c.condition ? { condition: 'subject.title.startsWith("Eng")' } : {}),
        }, { mode: 'upsert' });
        return;
      }
      case 'mapping': {
        const matches = [{ externalId: 'ext-0' }, { displayName: 'design' }, { displayNamePattern: 'eng*' }];
        await this.policy.put(t, actor, 'groupMapping', { id: `mapping-${c.id}`, group: matches[c.match], role: ROLES[c.role], scope: SCOPES[c.scope] }, { mode: 'upsert' });
        return;
      }
      case 'rule':
        await this.policy.put(t, actor, 'attributeRule', { id: `rule-${c.id}`, filter: RULE_FILTERS[c.filter], role: ROLES[c.role], scope: '*' }, { mode: 'upsert' });
        return;
      case 'role':
        await this.policy.put(t, actor, 'role', { name: 'reader', permissions: c.wide ? ['database:*', 'project:read'] : ['project:read'] }, { mode: 'upsert' });
        return;
      case 'deletePolicy': {
        const kind = (['binding', 'groupMapping', 'attributeRule'] as const)[c.kind]!;
        const prefix = { binding: 'binding', groupMapping: 'mapping', attributeRule: 'rule' }[kind];
        await this.policy.remove(t, actor, kind, `${prefix}-${c.id}`);
        return;
      }
    }
  }
}

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
          const committed = (id: string) => indexes.sync(id);
          const scim = createScimService({ store, clock: systemClock, committed });
          const policy = createPolicyAdmin({ store, clock: systemClock, committed });
          // The index exists before the writes, so every one of them is applied incrementally.
          await indexes.index(tenant.id);
          for (const { kind, input } of BASE_POLICY) await policy.put(tenant.id, actor, kind, input, { mode: 'create' });
          const world = new World(store, tenant.id, scim, policy);
          // Everyone exists at first, so the random writes mostly change something rather than miss.
          const setup: Command[] = [
            ...Array.from({ length: USERS }, (_, i) => ({ op: 'createUser' as const, slot: i, title: i % TITLES.length, department: i % 2 })),
            ...Array.from({ length: GROUPS }, (_, i) => ({ op: 'createGroup' as const, slot: i, name: i })),
          ];
          for (const c of setup) await world.run(c);
          for (const c of commands) {
            try {
              await world.run(c);
            } catch (err) {
              // Writes the model refuses (a rule a binding still names…) are part of the sequence too.
              if (!(err instanceof AppError)) throw err;
            }
          }
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
