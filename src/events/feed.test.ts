import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Change } from '../core/change.js';
import { openSqliteStore } from '../store/sqlite/open-sqlite-store.js';
import type { AccessChangeRecord, Store, Tenant } from '../store/store.js';
import { afterRevision, parsePosition } from './event.js';
import { headPosition, readEvents } from './feed.js';

/**
 * The feed over a real store, with the deriver's part played by the test: `recordDerived` writes a
 * revision's access changes and moves the `derive` cursor, exactly as the deriver does.
 */
describe('readEvents', () => {
  let store: Store;
  let tenant: Tenant;

  const change = (id: string): Change => ({
    resourceType: 'User',
    resourceId: id,
    operation: 'create',
    attributes: [],
    membersAdded: [],
    membersRemoved: [],
  });
  const access = (revision: number, seq: number): AccessChangeRecord => ({
    revision,
    seq,
    at: `2031-01-01T00:00:0${revision}.000Z`,
    userId: `u${revision}`,
    permission: 'env:deploy',
    scope: `env:e${seq}`,
    effect: 'allow',
    change: 'gained',
    detail: {},
  });
  const write = (id: string) =>
    store.write(tenant.id, async (tx) => {
      const revision = await tx.nextRevision();
      await tx.appendChange({ revision, at: `2031-01-01T00:00:0${revision}.000Z`, actor: { tokenId: 't', kind: 'scim' }, change: change(id) });
    });
  const ids = async (after: string, limit = 100) =>
    (await readEvents(store.audit, tenant.id, parsePosition(after)!, limit)).map((e) => e.id);

  beforeAll(async () => {
    store = await openSqliteStore(':memory:');
    tenant = await store.tenants.create('feed');
    // Revision 1 caused two access changes, 2 none, 3 one; 4 is written but not derived yet.
    for (const id of ['a', 'b', 'c', 'd']) await write(id);
    expect(await store.audit.recordDerived(tenant.id, 0, 3, [access(1, 1), access(1, 2), access(3, 1)])).toBe(true);
  });
  afterAll(async () => store?.close());

  it('merges entries and access changes in order, up to the derive cursor only', async () => {
    expect(await ids('0')).toEqual(['1', '1.1', '1.2', '2', '3', '3.1']);
    expect((await readEvents(store.audit, tenant.id, afterRevision(0), 100)).map((e) => e.id)).toEqual(['1', '1.1', '1.2', '2', '3', '3.1']);
  });

  it('resumes strictly after any event id, or after a whole revision', async () => {
    expect(await ids('1')).toEqual(['1.1', '1.2', '2', '3', '3.1']);
    expect(await ids('1.1')).toEqual(['1.2', '2', '3', '3.1']);
    expect(await ids('1.*')).toEqual(['2', '3', '3.1']);
    expect(await ids('3')).toEqual(['3.1']);
    expect(await ids('3.1')).toEqual([]);
    expect(await ids('3.*')).toEqual([]);
  });

  it('pages by limit without skipping or repeating', async () => {
    const seen: string[] = [];
    let after = '0';
    for (;;) {
      const page = await ids(after, 2);
      if (page.length === 0) break;
      seen.push(...page);
      after = page.at(-1)!;
    }
    expect(seen).toEqual(['1', '1.1', '1.2', '2', '3', '3.1']);
  });

  it('gives access events the actor of their entry, also when resuming inside the revision', async () => {
    const [event] = await readEvents(store.audit, tenant.id, parsePosition('1.1')!, 1);
    expect(event).toMatchObject({ id: '1.2', type: 'access.granted', actor: { kind: 'scim', tokenId: 't' }, tenant: tenant.id });
  });

  it('shows a revision once it is derived, and starts readers without history at the head', async () => {
    expect(await headPosition(store.audit, tenant.id)).toEqual(parsePosition('4.*'));
    expect(await ids('3.1')).toEqual([]);
    expect(await store.audit.recordDerived(tenant.id, 3, 4, [access(4, 1)])).toBe(true);
    expect(await ids('3.1')).toEqual(['4', '4.1']);
  });
});
