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
 * The grants of a user, precomputed per permission (by the permission's number, see
 * `CompiledPolicy#permissionIds`). Users with the same grants share one profile (most users of a
 * group-driven tenant hold one of a few combinations), and profiles share identical entries, which
 * keeps a 10,000-member re-index to a lookup per user and the memory of 100k users small.
 */
export interface Profile {
  readonly grants: readonly CompiledGrant[];
  readonly permissions: ReadonlyMap<number, PermissionEntry>;
}

const EMPTY: Profile = { grants: [], permissions: new Map() };

/**
 * Profiles by their set of grants, for the grant objects of one compiled policy and the ones it
 * reuses (see `compilePolicy`); `forget` drops the profiles that hold a grant that changed.
 */
export class ProfileCache {
  private readonly profiles = new Map<string, Profile>();
  private readonly entries = new Map<string, PermissionEntry>();

  /** `permissionTypes`: the type of each permission number, for `allowAll`. */
  constructor(private readonly permissionTypes: readonly string[]) {}

  /**
   * `previous`: the profile the user held before, if any. When the new grants are those plus one
   * (a user joins a mapped group, a mapping is added), the profile is derived from it rather than
   * rebuilt: that is what a 10,000-member re-index mostly does.
   */
  get(grants: readonly CompiledGrant[], previous?: Profile): Profile {
    if (grants.length === 0) return EMPTY;
    const key = grants.length === 1 ? String(grants[0]!.seq) : grants.map((g) => g.seq).sort((a, b) => a - b).join(',');
    let profile = this.profiles.get(key);
    if (!profile) {
      const extra = previous && oneMore(previous.grants, grants);
      profile = extra ? this.extend(previous, extra, grants) : this.build(grants);
      this.profiles.set(key, profile);
    }
    return profile;
  }

  get size(): number {
    return this.profiles.size;
  }

  /** Drops every profile that holds one of these grants (by key). */
  forget(changed: ReadonlySet<string>): void {
    if (changed.size === 0) return;
    for (const [key, profile] of this.profiles) if (profile.grants.some((g) => changed.has(g.key))) this.profiles.delete(key);
    this.entries.clear();
  }

  prune(inUse: Iterable<Profile>): void {
    const keep = new Set(inUse);
    for (const [key, profile] of this.profiles) if (!keep.has(profile)) this.profiles.delete(key);
    this.entries.clear();
  }

  private build(grants: readonly CompiledGrant[]): Profile {
    const building = new Map<number, MutableEntry>();
    for (const grant of grants) this.add(building, grant);
    const permissions = new Map<number, PermissionEntry>();
    for (const [id, entry] of building) permissions.set(id, this.intern(entry));
    return { grants, permissions };
  }

  private extend(base: Profile, extra: CompiledGrant, grants: readonly CompiledGrant[]): Profile {
    const touched = new Map<number, MutableEntry>();
    for (const id of extra.permissionIds) {
      const old = base.permissions.get(id);
      touched.set(id, old ? { allowAll: old.allowAll, allows: [...old.allows], denies: [...old.denies] } : { allowAll: false, allows: [], denies: [] });
    }
    this.add(touched, extra);
    const permissions = new Map(base.permissions);
    for (const [id, entry] of touched) permissions.set(id, this.intern(entry));
    return { grants, permissions };
  }

  private add(building: Map<number, MutableEntry>, grant: CompiledGrant): void {
    for (const id of grant.permissionIds) {
      let entry = building.get(id);
      if (!entry) building.set(id, (entry = { allowAll: false, allows: [], denies: [] }));
      if (grant.effect === 'deny') entry.denies.push(grant);
      else if (coversType(grant, this.permissionTypes[id]!)) entry.allowAll = true;
      else entry.allows.push(grant);
    }
  }

  /** One shared object per distinct entry: across 100k users there are few. */
  private intern(entry: PermissionEntry): PermissionEntry {
    const key = `${entry.allowAll ? 1 : 0}|${entry.allows.map((g) => g.seq).join(',')}|${entry.denies.map((g) => g.seq).join(',')}`;
    const found = this.entries.get(key);
    if (found) return found;
    this.entries.set(key, entry);
    return entry;
  }
}

interface MutableEntry {
  allowAll: boolean;
  allows: CompiledGrant[];
  denies: CompiledGrant[];
}

/** The one grant `grants` has beyond `before`, when that is the whole difference. */
function oneMore(before: readonly CompiledGrant[], grants: readonly CompiledGrant[]): CompiledGrant | undefined {
  if (grants.length !== before.length + 1) return undefined;
  const had = new Set(before);
  let extra: CompiledGrant | undefined;
  for (const grant of grants) {
    if (had.has(grant)) continue;
    if (extra) return undefined;
    extra = grant;
  }
  return extra;
}

function coversType(grant: CompiledGrant, type: string): boolean {
  if (grant.condition || grant.expiresAt !== undefined) return false;
  const { scope } = grant;
  return scope.kind === 'tenant' || (scope.kind === 'type' && scope.type === type);
}
