/**
 * The permission benchmark's workload, generated in code from a fixed seed: users with HR
 * attributes, nested groups, 20 resource types, 50 roles, ~1,000 resources in a hierarchy, group
 * mappings, attribute rules, bindings with conditions, expiries and denies, and a mix of check
 * requests. Everything is a pure function of `(shape, seed, now)`.
 *
 * The model is described once, in an engine-neutral form (`Grant`, `RoleSpec`, `ResourceSpec` …),
 * and each engine gets its own rendering of it: Scimitar's policy objects (`scimitarPolicy`),
 * casbin's policy lines (`casbin-peer.ts`) and Cedar's policies and entities (`cedar-peer.ts`).
 * Conditions are restricted to the one form every engine can express exactly,
 * `resource.attributes.env == "<env>"`, so the engines can be held to the same answers.
 */
import { guid, prng } from '../scim/fixtures.js';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export const TYPES = [
  'project', 'database', 'bucket', 'service', 'queue', 'topic', 'cluster', 'namespace', 'secret', 'dashboard',
  'report', 'repo', 'pipeline', 'ticket', 'document', 'folder', 'vm', 'network', 'key', 'model',
] as const;
export const ACTIONS = ['read', 'list', 'write', 'delete', 'admin'] as const;
const ENVS = ['prod', 'staging', 'dev'] as const;
const DEPARTMENTS = [
  'Engineering', 'Sales', 'Marketing', 'Finance', 'Human Resources', 'Legal', 'Operations', 'Customer Success',
  'Product', 'Research', 'IT', 'Facilities',
];
const TITLES = [
  'Engineer', 'Senior Engineer', 'Engineering Manager', 'Product Manager', 'Director', 'Analyst', 'Specialist',
  'Consultant', 'Associate',
];
/** Resource types that live inside another resource of the same project rather than the project itself. */
const NESTED_UNDER: Readonly<Record<string, string>> = { document: 'folder', key: 'secret', namespace: 'cluster' };
const PROJECTS = 20;
const ADMIN_TYPES = ['database', 'bucket', 'service', 'cluster', 'secret', 'project'];

export interface Shape {
  readonly users: number;
  readonly groups: number;
  /** Members of the `bench-all-staff` group (item 5: a mapping change that reaches them all). */
  readonly bigGroupMembers: number;
  readonly requests: number;
  readonly seed: number;
  /** Epoch ms the expiries are placed around (some before, some after). */
  readonly now: number;
}

export interface UserSpec {
  readonly i: number;
  readonly userName: string;
  readonly externalId: string;
  readonly givenName: string;
  readonly familyName: string;
  readonly department: string;
  readonly title: string;
  readonly active: boolean;
}

export interface GroupSpec {
  readonly i: number;
  readonly displayName: string;
  readonly externalId: string;
  /** 1: top level, 2: inside a level-1 group, 3: inside a level-2 group, 0: flat. */
  readonly level: 0 | 1 | 2 | 3;
  /** Direct user members, by user index. */
  readonly users: number[];
  /** Groups this group is a direct member of, by group index. */
  readonly parents: number[];
}

export interface ResourceSpec {
  readonly type: string;
  readonly id: string;
  /** `type:id` */
  readonly key: string;
  readonly parent?: string;
  readonly env: string;
}

export interface RoleSpec {
  readonly name: string;
  /** As written: `type:action` or `type:*`. */
  readonly permissions: readonly string[];
  readonly includes: readonly string[];
}

export type GrantSubject =
  | { readonly kind: 'user'; readonly user: number }
  | { readonly kind: 'group'; readonly group: number; readonly by: 'externalId' | 'displayName' }
  | { readonly kind: 'pattern'; readonly pattern: string }
  | { readonly kind: 'rule'; readonly rule: string }
  | { readonly kind: 'everyone' };

/** One binding, group mapping, attribute rule or temporary grant, engine-neutral. */
export interface Grant {
  readonly id: string;
  readonly origin: 'binding' | 'groupMapping' | 'attributeRule' | 'grant';
  readonly subject: GrantSubject;
  readonly role: string;
  /** `*`, `type:*` or `type:id`. */
  readonly scope: string;
  readonly effect: 'allow' | 'deny';
  /** The condition `resource.attributes.env == "<env>"`, when set. */
  readonly env?: string;
  /** Epoch ms. */
  readonly expiresAt?: number;
}

/** An attribute rule: its SCIM filter for Scimitar, and the same test in plain code for the peers. */
export interface RuleSpec {
  readonly id: string;
  readonly filter: string;
  readonly matches: (user: UserSpec) => boolean;
}

export interface CheckRequest {
  readonly user: number;
  readonly type: string;
  readonly id: string;
  readonly action: string;
  /** How the request was drawn: from a grant the user holds, from a special grant, or at random. */
  readonly kind: 'held' | 'special' | 'random';
}

export interface Workload {
  readonly shape: Shape;
  readonly users: readonly UserSpec[];
  readonly groups: readonly GroupSpec[];
  /** Index of `bench-all-staff` (unmapped; `bigGroupMembers` members) and `bench-mapped-empty` (mapped, no members). */
  readonly bigGroup: number;
  readonly emptyMappedGroup: number;
  readonly resources: readonly ResourceSpec[];
  readonly roles: readonly RoleSpec[];
  readonly rules: readonly RuleSpec[];
  readonly grants: readonly Grant[];
  readonly requests: readonly CheckRequest[];
}

export function defaultShape(users: number, requests: number, now: number): Shape {
  return { users, groups: Math.max(20, Math.round(users / 20)), bigGroupMembers: Math.min(users, 10_000), requests, seed: 20_240_917, now };
}

const DAY = 86_400_000;

export function generateWorkload(shape: Shape): Workload {
  const rnd = prng(shape.seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;

  // Users.
  const users: UserSpec[] = [];
  for (let i = 0; i < shape.users; i++) {
    const serial = String(i).padStart(6, '0');
    users.push({
      i,
      userName: `user${serial}@bench.example`,
      externalId: guid(i),
      givenName: `Given${i % 997}`,
      familyName: `Family${i % 1009}`,
      department: DEPARTMENTS[Math.min(DEPARTMENTS.length - 1, Math.floor(rnd() ** 1.6 * DEPARTMENTS.length))]!,
      title: pick(TITLES),
      active: rnd() >= 0.03,
    });
  }

  // Groups: 10% top level, 30% inside them, 16% one level deeper, the rest flat.
  const G = shape.groups;
  const n1 = Math.max(2, Math.round(G * 0.1));
  const n2 = Math.max(3, Math.round(G * 0.3));
  const n3 = Math.max(2, Math.round(G * 0.16));
  const groups: GroupSpec[] = [];
  const addGroup = (displayName: string, level: GroupSpec['level']): GroupSpec => {
    const group: GroupSpec = { i: groups.length, displayName, externalId: guid(groups.length, 1), level, users: [], parents: [] };
    groups.push(group);
    return group;
  };
  const level1 = Array.from({ length: n1 }, (_, k) => addGroup(`org-${String(k).padStart(3, '0')}`, 1));
  const level2 = Array.from({ length: n2 }, (_, k) => addGroup(`team-${String(k).padStart(4, '0')}`, 2));
  const level3 = Array.from({ length: n3 }, (_, k) => addGroup(`squad-${String(k).padStart(4, '0')}`, 3));
  const flatCount = Math.max(4, G - n1 - n2 - n3);
  const flat: GroupSpec[] = [];
  for (let k = 0; k < flatCount; k++) {
    const name =
      k === 0 ? 'contractors' : k === 1 ? 'interns' : k < 12 ? `sre-${String(k).padStart(3, '0')}` : k < 22 ? `Finance Reporting ${k}` : `app-${String(k).padStart(4, '0')}`;
    flat.push(addGroup(name, 0));
  }
  for (const g of level2) g.parents.push(pick(level1).i);
  for (const g of level3) g.parents.push(pick(level2).i);
  const joinable = [...level2, ...level3, ...flat];
  for (const user of users) {
    const count = 1 + (rnd() < 0.6 ? 1 : 0) + (rnd() < 0.25 ? 1 : 0);
    const seen = new Set<number>();
    for (let c = 0; c < count; c++) {
      const g = pick(joinable);
      if (seen.has(g.i)) continue;
      seen.add(g.i);
      g.users.push(user.i);
    }
  }
  const big = addGroup('bench-all-staff', 0);
  for (let i = 0; i < shape.bigGroupMembers; i++) big.users.push(i);
  const emptyMapped = addGroup('bench-mapped-empty', 0);

  // Resources: 20 projects, each with 2–3 resources of every other type; documents in folders,
  // keys in secrets, namespaces in clusters.
  const resources: ResourceSpec[] = [];
  for (let p = 0; p < PROJECTS; p++) {
    const project = `p${String(p).padStart(2, '0')}`;
    const projectEnv = pick(ENVS);
    resources.push({ type: 'project', id: project, key: `project:${project}`, env: projectEnv });
    const inProject = new Map<string, string[]>();
    const order = [...TYPES.filter((t) => t !== 'project' && !NESTED_UNDER[t]), ...Object.keys(NESTED_UNDER)];
    for (const type of order) {
      const count = 2 + (rnd() < 0.5 ? 1 : 0);
      const keys: string[] = [];
      for (let n = 1; n <= count; n++) {
        const id = `${project}-${n}`;
        const key = `${type}:${id}`;
        const host = NESTED_UNDER[type];
        const parent = host ? pick(inProject.get(host)!) : `project:${project}`;
        resources.push({ type, id, key, parent, env: rnd() < 0.8 ? projectEnv : pick(ENVS) });
        keys.push(key);
      }
      inProject.set(type, keys);
    }
  }

  // Roles: a viewer and an editor per type, six admins with `type:*`, four composites: 50.
  const roles: RoleSpec[] = [];
  for (const t of TYPES) roles.push({ name: `${t}-viewer`, permissions: [`${t}:read`, `${t}:list`], includes: [] });
  for (const t of TYPES) roles.push({ name: `${t}-editor`, permissions: [`${t}:write`], includes: [`${t}-viewer`] });
  for (const t of ADMIN_TYPES) roles.push({ name: `${t}-admin`, permissions: [`${t}:*`], includes: [`${t}-editor`] });
  roles.push({ name: 'data-reader', permissions: [], includes: ['database-viewer', 'bucket-viewer', 'report-viewer', 'dashboard-viewer'] });
  roles.push({ name: 'developer', permissions: ['repo:*', 'pipeline:write'], includes: ['service-editor', 'ticket-editor', 'document-viewer'] });
  roles.push({ name: 'sre', permissions: ['vm:*', 'network:*'], includes: ['cluster-admin', 'service-admin', 'namespace-editor'] });
  roles.push({ name: 'auditor', permissions: TYPES.map((t) => `${t}:read`), includes: [] });
  const roleNames = roles.map((r) => r.name);
  const everyday = roles.filter((r) => /-(viewer|editor)$/.test(r.name) || r.name === 'developer' || r.name === 'data-reader').map((r) => r.name);
  const projects = resources.filter((r) => r.type === 'project');
  const nonProjects = resources.filter((r) => r.type !== 'project');
  const byType = new Map<string, ResourceSpec[]>();
  for (const r of resources) {
    const list = byType.get(r.type);
    if (list) list.push(r);
    else byType.set(r.type, [r]);
  }

  const grants: Grant[] = [];
  const terms = (condChance: number, expiryChance: number): Pick<Grant, 'env' | 'expiresAt'> => {
    const out: { env?: string; expiresAt?: number } = {};
    if (rnd() < condChance) out.env = pick(ENVS);
    if (rnd() < expiryChance) out.expiresAt = shape.now + (rnd() < 0.5 ? -DAY * (1 + int(30)) : DAY * (1 + int(60)));
    return out;
  };

  // Group mappings.
  let m = 0;
  const mapping = (group: GroupSpec, role: string, scope: string, extra: Pick<Grant, 'env' | 'expiresAt'> = {}) =>
    grants.push({ id: `map-${String(m++).padStart(4, '0')}`, origin: 'groupMapping', subject: { kind: 'group', group: group.i, by: 'externalId' }, role, scope, effect: 'allow', ...extra });
  for (const g of level1) {
    const t = pick(TYPES);
    mapping(g, `${t}-viewer`, `${t}:*`);
  }
  for (const g of level2) {
    if (rnd() >= 0.7) continue;
    mapping(g, pick(everyday), pick(projects).key, terms(0.15, 0.1));
  }
  for (const g of level3) {
    if (rnd() >= 0.5) continue;
    const target = pick(nonProjects);
    mapping(g, `${target.type}-editor`, target.key, terms(0, 0.05));
  }
  for (const g of flat.slice(22)) {
    if (rnd() >= 0.3) continue;
    const x = rnd();
    const scope = x < 0.05 ? '*' : x < 0.3 ? `${pick(TYPES)}:*` : pick(projects).key;
    mapping(g, pick(everyday), scope, terms(0.1, 0.05));
  }
  grants.push({ id: 'map-sre-pattern', origin: 'groupMapping', subject: { kind: 'pattern', pattern: 'sre-*' }, role: 'sre', scope: '*', effect: 'allow' });
  grants.push({ id: 'map-finance-pattern', origin: 'groupMapping', subject: { kind: 'pattern', pattern: 'finance reporting *' }, role: 'report-editor', scope: 'report:*', effect: 'allow', env: 'prod' });
  const named = flat[flat.length - 1]!;
  grants.push({ id: 'map-by-name', origin: 'groupMapping', subject: { kind: 'group', group: named.i, by: 'displayName' }, role: 'data-reader', scope: pick(projects).key, effect: 'allow' });
  grants.push({ id: 'map-bench-empty', origin: 'groupMapping', subject: { kind: 'group', group: emptyMapped.i, by: 'externalId' }, role: 'report-viewer', scope: 'report:*', effect: 'allow' });

  // Attribute rules.
  const rules: RuleSpec[] = [
    {
      id: 'eng-managers',
      filter: `${ENTERPRISE}:department eq "Engineering" and title co "Manager"`,
      matches: (u) => u.department === 'Engineering' && u.title.toLowerCase().includes('manager'),
    },
    { id: 'finance', filter: `${ENTERPRISE}:department eq "Finance"`, matches: (u) => u.department === 'Finance' },
    { id: 'directors', filter: 'title eq "Director"', matches: (u) => u.title.toLowerCase() === 'director' },
    { id: 'it-staff', filter: `${ENTERPRISE}:department eq "IT"`, matches: (u) => u.department === 'IT' },
  ];
  const rule = (id: string, role: string, scope: string, extra: Pick<Grant, 'env' | 'expiresAt'> = {}) =>
    grants.push({ id, origin: 'attributeRule', subject: { kind: 'rule', rule: id }, role, scope, effect: 'allow', ...extra });
  rule('eng-managers', 'project-admin', 'project:*', { env: 'staging' });
  rule('finance', 'report-viewer', 'report:*');
  rule('directors', 'auditor', '*');
  rule('it-staff', 'vm-editor', 'vm:*');

  // Bindings: to users (some conditional, some expiring), to groups, to a rule, to everyone; denies.
  const userBindings = Math.max(10, Math.round(shape.users / 100));
  for (let k = 0; k < userBindings; k++) {
    const target = rnd() < 0.5 ? pick(nonProjects) : pick(projects);
    grants.push({
      id: `bind-user-${String(k).padStart(4, '0')}`,
      origin: 'binding',
      subject: { kind: 'user', user: int(users.length) },
      role: pick(roleNames),
      scope: target.key,
      effect: 'allow',
      ...terms(0.3, 0.2),
    });
  }
  const groupBindings = Math.max(4, Math.round(G / 25));
  for (let k = 0; k < groupBindings; k++) {
    const g = pick(joinable);
    grants.push({
      id: `bind-group-${String(k).padStart(3, '0')}`,
      origin: 'binding',
      subject: { kind: 'group', group: g.i, by: rnd() < 0.5 ? 'externalId' : 'displayName' },
      role: pick(everyday),
      scope: rnd() < 0.5 ? pick(projects).key : `${pick(TYPES)}:*`,
      effect: 'allow',
      ...terms(0.2, 0.1),
    });
  }
  grants.push({ id: 'bind-finance-dashboards', origin: 'binding', subject: { kind: 'rule', rule: 'finance' }, role: 'dashboard-viewer', scope: 'dashboard:*', effect: 'allow' });
  grants.push({ id: 'bind-everyone-docs', origin: 'binding', subject: { kind: 'everyone' }, role: 'document-viewer', scope: 'project:p00', effect: 'allow' });
  grants.push({ id: 'deny-contractors-secrets', origin: 'binding', subject: { kind: 'group', group: flat[0]!.i, by: 'displayName' }, role: 'secret-viewer', scope: 'secret:*', effect: 'deny' });
  grants.push({ id: 'deny-interns-prod', origin: 'binding', subject: { kind: 'group', group: flat[1]!.i, by: 'externalId' }, role: 'database-admin', scope: '*', effect: 'deny', env: 'prod' });
  const prodDb = byType.get('database')!.find((r) => r.env === 'prod') ?? byType.get('database')![0]!;
  const deniedUser = int(users.length);
  grants.push({ id: 'deny-user-prod-db', origin: 'binding', subject: { kind: 'user', user: deniedUser }, role: 'database-editor', scope: prodDb.key, effect: 'deny' });
  // The denied user also holds an allow there, so the deny has something to beat.
  grants.push({ id: 'bind-user-prod-db', origin: 'binding', subject: { kind: 'user', user: deniedUser }, role: 'database-admin', scope: prodDb.parent!, effect: 'allow' });

  // Temporary grants: half of them already expired.
  const temporary = Math.max(4, Math.round(shape.users / 500));
  for (let k = 0; k < temporary; k++) {
    grants.push({
      id: `grant-${String(k).padStart(3, '0')}`,
      origin: 'grant',
      subject: { kind: 'user', user: int(users.length) },
      role: pick([...everyday, ...ADMIN_TYPES.map((t) => `${t}-admin`)]),
      scope: pick(projects).key,
      effect: 'allow',
      expiresAt: shape.now + (k % 2 === 0 ? -DAY * (1 + int(10)) : DAY * (1 + int(10))),
    });
  }

  const workload = { shape, users, groups, bigGroup: big.i, emptyMappedGroup: emptyMapped.i, resources, roles, rules, grants, requests: [] as CheckRequest[] };
  workload.requests.push(...generateRequests(workload, rnd));
  return workload;
}

/** Each role's permissions as `type:action`, includes and `type:*` expanded. */
export function expandRoles(roles: readonly RoleSpec[]): Map<string, Set<string>> {
  const byName = new Map(roles.map((r) => [r.name, r]));
  const out = new Map<string, Set<string>>();
  const expand = (name: string): Set<string> => {
    const done = out.get(name);
    if (done) return done;
    const role = byName.get(name)!;
    const perms = new Set<string>();
    for (const p of role.permissions) {
      const [type, action] = p.split(':') as [string, string];
      if (action === '*') for (const a of ACTIONS) perms.add(`${type}:${a}`);
      else perms.add(p);
    }
    for (const inc of role.includes) for (const p of expand(inc)) perms.add(p);
    out.set(name, perms);
    return perms;
  };
  for (const r of roles) expand(r.name);
  return out;
}

/** Case-insensitive glob with `*` as the only wildcard, as Scimitar's displayName patterns are. */
export function globMatches(pattern: string, text: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'is').test(text);
}

/** For each user, the grants that reach it (through groups, nesting, patterns, rules, everyone). */
export function grantsByUser(w: Pick<Workload, 'users' | 'groups' | 'grants' | 'rules'>): Grant[][] {
  const ancestors = groupAncestors(w.groups);
  const byGroup = new Map<number, Grant[]>();
  const add = (g: number, grant: Grant) => {
    const list = byGroup.get(g);
    if (list) list.push(grant);
    else byGroup.set(g, [grant]);
  };
  const byUser = w.users.map((): Grant[] => []);
  const everyone: Grant[] = [];
  const byRule = new Map<string, Grant[]>();
  for (const grant of w.grants) {
    const s = grant.subject;
    if (s.kind === 'group') {
      add(s.group, grant);
    } else if (s.kind === 'pattern') {
      for (const g of w.groups) if (globMatches(s.pattern, g.displayName)) add(g.i, grant);
    } else if (s.kind === 'user') {
      byUser[s.user]!.push(grant);
    } else if (s.kind === 'rule') {
      byRule.set(s.rule, [...(byRule.get(s.rule) ?? []), grant]);
    } else {
      everyone.push(grant);
    }
  }
  const direct = w.users.map((): number[] => []);
  for (const g of w.groups) for (const u of g.users) direct[u]!.push(g.i);
  for (const user of w.users) {
    const list = byUser[user.i]!;
    const seen = new Set<number>();
    for (const g of direct[user.i]!) for (const a of ancestors[g]!) seen.add(a);
    for (const g of seen) list.push(...(byGroup.get(g) ?? []));
    for (const rule of w.rules) if (rule.matches(user)) list.push(...(byRule.get(rule.id) ?? []));
    list.push(...everyone);
  }
  return byUser;
}

/** Each group and every group it is inside, however deep. */
export function groupAncestors(groups: readonly GroupSpec[]): number[][] {
  return groups.map((g) => {
    const out: number[] = [];
    const queue = [g.i];
    const seen = new Set<number>();
    while (queue.length > 0) {
      const id = queue.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(id);
      queue.push(...groups[id]!.parents);
    }
    return out;
  });
}

/** `type:id` → the resource and its ancestors, nearest first. */
export function resourceChains(resources: readonly ResourceSpec[]): Map<string, ResourceSpec[]> {
  const byKey = new Map(resources.map((r) => [r.key, r]));
  const out = new Map<string, ResourceSpec[]>();
  for (const r of resources) {
    const chain: ResourceSpec[] = [];
    for (let at: ResourceSpec | undefined = r; at; at = at.parent ? byKey.get(at.parent) : undefined) chain.push(at);
    out.set(r.key, chain);
  }
  return out;
}

/**
 * The request mix: 50% drawn from a grant the user holds (a permission of its role, a resource in its
 * scope: mostly allows, denied by conditions, expiries, denies and inactive users), 10% drawn from the
 * conditional, expiring and deny grants in particular, 40% at random (mostly denies).
 */
function generateRequests(w: Omit<Workload, 'requests'>, rnd: () => number): CheckRequest[] {
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  const perms = expandRoles(w.roles);
  const chains = resourceChains(w.resources);
  const held = grantsByUser(w);
  const byType = new Map<string, ResourceSpec[]>();
  for (const r of w.resources) byType.set(r.type, [...(byType.get(r.type) ?? []), r]);
  const inScope = new Map<string, ResourceSpec[]>();
  const candidates = (scope: string, type: string): ResourceSpec[] => {
    const key = `${scope}|${type}`;
    let list = inScope.get(key);
    if (!list) {
      const all = byType.get(type) ?? [];
      if (scope === '*') list = all;
      else if (scope.endsWith(':*')) {
        const t = scope.slice(0, -2);
        list = all.filter((r) => chains.get(r.key)!.some((f) => f.type === t));
      } else list = all.filter((r) => chains.get(r.key)!.some((f) => f.key === scope));
      inScope.set(key, list);
    }
    return list;
  };
  const fromGrant = (user: number, grant: Grant, kind: CheckRequest['kind']): CheckRequest | undefined => {
    const permissions = [...perms.get(grant.role)!];
    if (permissions.length === 0) return undefined;
    const permission = pick(permissions);
    const [type, action] = permission.split(':') as [string, string];
    const list = candidates(grant.scope, type);
    const resource = list.length > 0 ? pick(list) : pick(byType.get(type)!);
    return { user, type, id: resource.id, action, kind };
  };
  const special = w.grants.filter((g) => g.env !== undefined || g.expiresAt !== undefined || g.effect === 'deny');
  const membersOf = (grant: Grant): number[] => {
    const s = grant.subject;
    if (s.kind === 'user') return [s.user];
    const out: number[] = [];
    for (let u = 0; u < held.length && out.length < 50; u++) if (held[u]!.includes(grant)) out.push(u);
    return out;
  };
  const specialMembers = new Map(special.map((g) => [g, membersOf(g)]));
  const requests: CheckRequest[] = [];
  while (requests.length < w.shape.requests) {
    const x = rnd();
    let request: CheckRequest | undefined;
    if (x < 0.1 && special.length > 0) {
      const grant = pick(special);
      const members = specialMembers.get(grant)!;
      if (members.length > 0) request = fromGrant(pick(members), grant, 'special');
    } else if (x < 0.6) {
      const user = int(w.users.length);
      const list = held[user]!;
      if (list.length > 0) request = fromGrant(user, pick(list), 'held');
    }
    if (!request) {
      const type = pick(TYPES);
      request = { user: int(w.users.length), type, id: pick(byType.get(type)!).id, action: pick(ACTIONS), kind: 'random' };
    }
    requests.push(request);
  }
  return requests;
}
