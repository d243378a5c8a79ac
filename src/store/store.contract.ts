import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceTypeName } from '../core/attribute.js';
import type { ChangeSet } from '../core/change.js';
import { AppError, type ErrorCode } from '../core/errors.js';
import type { Filter, ResolvedAttr } from '../core/filter.js';
import { evaluateFilter, parseFilter, resolveFilter } from '../scim/filter/index.js';
import { findSubAttribute, findTopAttribute } from '../scim/schema/lookup.js';
import { RESOURCE_TYPES } from '../scim/schema/resource-types.js';
import type { ListQuery, PolicyRecord, ScimDoc, ScimWriter, Store, StoredResource, Tenant } from './store.js';

/**
 * The one test suite every `Store` backend passes (OpenFGA's `RunAllTests`, Better Auth's adapter
 * suites). Each backend's test file calls it with a way to open a fresh, migrated store:
 *
 * @example
 *   runStoreContract('sqlite', () => openSqliteStore(':memory:'));
 *
 * The store is opened once per suite; every test works in tenants of its own, so tests never see
 * each other's rows (which is itself a tenant-isolation check).
 */
export function runStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    const newTenant = () => store.tenants.create(`tenant-${randomUUID()}`);
    const at = (n: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, n)).toISOString();

    /** One write: allocates a revision, runs `fn`, logs a change; returns the revision. */
    const write = (tenant: Tenant, fn: (tx: ScimWriter, revision: number) => Promise<void>) =>
      store.write(tenant.id, async (tx) => {
        const revision = await tx.nextRevision();
        await fn(tx, revision);
        await tx.appendChange({ revision, at: at(revision), actor: { tokenId: null, kind: 'system' }, change: change(revision) });
        return revision;
      });

    const user = (id: string, doc: ScimDoc, version = 1): StoredResource => ({
      id,
      doc,
      created: at(version),
      lastModified: at(version),
      version,
    });
    const group = user;

    const addUsers = (tenant: Tenant, docs: readonly ScimDoc[]) =>
      write(tenant, async (tx, revision) => {
        for (const [i, doc] of docs.entries()) await tx.insert('User', user(`u${i}`, doc, revision));
      });

    describe('tenants', () => {
      it('creates and finds tenants by name and id, starting at revision 0', async () => {
        const name = `acme-${randomUUID()}`;
        const created = await store.tenants.create(name);
        expect(created).toMatchObject({ name, revision: 0 });
        expect(created.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(await store.tenants.findByName(name)).toEqual(created);
        expect(await store.tenants.findById(created.id)).toEqual(created);
        expect(await store.tenants.findByName('no-such-tenant')).toBeUndefined();
        expect(await store.tenants.findById(randomUUID())).toBeUndefined();
        expect((await store.tenants.list()).map((t) => t.id)).toContain(created.id);
      });

      it('refuses a second tenant with the same name', async () => {
        const tenant = await newTenant();
        await expectCode(store.tenants.create(tenant.name), 'uniqueness');
      });

      it('reports the current revision', async () => {
        const tenant = await newTenant();
        await write(tenant, async () => undefined);
        await write(tenant, async () => undefined);
        expect((await store.tenants.findById(tenant.id))?.revision).toBe(2);
      });
    });

    describe('tokens', () => {
      it('creates, finds by hash, lists per tenant and revokes', async () => {
        const a = await newTenant();
        const b = await newTenant();
        const token = { id: randomUUID(), tenantId: a.id, name: 'okta', scope: 'scim' as const, hash: randomUUID(), createdAt: at(1) };
        expect(await store.tokens.create(token)).toEqual({ ...token, revokedAt: null });
        expect(await store.tokens.findByHash(token.hash)).toEqual({ ...token, revokedAt: null });
        expect(await store.tokens.findByHash('nope')).toBeUndefined();
        expect(await store.tokens.list(a.id)).toEqual([{ ...token, revokedAt: null }]);
        expect(await store.tokens.list(b.id)).toEqual([]);

        expect(await store.tokens.revoke(b.id, token.id, at(2))).toBe(false);
        expect(await store.tokens.revoke(a.id, token.id, at(2))).toBe(true);
        expect(await store.tokens.revoke(a.id, token.id, at(3))).toBe(false);
        expect(await store.tokens.findByHash(token.hash)).toEqual({ ...token, revokedAt: at(2) });
      });

      it('refuses a duplicate hash and an unknown tenant', async () => {
        const a = await newTenant();
        const token = { id: randomUUID(), tenantId: a.id, name: 't', scope: 'admin' as const, hash: randomUUID(), createdAt: at(1) };
        await store.tokens.create(token);
        await expectCode(store.tokens.create({ ...token, id: randomUUID() }), 'uniqueness');
        await expectCode(store.tokens.create({ ...token, id: randomUUID(), hash: randomUUID(), tenantId: randomUUID() }), 'not_found');
      });
    });

    describe('users and groups', () => {
      it('inserts, gets, updates and removes a user, keeping the document as given', async () => {
        const tenant = await newTenant();
        const doc = {
          userName: 'Björn@Example.com',
          name: { givenName: 'Björn', familyName: 'Ølsen' },
          emails: [{ value: 'b@example.com', type: 'work', primary: true }],
          active: true,
          'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D', manager: { value: 'x' } },
          note: 'quotes \' " and emoji 🗡️',
        };
        const r1 = await write(tenant, (tx, rev) => tx.insert('User', user('u1', doc, rev)));
        const reader = store.reader(tenant.id);
        expect(await reader.get('User', 'u1')).toEqual({ id: 'u1', doc, created: at(r1), lastModified: at(r1), version: r1 });
        expect(await reader.get('User', 'u2')).toBeUndefined();
        expect(await reader.get('Group', 'u1')).toBeUndefined();

        const changed = { ...doc, userName: 'bjorn', active: false };
        const r2 = await write(tenant, (tx, rev) => tx.update('User', { ...user('u1', changed, rev), created: at(r1) }));
        expect(await reader.get('User', 'u1')).toEqual({ id: 'u1', doc: changed, created: at(r1), lastModified: at(r2), version: r2 });

        let removed: boolean | undefined;
        await write(tenant, async (tx, rev) => {
          removed = await tx.remove('User', 'u1', rev, at(rev));
        });
        expect(removed).toBe(true);
        expect(await reader.get('User', 'u1')).toBeUndefined();
        await write(tenant, async (tx, rev) => {
          removed = await tx.remove('User', 'u1', rev, at(rev));
        });
        expect(removed).toBe(false);
      });

      it('inserts, gets, updates and removes a group', async () => {
        const tenant = await newTenant();
        const r1 = await write(tenant, (tx, rev) => tx.insert('Group', group('g1', { displayName: 'Admins', externalId: 'e1' }, rev)));
        const reader = store.reader(tenant.id);
        expect(await reader.get('Group', 'g1')).toEqual(group('g1', { displayName: 'Admins', externalId: 'e1' }, r1));
        const r2 = await write(tenant, (tx, rev) => tx.update('Group', { ...group('g1', { displayName: 'Ops' }, rev), created: at(r1) }));
        expect(await reader.get('Group', 'g1')).toMatchObject({ doc: { displayName: 'Ops' }, version: r2, lastModified: at(r2) });
        await write(tenant, async (tx, rev) => {
          expect(await tx.remove('Group', 'g1', rev, at(rev))).toBe(true);
        });
        expect(await reader.get('Group', 'g1')).toBeUndefined();
      });

      it('updating a resource that does not exist is not_found', async () => {
        const tenant = await newTenant();
        await expectCode(write(tenant, (tx, rev) => tx.update('User', user('nope', { userName: 'x' }, rev))), 'not_found');
        await expectCode(write(tenant, (tx, rev) => tx.update('Group', group('nope', { displayName: 'x' }, rev))), 'not_found');
      });

      it('keeps userName unique per tenant, ignoring case (Unicode lowercasing)', async () => {
        const tenant = await newTenant();
        await write(tenant, async (tx, rev) => {
          await tx.insert('User', user('alice', { userName: 'Alice' }, rev));
          await tx.insert('User', user('bjorn', { userName: 'BJÖRN' }, rev));
        });
        await expectCode(write(tenant, (tx, rev) => tx.insert('User', user('other', { userName: 'alice' }, rev))), 'uniqueness');
        await expectCode(write(tenant, (tx, rev) => tx.insert('User', user('other', { userName: 'björn' }, rev))), 'uniqueness');
        await expectCode(write(tenant, (tx, rev) => tx.update('User', user('bjorn', { userName: 'ALICE' }, rev))), 'uniqueness');
        // Changing only the case of one's own userName is fine.
        await write(tenant, (tx, rev) => tx.update('User', user('alice', { userName: 'ALICE' }, rev)));
        // Another tenant may use the same userName.
        await write(await newTenant(), (tx, rev) => tx.insert('User', user('alice', { userName: 'alice' }, rev)));
        expect((await store.reader(tenant.id).get('User', 'alice'))?.doc).toEqual({ userName: 'ALICE' });
      });

      it('the uniqueness error says which userName is taken', async () => {
        const tenant = await newTenant();
        await addUsers(tenant, [{ userName: 'Alice' }]);
        const err = await write(tenant, (tx, rev) => tx.insert('User', user('x', { userName: 'ALICE' }, rev))).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(AppError);
        expect((err as AppError).detail).toBe('userName `ALICE` is already taken');
      });

      it('does not make group displayName unique (RFC 7643)', async () => {
        const tenant = await newTenant();
        await write(tenant, async (tx, rev) => {
          await tx.insert('Group', group('g1', { displayName: 'Eng' }, rev));
          await tx.insert('Group', group('g2', { displayName: 'eng' }, rev));
        });
        expect((await store.reader(tenant.id).list('Group', { startIndex: 1, count: 10 })).totalResults).toBe(2);
      });
    });

    describe('text no database can hold (U+0000, unpaired surrogates)', () => {
      it('refuses to store it, naming the attribute, and leaves the transaction usable', async () => {
        const tenant = await newTenant();
        await write(tenant, async (tx, rev) => {
          for (const doc of [
            { userName: 'a\u0000b' },
            { userName: 'ok', title: 'x\u0000y' },
            { userName: 'ok', name: { givenName: 'a\ud800b' } },
            { userName: 'ok', emails: [{ value: '\udc00' }] },
            { userName: 'ok', 'bad\u0000key': 'v' },
          ]) {
            await expectCode(tx.insert('User', user('u', doc, rev)), 'invalid_value');
          }
          await expectCode(tx.insert('Group', group('g', { displayName: 'g\u0000' }, rev)), 'invalid_value');
          // What looks like an escape, a paired surrogate and other control characters are fine.
          await tx.insert('User', user('u', { userName: 'u', title: '\\u0000 \\ud800 🗡️ \u0001\u001f' }, rev));
        });
        expect((await store.reader(tenant.id).get('User', 'u'))?.doc).toEqual({ userName: 'u', title: '\\u0000 \\ud800 🗡️ \u0001\u001f' });
        const err = await write(tenant, (tx, rev) => tx.update('User', user('u', { userName: 'u', title: 'a\u0000' }, rev))).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'invalid_value', detail: expect.stringContaining('`title`') });
      });

      it('finds nothing for a key holding U+0000, without failing the transaction', async () => {
        const tenant = await newTenant();
        await addUsers(tenant, [{ userName: 'a' }]);
        const reader = store.reader(tenant.id);
        expect(await reader.get('User', 'u0\u0000')).toBeUndefined();
        expect(await reader.memberIds('\u0000')).toEqual([]);
        expect(await reader.kindsOf(['u0', 'u0\u0000'])).toEqual(new Map([['u0', 'User']]));
        expect(await store.tenants.findByName('x\u0000')).toBeUndefined();
        expect(await store.tenants.findById('x\u0000')).toBeUndefined();
        expect(await store.tokens.findByHash('\u0000')).toBeUndefined();
        await expectCode(reader.list('User', { startIndex: 1, count: 10, filter: resolved('User', 'userName eq "a\\u0000b"') }), 'invalid_filter');
        await write(tenant, async (tx, rev) => {
          expect(await tx.get('Group', '\u0000')).toBeUndefined();
          expect(await tx.remove('User', 'u0\u0000', rev, at(rev))).toBe(false);
          expect(await tx.removeMembers('g\u0000', ['x'])).toEqual([]);
          await expectCode(tx.update('User', user('\u0000', { userName: 'z' }, rev)), 'not_found');
          await expectCode(tx.addMembers('g', [{ value: 'x\u0000', type: 'User' }]), 'invalid_value');
          await tx.insert('User', user('after', { userName: 'after' }, rev));
        });
        expect(await reader.get('User', 'after')).toBeDefined();
      });
    });

    describe('tenant isolation', () => {
      it('never shows one tenant the rows of another', async () => {
        const a = await newTenant();
        const b = await newTenant();
        await write(a, async (tx, rev) => {
          await tx.insert('User', user('shared-id', { userName: 'alice' }, rev));
          await tx.insert('Group', group('g1', { displayName: 'A' }, rev));
          await tx.addMembers('g1', [{ value: 'shared-id', type: 'User' }]);
        });
        const rb = store.reader(b.id);
        expect(await rb.get('User', 'shared-id')).toBeUndefined();
        expect(await rb.get('Group', 'g1', { members: true })).toBeUndefined();
        expect(await rb.list('User', { startIndex: 1, count: 10 })).toEqual({ totalResults: 0, resources: [] });
        expect(await rb.list('Group', { startIndex: 1, count: 10, cursor: '' })).toEqual({ totalResults: 0, resources: [] });
        expect((await rb.kindsOf(['shared-id', 'g1'])).size).toBe(0);
        expect(await rb.memberIds('g1')).toEqual([]);
        expect(await store.changes(b.id, 0, 10)).toEqual([]);

        await write(b, async (tx, rev) => {
          // Same id and userName in B: no clash with A.
          await tx.insert('User', user('shared-id', { userName: 'alice' }, rev));
          expect(await tx.remove('Group', 'g1', rev, at(rev))).toBe(false);
          expect(await tx.removeMembers('g1', 'all')).toEqual([]);
        });
        await expectCode(write(b, (tx, rev) => tx.update('Group', group('g1', { displayName: 'B' }, rev))), 'not_found');
        expect(await store.reader(a.id).get('Group', 'g1', { members: true })).toMatchObject({
          doc: { displayName: 'A' },
          members: [{ value: 'shared-id', type: 'User', display: 'alice' }],
        });
        expect(await store.reader(a.id).get('User', 'shared-id', { groups: true })).toMatchObject({
          groups: [{ value: 'g1', display: 'A', type: 'direct' }],
        });
        expect((await store.reader(b.id).get('User', 'shared-id', { groups: true }))?.groups).toEqual([]);
      });

      it('refuses to write to a tenant that does not exist', async () => {
        await expectCode(store.write(randomUUID(), async (tx) => tx.nextRevision()), 'not_found');
      });
    });

    describe('transactions and revisions', () => {
      it('rolls back everything when the write fails', async () => {
        const tenant = await newTenant();
        await addUsers(tenant, [{ userName: 'keep' }]);
        const boom = new Error('boom');
        await expect(
          store.write(tenant.id, async (tx) => {
            const revision = await tx.nextRevision();
            await tx.insert('User', user('u-new', { userName: 'new' }, revision));
            await tx.insert('Group', group('g-new', { displayName: 'new' }, revision));
            await tx.addMembers('g-new', [{ value: 'u-new', type: 'User' }]);
            await tx.update('User', user('u0', { userName: 'changed' }, revision));
            await tx.appendChange({ revision, at: at(revision), actor: { tokenId: null, kind: 'system' }, change: change(revision) });
            throw boom;
          }),
        ).rejects.toBe(boom);
        const reader = store.reader(tenant.id);
        expect(await reader.get('User', 'u-new')).toBeUndefined();
        expect(await reader.get('Group', 'g-new')).toBeUndefined();
        expect((await reader.get('User', 'u0'))?.doc).toEqual({ userName: 'keep' });
        expect((await store.tenants.findById(tenant.id))?.revision).toBe(1);
        expect((await store.changes(tenant.id, 0, 10)).map((c) => c.revision)).toEqual([1]);
        // The next write gets the next revision: the failed one left no gap.
        expect(await write(tenant, async () => undefined)).toBe(2);
      });

      it('commits concurrent writes together but undoes a failing one alone, without a revision gap', async () => {
        const tenant = await newTenant();
        const boom = new Error('boom');
        const outcomes = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) =>
            write(tenant, async (tx, rev) => {
              await tx.insert('User', user(`c${i}`, { userName: `c${i}` }, rev));
              if (i % 4 === 1) throw boom;
            }),
          ),
        );
        expect(outcomes.map((o) => o.status)).toEqual(Array.from({ length: 12 }, (_, i) => (i % 4 === 1 ? 'rejected' : 'fulfilled')));
        const reader = store.reader(tenant.id);
        for (let i = 0; i < 12; i++) expect(Boolean(await reader.get('User', `c${i}`))).toBe(i % 4 !== 1);
        // Nine writes committed with revisions 1..9: the failed ones took none.
        const revisions = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
        expect([...revisions].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect((await store.changes(tenant.id, 0, 20)).map((c) => c.revision)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      });

      it('rolls back when a store call fails (uniqueness) and the error is left uncaught', async () => {
        const tenant = await newTenant();
        await addUsers(tenant, [{ userName: 'taken' }]);
        await expectCode(
          write(tenant, async (tx, rev) => {
            await tx.insert('Group', group('g', { displayName: 'g' }, rev));
            await tx.insert('User', user('dup', { userName: 'TAKEN' }, rev));
          }),
          'uniqueness',
        );
        expect(await store.reader(tenant.id).get('Group', 'g')).toBeUndefined();
        expect((await store.tenants.findById(tenant.id))?.revision).toBe(1);
      });

      it('attempt() undoes only its own writes, and the transaction goes on', async () => {
        const tenant = await newTenant();
        await addUsers(tenant, [{ userName: 'taken' }]);
        await write(tenant, async (tx, rev) => {
          await tx.insert('User', user('a', { userName: 'a' }, rev));
          await expectCode(
            tx.attempt(async () => {
              await tx.insert('Group', group('g-undone', { displayName: 'undone' }, rev));
              await tx.insert('User', user('b', { userName: 'Taken' }, rev));
            }),
            'uniqueness',
          );
          expect(await tx.attempt(async () => 42)).toBe(42);
          await tx.insert('User', user('c', { userName: 'c' }, rev));
        });
        const reader = store.reader(tenant.id);
        expect(await reader.get('User', 'a')).toBeDefined();
        expect(await reader.get('User', 'c')).toBeDefined();
        expect(await reader.get('Group', 'g-undone')).toBeUndefined();
        expect(await reader.get('User', 'b')).toBeUndefined();
      });

      it('allocates revisions monotonic and gap-free, also under concurrent writes', async () => {
        const tenant = await newTenant();
        const revisions = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            write(tenant, (tx, rev) => tx.insert('User', user(`u${i}`, { userName: `user${i}` }, rev))),
          ),
        );
        expect([...revisions].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        const changes = await store.changes(tenant.id, 0, 100);
        expect(changes.map((c) => c.revision)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        // Each revision's change row is the one its own transaction wrote.
        expect(changes.every((c) => (c.change as ChangeSet).resourceId === `r${c.revision}`)).toBe(true);
      });

      it('does not let a writer outlive its transaction', async () => {
        const tenant = await newTenant();
        let leaked: ScimWriter | undefined;
        await store.write(tenant.id, async (tx) => {
          leaked = tx;
        });
        await expectCode(leaked!.nextRevision(), 'internal');
      });

      it('reads the change log after a revision, oldest first, up to a limit', async () => {
        const tenant = await newTenant();
        for (let i = 0; i < 5; i++) await write(tenant, async () => undefined);
        const all = await store.changes(tenant.id, 0, 100);
        expect(all.map((c) => c.revision)).toEqual([1, 2, 3, 4, 5]);
        expect(all[0]).toEqual({ revision: 1, at: at(1), actor: { tokenId: null, kind: 'system' }, change: change(1) });
        expect((await store.changes(tenant.id, 2, 2)).map((c) => c.revision)).toEqual([3, 4]);
        expect(await store.changes(tenant.id, 5, 10)).toEqual([]);
      });
    });

    describe('memberships', () => {
      it('adds, lists and removes members, reporting only what changed', async () => {
        const tenant = await newTenant();
        await write(tenant, async (tx, rev) => {
          await tx.insert('Group', group('g', { displayName: 'G' }, rev));
          expect(
            await tx.addMembers('g', [
              { value: 'u1', type: 'User' },
              { value: 'u2', type: 'User' },
              { value: 'u1', type: 'User' },
              { value: 'g2', type: 'Group' },
            ]),
          ).toEqual(['u1', 'u2', 'g2']);
          expect(await tx.addMembers('g', [{ value: 'u2', type: 'User' }, { value: 'u3', type: 'User' }])).toEqual(['u3']);
          expect(await tx.addMembers('g', [])).toEqual([]);
        });
        const reader = store.reader(tenant.id);
        expect(await reader.memberIds('g')).toEqual([
          { value: 'g2', type: 'Group' },
          { value: 'u1', type: 'User' },
          { value: 'u2', type: 'User' },
          { value: 'u3', type: 'User' },
        ]);
        await write(tenant, async (tx) => {
          expect(await tx.removeMembers('g', ['u1', 'nope', 'u1'])).toEqual(['u1']);
          expect(await tx.removeMembers('g', [])).toEqual([]);
          expect((await tx.removeMembers('g', 'all')).sort()).toEqual(['g2', 'u2', 'u3']);
        });
        expect(await reader.memberIds('g')).toEqual([]);
      });

      it('adds and removes 10,000 members', async () => {
        const tenant = await newTenant();
        const ids = Array.from({ length: 10_000 }, (_, i) => `member-${String(i).padStart(5, '0')}`);
        await write(tenant, async (tx, rev) => {
          await tx.insert('Group', group('big', { displayName: 'Big' }, rev));
          const added = await tx.addMembers('big', ids.map((value) => ({ value, type: 'User' as const })));
          expect(added).toHaveLength(10_000);
          expect(added).toEqual(ids);
        });
        const reader = store.reader(tenant.id);
        expect(await reader.memberIds('big')).toHaveLength(10_000);
        expect((await reader.get('Group', 'big', { members: true }))?.members).toHaveLength(10_000);
        await write(tenant, async (tx) => {
          expect(await tx.addMembers('big', ids.slice(0, 5000).map((value) => ({ value, type: 'User' as const })))).toEqual([]);
          expect(await tx.removeMembers('big', ids.slice(0, 9_000))).toHaveLength(9_000);
        });
        expect(await reader.memberIds('big')).toHaveLength(1_000);
      });

      it('reads members with display names only when asked', async () => {
        const tenant = await newTenant();
        await write(tenant, async (tx, rev) => {
          await tx.insert('User', user('u1', { userName: 'alice', displayName: 'Alice A.' }, rev));
          await tx.insert('User', user('u2', { userName: 'bob' }, rev));
          await tx.insert('Group', group('g', { displayName: 'G' }, rev));
          await tx.insert('Group', group('child', { displayName: 'Child' }, rev));
          await tx.insert('Group', group('empty', { displayName: 'Empty' }, rev));
          await tx.addMembers('g', [
            { value: 'u1', type: 'User' },
            { value: 'u2', type: 'User' },
            { value: 'child', type: 'Group' },
          ]);
        });
        const reader = store.reader(tenant.id);
        expect((await reader.get('Group', 'g'))?.members).toBeUndefined();
        expect((await reader.get('Group', 'g', { members: false }))?.members).toBeUndefined();
        expect((await reader.get('Group', 'g', { members: true }))?.members).toEqual([
          { value: 'child', type: 'Group', display: 'Child' },
          { value: 'u1', type: 'User', display: 'Alice A.' },
          { value: 'u2', type: 'User', display: 'bob' },
        ]);
        const page = await reader.list('Group', { startIndex: 1, count: 10, members: true });
        expect(page.resources.map((g) => [g.id, g.members?.length])).toEqual([
          ['g', 3],
          ['child', 0],
          ['empty', 0],
        ]);
        expect((await reader.list('Group', { startIndex: 1, count: 10 })).resources.every((g) => g.members === undefined)).toBe(true);
      });

      it("reads a user's direct and indirect groups, surviving membership cycles", async () => {
        const tenant = await newTenant();
        await write(tenant, async (tx, rev) => {
          await tx.insert('User', user('u', { userName: 'u' }, rev));
          await tx.insert('User', user('loner', { userName: 'loner' }, rev));
          for (const id of ['team', 'dept', 'org', 'direct-and-nested']) {
            await tx.insert('Group', group(id, { displayName: id.toUpperCase() }, rev));
          }
          await tx.addMembers('team', [{ value: 'u', type: 'User' }]);
          await tx.addMembers('direct-and-nested', [{ value: 'u', type: 'User' }]);
          await tx.addMembers('dept', [{ value: 'team', type: 'Group' }]);
          await tx.addMembers('org', [{ value: 'dept', type: 'Group' }, { value: 'direct-and-nested', type: 'Group' }]);
          // A cycle: org contains dept contains team contains org.
          await tx.addMembers('team', [{ value: 'org', type: 'Group' }]);
          await tx.addMembers('org', [{ value: 'team', type: 'Group' }]);
          await tx.addMembers('dept', [{ value: 'direct-and-nested', type: 'Group' }]);
        });
        const reader = store.reader(tenant.id);
        const found = await reader.get('User', 'u', { groups: true });
        expect([...(found?.groups ?? [])].sort((x, y) => x.value.localeCompare(y.value))).toEqual([
          { value: 'dept', display: 'DEPT', type: 'indirect' },
          { value: 'direct-and-nested', display: 'DIRECT-AND-NESTED', type: 'direct' },
          { value: 'org', display: 'ORG', type: 'indirect' },
          { value: 'team', display: 'TEAM', type: 'direct' },
        ]);
        expect((await reader.get('User', 'u'))?.groups).toBeUndefined();
        const page = await reader.list('User', { startIndex: 1, count: 10, groups: true });
        expect(page.resources.map((r) => [r.id, r.groups?.length])).toEqual([
          ['u', 4],
          ['loner', 0],
        ]);
      });

      it('removing a user drops it from its groups and bumps their version', async () => {
        const tenant = await newTenant();
        const r1 = await write(tenant, async (tx, rev) => {
          await tx.insert('User', user('u', { userName: 'u' }, rev));
          await tx.insert('User', user('v', { userName: 'v' }, rev));
          for (const id of ['g1', 'g2', 'untouched']) await tx.insert('Group', group(id, { displayName: id }, rev));
          await tx.addMembers('g1', [{ value: 'u', type: 'User' }, { value: 'v', type: 'User' }]);
          await tx.addMembers('g2', [{ value: 'u', type: 'User' }]);
          await tx.addMembers('untouched', [{ value: 'v', type: 'User' }]);
        });
        const r2 = await write(tenant, async (tx, rev) => {
          expect(await tx.remove('User', 'u', rev, at(rev))).toBe(true);
        });
        const reader = store.reader(tenant.id);
        expect(await reader.memberIds('g1')).toEqual([{ value: 'v', type: 'User' }]);
        expect(await reader.memberIds('g2')).toEqual([]);
        expect(await reader.get('Group', 'g1')).toMatchObject({ version: r2, lastModified: at(r2), created: at(r1) });
        expect(await reader.get('Group', 'g2')).toMatchObject({ version: r2, lastModified: at(r2) });
        expect(await reader.get('Group', 'untouched')).toMatchObject({ version: r1, lastModified: at(r1) });
        expect(await reader.memberIds('untouched')).toEqual([{ value: 'v', type: 'User' }]);
      });

      it('removing a group drops its own members and its memberships in other groups', async () => {
        const tenant = await newTenant();
        await write(tenant, async (tx, rev) => {
          await tx.insert('User', user('u', { userName: 'u' }, rev));
          for (const id of ['parent', 'child']) await tx.insert('Group', group(id, { displayName: id }, rev));
          await tx.addMembers('child', [{ value: 'u', type: 'User' }]);
          await tx.addMembers('parent', [{ value: 'child', type: 'Group' }]);
        });
        const r2 = await write(tenant, async (tx, rev) => {
          expect(await tx.remove('Group', 'child', rev, at(rev))).toBe(true);
        });
        const reader = store.reader(tenant.id);
        expect(await reader.memberIds('parent')).toEqual([]);
        expect(await reader.memberIds('child')).toEqual([]);
        expect((await reader.get('Group', 'parent'))?.version).toBe(r2);
        expect((await reader.get('User', 'u', { groups: true }))?.groups).toEqual([]);
      });

      it("changes the version of users whose groups a write changes, when it stamps them", async () => {
        const tenant = await newTenant();
        const r1 = await write(tenant, async (tx, rev) => {
          for (const id of ['direct', 'nested', 'deeper', 'bystander']) await tx.insert('User', user(id, { userName: id }, rev));
          for (const id of ['g', 'child', 'grandchild', 'other']) await tx.insert('Group', group(id, { displayName: id }, rev));
          await tx.addMembers('child', [{ value: 'nested', type: 'User' }, { value: 'grandchild', type: 'Group' }]);
          await tx.addMembers('grandchild', [{ value: 'deeper', type: 'User' }, { value: 'child', type: 'Group' }]); // a cycle
          await tx.addMembers('other', [{ value: 'bystander', type: 'User' }]);
        });
        const reader = store.reader(tenant.id);
        const versions = async () =>
          Object.fromEntries(
            await Promise.all(
              ['direct', 'nested', 'deeper', 'bystander'].map(async (id) => [id, (await reader.get('User', id))?.version] as const),
            ),
          );
        // Without stampMembers, only memberships change.
        await write(tenant, async (tx) => {
          await tx.addMembers('g', [{ value: 'direct', type: 'User' }]);
          await tx.removeMembers('g', ['direct']);
        });
        expect(await versions()).toEqual({ direct: r1, nested: r1, deeper: r1, bystander: r1 });

        const r3 = await write(tenant, async (tx, rev) => {
          const added = await tx.addMembers('g', [{ value: 'direct', type: 'User' }, { value: 'child', type: 'Group' }]);
          await tx.stampMembers(added, { revision: rev, at: at(rev) });
        });
        expect(await versions()).toEqual({ direct: r3, nested: r3, deeper: r3, bystander: r1 });
        expect(await reader.get('User', 'deeper')).toMatchObject({ lastModified: at(r3), created: at(r1) });

        const r4 = await write(tenant, async (tx, rev) => {
          await tx.stampMembers(await tx.removeMembers('g', ['child']), { revision: rev, at: at(rev) });
        });
        expect(await versions()).toEqual({ direct: r3, nested: r4, deeper: r4, bystander: r1 });

        // Renaming a group changes its members' groups[].display; other updates do not touch them.
        const r5 = await write(tenant, (tx, rev) => tx.update('Group', group('child', { displayName: 'child', externalId: 'x' }, rev)));
        expect(await versions()).toEqual({ direct: r3, nested: r4, deeper: r4, bystander: r1 });
        const r6 = await write(tenant, (tx, rev) => tx.update('Group', group('child', { displayName: 'Child' }, rev)));
        expect(r6).toBe(r5 + 1);
        expect(await versions()).toEqual({ direct: r3, nested: r6, deeper: r6, bystander: r1 });

        // Deleting a group changes the groups of everyone inside it.
        const r7 = await write(tenant, async (tx, rev) => {
          await tx.remove('Group', 'child', rev, at(rev));
        });
        expect(await versions()).toEqual({ direct: r3, nested: r7, deeper: r7, bystander: r1 });

        const r8 = await write(tenant, async (tx, rev) => {
          const removed = await tx.removeMembers('g', 'all');
          expect(removed).toEqual(['direct']);
          await tx.stampMembers(removed, { revision: rev, at: at(rev) });
        });
        expect(await versions()).toEqual({ direct: r8, nested: r7, deeper: r7, bystander: r1 });
      });

      it('tells which ids exist and as what, for any number of ids', async () => {
        const tenant = await newTenant();
        await write(tenant, async (tx, rev) => {
          await tx.insert('User', user('u1', { userName: 'u1' }, rev));
          await tx.insert('Group', group('g1', { displayName: 'g1' }, rev));
        });
        const reader = store.reader(tenant.id);
        expect(await reader.kindsOf([])).toEqual(new Map());
        expect(await reader.kindsOf(['u1', 'g1', 'nope', 'u1'])).toEqual(
          new Map<string, ResourceTypeName>([
            ['u1', 'User'],
            ['g1', 'Group'],
          ]),
        );
        const many = [...Array.from({ length: 40_000 }, (_, i) => `missing-${i}`), 'g1', 'u1'];
        expect(await reader.kindsOf(many)).toEqual(
          new Map<string, ResourceTypeName>([
            ['g1', 'Group'],
            ['u1', 'User'],
          ]),
        );
      });
    });

    describe('policy objects and snapshots', () => {
      const record = (kind: string, id: string, doc: unknown, version: number): PolicyRecord => ({
        kind,
        id,
        doc,
        version,
        created: at(version),
        lastModified: at(version),
      });
      const keys = (records: readonly PolicyRecord[]) => records.map((r) => `${r.kind}/${r.id}`);

      it('stores, replaces, lists and deletes policy objects per tenant', async () => {
        const tenant = await newTenant();
        const r1 = await write(tenant, async (tx, rev) => {
          await tx.putPolicy(record('role', 'reader', { name: 'reader', permissions: ['db:read'] }, rev));
          await tx.putPolicy(record('binding', 'b1', { id: 'b1', role: 'reader' }, rev));
        });
        const reader = store.reader(tenant.id);
        expect(await reader.policyObject('role', 'reader')).toEqual(
          record('role', 'reader', { name: 'reader', permissions: ['db:read'] }, r1),
        );
        const r2 = await write(tenant, (tx, rev) =>
          tx.putPolicy(record('role', 'reader', { name: 'reader', permissions: ['db:write'] }, rev)),
        );
        // A replace takes the new doc, version and lastModified, and keeps the first write's `created`
        // even when the caller passes another.
        expect(await reader.policyObject('role', 'reader')).toEqual({
          ...record('role', 'reader', { name: 'reader', permissions: ['db:write'] }, r2),
          created: at(r1),
        });
        expect(await reader.policyObject('role', 'writer')).toBeUndefined();
        expect(await reader.policyObject('binding', 'reader')).toBeUndefined();
        expect(keys(await reader.policy())).toEqual(['binding/b1', 'role/reader']);
        expect(keys(await reader.policy('binding'))).toEqual(['binding/b1']);
        expect(await reader.policy('mapping')).toEqual([]);

        expect(await store.write(tenant.id, (tx) => tx.deletePolicy('binding', 'b1'))).toBe(true);
        expect(await store.write(tenant.id, (tx) => tx.deletePolicy('binding', 'b1'))).toBe(false);
        expect(await store.write(tenant.id, (tx) => tx.deletePolicy('role', 'b1'))).toBe(false);
        expect(await reader.policy('binding')).toEqual([]);
        expect(keys(await reader.policy())).toEqual(['role/reader']);
      });

      it('lists by kind then id in code point order, whatever the database collation', async () => {
        const tenant = await newTenant();
        const ids = ['b', 'B', 'a-1', 'a_1', 'a1', 'A', 'é', 'z', '10', '9'];
        await write(tenant, async (tx, rev) => {
          for (const id of ids) await tx.putPolicy(record('role', id, { id }, rev));
          await tx.putPolicy(record('Role', 'x', {}, rev));
          await tx.putPolicy(record('binding', 'x', {}, rev));
        });
        const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const all = await store.reader(tenant.id).policy();
        expect(keys(all)).toEqual(['Role/x', 'binding/x', ...sorted.map((id) => `role/${id}`)]);
        expect((await store.reader(tenant.id).policy('role')).map((r) => r.id)).toEqual(sorted);
      });

      it('reads back any JSON value as the doc', async () => {
        const tenant = await newTenant();
        const docs: Record<string, unknown> = {
          string: 'reader',
          json_looking_string: '{"a":1}',
          number: 42.5,
          zero: 0,
          null: null,
          false: false,
          array: [1, 'two', { three: [3] }, null],
          object: { name: 'Zoë 🚀', nested: { deep: [true, { e: '' }] }, 'key with spaces': 'x' },
          empty: {},
        };
        await write(tenant, async (tx, rev) => {
          for (const [id, doc] of Object.entries(docs)) await tx.putPolicy(record('doc', id, doc, rev));
        });
        const reader = store.reader(tenant.id);
        for (const [id, doc] of Object.entries(docs)) expect((await reader.policyObject('doc', id))?.doc, id).toEqual(doc);
        expect(Object.fromEntries((await reader.policy('doc')).map((r) => [r.id, r.doc]))).toEqual(docs);
        expect((await store.snapshot(tenant.id)).policy.map((r) => r.doc)).toEqual((await reader.policy()).map((r) => r.doc));
      });

      it('refuses U+0000 in a key or doc, without spoiling the write, and finds no such key', async () => {
        const tenant = await newTenant();
        const rev = await write(tenant, async (tx, rev) => {
          await expectCode(tx.putPolicy(record('role', 'a\u0000b', {}, rev)), 'invalid_value');
          await expectCode(tx.putPolicy(record('ro\u0000le', 'a', {}, rev)), 'invalid_value');
          await expectCode(tx.putPolicy(record('role', 'a', { name: 'x\u0000' }, rev)), 'invalid_value');
          await expectCode(tx.putPolicy(record('role', 'a', { ['k\u0000']: 1 }, rev)), 'invalid_value');
          await expectCode(tx.putPolicy(record('role', 'a', undefined, rev)), 'invalid_value');
          expect(await tx.policyObject('role', 'a\u0000b')).toBeUndefined();
          expect(await tx.policy('ro\u0000le')).toEqual([]);
          expect(await tx.deletePolicy('role', 'a\u0000b')).toBe(false);
          // The refusals never reached the database, so the transaction goes on (PostgreSQL would
          // otherwise have aborted it).
          await tx.putPolicy(record('role', 'a', { name: 'a' }, rev));
        });
        const reader = store.reader(tenant.id);
        expect(await reader.policy()).toEqual([record('role', 'a', { name: 'a' }, rev)]);
        expect(await reader.policyObject('role', 'a\u0000b')).toBeUndefined();
        expect(await reader.policyObject('ro\u0000le', 'a')).toBeUndefined();
        expect(await reader.policy('ro\u0000le')).toEqual([]);
      });

      it('keeps policy objects of one tenant invisible to another', async () => {
        const [a, b] = [await newTenant(), await newTenant()];
        await write(a, (tx, rev) => tx.putPolicy(record('role', 'admin', { name: 'admin of a' }, rev)));
        expect(await store.reader(b.id).policy()).toEqual([]);
        expect(await store.reader(b.id).policyObject('role', 'admin')).toBeUndefined();
        expect(await store.write(b.id, (tx) => tx.deletePolicy('role', 'admin'))).toBe(false);
        // The same key in the other tenant is another object.
        await write(b, (tx, rev) => tx.putPolicy(record('role', 'admin', { name: 'admin of b' }, rev)));
        expect((await store.reader(a.id).policyObject('role', 'admin'))?.doc).toEqual({ name: 'admin of a' });
        expect((await store.reader(b.id).policyObject('role', 'admin'))?.doc).toEqual({ name: 'admin of b' });
        expect(await store.write(b.id, (tx) => tx.deletePolicy('role', 'admin'))).toBe(true);
        expect(keys(await store.reader(a.id).policy())).toEqual(['role/admin']);
        expect((await store.snapshot(b.id)).policy).toEqual([]);
      });

      it('sees its own policy writes inside the write', async () => {
        const tenant = await newTenant();
        await write(tenant, async (tx, rev) => {
          await tx.putPolicy(record('role', 'r', { v: 1 }, rev));
          expect((await tx.policyObject('role', 'r'))?.doc).toEqual({ v: 1 });
          expect(keys(await tx.policy())).toEqual(['role/r']);
          expect(await tx.deletePolicy('role', 'r')).toBe(true);
          expect(await tx.policy()).toEqual([]);
        });
      });

      it('undoes a policy write when its transaction throws', async () => {
        const tenant = await newTenant();
        const kept = await write(tenant, (tx, rev) => tx.putPolicy(record('role', 'kept', { v: 1 }, rev)));
        await expect(
          store.write(tenant.id, async (tx) => {
            const rev = await tx.nextRevision();
            await tx.putPolicy(record('role', 'lost', {}, rev));
            await tx.putPolicy(record('role', 'kept', { v: 2 }, rev));
            expect(await tx.deletePolicy('role', 'kept')).toBe(true);
            throw new AppError('invalid_value', 'no');
          }),
        ).rejects.toBeInstanceOf(AppError);
        expect(await store.reader(tenant.id).policy()).toEqual([record('role', 'kept', { v: 1 }, kept)]);
        expect((await store.tenants.findById(tenant.id))?.revision).toBe(kept);
      });

      it('undoes a policy write inside a failed `attempt` and keeps the rest of the write', async () => {
        const tenant = await newTenant();
        const first = await write(tenant, async (tx, rev) => {
          await tx.putPolicy(record('role', 'replaced', { v: 1 }, rev));
          await tx.putPolicy(record('role', 'deleted', { v: 1 }, rev));
        });
        const second = await write(tenant, async (tx, rev) => {
          await tx.putPolicy(record('role', 'kept', {}, rev));
          await expect(
            tx.attempt(async () => {
              await tx.putPolicy(record('role', 'undone', {}, rev));
              await tx.putPolicy(record('role', 'replaced', { v: 2 }, rev));
              await tx.deletePolicy('role', 'deleted');
              throw new AppError('invalid_value', 'no');
            }),
          ).rejects.toBeInstanceOf(AppError);
          // A later attempt that succeeds stays.
          await tx.attempt(() => tx.putPolicy(record('role', 'after', {}, rev)));
        });
        expect(await store.reader(tenant.id).policy()).toEqual([
          record('role', 'after', {}, second),
          record('role', 'deleted', { v: 1 }, first),
          record('role', 'kept', {}, second),
          record('role', 'replaced', { v: 1 }, first),
        ]);
      });

      it('snapshots users, groups, memberships and policy at the revision of the last write', async () => {
        const tenant = await newTenant();
        const r1 = await addUsers(tenant, [{ userName: 'alice', title: 'Engineer' }, { userName: 'bob', active: false }]);
        const r2 = await write(tenant, async (tx, rev) => {
          await tx.insert('Group', group('g1', { displayName: 'eng', externalId: 'x1' }, rev));
          await tx.insert('Group', group('g2', { displayName: 'all' }, rev));
          await tx.insert('Group', group('g3', { displayName: 'empty' }, rev));
          await tx.addMembers('g1', [{ value: 'u0', type: 'User' }]);
          await tx.addMembers('g2', [
            { value: 'g1', type: 'Group' },
            { value: 'u1', type: 'User' },
          ]);
          await tx.putPolicy(record('role', 'reader', { name: 'reader' }, rev));
          await tx.putPolicy(record('binding', 'b1', { role: 'reader', group: 'g1' }, rev));
        });
        const r3 = await write(tenant, (tx, rev) => tx.update('User', { ...user('u1', { userName: 'bob', title: 'Boss' }, rev), created: at(r1) }));
        const last = await write(tenant, async () => undefined);
        const snapshot = await store.snapshot(tenant.id);
        expect(snapshot.revision).toBe(last);
        expect(snapshot.revision).toBe((await store.tenants.findById(tenant.id))?.revision);
        expect(snapshot.users).toEqual([
          user('u0', { userName: 'alice', title: 'Engineer' }, r1),
          { ...user('u1', { userName: 'bob', title: 'Boss' }, r3), created: at(r1) },
        ]);
        expect(snapshot.groups).toEqual([
          group('g1', { displayName: 'eng', externalId: 'x1' }, r2),
          group('g2', { displayName: 'all' }, r2),
          group('g3', { displayName: 'empty' }, r2),
        ]);
        // Neither expanded members nor groups: the index derives them from the edges.
        expect(snapshot.users.some((u) => 'groups' in u)).toBe(false);
        expect(snapshot.groups.some((g) => 'members' in g)).toBe(false);
        // Direct edges only: u0 is in g2 through g1, which is no edge of its own.
        expect(snapshot.memberships).toEqual([
          { groupId: 'g1', memberId: 'u0', memberType: 'User' },
          { groupId: 'g2', memberId: 'g1', memberType: 'Group' },
          { groupId: 'g2', memberId: 'u1', memberType: 'User' },
        ]);
        expect(snapshot.policy).toEqual([
          record('binding', 'b1', { role: 'reader', group: 'g1' }, r2),
          record('role', 'reader', { name: 'reader' }, r2),
        ]);
      });

      it('snapshots an empty tenant, and refuses an unknown one', async () => {
        const tenant = await newTenant();
        expect(await store.snapshot(tenant.id)).toEqual({ revision: 0, users: [], groups: [], memberships: [], policy: [] });
        await expectCode(store.snapshot(randomUUID()), 'not_found');
        await expectCode(store.snapshot('no\u0000such'), 'not_found');
      });

      it('leaves other tenants out of a snapshot', async () => {
        const [a, b] = [await newTenant(), await newTenant()];
        await addUsers(a, [{ userName: 'a' }]);
        await write(a, async (tx, rev) => {
          await tx.insert('Group', group('g', { displayName: 'g' }, rev));
          await tx.addMembers('g', [{ value: 'u0', type: 'User' }]);
          await tx.putPolicy(record('role', 'r', {}, rev));
        });
        await addUsers(b, [{ userName: 'b' }]);
        const snapshot = await store.snapshot(b.id);
        expect(snapshot.revision).toBe(1);
        expect(snapshot.users.map((u) => u.doc.userName)).toEqual(['b']);
        expect([snapshot.groups, snapshot.memberships, snapshot.policy]).toEqual([[], [], []]);
      });

      it('is consistent with its revision while writes commit around it', async () => {
        const tenant = await newTenant();
        // Every write adds one user, one membership and one policy object, so a consistent snapshot
        // at revision n holds exactly n - 1 of each (the first write makes the group).
        await write(tenant, (tx, rev) => tx.insert('Group', group('g', { displayName: 'g' }, rev)));
        const writes = Array.from({ length: 40 }, (_, i) =>
          write(tenant, async (tx, rev) => {
            await tx.insert('User', user(`w${i}`, { userName: `w${i}` }, rev));
            await tx.addMembers('g', [{ value: `w${i}`, type: 'User' }]);
            await tx.putPolicy(record('grant', `w${i}`, { user: `w${i}` }, rev));
          }),
        );
        const snapshots = Array.from({ length: 10 }, () => store.snapshot(tenant.id));
        await Promise.all(writes);
        snapshots.push(store.snapshot(tenant.id));
        for (const snapshot of await Promise.all(snapshots)) {
          const n = snapshot.revision - 1;
          expect([snapshot.users.length, snapshot.memberships.length, snapshot.policy.length]).toEqual([n, n, n]);
          expect(Math.max(0, ...snapshot.users.map((u) => u.version))).toBe(n === 0 ? 0 : snapshot.revision);
        }
        expect((await snapshots[snapshots.length - 1]!).revision).toBe(41);
      });

      it('reads users by id in any number, in the order asked, leaving out missing ones', async () => {
        const tenant = await newTenant();
        const docs = Array.from({ length: 1200 }, (_, i) => ({ userName: `user${i}` }));
        const rev = await addUsers(tenant, docs);
        const reader = store.reader(tenant.id);
        const ids = [...docs.map((_, i) => `u${1199 - i}`), 'missing', 'u0', 'no\u0000such'];
        const users = await reader.usersByIds(ids);
        expect(users.map((u) => u.id)).toEqual(docs.map((_, i) => `u${1199 - i}`));
        expect(users[0]).toEqual(user('u1199', { userName: 'user1199' }, rev));
        expect(users.some((u) => 'groups' in u)).toBe(false);
        expect(await reader.usersByIds([])).toEqual([]);
        expect(await reader.usersByIds(['missing'])).toEqual([]);
        expect(await store.reader((await newTenant()).id).usersByIds(['u0'])).toEqual([]);
      });

      it('reads users by more ids than one statement can bind', async () => {
        const tenant = await newTenant();
        await addUsers(tenant, [{ userName: 'first' }, { userName: 'second' }, { userName: 'third' }]);
        // 70,000 ids: past SQLite's 32,766 and PostgreSQL's 65,535 parameters, so several chunks,
        // with the users found in the first, a middle and the last one.
        const missing = Array.from({ length: 70_000 }, (_, i) => `missing-${i}`);
        const ids = ['u2', ...missing.slice(0, 35_000), 'u1', ...missing.slice(35_000), 'u0'];
        expect((await store.reader(tenant.id).usersByIds(ids)).map((u) => u.doc.userName)).toEqual(['third', 'second', 'first']);
      });

      it('reads users by id inside a write, its own uncommitted ones included', async () => {
        const tenant = await newTenant();
        await addUsers(tenant, [{ userName: 'old' }]);
        await write(tenant, async (tx, rev) => {
          await tx.insert('User', user('new', { userName: 'new' }, rev));
          expect((await tx.usersByIds(['new', 'u0'])).map((u) => u.doc.userName)).toEqual(['new', 'old']);
        });
      });
    });

    describe('listing', () => {
      const names = ['delta', 'Alpha', 'charlie', 'bravo', 'Echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
      let tenant: Tenant;
      let reader: ReturnType<Store['reader']>;
      beforeAll(async () => {
        tenant = await newTenant();
        // Every third user has no displayName, to see where missing sort keys go.
        await addUsers(
          tenant,
          names.map((userName, i) => (i % 3 === 2 ? { userName } : { userName, displayName: `${names[names.length - 1 - i]}` })),
        );
        reader = store.reader(tenant.id);
      });
      const ids = (page: { resources: readonly { id: string }[] }) => page.resources.map((r) => r.id);
      const all = names.map((_, i) => `u${i}`);

      it('pages by startIndex and count in creation order, with the total', async () => {
        const first = await reader.list('User', { startIndex: 1, count: 5 });
        expect(first.totalResults).toBe(12);
        expect(ids(first)).toEqual(all.slice(0, 5));
        expect(first.nextCursor).toBeUndefined();
        const second = await reader.list('User', { startIndex: 6, count: 5 });
        expect(ids(second)).toEqual(all.slice(5, 10));
        const last = await reader.list('User', { startIndex: 11, count: 5 });
        expect(last).toMatchObject({ totalResults: 12 });
        expect(ids(last)).toEqual(all.slice(10));
        expect(await reader.list('User', { startIndex: 13, count: 5 })).toEqual({ totalResults: 12, resources: [] });
        expect(ids(await reader.list('User', { startIndex: 0, count: 2 }))).toEqual(['u0', 'u1']);
        expect(ids(await reader.list('User', { startIndex: -5, count: 2 }))).toEqual(['u0', 'u1']);
        expect(await reader.list('User', { startIndex: 1, count: 0 })).toEqual({ totalResults: 12, resources: [] });
        expect(await reader.list('Group', { startIndex: 1, count: 10 })).toEqual({ totalResults: 0, resources: [] });
      });

      it('sorts by userName ignoring case, ascending and descending', async () => {
        const sorted = [...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
        const asc = await reader.list('User', { startIndex: 1, count: 100, sortBy: attr('User', 'userName') });
        expect(asc.resources.map((r) => r.doc['userName'])).toEqual(sorted);
        const desc = await reader.list('User', { startIndex: 1, count: 100, sortBy: attr('User', 'userName'), descending: true });
        expect(desc.resources.map((r) => r.doc['userName'])).toEqual([...sorted].reverse());
        const page2 = await reader.list('User', { startIndex: 4, count: 3, sortBy: attr('User', 'userName') });
        expect(page2.resources.map((r) => r.doc['userName'])).toEqual(sorted.slice(3, 6));
      });

      it('puts resources without the sort attribute last, in creation order, either direction', async () => {
        const missing = all.filter((_, i) => i % 3 === 2);
        for (const descending of [false, true]) {
          const page = await reader.list('User', { startIndex: 1, count: 100, sortBy: attr('User', 'displayName'), descending });
          expect(ids(page).slice(-missing.length)).toEqual(missing);
          const present = page.resources.slice(0, -missing.length).map((r) => String(r.doc['displayName']).toLowerCase());
          const expected = [...present].sort();
          expect(present).toEqual(descending ? expected.reverse() : expected);
        }
      });

      it('walks with cursors, visiting every row exactly once, in every order', async () => {
        const orders: Omit<ListQuery, 'startIndex' | 'count'>[] = [
          {},
          { sortBy: attr('User', 'userName') },
          { sortBy: attr('User', 'userName'), descending: true },
          { sortBy: attr('User', 'displayName') },
          { sortBy: attr('User', 'displayName'), descending: true },
        ];
        for (const order of orders) {
          for (const count of [1, 5, 12, 50]) {
            const expected = ids(await reader.list('User', { ...order, startIndex: 1, count: 100 }));
            const seen: string[] = [];
            let cursor: string | undefined = '';
            let pages = 0;
            while (cursor !== undefined) {
              const page: Awaited<ReturnType<typeof reader.list>> = await reader.list('User', { ...order, startIndex: 1, count, cursor });
              expect(page.totalResults).toBe(12);
              expect(page.resources.length).toBeLessThanOrEqual(count);
              seen.push(...ids(page));
              cursor = page.nextCursor;
              if (cursor !== undefined) expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
              expect(++pages).toBeLessThan(20);
            }
            expect(seen).toEqual(expected);
            expect(pages).toBe(Math.max(1, Math.ceil(12 / count)));
          }
        }
      });

      it('keeps a cursor walk exact while rows are added and removed', async () => {
        const t = await newTenant();
        await addUsers(t, ['a', 'b', 'c', 'd', 'e', 'f'].map((userName) => ({ userName })));
        const r = store.reader(t.id);
        const query = { startIndex: 1, count: 2, sortBy: attr('User', 'userName') };
        const first = await r.list('User', { ...query, cursor: '' });
        expect(first.resources.map((x) => x.doc['userName'])).toEqual(['a', 'b']);
        await write(t, async (tx, rev) => {
          await tx.remove('User', 'u0', rev, at(rev)); // 'a', already seen
          await tx.remove('User', 'u2', rev, at(rev)); // 'c', not seen yet
          await tx.insert('User', user('new', { userName: 'bb' }, rev)); // lands after 'b'
        });
        const seen: unknown[] = [];
        let cursor = first.nextCursor;
        while (cursor) {
          const page = await r.list('User', { ...query, cursor });
          seen.push(...page.resources.map((x) => x.doc['userName']));
          cursor = page.nextCursor;
        }
        expect(seen).toEqual(['bb', 'd', 'e', 'f']);
      });

      it('keeps totalResults current across writes, rollbacks and filters', async () => {
        const t = await newTenant();
        const r = store.reader(t.id);
        await addUsers(t, ['a', 'b', 'c'].map((userName) => ({ userName })));
        // count 1 makes every page full, so the total has to be counted.
        const total = async (query: Partial<ListQuery> = {}) =>
          (await r.list('User', { startIndex: 1, count: 1, ...query })).totalResults;
        expect(await total()).toBe(3);
        expect(await total({ cursor: '' })).toBe(3);
        await write(t, (tx, rev) => tx.insert('User', user('d', { userName: 'd' }, rev)));
        expect(await total()).toBe(4);
        await write(t, async (tx, rev) => {
          await tx.remove('User', 'u0', rev, at(rev));
          await tx.remove('User', 'u1', rev, at(rev));
        });
        expect(await total()).toBe(2);
        await store
          .write(t.id, async (tx) => {
            await tx.insert('User', user('e', { userName: 'e' }, await tx.nextRevision()));
            // Inside the transaction the new row counts; outside, after the rollback, it never did.
            expect((await tx.list('User', { startIndex: 1, count: 1 })).totalResults).toBe(3);
            throw new Error('roll back');
          })
          .catch(() => undefined);
        expect(await total()).toBe(2);
        expect(await total({ sortBy: attr('User', 'userName'), descending: true })).toBe(2);
        await write(t, (tx, rev) => tx.insert('User', user('e', { userName: 'e' }, rev)));
        expect(await total()).toBe(3);
      });

      it('refuses malformed and foreign cursors', async () => {
        const first = await reader.list('User', { startIndex: 1, count: 2, cursor: '' });
        const cursor = first.nextCursor!;
        expect(cursor).toBeDefined();
        for (const bad of ['!!!', 'abc', Buffer.from('[1,"x",1,"n"]').toString('base64url'), `${cursor}x`]) {
          await expectCode(reader.list('User', { startIndex: 1, count: 2, cursor: bad }), 'invalid_cursor');
        }
        // Another tenant, another resource type, another sort order: not this walk's cursor.
        await expectCode(store.reader((await newTenant()).id).list('User', { startIndex: 1, count: 2, cursor }), 'invalid_cursor');
        await expectCode(reader.list('Group', { startIndex: 1, count: 2, cursor }), 'invalid_cursor');
        await expectCode(
          reader.list('User', { startIndex: 1, count: 2, cursor, sortBy: attr('User', 'userName') }),
          'invalid_cursor',
        );
        // The right query accepts it.
        expect(ids(await reader.list('User', { startIndex: 1, count: 2, cursor }))).toEqual(['u2', 'u3']);
      });
    });

    describe('filters', () => {
      const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
      // As `normalizeResource` leaves them: every user has a boolean `active`.
      const people: readonly ScimDoc[] = [
        {
          userName: 'alice',
          displayName: 'Alice Liddell',
          name: { givenName: 'Alice', familyName: 'Liddell' },
          emails: [
            { value: 'alice@example.com', type: 'work', primary: true },
            { value: 'alice@home.org', type: 'home' },
          ],
          title: 'Engineering Manager',
          active: true,
          externalId: 'ext-1',
          [ENT]: { department: 'Engineering', employeeNumber: '1001' },
        },
        {
          userName: 'Bob',
          name: { givenName: 'Bob', familyName: 'Builder' },
          emails: [{ value: 'bob@example.org', type: 'work' }],
          title: 'engineer',
          active: false,
          [ENT]: { department: 'Engineering' },
        },
        { userName: 'ÇAĞRI', displayName: 'Çağrı', emails: [], title: '', active: true, [ENT]: { department: 'Sales' } },
        { userName: 'dave', name: { givenName: 'Dave' }, emails: [{ value: 'DAVE@EXAMPLE.COM', type: 'home' }], active: true },
        { userName: 'eve', title: 'Manager', externalId: 'ext-5', active: false },
        { userName: 'o\'brien%_x', displayName: '100% _sure_', active: true },
      ];
      const groupDocs: readonly ScimDoc[] = [{ displayName: 'Engineering' }, { displayName: 'engineering' }, { displayName: 'Sales', externalId: 'g-ext' }];
      let tenant: Tenant;
      let rendered: { user: Record<string, unknown>[]; group: Record<string, unknown>[] };

      beforeAll(async () => {
        tenant = await newTenant();
        await write(tenant, async (tx, rev) => {
          for (const [i, doc] of people.entries()) await tx.insert('User', user(`u${i}`, doc, rev));
          for (const [i, doc] of groupDocs.entries()) await tx.insert('Group', group(`g${i}`, doc, rev));
          await tx.addMembers('g0', [{ value: 'u0', type: 'User' }, { value: 'u1', type: 'User' }]);
          await tx.addMembers('g2', [{ value: 'u2', type: 'User' }, { value: 'g0', type: 'Group' }]);
        });
        const render = async (type: ResourceTypeName) => {
          const page = await store.reader(tenant.id).list(type, { startIndex: 1, count: 100, members: true });
          return page.resources.map((r) => ({
            ...r.doc,
            id: r.id,
            meta: { resourceType: type, created: r.created, lastModified: r.lastModified, version: `W/"${r.version}"` },
            ...('members' in r && r.members ? { members: r.members.map((m) => ({ value: m.value, type: m.type, display: m.display })) } : {}),
          }));
        };
        rendered = { user: await render('User'), group: await render('Group') };
      });

      const userFilters = [
        'userName eq "ALICE"',
        'userName eq "çağri"',
        'userName ne "alice"',
        'userName sw "a"',
        'userName co "O"',
        'userName ew "E"',
        'userName co "%"',
        'userName co "_"',
        "userName co \"'\"",
        'displayName co "% _"',
        'userName gt "bob"',
        'userName le "dave"',
        'name.familyName eq "liddell"',
        'name.givenName pr',
        'not (name.givenName pr)',
        'emails co "example.com"',
        'emails.value ew ".org"',
        'emails[type eq "work" and value co "org"]',
        'emails[type eq "home"] and not (emails[type eq "work"])',
        'emails.type eq "work" and emails.value co "home"',
        'emails pr',
        'title pr',
        'title eq ""',
        'title ne "manager"',
        'active eq true',
        'active eq false',
        'active ne true',
        'externalId eq "ext-1"',
        'externalId eq "EXT-1"',
        'externalId pr',
        `${ENT}:department eq "engineering"`,
        `${ENT}:employeeNumber pr`,
        'department eq "Sales" or title co "manager"',
        'not (title co "engineer") and userName pr',
        'id eq "u3"',
        'meta.created ge "2000-01-01T00:00:00Z"',
        'meta.lastModified lt "2000-01-01T00:00:00Z"',
        'meta.resourceType eq "User"',
      ];
      for (const text of userFilters) {
        it(`User: ${text}`, async () => {
          const filter = resolved('User', text);
          const expected = rendered.user.filter((r) => evaluateFilter(filter, r)).map((r) => r.id);
          const page = await store.reader(tenant.id).list('User', { startIndex: 1, count: 100, filter });
          expect(page.resources.map((r) => r.id)).toEqual(expected);
          expect(page.totalResults).toBe(expected.length);
          // The same filter through a cursor walk and through COUNT-only.
          expect((await store.reader(tenant.id).list('User', { startIndex: 1, count: 0, filter })).totalResults).toBe(expected.length);
          const walked: string[] = [];
          let cursor: string | undefined = '';
          while (cursor !== undefined) {
            const next: Awaited<ReturnType<ReturnType<Store['reader']>['list']>> = await store
              .reader(tenant.id)
              .list('User', { startIndex: 1, count: 2, filter, cursor, sortBy: attr('User', 'userName') });
            walked.push(...next.resources.map((r) => r.id));
            cursor = next.nextCursor;
          }
          expect([...walked].sort()).toEqual([...expected].sort());
        });
      }

      const groupFilters = [
        'displayName eq "ENGINEERING"',
        'displayName sw "s"',
        'externalId eq "g-ext"',
        'members eq "u0"',
        'members.value eq "g0"',
        'members[type eq "Group"]',
        'members pr',
        'not (members pr)',
      ];
      for (const text of groupFilters) {
        it(`Group: ${text}`, async () => {
          const filter = resolved('Group', text);
          const expected = rendered.group.filter((r) => evaluateFilter(filter, r)).map((r) => r.id);
          const page = await store.reader(tenant.id).list('Group', { startIndex: 1, count: 100, filter });
          expect(page.resources.map((r) => r.id)).toEqual(expected);
          expect(page.totalResults).toBe(expected.length);
        });
      }

      it('never matches another tenant\'s rows', async () => {
        const other = await newTenant();
        await addUsers(other, [{ userName: 'alice' }]);
        const page = await store.reader(other.id).list('User', { startIndex: 1, count: 10, filter: resolved('User', 'userName eq "alice"') });
        expect(page.resources.map((r) => r.id)).toEqual(['u0']);
        expect(page.totalResults).toBe(1);
        expect(page.resources[0]?.doc).toEqual({ userName: 'alice' });
      });

      it('sorts by a document attribute, missing values last', async () => {
        const page = await store.reader(tenant.id).list('User', { startIndex: 1, count: 100, sortBy: attr('User', 'name.familyName') });
        expect(page.resources.map((r) => r.id).slice(0, 2)).toEqual(['u1', 'u0']);
        const desc = await store
          .reader(tenant.id)
          .list('User', { startIndex: 1, count: 100, sortBy: attr('User', 'name.familyName'), descending: true });
        expect(desc.resources.map((r) => r.id).slice(0, 2)).toEqual(['u0', 'u1']);
      });
    });
  });
}

function change(revision: number): ChangeSet {
  return { resourceType: 'User', resourceId: `r${revision}`, operation: 'create', attributes: [], membersAdded: [], membersRemoved: [] };
}

/** A resolved attribute path, as the filter resolver would produce for `name` or `top.sub`. */
export function attr(type: ResourceTypeName, path: string): ResolvedAttr {
  const [topName, subName] = path.split('.') as [string, string | undefined];
  const top = findTopAttribute(RESOURCE_TYPES[type], undefined, topName);
  if (!top) throw new Error(`no attribute ${path}`);
  const sub = subName === undefined ? undefined : findSubAttribute(top.def, subName);
  return { schema: top.schema, top: top.def, ...(sub ? { sub } : {}) };
}

/** Parses and resolves a filter as the SCIM layer does before it reaches the store. */
export function resolved(type: ResourceTypeName, text: string): Filter {
  const parsed = parseFilter(text);
  if (!parsed.ok) throw parsed.error;
  const result = resolveFilter(parsed.value, RESOURCE_TYPES[type]);
  if (!result.ok) throw result.error;
  return result.value;
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected AppError(${code})`).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
}
