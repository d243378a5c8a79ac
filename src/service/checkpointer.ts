import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import { checkpoint, seal } from './audit-admin.js';
import type { History } from './history.js';

export interface CheckpointerOptions {
  readonly store: Store;
  readonly clock: Clock;
  /** Sign when the head is this many revisions past the newest checkpoint. */
  readonly everyRevisions?: number;
  /** Also sign, this often, the head of every tenant that moved since its newest checkpoint; 0: never. */
  readonly intervalMs?: number;
  /** Seal (remove) entries older than this many days, once a day; 0 keeps them forever. */
  readonly retentionDays?: number;
  /** The state a seal keeps in place of the entries; required when `retentionDays` > 0. */
  readonly history?: Pick<History, 'sealState'>;
  readonly onError: (err: unknown) => void;
}

export interface Checkpointer {
  start(): void;
  /** Clears the timers and waits for the work in progress. */
  stop(): Promise<void>;
  /** The tenant's log moved (called after commits): sign its head if it is `everyRevisions` past the newest checkpoint. */
  notify(tenantId: string): void;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Signs checkpoints of each tenant's chain head as the log grows and on a timer, so verification
 * (and anyone holding the public key) can tell the log as it was from one rewritten later; and,
 * with a retention period, seals the entries older than it once a day (and once at start).
 * One job per tenant at a time; every failure goes to `onError` and the next notify or tick retries.
 */
export function createCheckpointer(options: CheckpointerOptions): Checkpointer {
  const { store, clock, onError } = options;
  const every = options.everyRevisions ?? 1000;
  const intervalMs = options.intervalMs ?? 300_000;
  const retentionDays = options.retentionDays ?? 0;
  if (retentionDays > 0 && !options.history) throw new Error('a retention period needs the history, to keep the state a seal removes');
  /** The newest checkpoint's revision per tenant, read once and then kept: this process signs most of them. */
  const covered = new Map<string, number>();
  const jobs = new Set<Promise<void>>();
  const running = new Set<string>();
  const timers: NodeJS.Timeout[] = [];
  let stopped = true;

  function track(job: Promise<void>): void {
    const settled = job.catch(onError).finally(() => jobs.delete(settled));
    jobs.add(settled);
  }

  async function newest(tenantId: string): Promise<number> {
    let revision = covered.get(tenantId);
    if (revision === undefined) {
      revision = (await store.audit.checkpoints(tenantId)).at(-1)?.revision ?? 0;
      covered.set(tenantId, revision);
    }
    return revision;
  }

  /** Signs the head when it is at least `threshold` past the newest checkpoint; one run per tenant at a time. */
  async function sign(tenantId: string, threshold: number): Promise<void> {
    if (running.has(tenantId)) return;
    running.add(tenantId);
    try {
      const last = await newest(tenantId);
      if ((await store.audit.head(tenantId)).revision - last < threshold) return;
      const signed = await checkpoint(store, tenantId, clock, last);
      if (signed) covered.set(tenantId, signed.revision);
    } finally {
      running.delete(tenantId);
    }
  }

  async function tick(): Promise<void> {
    for (const tenant of await store.tenants.list()) await sign(tenant.id, 1);
  }

  async function retain(): Promise<void> {
    const horizon = new Date(clock.now().getTime() - retentionDays * DAY_MS);
    for (const tenant of await store.tenants.list()) {
      try {
        const sealed = await seal(store, options.history!, tenant.id, horizon, clock);
        if (sealed) covered.set(tenant.id, Math.max(covered.get(tenant.id) ?? 0, sealed.revision));
      } catch (err) {
        // One tenant's refusal (derivation behind, a chain that fails) leaves the others to seal.
        onError(err);
      }
    }
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      if (intervalMs > 0) timers.push(setInterval(() => track(tick()), intervalMs));
      if (retentionDays > 0) {
        track(retain());
        timers.push(setInterval(() => track(retain()), DAY_MS));
      }
      for (const timer of timers) timer.unref();
    },
    async stop() {
      stopped = true;
      for (const timer of timers.splice(0)) clearInterval(timer);
      await Promise.all(jobs);
    },
    notify(tenantId) {
      if (!stopped) track(sign(tenantId, every));
    },
  };
}
