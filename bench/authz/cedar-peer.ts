/**
 * Cedar (`@cedar-policy/cedar-wasm`, the official WebAssembly build) over the same model.
 *
 * - Roles are action groups: `Action::"database:read"` is in `Action::"role:database-viewer"`, and
 *   an included role's group is in the including one's, so `action in Action::"role:R"` is "R gives it".
 * - Scopes are resource ancestors: a resource is in its parent, in `Resource::"<type>:*"` for its own
 *   type and every ancestor's type; `*` is an unconstrained `resource`.
 * - Subjects: `principal == User::"…"`, `principal in Group::"…"` (nesting through parents),
 *   `Pattern::"<mapping>"` and `Rule::"<rule>"` parents set when the entities are built, `principal`
 *   for everyone. Deny is `forbid`; an inactive user meets `forbid … unless { principal.active }`.
 * - The condition is `resource.env == "…"`, the expiry `context.now < <epoch ms>`: both per request.
 *
 * The policy set is parsed once (`preparsePolicySet`) and each call names it (`statefulIsAuthorized`);
 * the stateless `isAuthorized` would parse ~500 policies on every call. Each call still passes its
 * entities (the user, the resource, the action, with their ancestors flattened into `parents`) and
 * gets a JS object back: that crossing into WebAssembly and back is measured on its own against an
 * empty policy set.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { ACTIONS, globMatches, groupAncestors, resourceChains, type CheckRequest, type Grant, type Workload } from './workload.js';

type Uid = { type: string; id: string };
type EntityJson = cedar.EntityJson;

export interface CedarPeer {
  readonly policies: number;
  readonly loadMs: number;
  readonly version: string;
  /** One check through the real policy set. */
  check(request: CheckRequest, now: number): boolean;
  /** The same call against an empty policy set: the cost of the call itself (marshalling, entity parsing). */
  emptyCall(request: CheckRequest, now: number): boolean;
}

const q = (text: string) => JSON.stringify(text);

export function createCedarPeer(w: Workload): CedarPeer {
  const started = performance.now();
  const policies: Record<string, string> = {};
  for (const grant of w.grants) policies[grant.id] = policyText(w, grant);
  policies['inactive-users'] = 'forbid (principal, action, resource) unless { principal.active };';
  const loaded = cedar.preparsePolicySet('bench', { staticPolicies: policies });
  if (loaded.type !== 'success') throw new Error(`cedar: the policy set does not parse: ${JSON.stringify(loaded.errors).slice(0, 2000)}`);
  const empty = cedar.preparsePolicySet('empty', { staticPolicies: {} });
  if (empty.type !== 'success') throw new Error('cedar: the empty policy set does not parse');

  // Users: parents are every group they are in (nesting flattened), the pattern mappings those
  // groups match, the rules they match.
  const ancestors = groupAncestors(w.groups);
  const patterns = w.grants.filter((g) => g.subject.kind === 'pattern');
  const groupPatterns = w.groups.map((gr) =>
    patterns.filter((p) => p.subject.kind === 'pattern' && globMatches(p.subject.pattern, gr.displayName)).map((p) => p.id),
  );
  const direct = w.users.map((): number[] => []);
  for (const gr of w.groups) for (const u of gr.users) direct[u]!.push(gr.i);
  const userEntities: EntityJson[] = w.users.map((u) => {
    const groups = new Set<number>();
    for (const gi of direct[u.i]!) for (const a of ancestors[gi]!) groups.add(a);
    const parents: Uid[] = [];
    const pats = new Set<string>();
    for (const gi of groups) {
      parents.push({ type: 'Group', id: String(gi) });
      for (const p of groupPatterns[gi]!) pats.add(p);
    }
    for (const p of pats) parents.push({ type: 'Pattern', id: p });
    for (const rule of w.rules) if (rule.matches(u)) parents.push({ type: 'Rule', id: rule.id });
    return { uid: { type: 'User', id: u.userName }, attrs: { active: u.active }, parents };
  });

  const chains = resourceChains(w.resources);
  const resourceEntities = new Map<string, EntityJson>();
  for (const r of w.resources) {
    const chain = chains.get(r.key)!;
    const parents: Uid[] = chain.slice(1).map((f) => ({ type: 'Resource', id: f.key }));
    for (const t of new Set(chain.map((f) => f.type))) parents.push({ type: 'Resource', id: `${t}:*` });
    resourceEntities.set(r.key, { uid: { type: 'Resource', id: r.key }, attrs: { env: r.env }, parents });
  }

  // Actions: each permission is in the groups of every role that gives it, includes followed.
  const givenBy = new Map<string, Set<string>>();
  const includedBy = new Map<string, string[]>();
  for (const role of w.roles) for (const inc of role.includes) includedBy.set(inc, [...(includedBy.get(inc) ?? []), role.name]);
  const closure = (role: string, into: Set<string>) => {
    if (into.has(role)) return;
    into.add(role);
    for (const outer of includedBy.get(role) ?? []) closure(outer, into);
  };
  for (const role of w.roles) {
    for (const permission of role.permissions) {
      const [type, action] = permission.split(':') as [string, string];
      for (const a of action === '*' ? ACTIONS : [action]) {
        const key = `${type}:${a}`;
        const set = givenBy.get(key) ?? new Set<string>();
        closure(role.name, set);
        givenBy.set(key, set);
      }
    }
  }
  const actionEntities = new Map<string, EntityJson>();
  for (const [key, roles] of givenBy) {
    actionEntities.set(key, { uid: { type: 'Action', id: key }, attrs: {}, parents: [...roles].map((r) => ({ type: 'Action', id: `role:${r}` })) });
  }
  const noAction = (key: string): EntityJson => ({ uid: { type: 'Action', id: key }, attrs: {}, parents: [] });

  const call = (setId: string, request: CheckRequest, now: number): boolean => {
    const key = `${request.type}:${request.id}`;
    const permission = `${request.type}:${request.action}`;
    const answer = cedar.statefulIsAuthorized({
      principal: userEntities[request.user]!.uid,
      action: { type: 'Action', id: permission },
      resource: { type: 'Resource', id: key },
      context: { now },
      preparsedPolicySetId: setId,
      entities: [userEntities[request.user]!, resourceEntities.get(key)!, actionEntities.get(permission) ?? noAction(permission)],
    });
    if (answer.type !== 'success') throw new Error(`cedar: ${JSON.stringify(answer.errors).slice(0, 500)}`);
    return answer.response.decision === 'allow';
  };

  return {
    policies: Object.keys(policies).length,
    loadMs: performance.now() - started,
    version: cedar.getCedarVersion(),
    check: (request, now) => call('bench', request, now),
    emptyCall: (request, now) => call('empty', request, now),
  };
}

function policyText(w: Workload, grant: Grant): string {
  const s = grant.subject;
  const principal =
    s.kind === 'user'
      ? `principal == User::${q(w.users[s.user]!.userName)}`
      : s.kind === 'group'
        ? `principal in Group::${q(String(s.group))}`
        : s.kind === 'pattern'
          ? `principal in Pattern::${q(grant.id)}`
          : s.kind === 'rule'
            ? `principal in Rule::${q(s.rule)}`
            : 'principal';
  const resource = grant.scope === '*' ? 'resource' : `resource in Resource::${q(grant.scope)}`;
  const when: string[] = [];
  if (grant.env !== undefined) when.push(`resource.env == ${q(grant.env)}`);
  if (grant.expiresAt !== undefined) when.push(`context.now < ${grant.expiresAt}`);
  const effect = grant.effect === 'deny' ? 'forbid' : 'permit';
  return `${effect} (${principal}, action in Action::${q(`role:${grant.role}`)}, ${resource})${when.length > 0 ? ` when { ${when.join(' && ')} }` : ''};`;
}
