import { permissionsOf, type EffectivePermission } from '../authz/queries.js';
import { expiryOf } from '../authz/model.js';
import type { Profile } from '../authz/profile.js';
import { TenantIndex } from '../authz/tenant-index.js';
import { isPolicyChange, type AttributeChange, type Change, type ChangeSet } from '../core/change.js';
import type { AccessChangeRecord, ChangeRecord, StoredUser } from '../store/store.js';
import type { HistoryState } from './replay.js';

/** Why a derived access change happened: the `detail` of an `AccessChangeRecord`. */
export interface AccessDetail {
  /** The write that caused it, in a short sentence: `added to group Engineering (g-123) by PATCH`. */
  reason: string;
  /** The grants that give it (gained) or gave it (lost). */
  via: { origin: string; id: string; role: string; rolePath: readonly string[] }[];
  /** The CEL condition it holds under, if any. */
  condition?: string;
  /** When it lapses by itself: the latest expiry of the grants giving it, absent when one never expires. */
  expiresAt?: string;
}

/** One entry of a user's access set, keyed by effect, permission, scope and condition. */
interface Held {
  readonly permission: string;
  readonly effect: 'allow' | 'deny';
  readonly scope: string;
  readonly condition?: string;
  readonly via: AccessDetail['via'];
  readonly expiresAt?: string;
}

type AccessSet = ReadonlyMap<string, Held>;

const NOTHING: AccessSet = new Map();

/**
 * Every grant counts, whatever its expiry, until the log records that expiry: a derived change
 * comes from an entry, never from the clock.
 */
const EARLIEST = new Date(-8.64e15);

const METHOD = { create: 'POST', replace: 'PUT', patch: 'PATCH', delete: 'DELETE' } as const;

/**
 * Who gained or lost what at each write: a `HistoryState` and the `TenantIndex` built from it, kept
 * in step one change log row at a time, comparing the access sets of the users the row can reach
 * before and after it. A user's access set is what it holds through its profile's grants (empty when
 * inactive or absent), less the grants whose expiry the log has recorded (the server writes an
 * `expire` entry when it notices one, `service/expiry-sweeper.ts`): time passing alone derives nothing.
 *
 * Only reachable users are compared: the user a user write names; the members a group write adds or
 * removes (every user inside a member group); the users inside a group that is renamed or deleted;
 * everyone for a policy write. Users share few profiles, so sets are computed once per profile.
 */
export class AccessDeriver {
  /**
   * INVARIANT: a profile's grants never change, so neither does its access set, until the log
   * records a grant's expiry (or a write to an expired grant): then every set is computed again.
   */
  private sets = new WeakMap<Profile, AccessSet>();

  private constructor(
    private readonly history: HistoryState,
    private readonly tenant: TenantIndex,
  ) {}

  /** Takes `state` over: it moves on with every `apply`. */
  static start(state: HistoryState): AccessDeriver {
    return new AccessDeriver(state, TenantIndex.build(state.toSnapshot()));
  }

  get revision(): number {
    return this.history.revision;
  }

  get state(): HistoryState {
    return this.history;
  }

  get index(): TenantIndex {
    return this.tenant;
  }

  /** Applies the next change log row; returns its access changes, ordered by user, permission, scope, effect, change. */
  apply(record: ChangeRecord): AccessChangeRecord[] {
    const reasons = this.reach(record.change);
    const before = new Map([...reasons.keys()].map((id) => [id, this.accessOf(id)]));
    const { change } = record;
    const expiry = isPolicyChange(change) && (change.operation === 'expire' || this.history.hasExpired(change.objectKind, change.objectId));
    this.history.apply(record);
    if (expiry) this.sets = new WeakMap();
    const loaded = TenantIndex.usersToLoad([record])
      .map((id) => this.history.user(id))
      .filter((u): u is StoredUser => u !== undefined);
    this.tenant.apply([record], loaded);

    const rows: { userId: string; held: Held; change: 'gained' | 'lost'; reason: string }[] = [];
    for (const [userId, reason] of reasons) {
      const was = before.get(userId)!;
      const is = this.accessOf(userId);
      if (was === is) continue;
      for (const [key, held] of is) if (!was.has(key)) rows.push({ userId, held, change: 'gained', reason });
      for (const [key, held] of was) if (!is.has(key)) rows.push({ userId, held, change: 'lost', reason });
    }
    const order = ({ userId, held, change }: (typeof rows)[number]) => [userId, held.permission, held.scope, held.effect, change, held.condition ?? ''];
    rows.sort((a, b) => compareTuples(order(a), order(b)));
    return rows.map(({ userId, held, change, reason }, i) => {
      const detail: AccessDetail = {
        reason,
        via: held.via,
        ...(held.condition !== undefined ? { condition: held.condition } : {}),
        ...(held.expiresAt !== undefined ? { expiresAt: held.expiresAt } : {}),
      };
      const { permission, scope, effect } = held;
      // Spread into a plain object type: the store's `detail` is any JSON record.
      return { revision: record.revision, seq: i + 1, at: record.at, userId, permission, scope, effect, change, detail: { ...detail } };
    });
  }

  /** The users `change` can alter the access of, each with the sentence that says how; read before it applies. */
  private reach(change: Change): Map<string, string> {
    const reasons = new Map<string, string>();
    const add = (ids: Iterable<string>, reason: string) => {
      for (const id of ids) if (!reasons.has(id)) reasons.set(id, reason);
    };
    if (isPolicyChange(change)) {
      const done =
        change.operation === 'expire'
          ? `expired at ${expiryOf(change.after) ?? '(unknown)'}`
          : { create: 'created', replace: 'replaced', delete: 'deleted' }[change.operation];
      add(this.tenant.users.keys(), `${change.objectKind} ${change.objectId} ${done}`);
    } else if (change.resourceType === 'User') {
      add([change.resourceId], userReason(change));
    } else {
      this.groupReach(change, add);
    }
    return reasons;
  }

  private groupReach(change: ChangeSet, add: (ids: Iterable<string>, reason: string) => void): void {
    const id = change.resourceId;
    const label = (groupId: string, name?: string) => `${name ?? this.tenant.groups.get(groupId)?.displayName ?? ''} (${groupId})`;
    const renamed = change.attributes.find((a) => a.path === 'displayName');
    const group = label(id, typeof renamed?.after === 'string' ? renamed.after : undefined);
    if (change.operation === 'delete') {
      add(this.tenant.usersIn(id), `group ${group} deleted`);
      return;
    }
    const method = METHOD[change.operation];
    const members = (ids: readonly string[], verb: string) => {
      for (const member of ids) {
        if (this.tenant.users.has(member)) add([member], `${verb} group ${group} by ${method}`);
        else add(this.tenant.usersIn(member), `group ${label(member)} ${verb} group ${group} by ${method}`);
      }
    };
    members(change.membersAdded, 'added to');
    members(change.membersRemoved, 'removed from');
    if (change.attributes.length > 0) add(this.tenant.usersIn(id), `group ${label(id)}: ${describeAttributes(change.attributes)}`);
  }

  private accessOf(userId: string): AccessSet {
    const user = this.tenant.users.get(userId);
    if (!user || !user.active) return NOTHING;
    let set = this.sets.get(user.profile);
    if (!set) {
      set = accessSet(permissionsOf(this.tenant, user, EARLIEST).filter((p) => !this.history.hasExpired(p.origin, p.id)));
      this.sets.set(user.profile, set);
    }
    return set;
  }
}

function accessSet(permissions: readonly EffectivePermission[]): AccessSet {
  const grouped = new Map<string, EffectivePermission[]>();
  for (const p of permissions) {
    const key = JSON.stringify([p.effect, p.permission, p.scope, p.condition ?? null]);
    const list = grouped.get(key);
    if (list) list.push(p);
    else grouped.set(key, [p]);
  }
  const set = new Map<string, Held>();
  for (const [key, list] of grouped) {
    const { permission, effect, scope, condition } = list[0]!;
    const expiries = list.map((p) => p.expiresAt);
    // ISO 8601 instants of one format sort as text.
    const expiresAt = expiries.includes(undefined) ? undefined : expiries.sort().at(-1);
    set.set(key, {
      permission,
      effect,
      scope,
      ...(condition !== undefined ? { condition } : {}),
      via: list.map((p) => ({ origin: p.origin, id: p.id, role: p.role, rolePath: p.rolePath })),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    });
  }
  return set;
}

function userReason(change: ChangeSet): string {
  if (change.operation === 'create') return 'user created';
  if (change.operation === 'delete') return 'user deleted';
  return describeAttributes(change.attributes);
}

/** `title changed from Engineer to SRE; user deactivated`: the first few changes, then how many more. */
function describeAttributes(attributes: readonly AttributeChange[]): string {
  const shown = attributes.slice(0, 3).map(({ path, before, after }) => {
    if (path === 'active') return after === false ? 'user deactivated' : 'user activated';
    if (path === 'displayName') return `renamed from ${show(before)} to ${show(after)}`;
    // `urn:…:enterprise:2.0:User:department` reads as `department`.
    const name = path.startsWith('urn:') ? path.slice(path.lastIndexOf(':') + 1) : path;
    return `${name} changed from ${show(before)} to ${show(after)}`;
  });
  if (attributes.length > 3) shown.push(`and ${attributes.length - 3} more`);
  return shown.join('; ');
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '(none)';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function compareTuples(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}
