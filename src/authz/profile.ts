import type { CompiledGrant } from './compile-policy.js';

/**
 * What one permission (`type:action`) needs at check time for the users of a profile. `allowAll`
 * answers most checks with no scope walk: an unconditional, unexpiring allow on the whole tenant, or
 * on every resource of the permission's own type.
 */
export interface PermissionEntry {
  readonly allowAll: boolean;
  /** Allows that need the scope walk, the clock or a condition (`allowAll` ones excluded). */
  readonly allows: readonly CompiledGrant[];
  readonly denies: readonly CompiledGrant[];
}

/**
 * The grants of a user, precomputed per permission. Users with the same grants share one profile
 * (most users of a group-driven tenant hold one of a few combinations), which keeps a 10,000-member
 * re-index to a key lookup per user and the memory of 100k users small.
 */
export interface Profile {
  readonly grants: readonly CompiledGrant[];
  readonly permissions: ReadonlyMap<string, PermissionEntry>;
}

const EMPTY: Profile = { grants: [], permissions: new Map() };

export function buildProfile(grants: readonly CompiledGrant[]): Profile {
  if (grants.length === 0) return EMPTY;
  const building = new Map<string, { allowAll: boolean; allows: CompiledGrant[]; denies: CompiledGrant[] }>();
  for (const grant of grants) {
    for (const permission of grant.permissions.keys()) {
      let entry = building.get(permission);
      if (!entry) building.set(permission, (entry = { allowAll: false, allows: [], denies: [] }));
      if (grant.effect === 'deny') entry.denies.push(grant);
      else if (coversPermissionType(grant, permission)) entry.allowAll = true;
      else entry.allows.push(grant);
    }
  }
  return { grants, permissions: building };
}

function coversPermissionType(grant: CompiledGrant, permission: string): boolean {
  if (grant.condition || grant.expiresAt !== undefined) return false;
  const { scope } = grant;
  return scope.kind === 'tenant' || (scope.kind === 'type' && permission.startsWith(`${scope.type}:`));
}

/**
 * Profiles by their set of grants. It holds the grant objects of one compiled policy: a new policy
 * needs a new cache, and `prune` drops profiles no user holds any more.
 */
export class ProfileCache {
  private readonly profiles = new Map<string, Profile>();

  get(grants: readonly CompiledGrant[]): Profile {
    if (grants.length === 0) return EMPTY;
    const key = grants.length === 1 ? grants[0]!.key : grants.map((g) => g.key).sort().join('\n');
    let profile = this.profiles.get(key);
    if (!profile) this.profiles.set(key, (profile = buildProfile(grants)));
    return profile;
  }

  get size(): number {
    return this.profiles.size;
  }

  prune(inUse: Iterable<Profile>): void {
    const keep = new Set(inUse);
    for (const [key, profile] of this.profiles) if (!keep.has(profile)) this.profiles.delete(key);
  }
}
