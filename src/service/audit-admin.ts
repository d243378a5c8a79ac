import { signCheckpoint } from '../audit/checkpoint.js';
import { verifyChain, type VerifyResult } from '../audit/verify.js';
import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import type { AccessChangeRecord, AuditEntry, AuditQuery, AuditStore, Checkpoint, Store } from '../store/store.js';
import type { History } from './history.js';

/**
 * The audit trail's administration, shared by the CLI (`scimitar audit …`), the HTTP routes
 * (`/audit/v1/…`) and the checkpointer: verify a tenant's chain, sign its head, seal old entries
 * away (retention), and read entries with the access changes each caused.
 */

/** Entries read per query while walking the whole log: a few MB at a time, whatever its length. */
const WALK_PAGE = 2000;
/** Access changes read per query. */
const ACCESS_PAGE = 5000;
/** A walk that fails while a write or seal lands is walked again, at most this many times in all. */
const VERIFY_ATTEMPTS = 3;

/** What the query routes and the export filter by (see `AuditQuery`). */
export type EntryFilters = Pick<AuditQuery, 'ref' | 'kinds' | 'actorToken' | 'since' | 'until'>;

/** An access change as shown with its entry, which already says the revision and time. */
export type EntryAccess = Omit<AccessChangeRecord, 'revision' | 'at'>;

/** One entry as the query API and the export show it: the log row and the access changes it caused. */
export interface ShownEntry extends AuditEntry {
  readonly access: readonly EntryAccess[];
}

/**
 * Verifies a tenant's whole chain (see `audit/verify.ts`), reading the log a page at a time. A
 * failure while another process wrote or sealed (the counter or the checkpoints moved under the
 * walk) is walked again, so a live server does not report its own new writes as tampering.
 */
export async function verifyTenant(store: Store, tenantId: string, options: { readonly trustedPublicKey?: string } = {}): Promise<VerifyResult> {
  for (let attempt = 1; ; attempt++) {
    const before = await position(store, tenantId);
    const result = await verifyChain({
      tenantId,
      hasher: store.audit.hasher,
      entries: eachEntry(store.audit, tenantId, {}),
      checkpoints: before.checkpoints,
      headRevision: before.revision,
      ...(options.trustedPublicKey !== undefined ? { trustedPublicKey: options.trustedPublicKey } : {}),
    });
    if (result.ok || attempt === VERIFY_ATTEMPTS) return result;
    const after = await position(store, tenantId);
    if (after.revision === before.revision && after.checkpoints.length === before.checkpoints.length) return result;
  }
}

async function position(store: Store, tenantId: string): Promise<{ revision: number; checkpoints: Checkpoint[] }> {
  const tenant = await store.tenants.findById(tenantId);
  if (!tenant) throw new AppError('not_found', `tenant \`${tenantId}\` does not exist`);
  return { revision: tenant.revision, checkpoints: await store.audit.checkpoints(tenantId) };
}

/**
 * Signs the chain head with the store's key, unless a checkpoint already covers it (or the log is
 * empty). `covered` is the newest checkpoint's revision when the caller knows it; otherwise it is read.
 */
export async function checkpoint(store: Store, tenantId: string, clock: Clock, covered?: number): Promise<Checkpoint | undefined> {
  const head = await store.audit.head(tenantId);
  const newest = covered ?? (await store.audit.checkpoints(tenantId)).at(-1)?.revision ?? 0;
  if (head.revision <= newest) return undefined;
  const signed = signCheckpoint(tenantId, store.audit.key, { revision: head.revision, hash: head.hash, at: clock.now().toISOString(), sealed: false });
  await store.audit.addCheckpoint(tenantId, signed);
  return signed;
}

export interface SealPlan {
  /** The seal's revision: the last one written before the horizon. */
  readonly revision: number;
  /** How many entries it removes. */
  readonly entries: number;
}

export interface SealResult extends SealPlan {
  readonly checkpoint: Checkpoint;
}

/**
 * What `seal` would remove for `before`, without removing it: undefined when no entry that old is
 * left. Refused (`precondition_failed`) when the access changes of those entries are not all
 * derived yet: they would be lost with the entries.
 */
export async function planSeal(store: Store, tenantId: string, before: Date): Promise<SealPlan | undefined> {
  const { audit } = store;
  // `revisionAt` is "at or before"; an entry written exactly at `before` is kept.
  const revision = await audit.revisionAt(tenantId, new Date(before.getTime() - 1).toISOString());
  const sealedUpTo = (await audit.checkpoints(tenantId)).filter((c) => c.sealed).at(-1)?.revision ?? 0;
  if (revision <= sealedUpTo) return undefined;
  const derived = Number((await audit.cursor(tenantId, 'derive')) ?? 0);
  if (revision > derived) {
    throw new AppError(
      'precondition_failed',
      `cannot seal up to revision ${revision}: access changes are derived only up to revision ${derived}, and the rest would be lost`,
    );
  }
  return { revision, entries: revision - sealedUpTo };
}

/**
 * Retention: removes the entries written before `before` (see `planSeal`), leaving in their place a
 * signed sealed checkpoint (the chain goes on from its hash) and the tenant's state at its revision
 * (time travel still starts there). The checkpoint and the removal commit together.
 *
 * Also refused when the chain up to the seal does not verify: a seal must never remove the evidence
 * of tampering.
 */
export async function seal(
  store: Store,
  history: Pick<History, 'sealState'>,
  tenantId: string,
  before: Date,
  clock: Clock,
): Promise<SealResult | undefined> {
  const { audit } = store;
  const plan = await planSeal(store, tenantId, before);
  if (!plan) return undefined;
  const { revision } = plan;
  const verified = await verifyChain({
    tenantId,
    hasher: audit.hasher,
    entries: eachEntry(audit, tenantId, { untilRevision: revision }),
    checkpoints: (await audit.checkpoints(tenantId)).filter((c) => c.revision <= revision),
    headRevision: revision,
  });
  if (verified.firstBad) {
    const { revision: bad, problem } = verified.firstBad;
    throw new AppError('precondition_failed', `the audit chain fails verification at revision ${bad} (${problem}): sealing would remove the evidence`);
  }
  const [last] = await audit.entries(tenantId, { afterRevision: revision - 1, untilRevision: revision, limit: 1 });
  if (!last) throw new AppError('internal', `the change log of tenant \`${tenantId}\` has no revision ${revision}`);
  const state = await history.sealState(tenantId, revision);
  const signed = signCheckpoint(tenantId, audit.key, { revision, hash: last.hash, at: clock.now().toISOString(), sealed: true });
  const removed = await audit.seal(tenantId, signed, { revision, state });
  return { revision, entries: removed, checkpoint: signed };
}

/** One page of entries matching `filters`, each with its access changes; `next` is the `after` of the next page. */
export async function queryEntries(
  store: Store,
  tenantId: string,
  filters: EntryFilters,
  page: { readonly after?: number; readonly limit: number; readonly descending?: boolean },
): Promise<{ items: ShownEntry[]; next?: number }> {
  const rows = await store.audit.entries(tenantId, {
    ...filters,
    ...(page.after !== undefined ? { afterRevision: page.after } : {}),
    ...(page.descending ? { descending: true } : {}),
    limit: page.limit + 1,
  });
  const items = await withAccess(store.audit, tenantId, rows.slice(0, page.limit));
  return rows.length > page.limit ? { items, next: items.at(-1)!.revision } : { items };
}

/**
 * Every entry matching `filters`, oldest first, as JSON lines (each ending in `\n`) of `ShownEntry`.
 * Read a page at a time as the consumer pulls, so memory stays flat at any length of log.
 */
export async function* exportEntries(store: Store, tenantId: string, filters: EntryFilters): AsyncGenerator<string> {
  for await (const page of entryPages(store.audit, tenantId, filters)) {
    for (const entry of await withAccess(store.audit, tenantId, page)) yield `${JSON.stringify(entry)}\n`;
  }
}

async function* entryPages(audit: AuditStore, tenantId: string, query: Omit<AuditQuery, 'limit' | 'afterRevision' | 'descending'>): AsyncGenerator<AuditEntry[]> {
  let after = 0;
  for (;;) {
    const page = await audit.entries(tenantId, { ...query, afterRevision: after, limit: WALK_PAGE });
    if (page.length > 0) yield page;
    if (page.length < WALK_PAGE) return;
    after = page.at(-1)!.revision;
  }
}

async function* eachEntry(audit: AuditStore, tenantId: string, query: Pick<AuditQuery, 'untilRevision'>): AsyncGenerator<AuditEntry> {
  for await (const page of entryPages(audit, tenantId, query)) yield* page;
}

/**
 * The entries with their access changes. A page of neighbouring revisions reads the changes of the
 * whole span at once; a sparse one (a filtered query) reads them entry by entry, so a page about one
 * user does not read every access change written between its entries.
 */
async function withAccess(audit: AuditStore, tenantId: string, entries: readonly AuditEntry[]): Promise<ShownEntry[]> {
  const access = new Map<number, EntryAccess[]>(entries.map((e) => [e.revision, []]));
  const revisions = entries.map((e) => e.revision).sort((a, b) => a - b);
  if (revisions.length > 0) {
    const first = revisions[0]!;
    const last = revisions.at(-1)!;
    const spans: [number, number][] = last - first + 1 <= 2 * revisions.length ? [[first, last]] : revisions.map((r) => [r, r]);
    for (const [from, to] of spans) {
      // Exclusive, and `seq` starts at 1: every change of `from` on.
      let after = { revision: from, seq: 0 };
      for (;;) {
        const rows = await audit.accessChanges(tenantId, { after, untilRevision: to, limit: ACCESS_PAGE });
        for (const { revision, at: _at, ...rest } of rows) access.get(revision)?.push(rest);
        if (rows.length < ACCESS_PAGE) break;
        after = { revision: rows.at(-1)!.revision, seq: rows.at(-1)!.seq };
      }
    }
  }
  return entries.map((e) => ({ revision: e.revision, at: e.at, actor: e.actor, change: e.change, hash: e.hash, access: access.get(e.revision)! }));
}
