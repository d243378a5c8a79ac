import type { Actor } from '../core/change.js';
import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import { emptyPolicySet, policyKey, type PolicyKind, type PolicyObject, type PolicySet } from '../authz/model.js';
import { planPolicy, type PolicyPlan } from '../authz/policy-file.js';
import { parsePolicyObject, validatePolicySet, type PolicyProblem } from '../authz/validate.js';
import { matchesIfMatch } from '../scim/etag.js';
import type { PolicyRecord, ScimWriter, Store } from '../store/store.js';

/**
 * Writes to the permission model. Each write validates the whole model as it would be afterwards
 * (inside the transaction, so two admins cannot each make half of an invalid model), stores the
 * object and logs the change under a new revision, then waits for this node's index to apply it.
 */
export interface PolicyAdmin {
  list(tenantId: string, kind: PolicyKind): Promise<PolicyRecord[]>;
  get(tenantId: string, kind: PolicyKind, id: string): Promise<PolicyRecord>;
  /** Creates or replaces; `mode: 'create'` refuses an existing id (409), `mode: 'replace'` a missing one (404). */
  put(tenantId: string, actor: Actor, kind: PolicyKind, input: unknown, options: PutOptions): Promise<PolicyWrite>;
  remove(tenantId: string, actor: Actor, kind: PolicyKind, id: string, options?: { ifMatch?: string }): Promise<number>;
  /** The whole model, as a policy file describes it. */
  export(tenantId: string): Promise<PolicySet>;
  /** Makes the model equal to `desired` (temporary grants aside), all or nothing; `dryRun` only plans. */
  apply(tenantId: string, actor: Actor, desired: PolicySet, options?: { dryRun?: boolean }): Promise<PolicyApplied>;
}

export interface PutOptions {
  readonly mode: 'create' | 'replace' | 'upsert';
  /** The id named by the URL, which the body must not contradict. */
  readonly id?: string;
  readonly ifMatch?: string;
}

export interface PolicyWrite {
  readonly record: PolicyRecord;
  readonly created: boolean;
  readonly revision: number;
}

export interface PolicyApplied {
  readonly plan: PolicyPlan;
  /** The revision of the last change written; null when nothing was (an empty plan, or a dry run). */
  readonly revision: number | null;
}

export interface PolicyAdminDeps {
  readonly store: Store;
  readonly clock: Clock;
  /** Called after each commit, so the response follows the index. */
  readonly committed: (tenantId: string) => Promise<void>;
}

export function createPolicyAdmin(deps: PolicyAdminDeps): PolicyAdmin {
  const { store, clock, committed } = deps;

  async function write<T>(tenantId: string, fn: (tx: ScimWriter, at: string) => Promise<T>): Promise<T> {
    const result = await store.write(tenantId, (tx) => fn(tx, clock.now().toISOString()));
    await committed(tenantId);
    return result;
  }

  return {
    list: (tenantId, kind) => store.reader(tenantId).policy(kind),
    async get(tenantId, kind, id) {
      const record = await store.reader(tenantId).policyObject(kind, id);
      if (!record) throw new AppError('not_found', `${describe(kind)} \`${id}\` not found`);
      return record;
    },
    put(tenantId, actor, kind, input, options) {
      const parsed = parsePolicyObject(kind, input);
      if (!parsed.ok) throw new AppError('invalid_value', `${describe(kind)} is not valid: ${parsed.problems.join('; ')}`);
      const object = parsed.value;
      const id = policyKey(kind, object as never);
      if (options.id !== undefined && options.id !== id) {
        throw new AppError('invalid_value', `the body names ${describe(kind)} \`${id}\`, the URL \`${options.id}\``);
      }
      return write(tenantId, async (tx, at) => {
        const existing = await tx.policyObject(kind, id);
        if (existing && options.mode === 'create') throw new AppError('uniqueness', `${describe(kind)} \`${id}\` already exists`);
        if (!existing && options.mode === 'replace') throw new AppError('not_found', `${describe(kind)} \`${id}\` not found`);
        checkIfMatch(kind, id, existing, options.ifMatch);
        if (existing && sameJson(existing.doc, object)) return { record: existing, created: false, revision: existing.version };
        const set = toSet(await tx.policy());
        (set[kind] as Map<string, PolicyObject>).set(id, object);
        assertValid(set, `${describe(kind)} \`${id}\` cannot be saved`);
        const revision = await store_(tx, actor, at, kind, id, existing, object);
        return {
          record: { kind, id, doc: object, version: revision, created: existing?.created ?? at, lastModified: at },
          created: !existing,
          revision,
        };
      });
    },
    remove(tenantId, actor, kind, id, options = {}) {
      return write(tenantId, async (tx, at) => {
        const existing = await tx.policyObject(kind, id);
        if (!existing) throw new AppError('not_found', `${describe(kind)} \`${id}\` not found`);
        checkIfMatch(kind, id, existing, options.ifMatch);
        const set = toSet(await tx.policy());
        set[kind].delete(id);
        const problems = validatePolicySet(set);
        if (problems.length > 0) {
          throw new AppError('in_use', `${describe(kind)} \`${id}\` cannot be deleted: ${formatProblems(problems)}`);
        }
        return store_(tx, actor, at, kind, id, existing, undefined);
      });
    },
    async export(tenantId) {
      return toSet(await store.reader(tenantId).policy());
    },
    async apply(tenantId, actor, desired, options = {}) {
      const problems = validatePolicySet(desired);
      if (problems.length > 0) throw new AppError('invalid_value', `the policy is not valid: ${formatProblems(problems)}`);
      const planFrom = (records: readonly PolicyRecord[]): PolicyPlan => {
        const current = toSet(records);
        // Temporary grants are kept, so the model after the apply is `desired` plus them: that must be valid.
        assertValid({ ...desired, grant: current.grant }, 'the policy cannot be applied');
        return planPolicy(current, desired);
      };
      if (options.dryRun) return { plan: planFrom(await store.reader(tenantId).policy()), revision: null };
      return write(tenantId, async (tx, at) => {
        const records = await tx.policy();
        const plan = planFrom(records);
        const stored = new Map(records.map((r) => [`${r.kind}\u0000${r.id}`, r]));
        let revision: number | null = null;
        for (const entry of [...plan.create, ...plan.replace, ...plan.delete]) {
          revision = await store_(tx, actor, at, entry.kind, entry.id, stored.get(`${entry.kind}\u0000${entry.id}`), entry.after);
        }
        return { plan, revision };
      });
    },
  };
}

/** Stores one object (or deletes it, when `after` is undefined) and logs it under a new revision. */
async function store_(
  tx: ScimWriter,
  actor: Actor,
  at: string,
  kind: PolicyKind,
  id: string,
  existing: PolicyRecord | undefined,
  after: PolicyObject | undefined,
): Promise<number> {
  const revision = await tx.nextRevision();
  if (after === undefined) await tx.deletePolicy(kind, id);
  else await tx.putPolicy({ kind, id, doc: after, version: revision, created: existing?.created ?? at, lastModified: at });
  await tx.appendChange({
    revision,
    at,
    actor,
    change: {
      kind: 'policy',
      objectKind: kind,
      objectId: id,
      operation: after === undefined ? 'delete' : existing ? 'replace' : 'create',
      before: existing?.doc ?? null,
      after: after ?? null,
    },
  });
  return revision;
}

function toSet(records: readonly PolicyRecord[]): ReturnType<typeof emptyPolicySet> {
  const set = emptyPolicySet();
  for (const record of records) {
    const map = set[record.kind as PolicyKind] as Map<string, unknown> | undefined;
    map?.set(record.id, record.doc);
  }
  return set;
}

function assertValid(set: PolicySet, what: string): void {
  const problems = validatePolicySet(set);
  if (problems.length > 0) throw new AppError('invalid_value', `${what}: ${formatProblems(problems)}`);
}

function formatProblems(problems: readonly PolicyProblem[]): string {
  const shown = problems.slice(0, 10).map((p) => `${describe(p.kind)} \`${p.id}\`: ${p.message}`);
  if (problems.length > 10) shown.push(`and ${problems.length - 10} more`);
  return shown.join('; ');
}

function checkIfMatch(kind: PolicyKind, id: string, existing: PolicyRecord | undefined, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  if (!existing || !matchesIfMatch(ifMatch, existing.version)) {
    throw new AppError('precondition_failed', `${describe(kind)} \`${id}\` has changed: version is W/"${existing?.version ?? 0}"`);
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const NAMES: Readonly<Record<PolicyKind, string>> = {
  resourceType: 'resource type',
  resource: 'resource',
  role: 'role',
  binding: 'binding',
  groupMapping: 'group mapping',
  attributeRule: 'attribute rule',
  grant: 'grant',
};

export function describe(kind: PolicyKind): string {
  return NAMES[kind];
}
