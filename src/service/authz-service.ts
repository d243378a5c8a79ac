import { AppError } from '../core/errors.js';
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

interface TenantState {
  readonly built: Promise<TenantIndex>;
  running?: Promise<void>;
  queued?: Promise<void>;
}

export function createAuthzIndexes(options: AuthzIndexOptions): AuthzIndexes {
  const { store } = options;
  const tenants = new Map<string, TenantState>();

  function state(tenantId: string): TenantState {
    let found = tenants.get(tenantId);
    if (!found) {
      const built = store.snapshot(tenantId).then((snapshot) => TenantIndex.build(snapshot));
      found = { built };
      tenants.set(tenantId, found);
      // A failed build is forgotten, so the next call tries again rather than failing for good.
      built.catch(() => tenants.delete(tenantId));
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

  /**
   * One catch-up runs per tenant at a time. A caller that arrives while one runs may have committed
   * after it read the log, so it waits for the next one, which every such caller shares.
   */
  function sync(tenantId: string): Promise<void> {
    const s = state(tenantId);
    const start = (): Promise<void> => {
      const run = s.built.then((index) => catchUp(tenantId, index));
      s.running = run;
      const forget = () => {
        if (s.running === run) s.running = undefined;
      };
      run.then(forget, forget);
      return run;
    };
    if (s.queued) return s.queued;
    if (!s.running) return start();
    s.queued = s.running
      .catch(() => undefined)
      .then(() => {
        s.queued = undefined;
        return start();
      });
    return s.queued;
  }

  const poll =
    options.pollMs > 0
      ? setInterval(() => {
          for (const tenantId of tenants.keys()) sync(tenantId).catch((err) => options.onPollError?.(err));
        }, options.pollMs)
      : undefined;
  poll?.unref();

  return {
    async index(tenantId, atLeastRevision) {
      const index = await state(tenantId).built;
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
      for (const tenant of await store.tenants.list()) await state(tenant.id).built;
    },
    close() {
      if (poll) clearInterval(poll);
    },
  };
}
