/**
 * Writes a workload into a real SQLite database through the real services: users and groups with
 * `createResource` inside `ScimService#transaction` (thousands per transaction, each a normal
 * SCIM create with its change-log row), the model with `PolicyAdmin#apply`, temporary grants with
 * `PolicyAdmin#put`. The index is then built from `Store#snapshot`, as a server builds it.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { emptyPolicySet, type PolicyKind, type PolicyObjects } from '../../src/authz/model.js';
import { parsePolicyObject } from '../../src/authz/validate.js';
import type { Actor } from '../../src/core/change.js';
import { systemClock } from '../../src/core/clock.js';
import { createPolicyAdmin } from '../../src/service/policy-admin.js';
import { createScimService } from '../../src/service/scim-service.js';
import { createResource } from '../../src/service/scim-writes.js';
import { ensureDefaultTenant } from '../../src/service/tenants.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { log } from '../scim/load.js';
import { ENTERPRISE, GROUP_SCHEMA, TYPES, ACTIONS, USER_SCHEMA, type Grant, type GroupSpec, type UserSpec, type Workload } from './workload.js';

export const BENCH_ACTOR: Actor = { tokenId: null, kind: 'system', requestId: 'bench-authz' };

export interface Seeded {
  readonly database: string;
  readonly store: Store;
  readonly tenantId: string;
  /** SCIM id of user `i`. */
  readonly userIds: readonly string[];
  /** SCIM id of group `i`. */
  readonly groupIds: readonly string[];
  readonly memberships: number;
  readonly ms: { readonly users: number; readonly groups: number; readonly policy: number };
}

const USERS_PER_TRANSACTION = 5000;

export function userBody(u: UserSpec): Record<string, unknown> {
  return {
    schemas: [USER_SCHEMA, ENTERPRISE],
    userName: u.userName,
    externalId: u.externalId,
    active: u.active,
    displayName: `${u.givenName} ${u.familyName}`,
    name: { givenName: u.givenName, familyName: u.familyName },
    title: u.title,
    emails: [{ value: u.userName, type: 'work', primary: true }],
    [ENTERPRISE]: { department: u.department, employeeNumber: String(u.i), costCenter: `CC-${(u.i % 97) + 100}` },
  };
}

export async function seed(w: Workload, file: string): Promise<Seeded> {
  mkdirSync(dirname(file), { recursive: true });
  const database = `sqlite:${file}`;
  const store = await openStore(database);
  const { tenant } = await ensureDefaultTenant(store);
  const tenantId = tenant.id;
  const scim = createScimService({ store, clock: systemClock });

  let started = performance.now();
  const userIds: string[] = [];
  for (let from = 0; from < w.users.length; from += USERS_PER_TRANSACTION) {
    const batch = w.users.slice(from, from + USERS_PER_TRANSACTION);
    const ids = await scim.transaction(tenantId, BENCH_ACTOR, async (tx, ctx) => {
      const out: string[] = [];
      for (const u of batch) out.push((await createResource(tx, ctx, 'User', userBody(u))).resource.id);
      return out;
    });
    userIds.push(...ids);
    if (w.users.length > 20_000) log(`  users: ${userIds.length.toLocaleString('en-US')}/${w.users.length.toLocaleString('en-US')}`);
  }
  const usersMs = performance.now() - started;

  // Children before parents, so a group's members exist when it is created (nested groups are members).
  started = performance.now();
  const groupIds: string[] = new Array(w.groups.length);
  const children = w.groups.map((): number[] => []);
  for (const g of w.groups) for (const p of g.parents) children[p]!.push(g.i);
  const order = [...w.groups].sort((a, b) => depthRank(b) - depthRank(a));
  let memberships = 0;
  let batch: GroupSpec[] = [];
  let batchMembers = 0;
  const flush = async () => {
    const todo = batch;
    batch = [];
    batchMembers = 0;
    await scim.transaction(tenantId, BENCH_ACTOR, async (tx, ctx) => {
      for (const g of todo) {
        const members = [...g.users.map((u) => userIds[u]!), ...children[g.i]!.map((c) => groupIds[c]!)];
        memberships += members.length;
        const body = { schemas: [GROUP_SCHEMA], displayName: g.displayName, externalId: g.externalId, members: members.map((value) => ({ value })) };
        groupIds[g.i] = (await createResource(tx, ctx, 'Group', body)).resource.id;
      }
    });
  };
  for (const g of order) {
    // A parent needs its children's ids: flush before a group of another depth.
    if (batch.length > 0 && (depthRank(batch[0]!) !== depthRank(g) || batchMembers > 20_000)) await flush();
    batch.push(g);
    batchMembers += g.users.length;
  }
  if (batch.length > 0) await flush();
  const groupsMs = performance.now() - started;

  started = performance.now();
  const policy = createPolicyAdmin({ store, clock: systemClock, committed: async () => undefined });
  const set = scimitarPolicy(w);
  await policy.apply(tenantId, BENCH_ACTOR, set);
  for (const grant of w.grants.filter((g) => g.origin === 'grant')) {
    await policy.put(tenantId, BENCH_ACTOR, 'grant', grantInput(w, grant), { mode: 'create' });
  }
  const policyMs = performance.now() - started;
  return { database, store, tenantId, userIds, groupIds, memberships, ms: { users: usersMs, groups: groupsMs, policy: policyMs } };
}

function depthRank(g: GroupSpec): number {
  return g.level === 0 ? 3 : g.level === 3 ? 3 : g.level === 2 ? 2 : 1;
}

/** The workload's model as Scimitar policy objects (temporary grants excepted: they are `put` one by one). */
export function scimitarPolicy(w: Workload): ReturnType<typeof emptyPolicySet> {
  const set = emptyPolicySet();
  const add = <K extends PolicyKind>(kind: K, input: unknown, key: string) => {
    const parsed = parsePolicyObject(kind, input);
    if (!parsed.ok) throw new Error(`bench policy: ${kind} \`${key}\` is not valid: ${parsed.problems.join('; ')}`);
    (set[kind] as Map<string, PolicyObjects[K]>).set(key, parsed.value);
  };
  for (const type of TYPES) add('resourceType', { name: type, actions: [...ACTIONS] }, type);
  for (const r of w.resources) add('resource', { type: r.type, id: r.id, ...(r.parent ? { parent: r.parent } : {}), attributes: { env: r.env } }, r.key);
  for (const role of w.roles) {
    add('role', { name: role.name, permissions: [...role.permissions], ...(role.includes.length > 0 ? { includes: [...role.includes] } : {}) }, role.name);
  }
  for (const grant of w.grants) {
    if (grant.origin === 'grant') continue;
    const terms = grantTerms(grant);
    const s = grant.subject;
    if (grant.origin === 'attributeRule') {
      const rule = w.rules.find((r) => s.kind === 'rule' && r.id === s.rule)!;
      add('attributeRule', { id: grant.id, filter: rule.filter, ...terms }, grant.id);
    } else if (grant.origin === 'groupMapping') {
      const group =
        s.kind === 'pattern'
          ? { displayNamePattern: s.pattern }
          : s.kind === 'group'
            ? s.by === 'externalId'
              ? { externalId: w.groups[s.group]!.externalId }
              : { displayName: w.groups[s.group]!.displayName }
            : undefined;
      if (!group) throw new Error(`bench policy: mapping \`${grant.id}\` has no group`);
      add('groupMapping', { id: grant.id, group, ...terms }, grant.id);
    } else {
      add('binding', { id: grant.id, subject: subjectOf(w, grant), ...terms, ...(grant.effect === 'deny' ? { effect: 'deny' } : {}) }, grant.id);
    }
  }
  return set;
}

function grantTerms(grant: Grant): Record<string, string> {
  return {
    role: grant.role,
    scope: grant.scope,
    ...(grant.env !== undefined ? { condition: `resource.attributes.env == "${grant.env}"` } : {}),
    ...(grant.expiresAt !== undefined ? { expiresAt: new Date(grant.expiresAt).toISOString() } : {}),
  };
}

function subjectOf(w: Workload, grant: Grant): Record<string, string> {
  const s = grant.subject;
  switch (s.kind) {
    case 'user':
      return { type: 'user', userName: w.users[s.user]!.userName };
    case 'group':
      return s.by === 'externalId' ? { type: 'group', externalId: w.groups[s.group]!.externalId } : { type: 'group', displayName: w.groups[s.group]!.displayName };
    case 'rule':
      return { type: 'rule', id: s.rule };
    case 'everyone':
      return { type: 'everyone' };
    case 'pattern':
      throw new Error(`bench policy: binding \`${grant.id}\` cannot have a pattern subject`);
  }
}

function grantInput(w: Workload, grant: Grant): Record<string, unknown> {
  return { id: grant.id, subject: subjectOf(w, grant), ...grantTerms(grant), reason: `bench ${grant.id}` };
}
