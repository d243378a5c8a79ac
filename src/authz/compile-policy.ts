import type { Filter, ResolvedAttr } from '../core/filter.js';
import { compileCondition, type CompiledCondition } from './cel.js';
import {
  parseScope,
  type GrantOrigin,
  type GroupMatch,
  type PolicySet,
  type ResourceDef,
  type Scope,
  type SubjectSelector,
} from './model.js';
import { compileRuleFilter } from './rule-filter.js';

/**
 * One binding, group mapping, attribute rule or temporary grant, ready for the hot path: its role
 * expanded to permissions, its scope parsed, its condition compiled, its expiry a number.
 */
export interface CompiledGrant {
  /** `origin:sourceId`, unique in the tenant. */
  readonly key: string;
  /** A number unique among the grants of one index, so a set of grants has a cheap key (see `ProfileCache`). */
  readonly seq: number;
  /** The stored object it was compiled from: a recompile reuses the grant while this stays the same object. */
  readonly source: object;
  readonly origin: GrantOrigin;
  readonly sourceId: string;
  readonly role: string;
  /** Each permission (`type:action`) the role gives, with the chain of roles that gives it (`[role, included, …]`). */
  readonly permissions: ReadonlyMap<string, readonly string[]>;
  /** The same permissions as numbers (`CompiledPolicy#permissionIds`), for profiles. */
  readonly permissionIds: readonly number[];
  readonly scope: Scope;
  readonly scopeText: string;
  readonly condition?: CompiledCondition;
  /** Epoch milliseconds; the grant holds while `now < expiresAt`. */
  readonly expiresAt?: number;
  readonly effect: 'allow' | 'deny';
  /** The subject key it is given to, or the displayName pattern of a group mapping. */
  readonly subject: string | RegExp;
}

/** A group mapping by displayName pattern: resolved against each group when the group or the policy changes. */
export interface PatternGrant {
  readonly pattern: RegExp;
  readonly grant: CompiledGrant;
}

/** A resource or one of its ancestors, as scopes match it. */
export interface Frame {
  readonly key: string;
  readonly type: string;
}

export interface CompiledPolicy {
  readonly set: PolicySet;
  /** Resource type → its actions. */
  readonly actions: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * Resource type → action → a number for the permission: a check finds its permission with two
   * lookups of the strings it was given, rather than building and hashing a `type:action` string.
   * Numbers are assigned in declaration order, so they stay the same while the types do.
   */
  readonly permissionIds: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** The `type` of each permission number. */
  readonly permissionTypes: readonly string[];
  readonly resources: ReadonlyMap<string, ResourceDef>;
  /** Each registered resource followed by its ancestors, nearest first. */
  readonly ancestry: ReadonlyMap<string, readonly Frame[]>;
  /** The CEL `resource` of each registered resource, for checks that send no properties of their own. */
  readonly resourceViews: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  /** Role → every permission it gives, included roles expanded. */
  readonly rolePermissions: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
  /** Subject key (see `subject-keys.ts`) → the grants given to it. */
  readonly grantsByKey: ReadonlyMap<string, readonly CompiledGrant[]>;
  readonly patternGrants: readonly PatternGrant[];
  /** Attribute rule id → its filter over users. */
  readonly rules: ReadonlyMap<string, Filter<ResolvedAttr>>;
  readonly grants: readonly CompiledGrant[];
  /**
   * Keys of the grants that are new, changed or gone since the previous compile; undefined when
   * nothing could be reused (no previous policy, or roles or resource types changed).
   */
  readonly changed: ReadonlySet<string> | undefined;
  /** The next free `seq`. */
  readonly nextSeq: number;
  /** The roles and types compiled from, copied: the index changes its set in place. */
  readonly compiledFrom: { readonly roles: ReadonlyMap<string, object>; readonly types: ReadonlyMap<string, object> };
}

/** The condition of a grant whose CEL no longer compiles: it fails closed, like any condition error. */
function brokenCondition(source: string, error: string): CompiledCondition {
  return { source, evaluate: () => ({ ok: false, error }) };
}

/**
 * Compiles a validated set. Anything that still fails to compile fails closed (a condition that
 * errors never grants; a rule whose filter fails matches nobody) rather than throwing, because the
 * index must load whatever the database holds.
 */
export function compilePolicy(set: PolicySet, previous?: CompiledPolicy): CompiledPolicy {
  const actions = new Map<string, ReadonlySet<string>>();
  const permissionIds = new Map<string, Map<string, number>>();
  const permissionTypes: string[] = [];
  for (const type of set.resourceType.values()) {
    actions.set(type.name, new Set(type.actions));
    const ids = new Map<string, number>();
    for (const action of type.actions) {
      ids.set(action, permissionTypes.length);
      permissionTypes.push(type.name);
    }
    permissionIds.set(type.name, ids);
  }
  const idOf = (permission: string) => {
    const colon = permission.indexOf(':');
    return permissionIds.get(permission.slice(0, colon))?.get(permission.slice(colon + 1));
  };
  // Grants can be reused only while what they were expanded with (roles, types) is unchanged.
  const reusable =
    previous !== undefined &&
    sameObjects(previous.compiledFrom.roles, set.role) &&
    sameObjects(previous.compiledFrom.types, set.resourceType);
  const rolePermissions = reusable ? previous.rolePermissions : expandRoles(set, actions);
  const previousGrants = new Map(reusable ? previous.grants.map((g) => [g.key, g]) : []);
  let nextSeq = previous?.nextSeq ?? 0;
  const conditions = new Map<string, CompiledCondition>();
  for (const grant of previous?.grants ?? []) if (grant.condition) conditions.set(grant.condition.source, grant.condition);

  const grants: CompiledGrant[] = [];
  const grantsByKey = new Map<string, CompiledGrant[]>();
  const patternGrants: PatternGrant[] = [];
  const add = (grant: CompiledGrant, key: string) => {
    const list = grantsByKey.get(key);
    if (list) list.push(grant);
    else grantsByKey.set(key, [grant]);
  };

  function compile(
    origin: GrantOrigin,
    sourceId: string,
    subject: string | RegExp,
    terms: { role: string; scope: string; condition?: string; expiresAt?: string },
    effect: 'allow' | 'deny' = 'allow',
  ): CompiledGrant {
    const key = `${origin}:${sourceId}`;
    const reused = previousGrants.get(key);
    if (reused && reused.source === terms) {
      grants.push(reused);
      return reused;
    }
    const permissions = rolePermissions.get(terms.role) ?? new Map<string, readonly string[]>();
    const grant: CompiledGrant = {
      subject,
      key,
      seq: nextSeq++,
      source: terms,
      origin,
      sourceId,
      role: terms.role,
      permissions,
      permissionIds: [...permissions.keys()].map(idOf).filter((id): id is number => id !== undefined),
      // An unparsable scope cannot pass validation; if one is stored anyway it covers nothing.
      scope: parseScope(terms.scope) ?? { kind: 'resource', type: '', id: '' },
      scopeText: terms.scope,
      effect,
      ...(terms.condition !== undefined ? { condition: condition(terms.condition) } : {}),
      ...(terms.expiresAt !== undefined ? { expiresAt: Date.parse(terms.expiresAt) } : {}),
    };
    grants.push(grant);
    return grant;
  }

  function condition(source: string): CompiledCondition {
    let compiled = conditions.get(source);
    if (!compiled) {
      const result = compileCondition(source);
      compiled = result.ok ? result.condition : brokenCondition(source, result.error);
      conditions.set(source, compiled);
    }
    return compiled;
  }

  const keyed = (grant: CompiledGrant) => add(grant, grant.subject as string);
  for (const binding of set.binding.values()) {
    keyed(compile('binding', binding.id, subjectKey(binding.subject), binding, binding.effect ?? 'allow'));
  }
  for (const grant of set.grant.values()) keyed(compile('grant', grant.id, subjectKey(grant.subject), grant));
  for (const mapping of set.groupMapping.values()) {
    if ('displayNamePattern' in mapping.group) {
      const pattern = globPattern(mapping.group.displayNamePattern);
      patternGrants.push({ pattern, grant: compile('groupMapping', mapping.id, pattern, mapping) });
    } else {
      keyed(compile('groupMapping', mapping.id, groupMatchKey(mapping.group), mapping));
    }
  }
  const rules = new Map<string, Filter<ResolvedAttr>>();
  for (const rule of set.attributeRule.values()) {
    const filter = compileRuleFilter(rule.filter);
    if (filter.ok) rules.set(rule.id, filter.value);
    keyed(compile('attributeRule', rule.id, ruleKey(rule.id), rule));
  }

  const resources = new Map<string, ResourceDef>();
  for (const [key, resource] of set.resource) resources.set(key, resource);
  const ancestry = new Map<string, readonly Frame[]>();
  const resourceViews = new Map<string, Readonly<Record<string, unknown>>>();
  for (const [key, resource] of resources) {
    const frames = framesOf(key, resource.type, resource.parent, resources);
    ancestry.set(key, frames);
    resourceViews.set(key, resourceView(resource.type, resource.id, resource.attributes ?? {}, frames));
  }
  let changed: Set<string> | undefined;
  if (reusable) {
    changed = new Set();
    const kept = new Set(grants);
    for (const grant of grants) if (previousGrants.get(grant.key) !== grant) changed.add(grant.key);
    for (const grant of previousGrants.values()) if (!kept.has(grant)) changed.add(grant.key);
  }
  return {
    set,
    actions,
    permissionIds,
    permissionTypes,
    resources,
    ancestry,
    resourceViews,
    rolePermissions,
    grantsByKey,
    patternGrants,
    rules,
    grants,
    changed,
    nextSeq,
    compiledFrom: { roles: new Map(set.role), types: new Map(set.resourceType) },
  };
}

/** Whether two maps of stored objects hold the same objects (the index replaces an object when it changes). */
function sameObjects(a: ReadonlyMap<string, object>, b: ReadonlyMap<string, object>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

const MAX_DEPTH = 64;

/**
 * A resource and its ancestors. A parent that is not registered ends the chain (it still counts as
 * a frame); validation rejects parent cycles, and `seen` keeps a corrupt database from looping.
 */
export function framesOf(
  key: string,
  type: string,
  parent: string | undefined,
  resources: ReadonlyMap<string, ResourceDef>,
): Frame[] {
  const frames: Frame[] = [{ key, type }];
  const seen = new Set([key]);
  while (parent !== undefined && !seen.has(parent) && frames.length < MAX_DEPTH) {
    const colon = parent.indexOf(':');
    if (colon <= 0) break;
    seen.add(parent);
    frames.push({ key: parent, type: parent.slice(0, colon) });
    parent = resources.get(parent)?.parent;
  }
  return frames;
}

/** The CEL `resource`: type, id, attributes, and where it sits. */
export function resourceView(
  type: string,
  id: string,
  attributes: Readonly<Record<string, unknown>>,
  frames: readonly Frame[],
): Readonly<Record<string, unknown>> {
  return {
    type,
    id,
    attributes,
    ...(frames.length > 1 ? { parent: frames[1]!.key } : {}),
    ancestors: frames.slice(1).map((f) => f.key),
  };
}

/** Each role's permissions with the roles they come through; `type:*` becomes every action of the type. */
function expandRoles(
  set: PolicySet,
  actions: ReadonlyMap<string, ReadonlySet<string>>,
): Map<string, ReadonlyMap<string, readonly string[]>> {
  const expanded = new Map<string, Map<string, readonly string[]>>();
  const visiting = new Set<string>();
  function expand(name: string): Map<string, readonly string[]> {
    const done = expanded.get(name);
    if (done) return done;
    const permissions = new Map<string, readonly string[]>();
    const role = set.role.get(name);
    // INVARIANT: validation rejects include cycles; `visiting` only keeps a corrupt database from looping.
    if (!role || visiting.has(name)) return permissions;
    visiting.add(name);
    for (const permission of role.permissions) {
      const colon = permission.indexOf(':');
      const type = permission.slice(0, colon);
      const action = permission.slice(colon + 1);
      const all = action === '*' ? [...(actions.get(type) ?? [])] : [action];
      for (const a of all) permissions.set(`${type}:${a}`, [name]);
    }
    for (const included of role.includes ?? []) {
      for (const [permission, path] of expand(included)) {
        if (!permissions.has(permission)) permissions.set(permission, [name, ...path]);
      }
    }
    visiting.delete(name);
    expanded.set(name, permissions);
    return permissions;
  }
  for (const name of set.role.keys()) expand(name);
  return expanded;
}

/**
 * Subject keys: how a grant's subject and a user's identities meet in one map lookup. A user has
 * `u#id`, `un#username` (lower case) and `ux#externalId`; each group it is in (directly or through
 * nesting) has `g#id`, `gn#displayname` (lower case) and `gx#externalId`; each attribute rule it
 * matches, `r#id`; everyone has `*`.
 */
export function subjectKey(subject: SubjectSelector): string {
  switch (subject.type) {
    case 'user':
      if ('id' in subject) return `u#${subject.id}`;
      if ('userName' in subject) return `un#${subject.userName.toLowerCase()}`;
      return `ux#${subject.externalId}`;
    case 'group':
      return groupMatchKey(subject);
    case 'rule':
      return ruleKey(subject.id);
    case 'everyone':
      return '*';
  }
}

export function groupMatchKey(match: Exclude<GroupMatch, { displayNamePattern: string }>): string {
  if ('id' in match) return `g#${match.id}`;
  if ('externalId' in match) return `gx#${match.externalId}`;
  return `gn#${match.displayName.toLowerCase()}`;
}

export function ruleKey(id: string): string {
  return `r#${id}`;
}

export function userKeys(user: { id: string; userName: string; externalId?: string }): string[] {
  const keys = [`u#${user.id}`, `un#${user.userName.toLowerCase()}`];
  if (user.externalId !== undefined) keys.push(`ux#${user.externalId}`);
  return keys;
}

export function groupKeys(group: { id: string; displayName: string; externalId?: string }): string[] {
  const keys = [`g#${group.id}`, `gn#${group.displayName.toLowerCase()}`];
  if (group.externalId !== undefined) keys.push(`gx#${group.externalId}`);
  return keys;
}

/** `eng-*` → /^eng-.*$/i: `*` is the only wildcard; displayNames compare case-insensitively. */
export function globPattern(glob: string): RegExp {
  const source = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'is');
}
