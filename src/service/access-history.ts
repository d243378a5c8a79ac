import { AppError } from '../core/errors.js';
import { isPolicyChange } from '../core/change.js';
import { isAllowed, type ResourceInput } from '../authz/evaluate.js';
import type { TenantIndex } from '../authz/tenant-index.js';
import type { Actor } from '../core/change.js';
import type { AccessChangeRecord, AuditEntry, Store } from '../store/store.js';
import type { PastIndexes } from './access.js';

export interface AccessHistoryQuery {
  /** A user id, userName or externalId; a deleted user is found by id. */
  readonly user: string;
  readonly action: string;
  readonly resource: ResourceInput;
}

/** A write as the cause of a transition: enough to find it in the log. */
export interface CauseEntry {
  readonly revision: number;
  readonly at: string;
  readonly actor: Actor;
  readonly kind: string;
  readonly subject: string;
  readonly operation: string;
}

export interface Transition {
  readonly at: string;
  /** The revision whose write made the change; for an expiry, the last revision before it. */
  readonly revision: number;
  /** `write`: a write changed it (see `entry` and `changes`); `expiry`: a grant ran out with no write. */
  readonly cause: 'write' | 'expiry';
  readonly entry?: CauseEntry;
  /** The user's derived access changes of this permission at that revision (what moved, through which grants). */
  readonly changes: readonly AccessChangeRecord[];
}

export interface AccessInterval {
  readonly from: Transition;
  /** Absent while access still holds. */
  readonly until?: Transition;
}

export interface AccessHistory {
  readonly user: string;
  readonly permission: string;
  readonly resource: string;
  readonly intervals: readonly AccessInterval[];
  /** The first revision the history could look at: 1, or the seal after a retention cut. */
  readonly from: number;
}

export interface AccessHistoryDeps {
  readonly store: Store;
  readonly history: PastIndexes;
  /** The current index, to find a user by userName or externalId. */
  readonly current: (tenantId: string) => Promise<TenantIndex>;
  readonly now: () => Date;
}

/** Rows read per page; a user's changes of one permission are few, so one page is the usual case. */
const PAGE = 1000;

/**
 * The intervals during which a user could do an action on a resource, with the cause of each start
 * and end: "when did Alice gain deploy on prod, and through what?".
 *
 * Every instant where the answer can change is a candidate: a revision where the user's access set
 * of that permission changed (derived access changes), a write to the permission model that names
 * the resource (its parent may have moved), and the expiry of a grant the user gained. At each one
 * the decision is taken again on the index as it was then (`PastIndexes`), with the same evaluator
 * as a live check, so a deny, a scope, a hierarchy or an expiry count exactly as they did; the
 * derived rows then say why. Conditions see no request context, so a conditional grant counts as
 * its condition evaluates without one.
 */
export async function accessHistory(deps: AccessHistoryDeps, tenantId: string, query: AccessHistoryQuery): Promise<AccessHistory> {
  const { store, history } = deps;
  const permission = `${query.resource.type}:${query.action}`;
  const resource = `${query.resource.type}:${query.resource.id}`;
  const userId = await resolveUser(deps, tenantId, query.user, permission);

  const rows: AccessChangeRecord[] = [];
  for (let page = await changesPage(store, tenantId, userId, permission); ; ) {
    rows.push(...page);
    if (page.length < PAGE) break;
    const last = page[page.length - 1]!;
    page = await changesPage(store, tenantId, userId, permission, { revision: last.revision, seq: last.seq });
  }
  const byRevision = new Map<number, AccessChangeRecord[]>();
  for (const r of rows) byRevision.set(r.revision, [...(byRevision.get(r.revision) ?? []), r]);

  const resourceWrites: AuditEntry[] = [];
  for (let after = 0; ; ) {
    const page = await store.audit.entries(tenantId, { ref: resource, afterRevision: after, limit: PAGE });
    resourceWrites.push(...page.filter((e) => isPolicyChange(e.change)));
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.revision;
  }

  const seal = await store.audit.latestSeal(tenantId);
  const sealed = seal?.revision ?? 0;
  const points: Point[] = [];
  // After a retention cut the story starts at the seal, with whatever access the user had then.
  if (seal) points.push({ at: seal.at, revision: seal.revision, cause: 'write' });
  for (const r of rows) points.push({ at: r.at, revision: r.revision, cause: 'write' });
  for (const e of resourceWrites) points.push({ at: e.at, revision: e.revision, cause: 'write' });
  for (const r of rows) {
    const expiresAt = r.change === 'gained' ? r.detail['expiresAt'] : undefined;
    if (typeof expiresAt === 'string') {
      points.push({ at: expiresAt, revision: await history.revisionAt(tenantId, new Date(expiresAt)), cause: 'expiry' });
    }
  }
  const now = deps.now().toISOString();
  const ordered = dedupe(points.filter((p) => p.at <= now && p.revision >= sealed)).sort(
    (a, b) => a.revision - b.revision || (a.at < b.at ? -1 : a.at > b.at ? 1 : 0),
  );

  const intervals: AccessInterval[] = [];
  let open: Transition | undefined;
  for (const point of ordered) {
    const index = await history.indexAt(tenantId, point.revision);
    const allowed = holds(index, userId, query, new Date(point.at));
    if (allowed === (open !== undefined)) continue;
    const transition = await describe(store, tenantId, point, byRevision.get(point.revision) ?? []);
    if (open) {
      intervals.push({ from: open, until: transition });
      open = undefined;
    } else {
      open = transition;
    }
  }
  if (open) intervals.push({ from: open });
  return { user: userId, permission, resource, intervals, from: sealed > 0 ? sealed : 1 };
}

/** The decision on a past index at `now`: the instant of its write, or of an expiry after it. */
function holds(index: TenantIndex, userId: string, query: AccessHistoryQuery, now: Date): boolean {
  const user = index.findUser('id', userId);
  try {
    return isAllowed(index, { user, action: query.action, resource: query.resource, now });
  } catch (err) {
    // The type or action did not exist yet: nobody could do it.
    if (err instanceof AppError) return false;
    throw err;
  }
}

interface Point {
  readonly at: string;
  readonly revision: number;
  readonly cause: Transition['cause'];
}

async function describe(
  store: Store,
  tenantId: string,
  point: Point,
  changes: readonly AccessChangeRecord[],
): Promise<Transition> {
  if (point.cause === 'expiry') return { at: point.at, revision: point.revision, cause: 'expiry', changes: [] };
  const [entry] = await store.audit.entries(tenantId, { afterRevision: point.revision - 1, untilRevision: point.revision, limit: 1 });
  if (!entry) return { at: point.at, revision: point.revision, cause: 'write', changes };
  const change = entry.change;
  return {
    at: entry.at,
    revision: entry.revision,
    cause: 'write',
    entry: {
      revision: entry.revision,
      at: entry.at,
      actor: entry.actor,
      kind: isPolicyChange(change) ? change.objectKind : change.resourceType,
      subject: isPolicyChange(change) ? change.objectId : change.resourceId,
      operation: change.operation,
    },
    changes,
  };
}

function dedupe(points: readonly Point[]): Point[] {
  const seen = new Map<string, Point>();
  for (const p of points) seen.set(`${p.revision}\u0000${p.cause}\u0000${p.cause === 'expiry' ? p.at : ''}`, p);
  return [...seen.values()];
}

function changesPage(store: Store, tenantId: string, userId: string, permission: string, after?: { revision: number; seq: number }) {
  return store.audit.accessChanges(tenantId, { userId, permission, limit: PAGE, ...(after ? { after } : {}) });
}

async function resolveUser(deps: AccessHistoryDeps, tenantId: string, name: string, permission: string): Promise<string> {
  const index = await deps.current(tenantId);
  const user = index.findUser('id', name) ?? index.findUser('userName', name) ?? index.findUser('externalId', name);
  if (user) return user.id;
  // Deleted since: its history is still in the log, by id.
  const rows = await deps.store.audit.accessChanges(tenantId, { userId: name, limit: 1 });
  if (rows.length > 0) return name;
  throw new AppError('not_found', `user \`${name}\` not found, now or in the audit log (${permission})`);
}
