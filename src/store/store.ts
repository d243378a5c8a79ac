import type { ResourceTypeName } from '../core/attribute.js';
import type { Actor, Change } from '../core/change.js';
import type { Filter, ResolvedAttr } from '../core/filter.js';
import type { AuditKey } from '../audit/keys.js';

/**
 * The storage contract. Two real backends implement it (SQLite and PostgreSQL, one Kysely code
 * path); `store.contract.ts` holds the one test suite both must pass.
 *
 * A SCIM document (`ScimDoc`) holds a resource's attributes with canonical names, extension
 * attributes under their schema URN (`doc['urn:…:enterprise:2.0:User'].department`), and never
 * `id`, `meta`, `schemas`, a group's `members` or a user's `groups`: those are the store's own
 * columns and tables. Indexed columns (userName, externalId, active, displayName…) are derived
 * from the document by the store on every write, so the document is the one source of truth.
 */
export type ScimDoc = Record<string, unknown>;

export interface StoredResource {
  readonly id: string;
  readonly doc: ScimDoc;
  /** ISO 8601 UTC with milliseconds (`Date#toISOString`), so text order is time order. */
  readonly created: string;
  readonly lastModified: string;
  /** The tenant revision of the write that last changed the resource; `meta.version` is `W/"<version>"`. */
  readonly version: number;
}

export interface MemberRef {
  readonly value: string;
  readonly type: ResourceTypeName;
  /** Derived at read time from the member's displayName (or userName): never stored with the membership. */
  readonly display?: string;
}

export interface GroupRef {
  readonly value: string;
  readonly display: string;
  readonly type: 'direct' | 'indirect';
}

export interface StoredGroup extends StoredResource {
  /** Present only when the query asked for members. */
  readonly members?: readonly MemberRef[];
}

export interface StoredUser extends StoredResource {
  /** Present only when the query asked for groups. */
  readonly groups?: readonly GroupRef[];
}

export interface ReadOptions {
  /** Groups: read the members. False pushes `excludedAttributes=members` into the query. */
  readonly members?: boolean;
  /** Users: read the groups the user belongs to (directly and through nested groups). */
  readonly groups?: boolean;
}

export interface ListQuery extends ReadOptions {
  readonly filter?: Filter;
  readonly sortBy?: ResolvedAttr;
  readonly descending?: boolean;
  /** 1-based; ignored when `cursor` is given. */
  readonly startIndex: number;
  readonly count: number;
  /** RFC 9865: `''` asks for the first page of a cursor walk; otherwise a `nextCursor` the store gave. */
  readonly cursor?: string;
}

export interface ListPage<T extends StoredResource = StoredResource> {
  readonly totalResults: number;
  readonly resources: readonly T[];
  /** Set on cursor walks while more results follow. */
  readonly nextCursor?: string;
}

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly revision: number;
  readonly createdAt: string;
}

export type TokenScope = 'scim' | 'admin' | 'authz';

export interface TokenRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly scope: TokenScope;
  /** SHA-256 of the bearer token, hex. The token itself is never stored. */
  readonly hash: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface ChangeRecord {
  readonly revision: number;
  readonly at: string;
  readonly actor: Actor;
  readonly change: Change;
}

/** A change log row with the hash that chains it to the row before (see `audit/chain.ts`). */
export interface AuditEntry extends ChangeRecord {
  readonly hash: string;
}

/** The hash of an entry given the hash of the one before; the store calls it on every `appendChange`. */
export type EntryHasher = (previousHash: string, tenantId: string, record: ChangeRecord) => string;

/** A signed statement of the chain head at `revision` (see `audit/checkpoint.ts`). */
export interface Checkpoint {
  readonly revision: number;
  /** The hash of the entry at `revision`. */
  readonly hash: string;
  readonly at: string;
  /** A seal: the entries up to `revision` were removed (retention), and the chain goes on from `hash`. */
  readonly sealed: boolean;
  readonly keyId: string;
  /** SPKI PEM of the Ed25519 key that signed it. */
  readonly publicKey: string;
  /** base64url Ed25519 signature. */
  readonly signature: string;
}

/** One derived access change: user `userId` gained or lost `permission` on `scope` at `revision`. */
export interface AccessChangeRecord {
  readonly revision: number;
  /** 1, 2, … within the revision. */
  readonly seq: number;
  readonly at: string;
  readonly userId: string;
  /** `type:action`. */
  readonly permission: string;
  /** `*`, `type:*` or `type:id`. */
  readonly scope: string;
  readonly effect: 'allow' | 'deny';
  readonly change: 'gained' | 'lost';
  /** Why (the grants, role paths, condition, expiry): its shape is `audit/access-diff.ts`'s; the store keeps it as JSON. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface AuditQuery {
  /** Exclusive: entries after this revision (paging). */
  readonly afterRevision?: number;
  /** Inclusive. */
  readonly untilRevision?: number;
  /** ISO 8601: entries written at or after. */
  readonly since?: string;
  /** ISO 8601: entries written before. */
  readonly until?: string;
  /** Entries that touch this id: the resource or policy object itself, a member added or removed, a policy object's subject or scope. */
  readonly ref?: string;
  /** `User`, `Group`, or policy kinds (`role`, `binding`…). */
  readonly kinds?: readonly string[];
  /** The token id of the actor. */
  readonly actorToken?: string;
  /** Newest first; the default is oldest first. */
  readonly descending?: boolean;
  readonly limit: number;
}

export interface AccessChangeQuery {
  readonly userId?: string;
  readonly permission?: string;
  /** Exclusive, as a (revision, seq) position. */
  readonly after?: { readonly revision: number; readonly seq: number };
  /** Inclusive. */
  readonly untilRevision?: number;
  readonly limit: number;
}

export interface HistorySnapshot {
  readonly revision: number;
  /** gzip of the JSON of `audit/replay.ts`'s state. */
  readonly state: Uint8Array;
}

export interface AuditStore {
  /** The key that chains entries (HMAC) and signs checkpoints (Ed25519); see `audit/keys.ts`. */
  readonly key: AuditKey;
  /** Hashes an entry as `appendChange` does (the same key), for verification. */
  readonly hasher: EntryHasher;
  /** Change log rows with their hashes, by revision (oldest first unless `descending`). */
  entries(tenantId: string, query: AuditQuery): Promise<AuditEntry[]>;
  /**
   * The revision of the last entry written at or before `time` (ISO 8601), by time (the revision
   * order when every node's clock agrees); the seal's when entries before were removed; 0 when none.
   */
  revisionAt(tenantId: string, time: string): Promise<number>;
  /** The revision and hash of the last entry; after a seal with no entry since, the seal's; `{0, GENESIS}` when empty. */
  head(tenantId: string): Promise<{ readonly revision: number; readonly hash: string }>;
  /** Oldest first. */
  checkpoints(tenantId: string): Promise<Checkpoint[]>;
  /** The newest sealed checkpoint: the retention horizon, where the history now starts. */
  latestSeal(tenantId: string): Promise<Checkpoint | undefined>;
  addCheckpoint(tenantId: string, checkpoint: Checkpoint): Promise<void>;
  accessChanges(tenantId: string, query: AccessChangeQuery): Promise<AccessChangeRecord[]>;
  /** A named position kept with the tenant (`derive`, `webhook:<id>`…); undefined until first set. */
  cursor(tenantId: string, name: string): Promise<string | undefined>;
  /**
   * In one transaction: inserts the access changes of revisions `from + 1 … to`, the optional
   * history snapshot, and moves the `derive` cursor from `from` to `to`. False (and nothing
   * written) when the cursor was not at `from`: another process derived them first.
   */
  recordDerived(
    tenantId: string,
    from: number,
    to: number,
    rows: readonly AccessChangeRecord[],
    snapshot?: HistorySnapshot,
  ): Promise<boolean>;
  /** The newest history snapshot at or before `revision`. */
  snapshotAtOrBefore(tenantId: string, revision: number): Promise<HistorySnapshot | undefined>;
  /**
   * Retention, in one transaction: stores the sealed checkpoint and the state at its revision, then
   * removes the entries, refs, access changes and older snapshots up to it. Returns how many entries went.
   */
  seal(tenantId: string, checkpoint: Checkpoint, snapshot: HistorySnapshot): Promise<number>;
}

export interface WebhookSubscription {
  readonly id: string;
  readonly tenantId: string;
  readonly url: string;
  /** The HMAC key deliveries are signed with. */
  readonly secret: string;
  /** Event type patterns: `user.created`, `access.*`, `*`. */
  readonly events: readonly string[];
  readonly format: 'json' | 'set';
  readonly active: boolean;
  readonly created: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface WebhookDelivery {
  readonly id: string;
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly eventId: string;
  readonly eventType: string;
  /** The body sent, as text, so every attempt sends the same bytes. */
  readonly payload: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly lastAttemptAt: string | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly created: string;
}

export interface WebhookAttempt {
  readonly deliveryId: string;
  readonly attempt: number;
  readonly at: string;
  /** The HTTP status, null when no response came. */
  readonly status: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

export interface WebhookStore {
  create(subscription: WebhookSubscription): Promise<void>;
  list(tenantId: string): Promise<WebhookSubscription[]>;
  get(tenantId: string, id: string): Promise<WebhookSubscription | undefined>;
  /** False when absent. */
  update(subscription: WebhookSubscription): Promise<boolean>;
  /** Removes it and its deliveries; false when absent. */
  remove(tenantId: string, id: string): Promise<boolean>;
  /**
   * In one transaction: inserts `deliveries` (skipping any whose (subscription, event) exists) and
   * moves the cursor `webhook:<id>` from `from` to `to`; false when the cursor was not at `from`.
   */
  enqueue(
    tenantId: string,
    subscriptionId: string,
    from: string | undefined,
    to: string,
    deliveries: readonly WebhookDelivery[],
  ): Promise<boolean>;
  /**
   * Takes up to `limit` pending deliveries of every tenant whose `nextAttemptAt` is at or before
   * `now`, oldest first, and moves their `nextAttemptAt` to `leaseUntil` in the same transaction:
   * no other dispatcher takes them before then, and the attempt's result (`recordAttempt`) sets the
   * real next time. One whose dispatcher died is due again once the lease passes.
   */
  claim(now: string, leaseUntil: string, limit: number): Promise<WebhookDelivery[]>;
  /** Logs the attempt and sets the delivery's status, attempts, next time and last result, in one transaction. */
  recordAttempt(
    attempt: WebhookAttempt,
    next: { readonly status: DeliveryStatus; readonly nextAttemptAt: string },
  ): Promise<void>;
  deliveries(
    tenantId: string,
    subscriptionId: string,
    query: { readonly status?: DeliveryStatus; readonly limit: number; readonly before?: string },
  ): Promise<WebhookDelivery[]>;
  delivery(tenantId: string, id: string): Promise<WebhookDelivery | undefined>;
  attempts(deliveryId: string): Promise<WebhookAttempt[]>;
  /** Sets it pending, due at `now`, keeping its attempt count and log; false when absent. */
  redeliver(tenantId: string, id: string, now: string): Promise<boolean>;
  /**
   * Removes the deliveries of every tenant that ended (delivered or dead) before `before`, with
   * their attempts; returns how many. Pending ones stay, whatever their age. The subscriptions'
   * cursors are past them, so nothing is queued again.
   */
  prune(before: string): Promise<number>;
}

/** One object of the permission model (role, binding, mapping…); the store does not interpret `kind` or `doc`. */
export interface PolicyRecord {
  /** E.g. `'role'`, `'binding'`. */
  readonly kind: string;
  /** Unique within (tenant, kind). */
  readonly id: string;
  /** Any JSON value; read back equal to what was written (object key order aside). */
  readonly doc: unknown;
  /** The tenant revision of the write that last changed it. */
  readonly version: number;
  /** ISO 8601, as `StoredResource#created`; a replace keeps the first write's. */
  readonly created: string;
  readonly lastModified: string;
}

/** Everything the permission index needs of a tenant, consistent with `revision` (see `Store#snapshot`). */
export interface TenantSnapshot {
  /** The tenant revision at the time of the read: the state is exactly that after this write. */
  readonly revision: number;
  /** In creation order, without `groups`. */
  readonly users: readonly StoredUser[];
  /** In creation order, without `members`. */
  readonly groups: readonly StoredGroup[];
  /** Direct edges only (nested groups are edges whose `memberType` is `'Group'`). */
  readonly memberships: readonly { readonly groupId: string; readonly memberId: string; readonly memberType: 'User' | 'Group' }[];
  /** Ordered by kind then id, as `ScimReader#policy`. */
  readonly policy: readonly PolicyRecord[];
}

export interface ScimReader {
  get(type: 'User', id: string, options?: ReadOptions): Promise<StoredUser | undefined>;
  get(type: 'Group', id: string, options?: ReadOptions): Promise<StoredGroup | undefined>;
  get(type: ResourceTypeName, id: string, options?: ReadOptions): Promise<StoredUser | StoredGroup | undefined>;
  list(type: 'User', query: ListQuery): Promise<ListPage<StoredUser>>;
  list(type: 'Group', query: ListQuery): Promise<ListPage<StoredGroup>>;
  list(type: ResourceTypeName, query: ListQuery): Promise<ListPage<StoredUser | StoredGroup>>;
  /** Which of `ids` exist in this tenant, and as what. Chunked internally; any number of ids. */
  kindsOf(ids: readonly string[]): Promise<Map<string, ResourceTypeName>>;
  /** The direct members of a group (ids and types, no display). */
  memberIds(groupId: string): Promise<MemberRef[]>;
  /**
   * Users by id, in any number (chunked internally); missing ids are left out. Each user comes
   * once, in the order of its first id in `ids`, without `groups`.
   */
  usersByIds(ids: readonly string[]): Promise<StoredUser[]>;
  /** The tenant's policy objects, of one kind or all, ordered by kind then id (code point order). */
  policy(kind?: string): Promise<PolicyRecord[]>;
  /** Undefined when absent (and for a kind or id that holds U+0000, which no object can have). */
  policyObject(kind: string, id: string): Promise<PolicyRecord | undefined>;
}

/** The write that changes memberships, for the users whose `groups` it changes (see `addMembers`). */
export interface MembershipStamp {
  readonly revision: number;
  readonly at: string;
}

export interface ScimWriter extends ScimReader {
  /** Allocates the tenant's next revision (monotonic, gap-free within the tenant). */
  nextRevision(): Promise<number>;
  /** Throws `AppError('uniqueness')` when another user of the tenant has the same userName, ignoring case. */
  insert(type: ResourceTypeName, resource: StoredResource): Promise<void>;
  /**
   * Same uniqueness rule as `insert`; `not_found` when it does not exist. Renaming a group gives the
   * users inside it the group's new `version` and `lastModified` (their `groups[].display` changes).
   */
  update(type: ResourceTypeName, resource: StoredResource): Promise<void>;
  /**
   * Deletes the resource and every membership it is part of, as group or as member; groups that
   * lose it as a member get `version = revision` and `lastModified = at`, and so do the users inside
   * a deleted group (their `groups` change). False if it did not exist.
   */
  remove(type: ResourceTypeName, id: string, revision: number, at: string): Promise<boolean>;
  /** Adds members that are not already in the group; returns the ids actually added. */
  addMembers(groupId: string, members: readonly MemberRef[]): Promise<string[]>;
  /** Removes the listed members (or all of them); returns the ids actually removed. */
  removeMembers(groupId: string, ids: readonly string[] | 'all'): Promise<string[]>;
  /**
   * Gives the users whose `groups` a membership change alters (the added or removed ids that are
   * users, and every user inside those that are groups, however deep) `version = stamp.revision`
   * and `lastModified = stamp.at`, so their ETag changes with their representation. Called after
   * the change, once the write knows it changed something and has its revision.
   */
  stampMembers(memberIds: readonly string[], stamp: MembershipStamp): Promise<void>;
  appendChange(record: ChangeRecord): Promise<void>;
  /**
   * Whether the log holds an entry about the policy object (kind, id) after revision `since`. Read
   * with `since` = the object's `version`, it tells whether its expiry was recorded already: every
   * other write to it moves its version or removes it.
   */
  loggedSince(kind: string, id: string, since: number): Promise<boolean>;
  /**
   * Inserts or replaces the object (kind, id); a replace keeps the stored `created`. Throws
   * `invalid_value` when the kind, id or doc holds U+0000 (or the doc is no JSON value). The store
   * does not allocate a revision for it: the caller stamps `version` with its write's revision.
   */
  putPolicy(record: PolicyRecord): Promise<void>;
  /** False when it did not exist. */
  deletePolicy(kind: string, id: string): Promise<boolean>;
  /**
   * Runs `fn` inside a savepoint: if it throws, its writes are undone and the error rethrown while
   * the enclosing transaction goes on, so one failed Bulk operation leaves the others standing.
   */
  attempt<T>(fn: () => Promise<T>): Promise<T>;
}

export interface TenantStore {
  create(name: string): Promise<Tenant>;
  findByName(name: string): Promise<Tenant | undefined>;
  findById(id: string): Promise<Tenant | undefined>;
  list(): Promise<Tenant[]>;
}

export interface TokenStore {
  create(token: Omit<TokenRecord, 'revokedAt'>): Promise<TokenRecord>;
  findByHash(hash: string): Promise<TokenRecord | undefined>;
  list(tenantId: string): Promise<TokenRecord[]>;
  /** False when no live token of the tenant has that id. */
  revoke(tenantId: string, id: string, at: string): Promise<boolean>;
}

export interface Store {
  readonly tenants: TenantStore;
  readonly tokens: TokenStore;
  /** Reads outside a transaction (each call sees committed state). */
  reader(tenantId: string): ScimReader;
  /**
   * Runs `fn` atomically: state and change log commit together or not at all, and the promise
   * settles only after the commit. Writes of one tenant are serialised (the tenant's revision row is
   * the lock); concurrent writes may share one database transaction (group commit), each undone
   * alone if it fails.
   */
  write<T>(tenantId: string, fn: (tx: ScimWriter) => Promise<T>): Promise<T>;
  /**
   * Everything the permission index needs of a tenant, read in one transaction so it is consistent
   * with `revision` (the tenant revision at the time of the read). Users and groups carry their doc
   * (parsed), version and lastModified; memberships are direct edges only. A write that
   * commits while it runs does not show in it. `not_found` for an unknown tenant.
   */
  snapshot(tenantId: string): Promise<TenantSnapshot>;
  readonly audit: AuditStore;
  readonly webhooks: WebhookStore;
  /** Change log rows after `afterRevision`, oldest first. */
  changes(tenantId: string, afterRevision: number, limit: number): Promise<ChangeRecord[]>;
  close(): Promise<void>;
}
