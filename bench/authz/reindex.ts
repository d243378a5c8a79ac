/**
 * How long the index takes to follow a change that reaches 10,000 users, in process, through the
 * real write paths: `PolicyAdmin#put` (a group mapping given to a group of 10,000 members) and
 * `ScimService#patch` (10,000 members added to a group that is already mapped). Both services call
 * `AuthzIndexes#sync` after the commit and before they return (read-your-writes); that call is
 * timed apart from the whole write: it reads the change log row and applies it to the index.
 */
import { performance } from 'node:perf_hooks';
import { isAllowed } from '../../src/authz/evaluate.js';
import { systemClock } from '../../src/core/clock.js';
import { createAuthzIndexes } from '../../src/service/authz-service.js';
import { createPolicyAdmin } from '../../src/service/policy-admin.js';
import { createScimService } from '../../src/service/scim-service.js';
import { BENCH_ACTOR, type Seeded } from './seed.js';
import type { Workload } from './workload.js';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface Timed {
  /** The whole write, commit and index sync included, ms. */
  readonly writeMs: number[];
  /** The index sync inside it, ms. */
  readonly syncMs: number[];
  /** Whether a member's decision changed as the write says it should, every time. */
  readonly verified: boolean;
}

export interface ReindexResult {
  readonly members: number;
  readonly mapping: Timed;
  readonly unmapping: Timed;
  readonly addMembers: Timed;
  readonly removeMembers: Timed;
}

export async function measureReindex(w: Workload, s: Seeded, repeats: number): Promise<ReindexResult> {
  const { store, tenantId } = s;
  const indexes = createAuthzIndexes({ store, pollMs: 0 });
  let lastSync = 0;
  const committed = async (t: string) => {
    const started = performance.now();
    await indexes.sync(t);
    lastSync = performance.now() - started;
  };
  const policy = createPolicyAdmin({ store, clock: systemClock, committed });
  const scim = createScimService({ store, clock: systemClock, committed });
  await indexes.index(tenantId);

  const big = w.groups[w.bigGroup]!;
  const members = big.users.length;
  // A member the mapped role would newly allow: active, and not allowed before.
  const probeOf = async (type: string, action: string) => {
    const index = await indexes.index(tenantId);
    const resource = w.resources.find((r) => r.type === type)!;
    for (const u of big.users) {
      const user = index.findUser('id', s.userIds[u]!);
      if (user?.active && !isAllowed(index, { user, action, resource, now: new Date() })) return { user: s.userIds[u]!, resource, action };
    }
    throw new Error(`no member of \`${big.displayName}\` lacks \`${type}:${action}\``);
  };
  const allowed = async (probe: Awaited<ReturnType<typeof probeOf>>) => {
    const index = await indexes.index(tenantId);
    return isAllowed(index, { user: index.findUser('id', probe.user), action: probe.action, resource: probe.resource, now: new Date() });
  };
  const timed = async (write: () => Promise<unknown>, into: { writeMs: number[]; syncMs: number[] }) => {
    lastSync = NaN;
    const started = performance.now();
    await write();
    into.writeMs.push(performance.now() - started);
    into.syncMs.push(lastSync);
  };

  // (a) A mapping that gives a role to every member of a 10,000-member group, then its removal.
  const mapping = { writeMs: [] as number[], syncMs: [] as number[], verified: true };
  const unmapping = { writeMs: [] as number[], syncMs: [] as number[], verified: true };
  const probeA = await probeOf('model', 'write');
  const input = { id: 'bench-all-staff-mapping', group: { externalId: big.externalId }, role: 'model-editor', scope: '*' };
  for (let r = 0; r < repeats; r++) {
    await timed(() => policy.put(tenantId, BENCH_ACTOR, 'groupMapping', input, { mode: 'create' }), mapping);
    if (!(await allowed(probeA))) mapping.verified = false;
    await timed(() => policy.remove(tenantId, BENCH_ACTOR, 'groupMapping', input.id), unmapping);
    if (await allowed(probeA)) unmapping.verified = false;
  }

  // (b) 10,000 members added to a mapped group in one PATCH, then removed again.
  const addMembers = { writeMs: [] as number[], syncMs: [] as number[], verified: true };
  const removeMembers = { writeMs: [] as number[], syncMs: [] as number[], verified: true };
  const empty = w.groups[w.emptyMappedGroup]!;
  const groupId = s.groupIds[empty.i]!;
  const ids = big.users.map((u) => s.userIds[u]!);
  const probeB = await probeOf('report', 'read');
  for (let r = 0; r < repeats; r++) {
    const add = { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }] };
    await timed(() => scim.patch(tenantId, BENCH_ACTOR, 'Group', groupId, add, {}, { members: false }), addMembers);
    if (!(await allowed(probeB))) addMembers.verified = false;
    const remove = { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'members' }] };
    await timed(() => scim.patch(tenantId, BENCH_ACTOR, 'Group', groupId, remove, {}, { members: false }), removeMembers);
    if (await allowed(probeB)) removeMembers.verified = false;
  }
  indexes.close();
  return { members, mapping, unmapping, addMembers, removeMembers };
}
