import { isPolicyChange, type ChangeSet, type PolicyChange } from '../core/change.js';
import { evaluateFilter } from '../scim/filter/index.js';
import type { ChangeRecord, ScimDoc, StoredGroup, StoredUser, TenantSnapshot } from '../store/store.js';
import {
  compilePolicy,
  globPattern,
  groupKeys,
  groupMatchKey,
  ruleKey,
  subjectKey,
  userKeys,
  type CompiledGrant,
  type CompiledPolicy,
} from './compile-policy.js';
import { emptyPolicySet, POLICY_KINDS, type PolicyKind, type PolicyObject, type PolicySet } from './model.js';
import { ProfileCache, type Profile } from './profile.js';

export interface IndexedUser {
  readonly id: string;
  userName: string;
  externalId: string | undefined;
  active: boolean;
  doc: ScimDoc;
  version: number;
  lastModified: string;
  /** Direct groups; nested ones come from `TenantIndex.groupsOf`. */
  readonly groups: Set<string>;
  /** Ids of the attribute rules the user matches. */
  rules: string[];
  /** Its subject keys (`userKeys`), kept with it because every recompute reads them. */
  keys: string[];
  profile: Profile;
  /** The CEL `subject`, built when a condition first needs it and dropped when the user changes. */
  subject: Record<string, unknown> | undefined;
}

export interface IndexedGroup {
  readonly id: string;
  displayName: string;
  externalId: string | undefined;
  version: number;
  lastModified: string;
  /** Groups this group is a member of. */
  readonly parents: Set<string>;
  readonly users: Set<string>;
  /** Groups that are members of this group. */
  readonly children: Set<string>;
  /** Its subject keys (`groupKeys`). */
  keys: string[];
  /** Every grant given to the group: by its keys, and by the displayName patterns it matches. */
  grants: CompiledGrant[];
}

type MutablePolicySet = { [K in PolicyKind]: Map<string, PolicySet[K] extends ReadonlyMap<string, infer V> ? V : never> };

/**
 * The permission index of one tenant: its users, groups and memberships, its compiled policy, and
 * for each user the profile a check reads. Built once from a snapshot, then kept current from the
 * change log: `apply` recomputes only the users a change reaches (a title change: that user; a
 * member added to a mapped group: that member; a mapping change: that group's members, however
 * nested; a role change: everyone).
 *
 * INVARIANT: after `apply(records)`, the index equals `build` of a snapshot taken at `revision`
 * (a property test holds it to that).
 */
export class TenantIndex {
  revision: number;
  policy: CompiledPolicy;
  readonly users = new Map<string, IndexedUser>();
  readonly groups = new Map<string, IndexedGroup>();
  private readonly byUserName = new Map<string, string>();
  private readonly byExternalId = new Map<string, string>();
  private readonly set: MutablePolicySet;
  private profiles: ProfileCache;

  private constructor(revision: number, set: MutablePolicySet) {
    this.revision = revision;
    this.set = set;
    this.policy = compilePolicy(set);
    this.profiles = new ProfileCache(this.policy.permissionTypes);
  }

  static build(snapshot: TenantSnapshot): TenantIndex {
    const set = emptyPolicySet() as MutablePolicySet;
    for (const record of snapshot.policy) putPolicy(set, record.kind, record.id, record.doc);
    const index = new TenantIndex(snapshot.revision, set);
    for (const group of snapshot.groups) index.putGroup(group);
    for (const user of snapshot.users) index.putUser(user);
    for (const edge of snapshot.memberships) index.link(edge.groupId, edge.memberId, edge.memberType);
    for (const group of index.groups.values()) index.resolveGroup(group);
    for (const user of index.users.values()) {
      index.matchRules(user);
      index.recompute(user);
    }
    return index;
  }

  /** The user named by id, userName (case-insensitive) or externalId. */
  findUser(by: 'id' | 'userName' | 'externalId', value: string): IndexedUser | undefined {
    if (by === 'id') return this.users.get(value);
    // Most userNames arrive already in lower case (emails): look them up before allocating a lowered copy.
    const id = by === 'userName' ? (this.byUserName.get(value) ?? this.byUserName.get(value.toLowerCase())) : this.byExternalId.get(value);
    return id === undefined ? undefined : this.users.get(id);
  }

  /** The groups a user is in, directly or through nesting. */
  groupsOf(user: IndexedUser): IndexedGroup[] {
    const seen = new Set<string>();
    const out: IndexedGroup[] = [];
    const queue = [...user.groups];
    while (queue.length > 0) {
      const id = queue.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const group = this.groups.get(id);
      if (!group) continue;
      out.push(group);
      for (const parent of group.parents) if (!seen.has(parent)) queue.push(parent);
    }
    return out;
  }

  /** Every user inside a group, directly or through nested groups. */
  usersIn(groupId: string): Set<string> {
    const users = new Set<string>();
    const seen = new Set<string>();
    const queue = [groupId];
    while (queue.length > 0) {
      const id = queue.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const group = this.groups.get(id);
      if (!group) continue;
      for (const user of group.users) users.add(user);
      for (const child of group.children) queue.push(child);
    }
    return users;
  }

  /** The users `records` will need read from the store before `apply` (their documents changed). */
  static usersToLoad(records: readonly ChangeRecord[]): string[] {
    const ids = new Set<string>();
    for (const { change } of records) {
      if (!isPolicyChange(change) && change.resourceType === 'User' && change.operation !== 'delete') ids.add(change.resourceId);
    }
    return [...ids];
  }

  /**
   * Applies committed change log rows, oldest first. `loaded` holds the current documents of the
   * users named by `usersToLoad`; one that is missing was deleted since, and is dropped. Runs
   * synchronously, so no check ever sees half of a change.
   */
  apply(records: readonly ChangeRecord[], loaded: readonly StoredUser[]): void {
    if (records.length === 0) return;
    const docs = new Map(loaded.map((u) => [u.id, u]));
    const touched = new Set<string>();
    const policyChanges: PolicyChange[] = [];
    for (const { change, at, revision } of records) {
      if (isPolicyChange(change)) {
        // An expiry changes no object: the evaluator already denies an expired grant by its time.
        if (change.operation !== 'expire') policyChanges.push(change);
      } else if (change.resourceType === 'User') {
        this.applyUserChange(change, docs, touched);
      } else {
        this.applyGroupChange(change, at, revision, touched);
      }
    }
    if (policyChanges.length > 0) this.applyPolicyChanges(policyChanges, touched);
    for (const id of touched) {
      const user = this.users.get(id);
      if (user) this.recompute(user);
    }
    this.revision = records[records.length - 1]!.revision;
    // Memberships churn through profiles; drop the ones nobody holds once they outnumber the users.
    if (this.profiles.size > 2 * this.users.size + 1000) this.profiles.prune([...this.users.values()].map((u) => u.profile));
  }

  private applyUserChange(change: ChangeSet, docs: Map<string, StoredUser>, touched: Set<string>): void {
    const stored = docs.get(change.resourceId);
    if (change.operation === 'delete' || !stored) {
      this.removeUser(change.resourceId);
      return;
    }
    const user = this.putUser(stored);
    this.matchRules(user);
    touched.add(user.id);
  }

  private applyGroupChange(change: ChangeSet, at: string, revision: number, touched: Set<string>): void {
    const id = change.resourceId;
    if (change.operation === 'delete') {
      for (const user of this.usersIn(id)) touched.add(user);
      this.removeGroup(id);
      return;
    }
    let group = this.groups.get(id);
    let renamed = !group;
    if (!group) {
      group = this.newGroup(id, { displayName: '' }, revision, at);
      this.groups.set(id, group);
    }
    for (const { path, after } of change.attributes) {
      if (path === 'displayName') {
        group.displayName = typeof after === 'string' ? after : '';
        renamed = true;
      } else if (path === 'externalId') {
        group.externalId = typeof after === 'string' ? after : undefined;
        renamed = true;
      }
    }
    group.version = revision;
    group.lastModified = at;
    if (renamed) {
      this.resolveGroup(group);
      for (const user of this.usersIn(id)) touched.add(user);
    }
    for (const member of change.membersRemoved) {
      for (const user of this.reach(member)) touched.add(user);
      this.unlink(id, member);
    }
    for (const member of change.membersAdded) {
      const type = this.users.has(member) ? 'User' : this.groups.has(member) ? 'Group' : undefined;
      if (!type) continue;
      this.link(id, member, type);
      for (const user of this.reach(member)) touched.add(user);
    }
  }

  /** The users a membership of `member` reaches: the user itself, or everyone inside the group. */
  private reach(member: string): Iterable<string> {
    return this.users.has(member) ? [member] : this.usersIn(member);
  }

  private applyPolicyChanges(changes: readonly PolicyChange[], touched: Set<string>): void {
    let everyone = false;
    let rules = false;
    const objects: PolicyObject[] = [];
    for (const change of changes) {
      const kind = change.objectKind as PolicyKind;
      if (!POLICY_KINDS.includes(kind)) continue;
      if (change.before !== null && change.before !== undefined) objects.push(change.before as PolicyObject);
      if (change.after !== null && change.after !== undefined) objects.push(change.after as PolicyObject);
      if (kind === 'role' || kind === 'resourceType') everyone = true;
      if (kind === 'attributeRule') rules = true;
      if (change.operation === 'delete') this.set[kind].delete(change.objectId);
      else putPolicy(this.set, kind, change.objectId, change.after);
    }
    // Affected users are found twice: under the old state (who held a grant) and the new one (who holds it now).
    if (!everyone) for (const object of objects) this.collectSubjects(object, touched);
    this.policy = compilePolicy(this.set, this.policy);
    // Unchanged grants are the same objects as before, so only profiles holding a changed one go.
    if (this.policy.changed) this.profiles.forget(this.policy.changed);
    else this.profiles = new ProfileCache(this.policy.permissionTypes);
    for (const group of this.groups.values()) this.resolveGroup(group);
    if (rules) for (const user of this.users.values()) this.matchRules(user);
    if (everyone) for (const id of this.users.keys()) touched.add(id);
    else for (const object of objects) this.collectSubjects(object, touched);
  }

  /** Adds the users a binding, mapping, rule or grant applies to (an everyone binding: all users). */
  private collectSubjects(object: PolicyObject, into: Set<string>): void {
    const target = grantTarget(object);
    if (target === undefined) return;
    const addGroups = (hit: (group: IndexedGroup) => boolean) => {
      for (const group of this.groups.values()) if (hit(group)) for (const id of this.usersIn(group.id)) into.add(id);
    };
    if (target instanceof RegExp) addGroups((group) => target.test(group.displayName));
    else if (target === '*') for (const id of this.users.keys()) into.add(id);
    else if (target.startsWith('r#')) {
      const rule = target.slice(2);
      for (const user of this.users.values()) if (user.rules.includes(rule)) into.add(user.id);
    } else if (target.startsWith('u')) {
      for (const user of this.users.values()) if (user.keys.includes(target)) into.add(user.id);
    } else addGroups((group) => group.keys.includes(target));
  }

  private putUser(stored: StoredUser): IndexedUser {
    const doc = stored.doc;
    const userName = typeof doc.userName === 'string' ? doc.userName : '';
    const externalId = typeof doc.externalId === 'string' ? doc.externalId : undefined;
    let user = this.users.get(stored.id);
    if (user) {
      this.unindexUser(user);
      user.userName = userName;
      user.externalId = externalId;
      user.active = doc.active !== false;
      user.doc = doc;
      user.version = stored.version;
      user.lastModified = stored.lastModified;
      user.subject = undefined;
    } else {
      user = {
        id: stored.id,
        userName,
        externalId,
        active: doc.active !== false,
        doc,
        version: stored.version,
        lastModified: stored.lastModified,
        groups: new Set(),
        rules: [],
        keys: [],
        profile: this.profiles.get([]),
        subject: undefined,
      };
      this.users.set(stored.id, user);
    }
    user.keys = userKeys(user);
    this.byUserName.set(userName.toLowerCase(), user.id);
    if (externalId !== undefined) this.byExternalId.set(externalId, user.id);
    return user;
  }

  private unindexUser(user: IndexedUser): void {
    if (this.byUserName.get(user.userName.toLowerCase()) === user.id) this.byUserName.delete(user.userName.toLowerCase());
    if (user.externalId !== undefined && this.byExternalId.get(user.externalId) === user.id) this.byExternalId.delete(user.externalId);
  }

  private removeUser(id: string): void {
    const user = this.users.get(id);
    if (!user) return;
    for (const groupId of user.groups) this.groups.get(groupId)?.users.delete(id);
    this.unindexUser(user);
    this.users.delete(id);
  }

  private newGroup(id: string, doc: ScimDoc, version: number, lastModified: string): IndexedGroup {
    return {
      id,
      displayName: typeof doc.displayName === 'string' ? doc.displayName : '',
      externalId: typeof doc.externalId === 'string' ? doc.externalId : undefined,
      version,
      lastModified,
      parents: new Set(),
      users: new Set(),
      children: new Set(),
      keys: [],
      grants: [],
    };
  }

  private putGroup(stored: StoredGroup): void {
    this.groups.set(stored.id, this.newGroup(stored.id, stored.doc, stored.version, stored.lastModified));
  }

  private removeGroup(id: string): void {
    const group = this.groups.get(id);
    if (!group) return;
    for (const parent of group.parents) this.groups.get(parent)?.children.delete(id);
    for (const child of group.children) this.groups.get(child)?.parents.delete(id);
    for (const user of group.users) this.users.get(user)?.groups.delete(id);
    this.groups.delete(id);
  }

  private link(groupId: string, memberId: string, type: 'User' | 'Group'): void {
    const group = this.groups.get(groupId);
    if (!group) return;
    if (type === 'User') {
      const user = this.users.get(memberId);
      if (!user) return;
      group.users.add(memberId);
      user.groups.add(groupId);
    } else {
      const child = this.groups.get(memberId);
      if (!child) return;
      group.children.add(memberId);
      child.parents.add(groupId);
    }
  }

  private unlink(groupId: string, memberId: string): void {
    const group = this.groups.get(groupId);
    if (!group) return;
    group.users.delete(memberId);
    group.children.delete(memberId);
    this.users.get(memberId)?.groups.delete(groupId);
    this.groups.get(memberId)?.parents.delete(groupId);
  }

  private resolveGroup(group: IndexedGroup): void {
    group.keys = groupKeys(group);
    const grants: CompiledGrant[] = [];
    for (const key of group.keys) grants.push(...(this.policy.grantsByKey.get(key) ?? []));
    for (const { pattern, grant } of this.policy.patternGrants) if (pattern.test(group.displayName)) grants.push(grant);
    group.grants = grants;
  }

  private matchRules(user: IndexedUser): void {
    const rules: string[] = [];
    if (this.policy.rules.size > 0) {
      const rendered = { ...user.doc, id: user.id };
      for (const [id, filter] of this.policy.rules) if (evaluateFilter(filter, rendered)) rules.push(id);
    }
    user.rules = rules;
  }

  /** The grants a user holds through every subject key it has. */
  grantsOf(user: IndexedUser): CompiledGrant[] {
    const { grantsByKey } = this.policy;
    const grants = new Set<CompiledGrant>();
    const addKey = (key: string) => {
      const list = grantsByKey.get(key);
      if (list) for (const grant of list) grants.add(grant);
    };
    for (const key of user.keys) addKey(key);
    for (const group of this.groupsOf(user)) for (const grant of group.grants) grants.add(grant);
    for (const rule of user.rules) addKey(ruleKey(rule));
    addKey('*');
    return [...grants];
  }

  private recompute(user: IndexedUser): void {
    user.profile = this.profiles.get(this.grantsOf(user), user.profile);
    user.subject = undefined;
  }

  /** The policy as stored, for validation of a proposed change and for export. */
  get policySet(): PolicySet {
    return this.set;
  }
}

function putPolicy(set: MutablePolicySet, kind: string, id: string, doc: unknown): void {
  if (!(POLICY_KINDS as readonly string[]).includes(kind)) return;
  (set[kind as PolicyKind] as Map<string, unknown>).set(id, doc);
}

/** The subject key a grant-giving object targets, the pattern of a pattern mapping, or nothing (roles, types, resources). */
function grantTarget(object: PolicyObject): string | RegExp | undefined {
  if ('group' in object) return 'displayNamePattern' in object.group ? globPattern(object.group.displayNamePattern) : groupMatchKey(object.group);
  if ('filter' in object) return ruleKey(object.id);
  if ('subject' in object) return subjectKey(object.subject);
  return undefined;
}
