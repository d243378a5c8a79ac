import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor, Change } from '../core/change.js';
import { GENESIS } from '../audit/chain.js';
import { signCheckpoint } from '../audit/checkpoint.js';
import type { AccessChangeRecord, Store, Tenant } from './store.js';

/**
 * The audit part of the store contract (`AuditStore`, and the chain `appendChange` keeps), run
 * against every backend as `runStoreContract` is.
 */
export function runAuditStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`Audit store contract: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    const newTenant = () => store.tenants.create(`audit-${randomUUID()}`);
    const at = (n: number) => new Date(Date.UTC(2031, 0, 1, 0, 0, n)).toISOString();
    const admin: Actor = { tokenId: 'tok-admin', kind: 'admin', requestId: 'req-1', userAgent: 'curl/8' };
    const idp: Actor = { tokenId: 'tok-idp', kind: 'scim' };

    /** One logged write of `change`; the state tables are not what these tests are about. */
    const log = (tenant: Tenant, change: Change, actor: Actor = idp) =>
      store.write(tenant.id, async (tx) => {
        const revision = await tx.nextRevision();
        await tx.appendChange({ revision, at: at(revision), actor, change });
        return revision;
      });
    const userChange = (id: string, title: string): Change => ({
      resourceType: 'User',
      resourceId: id,
      operation: 'patch',
      attributes: [{ path: 'title', before: null, after: title }],
      membersAdded: [],
      membersRemoved: [],
    });
    const memberAdd = (group: string, ...members: string[]): Change => ({
      resourceType: 'Group',
      resourceId: group,
      operation: 'patch',
      attributes: [],
      membersAdded: members,
      membersRemoved: [],
    });
    const binding = (id: string, user: string): Change => ({
      kind: 'policy',
      objectKind: 'binding',
      objectId: id,
      operation: 'create',
      before: null,
      after: { id, role: 'deployer', scope: 'env:prod', subject: { type: 'user', id: user } },
    });
    const access = (revision: number, seq: number, userId: string, change: 'gained' | 'lost'): AccessChangeRecord => ({
      revision,
      seq,
      at: at(revision),
      userId,
      permission: 'env:deploy',
      scope: 'env:prod',
      effect: 'allow',
      change,
      detail: { reason: 'test', via: [] },
    });

    it('chains every entry to the one before, from GENESIS, with the store key', async () => {
      const tenant = await newTenant();
      await log(tenant, userChange('u1', 'Engineer'));
      await log(tenant, memberAdd('g1', 'u1', 'u2'), admin);
      await log(tenant, binding('b1', 'u2'));
      const entries = await store.audit.entries(tenant.id, { limit: 10 });
      expect(entries.map((e) => e.revision)).toEqual([1, 2, 3]);
      let previous = GENESIS;
      for (const entry of entries) {
        expect(entry.hash).toBe(store.audit.hasher(previous, tenant.id, entry));
        previous = entry.hash;
      }
      expect(entries[1]!.actor).toEqual(admin);
      expect(await store.audit.head(tenant.id)).toEqual({ revision: 3, hash: previous });
    });

    it('keeps the chain through a group commit of two tenants, with a write undone after its entry in the middle', async () => {
      const [a, b] = [await newTenant(), await newTenant()];
      const failing = (tenant: Tenant) =>
        store.write(tenant.id, async (tx) => {
          const revision = await tx.nextRevision();
          await tx.appendChange({ revision, at: at(revision), actor: idp, change: userChange('undone', 'x') });
          throw new Error('undone after its entry');
        });
      // Started together, they share transactions; the failing ones are undone alone.
      const writes = Array.from({ length: 24 }, (_, i) => {
        const tenant = i < 12 ? a : b;
        return i % 5 === 2 ? failing(tenant).catch((err: Error) => err.message) : log(tenant, userChange(`u${i}`, `t${i}`));
      });
      const outcomes = await Promise.all(writes);
      expect(outcomes.filter((o) => o === 'undone after its entry')).toHaveLength(5);
      for (const tenant of [a, b]) {
        const entries = await store.audit.entries(tenant.id, { limit: 100 });
        expect(entries.map((e) => e.revision)).toEqual(entries.map((_, i) => i + 1));
        expect(entries.some((e) => e.change.kind !== 'policy' && e.change.resourceId === 'undone')).toBe(false);
        let previous = GENESIS;
        for (const entry of entries) {
          expect(entry.hash).toBe(store.audit.hasher(previous, tenant.id, entry));
          previous = entry.hash;
        }
      }
    });

    it('hashes with the tenant in the entry: the same change in another tenant hashes differently', async () => {
      const [a, b] = [await newTenant(), await newTenant()];
      await log(a, userChange('u1', 'Engineer'));
      await log(b, userChange('u1', 'Engineer'));
      const [ea] = await store.audit.entries(a.id, { limit: 1 });
      const [eb] = await store.audit.entries(b.id, { limit: 1 });
      expect(ea!.hash).not.toBe(eb!.hash);
    });

    it('finds entries by what they touch, kind, actor, time and revision, in both orders', async () => {
      const tenant = await newTenant();
      await log(tenant, userChange('alice', 'Engineer')); // 1
      await log(tenant, memberAdd('eng', 'alice', 'bob'), admin); // 2
      await log(tenant, binding('b1', 'carol')); // 3
      await log(tenant, userChange('bob', 'SRE')); // 4
      const revisions = async (query: Omit<Parameters<Store['audit']['entries']>[1], 'limit'>) =>
        (await store.audit.entries(tenant.id, { limit: 100, ...query })).map((e) => e.revision);
      expect(await revisions({ ref: 'alice' })).toEqual([1, 2]);
      expect(await revisions({ ref: 'bob' })).toEqual([2, 4]);
      expect(await revisions({ ref: 'carol' })).toEqual([3]);
      expect(await revisions({ ref: 'env:prod' })).toEqual([3]);
      expect(await revisions({ ref: 'nobody' })).toEqual([]);
      expect(await revisions({ kinds: ['Group', 'binding'] })).toEqual([2, 3]);
      expect(await revisions({ actorToken: 'tok-admin' })).toEqual([2]);
      expect(await revisions({ since: at(2), until: at(4) })).toEqual([2, 3]);
      expect(await revisions({ afterRevision: 1, untilRevision: 3 })).toEqual([2, 3]);
      expect(await revisions({ descending: true })).toEqual([4, 3, 2, 1]);
      expect(await revisions({ descending: true, afterRevision: 3 })).toEqual([2, 1]);
      expect(await revisions({ ref: 'alice', descending: true })).toEqual([2, 1]);
      expect((await store.audit.entries(tenant.id, { limit: 2 })).map((e) => e.revision)).toEqual([1, 2]);
    });

    it('keeps every tenant to its own entries', async () => {
      const [a, b] = [await newTenant(), await newTenant()];
      await log(a, userChange('shared-id', 'A'));
      expect(await store.audit.entries(b.id, { limit: 10 })).toEqual([]);
      expect(await store.audit.entries(b.id, { ref: 'shared-id', limit: 10 })).toEqual([]);
      expect(await store.audit.head(b.id)).toEqual({ revision: 0, hash: GENESIS });
    });

    it('maps a time to the last revision written by then', async () => {
      const tenant = await newTenant();
      await log(tenant, userChange('u', 'a'));
      await log(tenant, userChange('u', 'b'));
      expect(await store.audit.revisionAt(tenant.id, at(0))).toBe(0);
      expect(await store.audit.revisionAt(tenant.id, at(1))).toBe(1);
      expect(await store.audit.revisionAt(tenant.id, new Date(Date.parse(at(2)) - 1).toISOString())).toBe(1);
      expect(await store.audit.revisionAt(tenant.id, at(50))).toBe(2);
    });

    it('records derived access changes only from the cursor it was at, with their refs and snapshot', async () => {
      const tenant = await newTenant();
      await log(tenant, binding('b1', 'dave')); // 1
      await log(tenant, userChange('erin', 'x')); // 2
      expect(await store.audit.cursor(tenant.id, 'derive')).toBeUndefined();
      const state = new Uint8Array([1, 2, 3]);
      expect(await store.audit.recordDerived(tenant.id, 0, 1, [access(1, 1, 'dave', 'gained')], { revision: 1, state })).toBe(true);
      // A second deriver that read the old cursor loses, and writes nothing.
      expect(await store.audit.recordDerived(tenant.id, 0, 1, [access(1, 1, 'dave', 'gained')])).toBe(false);
      expect(await store.audit.cursor(tenant.id, 'derive')).toBe('1');
      expect(await store.audit.recordDerived(tenant.id, 1, 2, [access(2, 1, 'dave', 'lost'), access(2, 2, 'erin', 'gained')])).toBe(true);
      expect(await store.audit.cursor(tenant.id, 'derive')).toBe('2');

      const all = await store.audit.accessChanges(tenant.id, { limit: 10 });
      expect(all.map((r) => [r.revision, r.seq, r.userId, r.change])).toEqual([
        [1, 1, 'dave', 'gained'],
        [2, 1, 'dave', 'lost'],
        [2, 2, 'erin', 'gained'],
      ]);
      expect(all[0]).toEqual(access(1, 1, 'dave', 'gained'));
      expect((await store.audit.accessChanges(tenant.id, { userId: 'dave', limit: 10 })).map((r) => r.revision)).toEqual([1, 2]);
      expect((await store.audit.accessChanges(tenant.id, { after: { revision: 2, seq: 1 }, limit: 10 })).map((r) => r.userId)).toEqual([
        'erin',
      ]);
      expect(await store.audit.accessChanges(tenant.id, { permission: 'other:x', limit: 10 })).toEqual([]);
      expect((await store.audit.accessChanges(tenant.id, { untilRevision: 1, limit: 10 })).length).toBe(1);
      // Erin's access changed at 2, and dave's at 1 and 2: "everything about them" finds those entries.
      expect((await store.audit.entries(tenant.id, { ref: 'dave', limit: 10 })).map((e) => e.revision)).toEqual([1, 2]);
      expect((await store.audit.entries(tenant.id, { ref: 'erin', limit: 10 })).map((e) => e.revision)).toEqual([2]);

      expect(await store.audit.snapshotAtOrBefore(tenant.id, 0)).toBeUndefined();
      expect(await store.audit.snapshotAtOrBefore(tenant.id, 5)).toEqual({ revision: 1, state });
    });

    it('stores checkpoints once per revision and kind, oldest first', async () => {
      const tenant = await newTenant();
      await log(tenant, userChange('u', 'a'));
      const head = await store.audit.head(tenant.id);
      const checkpoint = signCheckpoint(tenant.id, store.audit.key, { ...head, at: at(9), sealed: false });
      await store.audit.addCheckpoint(tenant.id, checkpoint);
      await store.audit.addCheckpoint(tenant.id, checkpoint);
      expect(await store.audit.checkpoints(tenant.id)).toEqual([checkpoint]);
    });

    it('seals: removes the entries up to the seal, keeps its state, and the chain goes on from it', async () => {
      const tenant = await newTenant();
      for (let i = 0; i < 4; i++) await log(tenant, userChange('u', `t${i}`));
      await store.audit.recordDerived(tenant.id, 0, 4, [access(2, 1, 'u', 'gained')]);
      const sealedAt = (await store.audit.entries(tenant.id, { untilRevision: 3, descending: true, limit: 1 }))[0]!;
      const seal = signCheckpoint(tenant.id, store.audit.key, { revision: 3, hash: sealedAt.hash, at: at(20), sealed: true });
      const state = new Uint8Array([9]);
      expect(await store.audit.seal(tenant.id, seal, { revision: 3, state })).toBe(3);
      expect((await store.audit.entries(tenant.id, { limit: 10 })).map((e) => e.revision)).toEqual([4]);
      expect(await store.audit.entries(tenant.id, { ref: 'u', untilRevision: 3, limit: 10 })).toEqual([]);
      expect(await store.audit.accessChanges(tenant.id, { limit: 10 })).toEqual([]);
      expect(await store.audit.snapshotAtOrBefore(tenant.id, 3)).toEqual({ revision: 3, state });
      expect(await store.audit.checkpoints(tenant.id)).toEqual([seal]);

      const revision = await log(tenant, userChange('u', 'after'));
      const [fourth, fifth] = await store.audit.entries(tenant.id, { limit: 10 });
      expect(fifth!.revision).toBe(revision);
      expect(fifth!.hash).toBe(store.audit.hasher(fourth!.hash, tenant.id, fifth!));
    });

    it('chains the first entry after a seal that removed everything to the seal', async () => {
      const tenant = await newTenant();
      await log(tenant, userChange('u', 'a'));
      const [only] = await store.audit.entries(tenant.id, { limit: 1 });
      const seal = signCheckpoint(tenant.id, store.audit.key, { revision: 1, hash: only!.hash, at: at(30), sealed: true });
      await store.audit.seal(tenant.id, seal, { revision: 1, state: new Uint8Array([0]) });
      expect(await store.audit.head(tenant.id)).toEqual({ revision: 1, hash: only!.hash });
      await log(tenant, userChange('u', 'b'));
      const [next] = await store.audit.entries(tenant.id, { limit: 1 });
      expect(next!.hash).toBe(store.audit.hasher(only!.hash, tenant.id, next!));
    });
  });
}
