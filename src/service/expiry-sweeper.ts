import { setImmediate } from 'node:timers/promises';
import { expiryOf } from '../authz/model.js';
import type { Actor } from '../core/change.js';
import type { Clock } from '../core/clock.js';
import { serialRuns } from '../core/serial-runs.js';
import type { PolicyRecord, Store } from '../store/store.js';

export interface ExpirySweeperOptions {
  readonly store: Store;
  readonly clock: Clock;
  /** Called after each commit that recorded an expiry, as after any write (the index, the deriver). */
  readonly committed: (tenantId: string) => Promise<void>;
  /**
   * The longest wait between two sweeps (default 60 s): a grant another node or the CLI wrote is
   * seen by the next sweep, so its expiry is recorded at most this late if that node is gone.
   */
  readonly maxWaitMs?: number;
  readonly onError: (err: unknown) => void;
}

export interface ExpirySweeper {
  start(): void;
  /** The tenant's permission model changed here: look again now, a new grant may expire sooner. */
  notify(tenantId: string): void;
  /** Records every expiry passed by now, in every tenant, and waits for it. */
  sweep(): Promise<void>;
  /** Clears the timer and waits for the sweep in progress. */
  stop(): Promise<void>;
}

const SYSTEM: Actor = { tokenId: null, kind: 'system' };

/**
 * Writes an `expire` entry to the log when a grant's `expiresAt` passes. Decisions need no such
 * entry (the evaluator compares `expiresAt` with the time of each check), but the audit trail and
 * the events do: without it, access that ends by itself would end without an `access.revoked`, and
 * a gateway holding a session opened under a temporary grant would never hear that it ended.
 *
 * A timer is set for the next expiry of any tenant (at most `maxWaitMs` away). Each sweep writes,
 * per tenant and in one transaction, the expiries not logged yet; the check runs inside the
 * transaction, so two nodes sweeping at once log each expiry once.
 */
export function createExpirySweeper(options: ExpirySweeperOptions): ExpirySweeper {
  const { store, clock, committed, onError } = options;
  const maxWaitMs = options.maxWaitMs ?? 60_000;
  /** `tenant kind id version` of expiries known to be logged, so a sweep skips them without a transaction. */
  const logged = new Set<string>();
  const jobs = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;

  function track(job: Promise<void>): void {
    const settled = job.catch(onError).finally(() => jobs.delete(settled));
    jobs.add(settled);
  }

  function schedule(next: number | undefined): void {
    clearTimeout(timer);
    if (stopped) return;
    const wait = next === undefined ? maxWaitMs : Math.min(Math.max(next - clock.now().getTime(), 0), maxWaitMs);
    timer = setTimeout(() => track(sweep()), wait);
    timer.unref();
  }

  /** Logs the tenant's passed expiries; returns the next one to come (ms since the epoch), if any. */
  async function sweepTenant(tenantId: string): Promise<number | undefined> {
    const now = clock.now().getTime();
    let next: number | undefined;
    const due: PolicyRecord[] = [];
    for (const record of await store.reader(tenantId).policy()) {
      const expiresAt = expiryOf(record.doc);
      if (expiresAt === undefined) continue;
      const at = Date.parse(expiresAt);
      if (at > now) next = Math.min(next ?? at, at);
      else if (!logged.has(key(tenantId, record))) due.push(record);
    }
    if (due.length === 0) return next;
    const written = await store.write(tenantId, async (tx) => {
      let count = 0;
      for (const seen of due) {
        // Read again under the write lock: it may have been extended, deleted or logged since.
        const record = await tx.policyObject(seen.kind, seen.id);
        if (!record || record.version !== seen.version || (await tx.loggedSince(record.kind, record.id, record.version))) continue;
        const revision = await tx.nextRevision();
        const change = { kind: 'policy', objectKind: record.kind, objectId: record.id, operation: 'expire', before: record.doc, after: record.doc } as const;
        await tx.appendChange({ revision, at: clock.now().toISOString(), actor: SYSTEM, change });
        count += 1;
      }
      return count;
    });
    for (const record of due) logged.add(key(tenantId, record));
    if (written > 0) await committed(tenantId);
    return next;
  }

  /** One sweep at a time; a caller arriving during one gets the next (its grant may be newer than what that one read). */
  const sweepOnce = serialRuns(async () => {
    let next: number | undefined;
    try {
      for (const tenant of await store.tenants.list()) {
        // Many tenants make a long sweep: requests go on between them.
        await setImmediate();
        try {
          const tenantNext = await sweepTenant(tenant.id);
          if (tenantNext !== undefined) next = Math.min(next ?? tenantNext, tenantNext);
        } catch (err) {
          // One tenant's failure leaves the others swept; the next sweep retries it.
          onError(err);
        }
      }
    } finally {
      schedule(next);
    }
  });
  const sweep = () => sweepOnce('all');

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      track(sweep());
    },
    notify() {
      if (!stopped) track(sweep());
    },
    sweep,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.all(jobs);
    },
  };
}

function key(tenantId: string, record: PolicyRecord): string {
  return `${tenantId}\u0000${record.kind}\u0000${record.id}\u0000${record.version}`;
}
