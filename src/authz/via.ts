import type { CompiledGrant } from './compile-policy.js';
import type { IndexedGroup, IndexedUser, TenantIndex } from './tenant-index.js';

/** A group on the way from a user to the group a grant names, with when the IdP last changed it. */
export interface GroupHop {
  readonly id: string;
  readonly displayName: string;
  readonly externalId?: string;
  /** The group's `meta.lastModified` and `meta.version`: when, and at which revision, the IdP last changed it. */
  readonly lastModified: string;
  readonly version: number;
}

/** How a user comes to hold a grant: the first links of an explain chain. */
export type Via =
  | { readonly kind: 'user'; readonly match: 'id' | 'userName' | 'externalId' }
  | { readonly kind: 'group'; readonly path: readonly GroupHop[] }
  | { readonly kind: 'rule'; readonly rule: string; readonly filter: string }
  | { readonly kind: 'everyone' };

const USER_MATCH = { 'u#': 'id', 'un': 'userName', 'ux': 'externalId' } as const;

export function viaOf(index: TenantIndex, user: IndexedUser, grant: CompiledGrant): Via {
  const { subject } = grant;
  if (subject === '*') return { kind: 'everyone' };
  if (typeof subject === 'string' && subject.startsWith('r#')) {
    const rule = subject.slice(2);
    return { kind: 'rule', rule, filter: index.policySet.attributeRule.get(rule)?.filter ?? '' };
  }
  if (typeof subject === 'string' && user.keys.includes(subject)) {
    return { kind: 'user', match: USER_MATCH[subject.slice(0, 2) as keyof typeof USER_MATCH] };
  }
  const hit = (group: IndexedGroup) =>
    typeof subject === 'string' ? group.keys.includes(subject) : subject.test(group.displayName);
  return { kind: 'group', path: groupPath(index, user, hit) };
}

/** The shortest chain of groups from one the user is directly in to the first that satisfies `hit`. */
function groupPath(index: TenantIndex, user: IndexedUser, hit: (group: IndexedGroup) => boolean): GroupHop[] {
  const previous = new Map<string, string | null>();
  const queue: string[] = [];
  for (const id of user.groups) {
    previous.set(id, null);
    queue.push(id);
  }
  for (let i = 0; i < queue.length; i++) {
    const group = index.groups.get(queue[i]!);
    if (!group) continue;
    if (hit(group)) {
      const path: GroupHop[] = [];
      for (let id: string | null = group.id; id !== null; id = previous.get(id) ?? null) path.unshift(hop(index.groups.get(id)!));
      return path;
    }
    for (const parent of group.parents) {
      if (!previous.has(parent)) {
        previous.set(parent, group.id);
        queue.push(parent);
      }
    }
  }
  return [];
}

function hop(group: IndexedGroup): GroupHop {
  return {
    id: group.id,
    displayName: group.displayName,
    ...(group.externalId !== undefined ? { externalId: group.externalId } : {}),
    lastModified: group.lastModified,
    version: group.version,
  };
}
