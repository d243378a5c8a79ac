import { gunzipSync, gzipSync } from 'node:zlib';
import { isPolicyChange, type AttributeChange, type ChangeSet, type PolicyChange } from '../core/change.js';
import { isPlainObject } from '../core/json.js';
import type { ChangeRecord, PolicyRecord, ScimDoc, StoredGroup, StoredResource, StoredUser, TenantSnapshot } from '../store/store.js';

type MemberType = 'User' | 'Group';

interface Resource {
  readonly id: string;
  /** INVARIANT: never changed in place (a change makes a new doc), so docs handed out stay as they were. */
  doc: ScimDoc;
  readonly created: string;
  lastModified: string;
  version: number;
}

interface PolicyEntry {
  readonly kind: string;
  readonly id: string;
  doc: unknown;
  version: number;
  readonly created: string;
  lastModified: string;
}

/** Bumped when the encoded shape changes: encoded states live on in `history_snapshots`. */
const FORMAT = 1;

/** What an encoded state holds beside the snapshot (`expired` arrived later, within format 1). */
interface Encoded {
  readonly format: number;
  readonly expired?: readonly string[];
}

/**
 * A tenant's state rebuilt from its change log alone: what `Store#snapshot` would have read at any
 * past revision. The audit trail needs it twice: to answer "what could U do at revision r" (an index
 * built from it), and to derive who gained or lost access at each write (see `access-diff.ts`).
 *
 * Documents are rebuilt from `AttributeChange` paths (the inverse of `diffDocs`' flattening), and
 * deletes leave every membership, as the store's do. `version` and `lastModified` follow the
 * store's rules (a membership change stamps the users it reaches, a rename the users inside).
 */
export class HistoryState {
  private readonly users = new Map<string, Resource>();
  private readonly groups = new Map<string, Resource>();
  /** Group → its direct members. */
  private readonly members = new Map<string, Map<string, MemberType>>();
  /** Member → the groups it is directly in, so a delete leaves them without a scan. */
  private readonly memberOf = new Map<string, Set<string>>();
  /** Keyed `kind\u0000id`. */
  private readonly policy = new Map<string, PolicyEntry>();
  /**
   * The policy objects (same keys) whose expiry the log has recorded since their last write. The
   * store's snapshot has no such thing: an expiry changes no object, so it is kept beside them.
   */
  private readonly expired = new Set<string>();

  private constructor(private current: number) {}

  static empty(): HistoryState {
    return new HistoryState(0);
  }

  static fromSnapshot(snapshot: TenantSnapshot): HistoryState {
    const state = new HistoryState(snapshot.revision);
    for (const u of snapshot.users) state.users.set(u.id, resource(u));
    for (const g of snapshot.groups) state.groups.set(g.id, resource(g));
    for (const edge of snapshot.memberships) state.link(edge.groupId, edge.memberId, edge.memberType);
    for (const p of snapshot.policy) state.policy.set(policyKey(p.kind, p.id), { ...p });
    return state;
  }

  static decode(bytes: Uint8Array): HistoryState {
    const { format, expired, ...snapshot } = JSON.parse(gunzipSync(bytes).toString('utf8')) as TenantSnapshot & Encoded;
    if (format !== FORMAT) throw new Error(`history state format ${format} is not supported`);
    const state = HistoryState.fromSnapshot(snapshot);
    // States encoded before expiries were recorded have none.
    for (const key of expired ?? []) state.expired.add(key);
    return state;
  }

  encode(): Uint8Array {
    const encoded: Encoded = { format: FORMAT, expired: [...this.expired] };
    return gzipSync(JSON.stringify({ ...encoded, ...this.toSnapshot() }));
  }

  /** A state of its own at the same revision. */
  clone(): HistoryState {
    const copy = HistoryState.fromSnapshot(this.toSnapshot());
    for (const key of this.expired) copy.expired.add(key);
    return copy;
  }

  /** Whether the log recorded the expiry of this policy object since it was last written. */
  hasExpired(kind: string, id: string): boolean {
    return this.expired.has(policyKey(kind, id));
  }

  get revision(): number {
    return this.current;
  }

  user(id: string): StoredUser | undefined {
    const found = this.users.get(id);
    return found && { ...found };
  }

  group(id: string): StoredGroup | undefined {
    const found = this.groups.get(id);
    return found && { ...found };
  }

  /** Applies the next change log row; rows must come one revision after another, with no gap. */
  apply(record: ChangeRecord): void {
    if (record.revision !== this.current + 1) {
      throw new Error(`history state at revision ${this.current} cannot apply revision ${record.revision}`);
    }
    const { change } = record;
    if (isPolicyChange(change)) this.applyPolicy(change, record);
    else if (change.resourceType === 'User') this.applyUser(change, record);
    else this.applyGroup(change, record);
    this.current = record.revision;
  }

  /** The state as `Store#snapshot` reads it: resources in creation order, edges by group, type and member, policy by kind then id. */
  toSnapshot(): TenantSnapshot {
    const memberships: { groupId: string; memberId: string; memberType: MemberType }[] = [];
    for (const [groupId, members] of this.members) {
      for (const [memberId, memberType] of members) memberships.push({ groupId, memberId, memberType });
    }
    memberships.sort((a, b) => byCodePoint(a.groupId, b.groupId) || byCodePoint(a.memberType, b.memberType) || byCodePoint(a.memberId, b.memberId));
    const policy: PolicyRecord[] = [...this.policy.values()].map((p) => ({ ...p }));
    policy.sort((a, b) => byCodePoint(a.kind, b.kind) || byCodePoint(a.id, b.id));
    return {
      revision: this.current,
      users: [...this.users.values()].map((u) => ({ ...u })),
      groups: [...this.groups.values()].map((g) => ({ ...g })),
      memberships,
      policy,
    };
  }

  private applyUser(change: ChangeSet, { revision, at }: ChangeRecord): void {
    const id = change.resourceId;
    if (change.operation === 'delete') {
      this.users.delete(id);
      this.leaveGroups(id, revision, at);
      return;
    }
    this.write(this.users, id, change.attributes, revision, at);
  }

  private applyGroup(change: ChangeSet, { revision, at }: ChangeRecord): void {
    const id = change.resourceId;
    if (change.operation === 'delete') {
      // The users inside lose it from their `groups`: the store stamps them before the edges go.
      this.stamp(this.usersIn(id), revision, at);
      for (const member of this.members.get(id)?.keys() ?? []) this.memberOf.get(member)?.delete(id);
      this.members.delete(id);
      this.groups.delete(id);
      this.leaveGroups(id, revision, at);
      return;
    }
    this.write(this.groups, id, change.attributes, revision, at);
    for (const member of change.membersRemoved) this.unlink(id, member);
    for (const member of change.membersAdded) this.link(id, member, this.groups.has(member) ? 'Group' : 'User');
    const reached = new Set<string>();
    if (change.attributes.some((a) => a.path === 'displayName')) for (const user of this.usersIn(id)) reached.add(user);
    for (const member of [...change.membersAdded, ...change.membersRemoved]) {
      if (this.users.has(member)) reached.add(member);
      else for (const user of this.usersIn(member)) reached.add(user);
    }
    this.stamp(reached, revision, at);
  }

  private applyPolicy(change: PolicyChange, { revision, at }: ChangeRecord): void {
    const key = policyKey(change.objectKind, change.objectId);
    if (change.operation === 'expire') {
      // The store leaves the object as it was, and so does the replay.
      if (this.policy.has(key)) this.expired.add(key);
      return;
    }
    this.expired.delete(key);
    if (change.operation === 'delete') {
      this.policy.delete(key);
      return;
    }
    const created = this.policy.get(key)?.created ?? at;
    this.policy.set(key, { kind: change.objectKind, id: change.objectId, doc: change.after, version: revision, created, lastModified: at });
  }

  /** Creates or updates a resource. One missing for an update is created: replay goes on rather than stops. */
  private write(into: Map<string, Resource>, id: string, attributes: readonly AttributeChange[], revision: number, at: string): void {
    const existing = into.get(id);
    into.set(id, {
      id,
      doc: applyAttributes(existing?.doc ?? {}, attributes),
      created: existing?.created ?? at,
      lastModified: at,
      version: revision,
    });
  }

  /** A deleted resource leaves every group it was in, and those groups take the delete's version. */
  private leaveGroups(memberId: string, revision: number, at: string): void {
    for (const groupId of this.memberOf.get(memberId) ?? []) {
      this.members.get(groupId)?.delete(memberId);
      touch(this.groups.get(groupId), revision, at);
    }
    this.memberOf.delete(memberId);
  }

  private link(groupId: string, memberId: string, type: MemberType): void {
    let members = this.members.get(groupId);
    if (!members) this.members.set(groupId, (members = new Map()));
    members.set(memberId, type);
    let groups = this.memberOf.get(memberId);
    if (!groups) this.memberOf.set(memberId, (groups = new Set()));
    groups.add(groupId);
  }

  private unlink(groupId: string, memberId: string): void {
    const members = this.members.get(groupId);
    members?.delete(memberId);
    if (members?.size === 0) this.members.delete(groupId);
    const groups = this.memberOf.get(memberId);
    groups?.delete(groupId);
    if (groups?.size === 0) this.memberOf.delete(memberId);
  }

  /** Every user inside a group, however nested (cycles stop at a group already seen). */
  private usersIn(groupId: string): Set<string> {
    const users = new Set<string>();
    const seen = new Set<string>();
    const queue = [groupId];
    while (queue.length > 0) {
      const id = queue.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      for (const [member, type] of this.members.get(id) ?? []) {
        if (type === 'User') users.add(member);
        else queue.push(member);
      }
    }
    return users;
  }

  private stamp(userIds: Iterable<string>, revision: number, at: string): void {
    for (const id of userIds) touch(this.users.get(id), revision, at);
  }
}

function resource(stored: StoredResource): Resource {
  return { id: stored.id, doc: stored.doc, created: stored.created, lastModified: stored.lastModified, version: stored.version };
}

function touch(target: Resource | undefined, revision: number, at: string): void {
  if (!target) return;
  target.version = revision;
  target.lastModified = at;
}

function policyKey(kind: string, id: string): string {
  return `${kind}\u0000${id}`;
}

/** UTF-8 byte order is code point order, which is how both SQL backends sort text. */
function byCodePoint(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * A new document: `doc` with the changes applied. Removals go first: a path that turns from a
 * complex value into a simple one (or back) shows as the removal of one path and the setting of another.
 *
 * @example applyAttributes({ name: { givenName: 'A' } }, [{ path: 'name.givenName', before: 'A', after: null }]) // {}
 */
function applyAttributes(doc: ScimDoc, changes: readonly AttributeChange[]): ScimDoc {
  const out = structuredClone(doc);
  for (const { path, after } of changes) if (after === null) remove(out, segments(path));
  for (const { path, after } of changes) if (after !== null) set(out, segments(path), after);
  return out;
}

/**
 * `name.givenName` → [name, givenName]; `urn:…:2.0:User:manager.value` → [urn:…:2.0:User, manager,
 * value]: the extension URN is everything before the last ':' (the URN itself holds dots).
 */
function segments(path: string): string[] {
  let prefix: string[] = [];
  let rest = path;
  if (path.startsWith('urn:')) {
    const colon = path.lastIndexOf(':');
    prefix = [path.slice(0, colon)];
    rest = path.slice(colon + 1);
  }
  const dot = rest.indexOf('.');
  return dot < 0 ? [...prefix, rest] : [...prefix, rest.slice(0, dot), rest.slice(dot + 1)];
}

function set(doc: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let target = doc;
  for (const key of path.slice(0, -1)) {
    const next = target[key];
    if (isPlainObject(next)) target = next;
    else target = target[key] = {};
  }
  target[path[path.length - 1]!] = value;
}

/** Removes the attribute and then every object it leaves empty: a stored document holds no `{}`. */
function remove(doc: Record<string, unknown>, path: readonly string[]): void {
  const chain: Record<string, unknown>[] = [doc];
  for (const key of path.slice(0, -1)) {
    const next = chain[chain.length - 1]![key];
    if (!isPlainObject(next)) return;
    chain.push(next);
  }
  delete chain[chain.length - 1]![path[path.length - 1]!];
  for (let i = chain.length - 1; i > 0; i--) {
    if (Object.keys(chain[i]!).length > 0) break;
    delete chain[i - 1]![path[i - 1]!];
  }
}
