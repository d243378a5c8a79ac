import { describe, expect, it } from 'vitest';
import { serialRuns } from '../core/serial-runs.js';
import type { Store } from '../store/store.js';
import { createAuditPipeline } from './audit-pipeline.js';

/** A log whose head moves when the test writes, and a deriver that catches up to it, counting its runs. */
function fakeLog() {
  const log = { head: 0, derived: 0, runs: 0, fail: false };
  // One run at a time, late callers sharing the next: what the pipeline requires of `History#derive`.
  const derive = serialRuns(async () => {
    log.runs += 1;
    const head = log.head;
    await new Promise((r) => setTimeout(r, 5));
    if (log.fail) throw new Error('database is locked');
    log.derived = head;
    return log.derived;
  });
  const store = { tenants: { list: async () => [{ id: 't1' }, { id: 't2' }] } } as unknown as Store;
  return { log, derive, store };
}

describe('audit pipeline', () => {
  it('derives a burst of writes together, after they commit, and tells who listens', async () => {
    const { log, derive, store } = fakeLog();
    const told: number[] = [];
    const pipeline = createAuditPipeline({ store, derive, pollMs: 0, onDerived: (_t, r) => told.push(r), onError: () => undefined });
    for (let i = 0; i < 50; i++) {
      log.head += 1;
      pipeline.notify('t1');
    }
    await pipeline.settle('t1');
    expect(log.derived).toBe(50);
    expect(log.runs).toBeLessThanOrEqual(3);
    expect(told.at(-1)).toBe(50);
    await pipeline.close();
  });

  it('settle includes a write committed while a derivation runs', async () => {
    const { log, derive, store } = fakeLog();
    const pipeline = createAuditPipeline({ store, derive, pollMs: 0, onDerived: () => undefined, onError: () => undefined });
    log.head = 1;
    const first = pipeline.settle('t1');
    log.head = 2;
    await first;
    await pipeline.settle('t1');
    expect(log.derived).toBe(2);
    await pipeline.close();
  });

  it('reports a failed derivation and retries on the next notification', async () => {
    const { log, derive, store } = fakeLog();
    const errors: unknown[] = [];
    const pipeline = createAuditPipeline({ store, derive, pollMs: 0, onDerived: () => undefined, onError: (e) => errors.push(e) });
    log.head = 3;
    log.fail = true;
    await pipeline.settle('t1');
    expect(errors).toHaveLength(1);
    expect(log.derived).toBe(0);
    log.fail = false;
    await pipeline.settle('t1');
    expect(log.derived).toBe(3);
    await pipeline.close();
  });

  it('catches up every tenant, and does nothing once closed', async () => {
    const { log, derive, store } = fakeLog();
    const tenants: string[] = [];
    const pipeline = createAuditPipeline({
      store,
      derive: async (t) => {
        tenants.push(t);
        return derive(t);
      },
      pollMs: 0,
      onDerived: () => undefined,
      onError: () => undefined,
    });
    await pipeline.catchUp();
    expect(tenants.sort()).toEqual(['t1', 't2']);
    await pipeline.close();
    const runs = log.runs;
    pipeline.notify('t1');
    await new Promise((r) => setTimeout(r, 30));
    expect(log.runs).toBe(runs);
  });
});
