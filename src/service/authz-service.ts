import { AppError } from '../core/errors.js';
import { serialRuns } from '../core/serial-runs.js';
import { TenantIndex } from '../authz/tenant-index.js';
import type { Store } from '../store/store.js';

/**
 * The permission indexes of this node, one per tenant, built from a snapshot on first use and then
 * fed from the change log. Writes made through this node call `sync` before they answer, so their
 * response is sent after the index reflects them; writes of other nodes (or of a CLI on the same
 * SQLite file) arrive by the poll, or at once for a check that names a newer `atLeastRevision`.
 */
export interface AuthzIndexes {
  /** The tenant's index, caught up to `atLeastRevision` if given; 412 if the change log has not got that far. */
  index(tenantId: string, atLeastRevision?: number): Promise<TenantIndex>;
  /** Applies every committed change this index has not seen. */
  sync(tenantId: string): Promise<void>;
  /** Builds the index of every tenant, so the first check after start-up is as fast as the rest. */
  warm(): Promise<void>;
  close(): void;
}

export interface AuthzIndexOptions {
  readonly store: Store;
  /** How often built indexes look for changes made elsewhere; 0 turns the poll off. */
  readonly pollMs: number;
  /** Errors of the background poll; they must not crash the process, and the next poll retries. */
  readonly onPollError?: (err: unknown) => void;
}

/** Change-log rows applied per step of a catch-up, so a long backlog never loads at once. */
const CATCH_UP_BATCH = 2000;

export function createAuthzIndexes(options: AuthzIndexOptions): AuthzIndexes {
  const { store } = options;
  const tenants = new Map<string, Promise<TenantIndex>>();

  /** The tenant's index, built on first use. */
  function built(tenantId: string): Promise<TenantIndex> {
    let found = tenants.get(tenantId);
    if (!found) {
      found = store.snapshot(tenantId).then((snapshot) => TenantIndex.build(snapshot));
      tenants.set(tenantId, found);
      // A failed build is forgotten, so the next call tries again rather than failing for good.
      found.catch(() => tenants.delete(tenantId));
    }
    return found;
  }

  async function catchUp(tenantId: string, index: TenantIndex): Promise<void> {
    for (;;) {
      const records = await store.changes(tenantId, index.revision, CATCH_UP_BATCH);
      if (records.length === 0) return;
      const loaded = await store.reader(tenantId).usersByIds(TenantIndex.usersToLoad(records));
      index.apply(records, loaded);
      if (records.length < CATCH_UP_BATCH) return;
    }
  }

  /** One catch-up per tenant at a time; callers that arrive during one share the next. */
  const sync = serialRuns((tenantId) => built(tenantId).then((index) => catchUp(tenantId, index)));

  const poll =
    options.pollMs > 0
      ? setInterval(() => {
          for (const tenantId of tenants.keys()) sync(tenantId).catch((err) => options.onPollError?.(err));
        }, options.pollMs)
      : undefined;
  poll?.unref();

  return {
    async index(tenantId, atLeastRevision) {
      const index = await built(tenantId);
      if (atLeastRevision === undefined || index.revision >= atLeastRevision) return index;
      await sync(tenantId);
      if (index.revision < atLeastRevision) {
        throw new AppError(
          'precondition_failed',
          `revision ${atLeastRevision} has not been written yet: the latest is ${index.revision}`,
        );
      }
      return index;
    },
    sync,
    async warm() {
      for (const tenant of await store.tenants.list()) await built(tenant.id);
    },
    close() {
      if (poll) clearInterval(poll);
    },
  };
}
