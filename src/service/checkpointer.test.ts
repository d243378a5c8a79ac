import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../core/clock.js';
import { openStore } from '../store/open-store.js';
import type { Store, Tenant } from '../store/store.js';
import { verifyTenant } from './audit-admin.js';
import { createCheckpointer, type Checkpointer } from './checkpointer.js';
import { createHistory } from './history.js';

const DAY = 24 * 60 * 60 * 1000;

describe('checkpointer', () => {
  let store: Store;
  let tenant: Tenant;
  let checkpointer: Checkpointer | undefined;
  let now: number;
  const clock: Clock = { now: () => new Date(now) };
  const errors: unknown[] = [];

  beforeEach(async () => {
    store = await openStore('sqlite::memory:');
    tenant = await store.tenants.create('t');
    now = Date.UTC(2026, 0, 1);
    errors.length = 0;
  });
  afterEach(async () => {
    await checkpointer?.stop();
    await store.close();
  });

  /** `count` user creations, one a day from the clock's time (which moves with them). */
  async function write(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await store.write(tenant.id, async (tx) => {
        const revision = await tx.nextRevision();
        const change = { resourceType: 'User' as const, resourceId: `u${revision}`, operation: 'create' as const, attributes: [{ path: 'userName', before: null, after: `u${revision}` }], membersAdded: [], membersRemoved: [] };
        await tx.appendChange({ revision, at: clock.now().toISOString(), actor: { tokenId: null, kind: 'system' }, change });
      });
      now += DAY;
    }
  }

  const revisions = async () => (await store.audit.checkpoints(tenant.id)).map((c) => [c.revision, c.sealed]);

  it('signs the head once it is `everyRevisions` past the newest checkpoint', async () => {
    checkpointer = createCheckpointer({ store, clock, everyRevisions: 5, intervalMs: 0, onError: (e) => errors.push(e) });
    checkpointer.start();
    await write(4);
    checkpointer.notify(tenant.id);
    await checkpointer.stop();
    expect(await revisions()).toEqual([]);
    checkpointer.start();
    await write(3);
    checkpointer.notify(tenant.id);
    await checkpointer.stop();
    expect(await revisions()).toEqual([[7, false]]);
    expect(errors).toEqual([]);
    expect(await verifyTenant(store, tenant.id)).toMatchObject({ ok: true, checkpoints: 1 });
  });

  it('signs any head that moved on the interval, and not twice', async () => {
    checkpointer = createCheckpointer({ store, clock, everyRevisions: 1000, intervalMs: 10, onError: (e) => errors.push(e) });
    await write(2);
    checkpointer.start();
    await expect.poll(revisions).toEqual([[2, false]]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await revisions()).toEqual([[2, false]]);
    expect(errors).toEqual([]);
  });

  it('seals the entries older than the retention period at start, once derived', async () => {
    await write(10);
    const history = createHistory({ store });
    await history.derive(tenant.id);
    checkpointer = createCheckpointer({ store, clock, history, retentionDays: 4, intervalMs: 0, onError: (e) => errors.push(e) });
    checkpointer.start();
    await checkpointer.stop();
    expect(errors).toEqual([]);
    // Written on days 0…9, now is day 10: days 0…5 are older than 4 days.
    expect(await revisions()).toEqual([[6, true]]);
    expect((await store.audit.entries(tenant.id, { limit: 100 })).map((e) => e.revision)).toEqual([7, 8, 9, 10]);
    expect(await verifyTenant(store, tenant.id)).toMatchObject({ ok: true, entries: 4, seal: { revision: 6 } });
  });

  it('reports a seal refused because access changes are not derived yet', async () => {
    await write(3);
    checkpointer = createCheckpointer({ store, clock, history: createHistory({ store }), retentionDays: 1, intervalMs: 0, onError: (e) => errors.push(e) });
    checkpointer.start();
    await checkpointer.stop();
    expect(errors).toEqual([expect.objectContaining({ code: 'precondition_failed' })]);
    expect(await revisions()).toEqual([]);
  });
});
