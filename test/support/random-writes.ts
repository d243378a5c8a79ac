import fc from 'fast-check';
import type { PolicyKind } from '../../src/authz/model.js';
import type { Actor } from '../../src/core/change.js';
import { systemClock } from '../../src/core/clock.js';
import { AppError } from '../../src/core/errors.js';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA } from '../../src/scim/schema/urns.js';
import { createPolicyAdmin, type PolicyAdmin } from '../../src/service/policy-admin.js';
import { createScimService, type ScimService } from '../../src/service/scim-service.js';
import type { Store } from '../../src/store/store.js';

/**
 * Random sequences of SCIM and admin writes, applied through the real services, for property tests
 * that compare two views of the same tenant (the kept index with a rebuild, the replayed history with
 * the store). One generator serves them all, so a new kind of write reaches every such test at once.
 *
 * @example
 * const world = await openWorld({ store, tenantId, committed, basePolicy: BASE_POLICY });
 * await world.runAll(commands); // commands from fc.array(command)
 */
const actor: Actor = { tokenId: null, kind: 'system' };
const USERS = 4;
const GROUPS = 4;
const TITLES = ['Engineer', 'Engineering Manager', 'Designer'];
const DEPARTMENTS = ['Engineering', 'Sales'];
const NAMES = ['eng', 'eng-backend', 'Design', 'ops'];
const SCOPES = ['*', 'project:web', 'database:*'];
const ROLES = ['reader', 'writer'];
const RULE_FILTERS = [
  `title co "Manager"`,
  `${ENTERPRISE_USER_SCHEMA}:department eq "Engineering"`,
  `active eq true and title sw "Eng"`,
  `name.givenName eq "Ann"`,
];

/** Slots name users and groups (`user${slot}`, `ext-${slot}`); the other numbers index the constants above. */
export type Command =
  | { op: 'createUser'; slot: number; title: number; department: number }
  | { op: 'patchUser'; slot: number; title: number; active: boolean }
  | { op: 'patchName'; slot: number; given: boolean; manager: number }
  | { op: 'removeTitle'; slot: number }
  | { op: 'replaceUser'; slot: number; title: number; department: number; emails: number }
  | { op: 'deleteUser'; slot: number }
  | { op: 'createGroup'; slot: number; name: number; members: number[] }
  | { op: 'renameGroup'; slot: number; name: number }
  | { op: 'replaceGroup'; slot: number; name: number; members: number[] }
  | { op: 'deleteGroup'; slot: number }
  | { op: 'addUser'; group: number; user: number }
  | { op: 'removeUser'; group: number; user: number }
  | { op: 'nest'; parent: number; child: number }
  | { op: 'unnest'; parent: number; child: number }
  | { op: 'binding'; id: number; subject: number; role: number; scope: number; deny: boolean; condition: boolean }
  | { op: 'mapping'; id: number; match: number; role: number; scope: number }
  | { op: 'rule'; id: number; filter: number; role: number }
  | { op: 'grant'; user: number; role: number }
  | { op: 'role'; wide: boolean }
  | { op: 'deletePolicy'; kind: number; id: number };

const slot = (n: number) => fc.integer({ min: 0, max: n - 1 });
const often = <T>(arbitrary: fc.Arbitrary<T>) => ({ arbitrary, weight: 3 });
const someUsers = fc.uniqueArray(slot(USERS), { maxLength: 3 });

/** One random write; membership and attribute changes come more often, as they are what IdPs send most. */
export const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('createUser' as const), slot: slot(USERS), title: slot(TITLES.length), department: slot(2) }),
  often(fc.record({ op: fc.constant('patchUser' as const), slot: slot(USERS), title: slot(TITLES.length), active: fc.boolean() })),
  fc.record({ op: fc.constant('patchName' as const), slot: slot(USERS), given: fc.boolean(), manager: slot(USERS + 1) }),
  fc.record({ op: fc.constant('removeTitle' as const), slot: slot(USERS) }),
  // department 2 means none, emails 0 means none.
  fc.record({ op: fc.constant('replaceUser' as const), slot: slot(USERS), title: slot(TITLES.length), department: slot(3), emails: slot(3) }),
  fc.record({ op: fc.constant('deleteUser' as const), slot: slot(USERS) }),
  fc.record({ op: fc.constant('createGroup' as const), slot: slot(GROUPS), name: slot(NAMES.length), members: someUsers }),
  often(fc.record({ op: fc.constant('renameGroup' as const), slot: slot(GROUPS), name: slot(NAMES.length) })),
  fc.record({ op: fc.constant('replaceGroup' as const), slot: slot(GROUPS), name: slot(NAMES.length), members: someUsers }),
  fc.record({ op: fc.constant('deleteGroup' as const), slot: slot(GROUPS) }),
  often(fc.record({ op: fc.constant('addUser' as const), group: slot(GROUPS), user: slot(USERS) })),
  often(fc.record({ op: fc.constant('removeUser' as const), group: slot(GROUPS), user: slot(USERS) })),
  often(fc.record({ op: fc.constant('nest' as const), parent: slot(GROUPS), child: slot(GROUPS) })),
  fc.record({ op: fc.constant('unnest' as const), parent: slot(GROUPS), child: slot(GROUPS) }),
  fc.record({
    op: fc.constant('binding' as const),
    id: slot(3),
    subject: slot(5),
    role: slot(ROLES.length),
    scope: slot(SCOPES.length),
    deny: fc.boolean(),
    condition: fc.boolean(),
  }),
  fc.record({ op: fc.constant('mapping' as const), id: slot(3), match: slot(3), role: slot(ROLES.length), scope: slot(SCOPES.length) }),
  fc.record({ op: fc.constant('rule' as const), id: slot(2), filter: slot(RULE_FILTERS.length), role: slot(ROLES.length) }),
  fc.record({ op: fc.constant('grant' as const), user: slot(USERS), role: slot(ROLES.length) }),
  fc.record({ op: fc.constant('role' as const), wide: fc.boolean() }),
  fc.record({ op: fc.constant('deletePolicy' as const), kind: slot(4), id: slot(3) }),
);

/** Every user and group slot filled, so that random writes mostly change something rather than miss. */
function everyoneExists(): Command[] {
  return [
    ...Array.from({ length: USERS }, (_, i) => ({ op: 'createUser' as const, slot: i, title: i % TITLES.length, department: i % 2 })),
    ...Array.from({ length: GROUPS }, (_, i) => ({ op: 'createGroup' as const, slot: i, name: i, members: [] })),
  ];
}

/** Applies commands to one tenant through the SCIM service and the policy admin, tracking which slot holds which id. */
export class World {
  readonly users = new Map<number, string>();
  readonly groups = new Map<number, string>();
  constructor(
    readonly tenantId: string,
    readonly scim: ScimService,
    readonly policy: PolicyAdmin,
  ) {}

  /** Runs each command in turn. A write the model refuses (an `AppError`) is part of the sequence; anything else fails. */
  async runAll(commands: Iterable<Command>): Promise<void> {
    for (const c of commands) {
      try {
        await this.run(c);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
      }
    }
  }

  private userBody(slot: number, title: number, department: number, emails = 0) {
    return {
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
      userName: `user${slot}`,
      title: TITLES[title],
      ...(emails > 0 ? { emails: Array.from({ length: emails }, (_, i) => ({ value: `u${slot}-${i}@x.test`, primary: i === 0 })) } : {}),
      ...(department < DEPARTMENTS.length ? { [ENTERPRISE_USER_SCHEMA]: { department: DEPARTMENTS[department] } } : {}),
    };
  }

  private members(slots: readonly number[]) {
    return slots.flatMap((s) => (this.users.has(s) ? [{ value: this.users.get(s)! }] : []));
  }

  async run(c: Command): Promise<void> {
    const t = this.tenantId;
    const patch = (type: 'User' | 'Group', id: string, Operations: unknown[]) =>
      this.scim.patch(t, actor, type, id, { schemas: [PATCH_OP], Operations }, {}, {});
    const user = this.users.get('slot' in c ? c.slot : 'user' in c ? c.user : -1);
    const group = this.groups.get('slot' in c ? c.slot : 'group' in c ? c.group : -1);
    switch (c.op) {
      case 'createUser':
        if (!user) this.users.set(c.slot, (await this.scim.create(t, actor, 'User', this.userBody(c.slot, c.title, c.department), {})).resource.id);
        return;
      case 'patchUser':
        if (user) await patch('User', user, [{ op: 'replace', value: { title: TITLES[c.title], active: c.active } }]);
        return;
      case 'patchName': {
        if (!user) return;
        const manager = this.users.get(c.manager);
        await patch('User', user, [
          c.given ? { op: 'replace', path: 'name.givenName', value: 'Ann' } : { op: 'remove', path: 'name' },
          manager
            ? { op: 'replace', path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: { value: manager } }
            : { op: 'remove', path: `${ENTERPRISE_USER_SCHEMA}:manager` },
        ]);
        return;
      }
      case 'removeTitle':
        if (user) await patch('User', user, [{ op: 'remove', path: 'title' }]);
        return;
      case 'replaceUser':
        if (user) await this.scim.replace(t, actor, 'User', user, this.userBody(c.slot, c.title, c.department, c.emails), {}, {});
        return;
      case 'deleteUser':
        if (user) await this.scim.remove(t, actor, 'User', user, {});
        this.users.delete(c.slot);
        return;
      case 'createGroup': {
        if (group) return;
        const body = { schemas: [GROUP_SCHEMA], displayName: NAMES[c.name], externalId: `ext-${c.slot}`, members: this.members(c.members) };
        this.groups.set(c.slot, (await this.scim.create(t, actor, 'Group', body, {})).resource.id);
        return;
      }
      case 'renameGroup':
        if (group) await patch('Group', group, [{ op: 'replace', path: 'displayName', value: NAMES[c.name] }]);
        return;
      case 'replaceGroup':
        if (group) {
          const body = { schemas: [GROUP_SCHEMA], displayName: NAMES[c.name], members: this.members(c.members) };
          await this.scim.replace(t, actor, 'Group', group, body, {}, {});
        }
        return;
      case 'deleteGroup':
        if (group) await this.scim.remove(t, actor, 'Group', group, {});
        this.groups.delete(c.slot);
        return;
      case 'addUser':
      case 'removeUser': {
        if (!group || !user) return;
        const op = c.op === 'addUser' ? { op: 'add', path: 'members', value: [{ value: user }] } : { op: 'remove', path: `members[value eq "${user}"]` };
        await patch('Group', group, [op]);
        return;
      }
      case 'nest':
      case 'unnest': {
        const parent = this.groups.get(c.parent);
        const child = this.groups.get(c.child);
        if (!parent || !child || parent === child) return;
        const op = c.op === 'nest' ? { op: 'add', path: 'members', value: [{ value: child }] } : { op: 'remove', path: `members[value eq "${child}"]` };
        await patch('Group', parent, [op]);
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
        const input = {
          id: `binding-${c.id}`,
          subject: subjects[c.subject],
          role: ROLES[c.role],
          scope: SCOPES[c.scope],
          ...(c.deny ? { effect: 'deny' } : {}),
          ...(c.condition ? { condition: 'subject.title.startsWith("Eng")' } : {}),
        };
        await this.policy.put(t, actor, 'binding', input, { mode: 'upsert' });
        return;
      }
      case 'mapping': {
        const matches = [{ externalId: 'ext-0' }, { displayName: 'design' }, { displayNamePattern: 'eng*' }];
        const input = { id: `mapping-${c.id}`, group: matches[c.match], role: ROLES[c.role], scope: SCOPES[c.scope] };
        await this.policy.put(t, actor, 'groupMapping', input, { mode: 'upsert' });
        return;
      }
      case 'rule':
        await this.policy.put(t, actor, 'attributeRule', { id: `rule-${c.id}`, filter: RULE_FILTERS[c.filter], role: ROLES[c.role], scope: '*' }, { mode: 'upsert' });
        return;
      case 'grant': {
        const input = { id: 'grant-0', subject: { type: 'user', userName: `user${c.user}` }, role: ROLES[c.role], scope: 'project:web', expiresAt: '2099-01-01T00:00:00.000Z', reason: 'on call' };
        await this.policy.put(t, actor, 'grant', input, { mode: 'upsert' });
        return;
      }
      case 'role':
        await this.policy.put(t, actor, 'role', { name: 'reader', permissions: c.wide ? ['database:*', 'project:read'] : ['project:read'] }, { mode: 'upsert' });
        return;
      case 'deletePolicy': {
        const kind = (['binding', 'groupMapping', 'attributeRule', 'grant'] as const)[c.kind]!;
        const prefix = { binding: 'binding', groupMapping: 'mapping', attributeRule: 'rule', grant: 'grant' }[kind];
        await this.policy.remove(t, actor, kind, `${prefix}-${kind === 'grant' ? 0 : c.id}`);
        return;
      }
    }
  }
}

export interface OpenWorldOptions {
  readonly store: Store;
  readonly tenantId: string;
  /** Passed to both services: called after each commit. */
  readonly committed: (tenantId: string) => Promise<void>;
  /** Written first, each object with `mode: 'create'`; the test's own starting model. */
  readonly basePolicy: readonly { readonly kind: PolicyKind; readonly input: unknown }[];
}

/** The services over `store`, the base policy written and every slot filled (`everyoneExists`). */
export async function openWorld(options: OpenWorldOptions): Promise<World> {
  const { store, tenantId, committed } = options;
  const scim = createScimService({ store, clock: systemClock, committed });
  const policy = createPolicyAdmin({ store, clock: systemClock, committed });
  for (const { kind, input } of options.basePolicy) await policy.put(tenantId, actor, kind, input, { mode: 'create' });
  const world = new World(tenantId, scim, policy);
  for (const c of everyoneExists()) await world.run(c);
  return world;
}
