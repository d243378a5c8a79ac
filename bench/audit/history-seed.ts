/**
 * A tenant with a long change log, written through the real SCIM write use-cases
 * (`createResource`, `patchResource`) and `PolicyAdmin#apply`, thousands of writes per
 * `Store#write`, each with its own revision, simulated time, hash-chained entry and refs: what a
 * server would have stored after a year of IdP syncs, in minutes. The model is bench:authz's
 * (`generateWorkload`, `scimitarPolicy`): 20 resource types, 50 roles, ~1,000 resources, group
 * mappings, attribute rules on title and department, user and group bindings with conditions and
 * expiries; its temporary grants are left out.
 *
 * After the users and groups, every write is one of: `replace title` on a random user (80%), one
 * user added to a group (12%), one member removed from a group (8%). Titles come from a list the
 * attribute rules look at (`Director`, `… Manager`), so many writes change someone's access.
 */
import { performance } from 'node:perf_hooks';
import type { Actor } from '../../src/core/change.js';
import type { Clock } from '../../src/core/clock.js';
import { createPolicyAdmin } from '../../src/service/policy-admin.js';
import { createResource, patchResource, type WriteContext } from '../../src/service/scim-writes.js';
import { ensureDefaultTenant } from '../../src/service/tenants.js';
import { openStore } from '../../src/store/open-store.js';
import type { ScimWriter, Store } from '../../src/store/store.js';
import { scimitarPolicy, userBody } from '../authz/seed.js';
import { defaultShape, generateWorkload, GROUP_SCHEMA, type Workload } from '../authz/workload.js';
import { addMembersBody, PATCH_OP, prng } from '../scim/fixtures.js';
import { log } from '../scim/load.js';

/** The actor of every seeded write: an IdP's SCIM token. */
const SEED_ACTOR: Actor = { tokenId: 'bench-idp-token', kind: 'scim', requestId: 'bench-audit', userAgent: 'bench-audit' };
const WRITES_PER_TRANSACTION = 2000;
const TITLES = ['Director', 'Engineering Manager', 'Product Manager', 'Engineer', 'Senior Engineer', 'Analyst', 'Specialist', 'Consultant'];

/** Time that moves `stepMs` forward each time it is read: the writes of a year, one after another. */
export interface SimulatedClock extends Clock {
  /** The next write's time (ISO). */
  tick(): string;
  /** The time of the last write (epoch ms). */
  readonly last: number;
}

export function simulatedClock(startMs: number, stepMs: number): SimulatedClock {
  let next = startMs;
  let last = startMs - stepMs;
  const tick = () => {
    last = next;
    next += stepMs;
    return new Date(last).toISOString();
  };
  return {
    now: () => new Date(tick()),
    tick,
    get last() {
      return last;
    },
  };
}

export interface HistoryTenant {
  readonly database: string;
  readonly store: Store;
  readonly tenantId: string;
  readonly workload: Workload;
  /** SCIM id of user `i` / group `i`. */
  readonly userIds: readonly string[];
  readonly groupIds: readonly string[];
  readonly clock: SimulatedClock;
  /** The tenant's revision (entries written so far). */
  revision(): number;
  /**
   * Writes PATCHes until the log holds `entries` entries (progress on stderr every 100,000);
   * resolves with the ms it took.
   */
  grow(entries: number): Promise<number>;
  /** How long the users, groups and model took, ms. */
  readonly setupMs: number;
}

/**
 * Creates the tenant in `file` (SQLite) with the model, `historyUsers` users and `historyGroups`
 * groups. The simulated clock starts far enough back that `plannedEntries` writes at `stepMs` end
 * before the real now (so every `?at=` of the history is in the past for the server too).
 */
export async function createHistoryTenant(options: {
  readonly file: string;
  readonly keyFile: string;
  readonly users: number;
  readonly groups: number;
  readonly plannedEntries: number;
  readonly stepMs: number;
  readonly requests: number;
}): Promise<HistoryTenant> {
  const { users, groups, plannedEntries, stepMs } = options;
  const startMs = Date.now() - (plannedEntries + 1000) * stepMs;
  const workload = generateWorkload({ ...defaultShape(users, options.requests, startMs), groups, bigGroupMembers: Math.min(users, 1000) });
  const database = `sqlite:${options.file}`;
  const store = await openStore(database, { auditKeyFile: options.keyFile });
  const { tenant } = await ensureDefaultTenant(store);
  const tenantId = tenant.id;
  const clock = simulatedClock(startMs, stepMs);
  let revision = (await store.tenants.findById(tenantId))!.revision;
  const ctx = (): WriteContext => ({ actor: SEED_ACTOR, at: clock.tick() });
  const started = performance.now();

  const policy = createPolicyAdmin({ store, clock, committed: async () => undefined });
  const applied = await policy.apply(tenantId, SEED_ACTOR, scimitarPolicy(workload));
  revision = applied.revision ?? revision;

  const userIds: string[] = [];
  for (let from = 0; from < workload.users.length; from += WRITES_PER_TRANSACTION) {
    const batch = workload.users.slice(from, from + WRITES_PER_TRANSACTION);
    await store.write(tenantId, async (tx) => {
      for (const u of batch) {
        const outcome = await createResource(tx, ctx(), 'User', userBody(u));
        userIds.push(outcome.resource.id);
        revision = outcome.revision;
      }
    });
  }
  // Groups with their direct users first, then the nesting, one member add per edge.
  const groupIds: string[] = [];
  await store.write(tenantId, async (tx) => {
    for (const g of workload.groups) {
      const body = { schemas: [GROUP_SCHEMA], displayName: g.displayName, externalId: g.externalId, members: g.users.map((u) => ({ value: userIds[u]! })) };
      const outcome = await createResource(tx, ctx(), 'Group', body);
      groupIds.push(outcome.resource.id);
      revision = outcome.revision;
    }
    for (const g of workload.groups) {
      for (const parent of g.parents) revision = (await patchResource(tx, ctx(), 'Group', groupIds[parent]!, memberAdd(groupIds[g.i]!), {})).revision;
    }
  });
  const setupMs = performance.now() - started;
  log(`history: model, ${userIds.length.toLocaleString('en-US')} users and ${groupIds.length} groups at revision ${revision} in ${(setupMs / 1000).toFixed(1)} s`);

  // What the PATCH stream needs to pick changes that change something.
  const titles = workload.users.map((u) => u.title);
  const joinable = workload.groups.filter((g) => g.i !== workload.bigGroup && g.i !== workload.emptyMappedGroup && g.level !== 1).map((g) => g.i);
  const members = new Map(joinable.map((g) => [g, new MemberList(workload.groups[g]!.users)]));
  const rnd = prng(20_260_301);
  const int = (n: number) => Math.floor(rnd() * n);

  /** One write; resolves with its revision, or undefined when it changed nothing. */
  async function oneWrite(tx: ScimWriter): Promise<number | undefined> {
    const x = rnd();
    if (x < 0.8) {
      const u = int(userIds.length);
      let title = TITLES[int(TITLES.length)]!;
      if (title === titles[u]) title = TITLES[(TITLES.indexOf(title) + 1) % TITLES.length]!;
      titles[u] = title;
      const body = { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: title }] };
      return (await patchResource(tx, ctx(), 'User', userIds[u]!, body, {})).revision;
    }
    const g = joinable[int(joinable.length)]!;
    const list = members.get(g)!;
    if (x < 0.92 || list.size === 0) {
      const u = int(userIds.length);
      if (list.has(u)) return undefined;
      list.add(u);
      return (await patchResource(tx, ctx(), 'Group', groupIds[g]!, memberAdd(userIds[u]!), {})).revision;
    }
    const u = list.removeRandom(rnd);
    const body = { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${userIds[u]!}"]` }] };
    return (await patchResource(tx, ctx(), 'Group', groupIds[g]!, body, {})).revision;
  }

  return {
    database,
    store,
    tenantId,
    workload,
    userIds,
    groupIds,
    clock,
    setupMs,
    revision: () => revision,
    async grow(entries) {
      const t0 = performance.now();
      let reported = Math.floor(revision / 100_000);
      while (revision < entries) {
        const target = Math.min(entries, revision + WRITES_PER_TRANSACTION);
        await store.write(tenantId, async (tx) => {
          while (revision < target) revision = Math.max(revision, (await oneWrite(tx)) ?? 0);
        });
        if (Math.floor(revision / 100_000) > reported) {
          reported = Math.floor(revision / 100_000);
          const s = (performance.now() - t0) / 1000;
          log(`history: ${revision.toLocaleString('en-US')} entries (${Math.round(revision / Math.max(s, 1e-3)).toLocaleString('en-US')}/s so far)`);
        }
      }
      return performance.now() - t0;
    },
  };
}

/** Entra's one-member add, parsed as the route hands it to the write use-case. */
function memberAdd(id: string): unknown {
  return JSON.parse(addMembersBody([id]));
}

/** A group's members by user index: O(1) add, has and random removal. */
class MemberList {
  private readonly list: number[];
  private readonly at = new Map<number, number>();
  constructor(initial: readonly number[]) {
    this.list = [...new Set(initial)];
    this.list.forEach((u, k) => this.at.set(u, k));
  }
  get size(): number {
    return this.list.length;
  }
  has(u: number): boolean {
    return this.at.has(u);
  }
  add(u: number): void {
    this.at.set(u, this.list.length);
    this.list.push(u);
  }
  removeRandom(rnd: () => number): number {
    const k = Math.floor(rnd() * this.list.length);
    const u = this.list[k]!;
    const lastU = this.list.pop()!;
    if (lastU !== u) {
      this.list[k] = lastU;
      this.at.set(lastU, k);
    }
    this.at.delete(u);
    return u;
  }
}
