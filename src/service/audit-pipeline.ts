import type { Store } from '../store/store.js';

export interface AuditPipelineOptions {
  readonly store: Store;
  /** Derives the access changes of the revisions not yet derived (`History#derive`); returns the revision reached. */
  readonly derive: (tenantId: string) => Promise<number>;
  /** How often to look for writes of other nodes or processes; 0 turns the poll off. */
  readonly pollMs: number;
  /** Called after each derivation that moved, so events and checkpoints follow at once. */
  readonly onDerived: (tenantId: string, revision: number) => void;
  readonly onError: (err: unknown) => void;
}

/**
 * How long a notification waits before deriving: writes that arrive within it are derived together,
 * in one transaction, instead of each write paying for one more commit of its own.
 */
const COALESCE_MS = 10;

export interface AuditPipeline {
  /** A write of this tenant committed: derive its access changes soon (the write does not wait). */
  notify(tenantId: string): void;
  /** Derives every tenant now (start-up catches up on what was written while the server was down). */
  catchUp(): Promise<void>;
  /** Waits until everything committed before the call is derived (tests, the CLI, shutdown). */
  settle(tenantId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs the deriver after commits, off the write path: a SCIM write answers once its entry is
 * committed (the audit log and the outbox are that entry), and the access changes it caused follow
 * within milliseconds (`COALESCE_MS` plus the derivation). One run per tenant at a time; notifications that arrive during a run cause
 * exactly one more. A crash between commit and derivation loses nothing: the cursor is stored with
 * the derived rows, and the next start derives from it.
 */
export function createAuditPipeline(options: AuditPipelineOptions): AuditPipeline {
  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();
  const scheduled = new Map<string, NodeJS.Timeout>();
  let closed = false;

  function run(tenantId: string): Promise<void> {
    const current = running.get(tenantId);
    if (current) {
      again.add(tenantId);
      return current;
    }
    const job = (async () => {
      let previous = -1;
      do {
        again.delete(tenantId);
        const revision = await options.derive(tenantId);
        if (revision !== previous) options.onDerived(tenantId, revision);
        previous = revision;
      } while (again.has(tenantId) && !closed);
    })()
      .catch(options.onError)
      .finally(() => running.delete(tenantId));
    running.set(tenantId, job);
    return job;
  }

  async function catchUp(): Promise<void> {
    const tenants = await options.store.tenants.list();
    await Promise.all(tenants.map((t) => run(t.id)));
  }

  const timer =
    options.pollMs > 0
      ? setInterval(() => {
          if (!closed) catchUp().catch(options.onError);
        }, options.pollMs)
      : undefined;
  timer?.unref();

  return {
    notify(tenantId) {
      if (closed || scheduled.has(tenantId)) return;
      const timer = setTimeout(() => {
        scheduled.delete(tenantId);
        void run(tenantId);
      }, COALESCE_MS);
      timer.unref();
      scheduled.set(tenantId, timer);
    },
    catchUp,
    // A run in progress may have read the log before the caller's commit: `run` makes it go round once more.
    settle: run,
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      for (const pending of scheduled.values()) clearTimeout(pending);
      await Promise.all(running.values());
    },
  };
}
