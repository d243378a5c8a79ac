import { describe, expect, it } from 'vitest';
import type { Change } from '../core/change.js';
import type { AuditEntry, Checkpoint } from '../store/store.js';
import { createEntryHasher, GENESIS } from './chain.js';
import { signCheckpoint } from './checkpoint.js';
import { auditKeyFromPem, generateAuditKeyPem } from './keys.js';
import { verifyChain, type VerifyInput } from './verify.js';

const TENANT = 't1';
const key = auditKeyFromPem(generateAuditKeyPem());
const otherKey = auditKeyFromPem(generateAuditKeyPem());
const hasher = createEntryHasher(key.chainKey);

function change(n: number): Change {
  return { resourceType: 'User', resourceId: `u${n}`, operation: 'create', attributes: [{ path: 'userName', before: null, after: `user${n}` }], membersAdded: [], membersRemoved: [] };
}

/** A genuine chain of `count` entries after `from` (a seal's revision and hash, or the start). */
function chain(count: number, from = { revision: 0, hash: GENESIS }): AuditEntry[] {
  const out: AuditEntry[] = [];
  let previous = from.hash;
  for (let revision = from.revision + 1; revision <= from.revision + count; revision++) {
    const record = { revision, at: new Date(Date.UTC(2026, 0, 1, 0, 0, revision)).toISOString(), actor: { tokenId: 'tok', kind: 'scim' as const }, change: change(revision) };
    previous = hasher(previous, TENANT, record);
    out.push({ ...record, hash: previous });
  }
  return out;
}

function checkpointAt(entries: readonly AuditEntry[], revision: number, options: { sealed?: boolean; signer?: typeof key } = {}): Checkpoint {
  const hash = entries.find((e) => e.revision === revision)!.hash;
  return signCheckpoint(TENANT, options.signer ?? key, { revision, hash, at: '2026-02-01T00:00:00.000Z', sealed: options.sealed ?? false });
}

async function* stream(entries: readonly AuditEntry[]): AsyncIterable<AuditEntry> {
  yield* entries;
}

function verify(entries: readonly AuditEntry[], rest: Partial<Omit<VerifyInput, 'entries'>> = {}) {
  return verifyChain({ tenantId: TENANT, hasher, checkpoints: [], headRevision: entries.at(-1)?.revision ?? 0, ...rest, entries: stream(entries) });
}

describe('verifyChain', () => {
  it('passes a clean chain with its checkpoints', async () => {
    const entries = chain(10);
    const result = await verify(entries, { checkpoints: [checkpointAt(entries, 4), checkpointAt(entries, 10)] });
    expect(result).toEqual({ ok: true, entries: 10, checkpoints: 2, lastRevision: 10 });
  });

  it('passes an empty log at revision 0', async () => {
    expect(await verify([])).toEqual({ ok: true, entries: 0, checkpoints: 0, lastRevision: 0 });
  });

  it('names an edited entry', async () => {
    const entries = chain(10);
    entries[5] = { ...entries[5]!, change: change(99) };
    expect((await verify(entries)).firstBad).toMatchObject({ revision: 6, problem: 'hash_mismatch' });
  });

  it('names an edited entry whose hash was recomputed without the key, and the one after that no longer chains', async () => {
    const entries = chain(10);
    const forged = createEntryHasher(new Uint8Array(32));
    entries[2] = { ...entries[2]!, actor: { tokenId: 'intruder', kind: 'admin' }, hash: forged(entries[1]!.hash, TENANT, entries[2]!) };
    expect(await verify(entries)).toMatchObject({ ok: false, entries: 2, lastRevision: 2, firstBad: { revision: 3, problem: 'hash_mismatch' } });
  });

  it('names a deleted entry', async () => {
    const entries = chain(10).filter((e) => e.revision !== 7);
    expect((await verify(entries, { headRevision: 10 })).firstBad).toMatchObject({ revision: 7, problem: 'missing' });
  });

  it('names a deleted tail against the revision counter', async () => {
    const entries = chain(10).slice(0, 8);
    expect((await verify(entries, { headRevision: 10 })).firstBad).toMatchObject({ revision: 9, problem: 'missing' });
  });

  it('names a deleted tail against a checkpoint, even with the counter rolled back', async () => {
    const entries = chain(10);
    const checkpoints = [checkpointAt(entries, 9)];
    const result = await verify(entries.slice(0, 6), { headRevision: 6, checkpoints });
    expect(result.firstBad).toMatchObject({ revision: 7, problem: 'missing' });
  });

  it('names an inserted entry (later revisions shifted up)', async () => {
    const entries = chain(10);
    const shifted = entries.slice(4).map((e) => ({ ...e, revision: e.revision + 1 }));
    const forged: AuditEntry = { ...entries[4]!, change: change(50), hash: 'f'.repeat(64) };
    const result = await verify([...entries.slice(0, 4), forged, ...shifted], { headRevision: 11 });
    expect(result.firstBad).toMatchObject({ revision: 5, problem: 'hash_mismatch' });
  });

  it('names an entry beyond the revision counter', async () => {
    const entries = chain(10);
    expect((await verify(entries, { headRevision: 9 })).firstBad).toMatchObject({ revision: 10, problem: 'beyond_head' });
  });

  it('names the first of two swapped entries', async () => {
    const entries = chain(10);
    const swapped = [...entries.slice(0, 3), { ...entries[4]!, revision: 4 }, { ...entries[3]!, revision: 5 }, ...entries.slice(5)];
    expect((await verify(swapped)).firstBad).toMatchObject({ revision: 4, problem: 'hash_mismatch' });
  });

  it('names entries out of order', async () => {
    const entries = chain(5);
    const result = await verify([entries[0]!, entries[1]!, entries[0]!], { headRevision: 5 });
    expect(result.firstBad).toMatchObject({ revision: 1, problem: 'out_of_order' });
  });

  it('names a checkpoint with a bad signature, even below an entry problem', async () => {
    const entries = chain(10);
    const tampered = { ...checkpointAt(entries, 3), at: '2030-01-01T00:00:00.000Z' };
    entries[7] = { ...entries[7]!, at: '2020-01-01T00:00:00.000Z' };
    const result = await verify(entries, { checkpoints: [tampered] });
    expect(result.firstBad).toMatchObject({ revision: 3, problem: 'checkpoint_signature' });
  });

  it('names a checkpoint whose hash differs from the chain', async () => {
    const entries = chain(10);
    const wrong = signCheckpoint(TENANT, key, { revision: 6, hash: entries[2]!.hash, at: '2026-02-01T00:00:00.000Z', sealed: false });
    const result = await verify(entries, { checkpoints: [checkpointAt(entries, 2), wrong] });
    expect(result).toMatchObject({ ok: false, checkpoints: 1, firstBad: { revision: 6, problem: 'checkpoint_mismatch' } });
  });

  it('with a trusted key, names a checkpoint signed by another key', async () => {
    const entries = chain(10);
    const checkpoints = [checkpointAt(entries, 2), checkpointAt(entries, 5, { signer: otherKey })];
    expect((await verify(entries, { checkpoints })).ok).toBe(true);
    const result = await verify(entries, { checkpoints, trustedPublicKey: key.publicKey });
    expect(result.firstBad).toMatchObject({ revision: 5, problem: 'checkpoint_untrusted' });
  });

  it('starts at the newest valid seal', async () => {
    const all = chain(10);
    const seal = checkpointAt(all, 6, { sealed: true });
    const checkpoints = [checkpointAt(all, 3), seal, checkpointAt(all, 8)];
    const result = await verify(all.slice(6), { headRevision: 10, checkpoints });
    expect(result).toEqual({ ok: true, entries: 4, checkpoints: 3, lastRevision: 10, seal: { revision: 6, at: seal.at } });
  });

  it('passes a seal with no entry after it', async () => {
    const all = chain(4);
    const result = await verify([], { headRevision: 4, checkpoints: [checkpointAt(all, 4, { sealed: true })] });
    expect(result).toMatchObject({ ok: true, entries: 0, lastRevision: 4, seal: { revision: 4 } });
  });

  it('names an entry at or before the seal', async () => {
    const all = chain(10);
    const result = await verify(all.slice(5), { headRevision: 10, checkpoints: [checkpointAt(all, 6, { sealed: true })] });
    expect(result.firstBad).toMatchObject({ revision: 6, problem: 'before_seal' });
  });

  it('does not start at a forged seal', async () => {
    const all = chain(10);
    const forged = { ...checkpointAt(all, 6, { sealed: true }), signature: checkpointAt(all, 5).signature };
    const result = await verify(all.slice(6), { headRevision: 10, checkpoints: [forged] });
    expect(result.firstBad).toMatchObject({ revision: 1, problem: 'missing' });
  });

  it('names an edited entry after a seal', async () => {
    const all = chain(10);
    const kept = all.slice(6);
    kept[1] = { ...kept[1]!, at: '2026-06-01T00:00:00.000Z' };
    const result = await verify(kept, { headRevision: 10, checkpoints: [checkpointAt(all, 6, { sealed: true })] });
    expect(result).toMatchObject({ entries: 1, lastRevision: 7, firstBad: { revision: 8, problem: 'hash_mismatch' } });
  });

  it('reads entries one at a time, and none after the first bad one', async () => {
    const entries = chain(50);
    entries[9] = { ...entries[9]!, change: change(99) };
    let read = 0;
    async function* counted(): AsyncIterable<AuditEntry> {
      for (const entry of entries) {
        read += 1;
        yield entry;
      }
    }
    const result = await verifyChain({ tenantId: TENANT, hasher, entries: counted(), checkpoints: [], headRevision: 50 });
    expect(result.firstBad).toMatchObject({ revision: 10 });
    expect(read).toBe(10);
  });
});
