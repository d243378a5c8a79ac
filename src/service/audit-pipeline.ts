import type { Store } from '../store/store.js';

export interface AuditPipelineOptions {
  readonly store: Store;
  /**
   * Derives the access changes of the revisions not yet derived and returns the revision reached
   * (`History#derive`). It must run one derivation per tenant at a time and give a caller that
   * arrives during one the next, as `serialRuns` does: `settle` relies on it.
   */
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
const COALESCE_MS = 50;

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
 * within milliseconds (`COALESCE_MS` plus the derivation). A crash between commit and derivation
 * loses nothing: the cursor is stored with the derived rows, and the next start derives from it.
 */
export function createAuditPipeline(options: AuditPipelineOptions): AuditPipeline {
  const inFlight = new Set<Promise<void>>();
  const scheduled = new Map<string, NodeJS.Timeout>();
  let closed = false;

  function run(tenantId: string): Promise<void> {
    const job = options.derive(tenantId).then((revision) => options.onDerived(tenantId, revision), options.onError);
    inFlight.add(job);
    void job.finally(() => inFlight.delete(job));
    return job;
  }

  async function catchUp(): Promise<void> {
    const tenants = await options.store.tenants.list();
    await Promise.all(tenants.map((t) => run(t.id)));
  }

  const poll =
    options.pollMs > 0
      ? setInterval(() => {
          if (!closed) catchUp().catch(options.onError);
        }, options.pollMs)
      : undefined;
  poll?.unref();

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
    settle: run,
    async close() {
      closed = true;
      if (poll) clearInterval(poll);
      for (const pending of scheduled.values()) clearTimeout(pending);
      await Promise.all(inFlight);
    },
  };
}
