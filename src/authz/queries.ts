import { assertKnownPermission, isAllowed, type ResourceInput } from './evaluate.js';
import type { GrantOrigin } from './model.js';
import type { IndexedUser, TenantIndex } from './tenant-index.js';

/** A bounded page of an answer that may be long; `next` is the opaque position of the following page. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next?: string;
}

export interface PageRequest {
  readonly limit: number;
  /** A `next` from the previous page. */
  readonly after?: string;
}

interface Situation {
  readonly context?: Readonly<Record<string, unknown>>;
  readonly now: Date;
}

/**
 * Pages over ids in code-point order: an id is its own position, so a page boundary survives users or
 * resources added and removed between two calls (nothing is skipped or repeated that stayed put).
 */
function paginate<T>(items: T[], key: (item: T) => string, page: PageRequest): Page<T> {
  items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const start = page.after === undefined ? 0 : items.findIndex((item) => key(item) > page.after!);
  const from = start < 0 ? items.length : start;
  const slice = items.slice(from, from + page.limit);
  const more = from + page.limit < items.length;
  return more ? { items: slice, next: key(slice[slice.length - 1]!) } : { items: slice };
}

/** Users who may do `action` on `resource` now: every active user is checked, as a check would. */
export function whoCan(
  index: TenantIndex,
  action: string,
  resource: ResourceInput,
  situation: Situation,
  page: PageRequest,
): Page<IndexedUser> {
  assertKnownPermission(index.policy, resource.type, action);
  const users: IndexedUser[] = [];
  for (const user of index.users.values()) {
    if (isAllowed(index, { user, action, resource, ...situation })) users.push(user);
  }
  return paginate(users, (u) => u.id, page);
}

/** Registered resources of `type` on which the user may do `action`. */
export function resourcesFor(
  index: TenantIndex,
  user: IndexedUser,
  action: string,
  type: string,
  situation: Situation,
  page: PageRequest,
): Page<ResourceInput> {
  assertKnownPermission(index.policy, type, action);
  const found: ResourceInput[] = [];
  for (const resource of index.policy.resources.values()) {
    if (resource.type !== type) continue;
    const input = { type, id: resource.id };
    if (isAllowed(index, { user, action, resource: input, ...situation })) found.push(input);
  }
  return paginate(found, (r) => r.id, page);
}

/** The actions of the resource's type the user may do on it. */
export function actionsOn(index: TenantIndex, user: IndexedUser, resource: ResourceInput, situation: Situation): string[] {
  const actions = index.policy.actions.get(resource.type);
  if (!actions) {
    assertKnownPermission(index.policy, resource.type, '');
    return [];
  }
  return [...actions].filter((action) => isAllowed(index, { user, action, resource, ...situation }));
}

/** One permission a user holds, with where it holds and why. */
export interface EffectivePermission {
  readonly permission: string;
  readonly effect: 'allow' | 'deny';
  readonly scope: string;
  readonly role: string;
  readonly rolePath: readonly string[];
  readonly origin: GrantOrigin;
  readonly id: string;
  readonly condition?: string;
  readonly expiresAt?: string;
}

/** Everything a user holds now, expired grants left out, sorted by permission then scope. */
export function permissionsOf(index: TenantIndex, user: IndexedUser, now: Date): EffectivePermission[] {
  if (!user.active) return [];
  const out: EffectivePermission[] = [];
  for (const grant of user.profile.grants) {
    if (grant.expiresAt !== undefined && now.getTime() >= grant.expiresAt) continue;
    for (const [permission, rolePath] of grant.permissions) {
      out.push({
        permission,
        effect: grant.effect,
        scope: grant.scopeText,
        role: grant.role,
        rolePath,
        origin: grant.origin,
        id: grant.sourceId,
        ...(grant.condition ? { condition: grant.condition.source } : {}),
        ...(grant.expiresAt !== undefined ? { expiresAt: new Date(grant.expiresAt).toISOString() } : {}),
      });
    }
  }
  const order = (p: EffectivePermission) => `${p.permission}\u0000${p.scope}\u0000${p.origin}\u0000${p.id}`;
  return out.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}
