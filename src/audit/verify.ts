import type { AuditEntry, Checkpoint, EntryHasher } from '../store/store.js';
import { GENESIS } from './chain.js';
import { checkpointSignatureValid } from './checkpoint.js';

/**
 * What is wrong at the first bad revision:
 *
 * - `hash_mismatch`: the entry's hash is not the HMAC of its content and the hash before it: the
 *   entry was edited, or it was inserted or moved there (its revision is part of what is hashed)
 * - `missing`: no entry has this revision, though a later entry, the tenant's revision counter or a
 *   checkpoint says it was written (deleted, or a truncated tail)
 * - `beyond_head`: an entry after the tenant's revision counter (inserted)
 * - `before_seal`: an entry at or before the seal verification starts from, whose entries the seal removed (inserted)
 * - `out_of_order`: entries not in ascending revision order (never from the store, whose key is the revision)
 * - `checkpoint_signature`: the checkpoint's signature does not verify with the key it names
 * - `checkpoint_untrusted`: it verifies, but with a key other than the trusted one
 * - `checkpoint_mismatch`: the chain's hash at the checkpoint's revision differs from the one it signed
 */
export type ChainProblem =
  | 'hash_mismatch'
  | 'missing'
  | 'beyond_head'
  | 'before_seal'
  | 'out_of_order'
  | 'checkpoint_signature'
  | 'checkpoint_untrusted'
  | 'checkpoint_mismatch';

export interface ChainFault {
  readonly revision: number;
  readonly problem: ChainProblem;
  readonly detail: string;
}

export interface VerifyInput {
  readonly tenantId: string;
  readonly hasher: EntryHasher;
  /** Ascending by revision. Read once, one at a time: memory does not grow with the log. */
  readonly entries: AsyncIterable<AuditEntry>;
  /** Ascending by revision, as `AuditStore#checkpoints`. */
  readonly checkpoints: readonly Checkpoint[];
  /** The tenant's revision counter: the log must reach it. */
  readonly headRevision: number;
  /** SPKI PEM kept outside the database: checkpoints must be signed with it. */
  readonly trustedPublicKey?: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  /** Entries whose hash verified. */
  readonly entries: number;
  /** Checkpoints whose signature verified, and whose hash matched the chain where the chain still holds their revision. */
  readonly checkpoints: number;
  /** The last revision that verified (the seal's when no entry after it did). */
  readonly lastRevision: number;
  /** The seal verification started from: the entries up to it were removed by retention. */
  readonly seal?: { readonly revision: number; readonly at: string };
  readonly firstBad?: ChainFault;
}

/**
 * Verifies a tenant's audit chain in one pass: each entry's HMAC against its content and the hash
 * before it, the revisions gap-free up to the tenant's counter, and each checkpoint's signature and
 * hash. It starts at the newest validly signed seal (from its hash, at the revision after it), or at
 * revision 1 from `GENESIS`, and stops at the first problem in the chain, reporting the lowest bad
 * revision (a checkpoint with a bad signature below it included).
 *
 * What it cannot see: a tail removed together with every checkpoint past it and the counter rolled
 * back to match. Checkpoints kept outside the database (or a `trustedPublicKey` and an exported
 * checkpoint) close that gap.
 *
 * @example
 *   const result = await verifyChain({ tenantId, hasher: store.audit.hasher, entries, checkpoints, headRevision: tenant.revision });
 *   if (!result.ok) console.log(`revision ${result.firstBad.revision}: ${result.firstBad.problem}`);
 */
export async function verifyChain(input: VerifyInput): Promise<VerifyResult> {
  const { tenantId, hasher, headRevision, trustedPublicKey } = input;
  const signatureFaults: ChainFault[] = [];
  const valid: Checkpoint[] = [];
  for (const checkpoint of input.checkpoints) {
    const fault = signatureFault(tenantId, checkpoint, trustedPublicKey);
    if (fault) signatureFaults.push(fault);
    else valid.push(checkpoint);
  }
  const seal = valid.filter((c) => c.sealed).at(-1);
  const start = seal?.revision ?? 0;
  let previous = seal?.hash ?? GENESIS;
  let expected = start + 1;
  let entries = 0;
  // Those before the seal can only be checked for their signature: their entries are gone.
  let checked = valid.filter((c) => c.revision < start || (c.revision === start && c.hash === previous)).length;
  // Checkpoints the chain still holds, checked as the walk passes their revision.
  const pending = valid.filter((c) => c.revision > start);
  const atStart = valid.find((c) => c.revision === start && c.hash !== previous);
  let chainFault: ChainFault | undefined = atStart && mismatch(atStart);
  let next = 0;

  if (!chainFault) {
    for await (const entry of input.entries) {
      chainFault = entryFault(entry, expected, start, headRevision);
      if (!chainFault) {
        const hash = hasher(previous, tenantId, entry);
        if (hash !== entry.hash) {
          const detail = `entry ${entry.revision} does not match its hash: it was edited, inserted or moved`;
          chainFault = { revision: entry.revision, problem: 'hash_mismatch', detail };
        } else {
          previous = hash;
          expected = entry.revision + 1;
          entries += 1;
          for (; next < pending.length && pending[next]!.revision === entry.revision; next++) {
            if (pending[next]!.hash !== hash) chainFault ??= mismatch(pending[next]!);
            else checked += 1;
          }
        }
      }
      if (chainFault) break;
    }
  }
  if (!chainFault) {
    const owed = Math.max(headRevision, pending.at(-1)?.revision ?? 0);
    if (expected <= owed) {
      const why = owed === headRevision ? `the tenant is at revision ${headRevision}` : `a checkpoint was signed at revision ${owed}`;
      chainFault = { revision: expected, problem: 'missing', detail: `the log ends before revision ${expected}, but ${why}` };
    }
  }
  const firstBad = [chainFault, ...signatureFaults]
    .filter((f): f is ChainFault => f !== undefined)
    .reduce<ChainFault | undefined>((first, f) => (first === undefined || f.revision < first.revision ? f : first), undefined);
  return {
    ok: firstBad === undefined,
    entries,
    checkpoints: checked,
    lastRevision: expected - 1,
    ...(seal ? { seal: { revision: seal.revision, at: seal.at } } : {}),
    ...(firstBad ? { firstBad } : {}),
  };
}

function signatureFault(tenantId: string, checkpoint: Checkpoint, trusted: string | undefined): ChainFault | undefined {
  if (checkpointSignatureValid(tenantId, checkpoint, trusted)) return undefined;
  const what = checkpoint.sealed ? 'seal' : 'checkpoint';
  if (trusted !== undefined && checkpointSignatureValid(tenantId, checkpoint)) {
    return { revision: checkpoint.revision, problem: 'checkpoint_untrusted', detail: `the ${what} at revision ${checkpoint.revision} is signed by key \`${checkpoint.keyId}\`, not the trusted key` };
  }
  return { revision: checkpoint.revision, problem: 'checkpoint_signature', detail: `the ${what} at revision ${checkpoint.revision} has a signature that does not verify` };
}

function mismatch(checkpoint: Checkpoint): ChainFault {
  return {
    revision: checkpoint.revision,
    problem: 'checkpoint_mismatch',
    detail: `the ${checkpoint.sealed ? 'seal' : 'checkpoint'} at revision ${checkpoint.revision} signed another hash than the chain has there`,
  };
}

/** Where the entry sits, before its hash is looked at: a gap, an entry out of place. */
function entryFault(entry: AuditEntry, expected: number, start: number, headRevision: number): ChainFault | undefined {
  const { revision } = entry;
  if (revision <= start) {
    return { revision, problem: 'before_seal', detail: `entry ${revision} is at or before the seal at revision ${start}, which removed those entries` };
  }
  if (revision < expected) return { revision, problem: 'out_of_order', detail: `entry ${revision} comes after entry ${expected - 1}` };
  if (revision > expected) return { revision: expected, problem: 'missing', detail: `entry ${expected} is missing: the next entry is ${revision}` };
  if (revision > headRevision) {
    return { revision, problem: 'beyond_head', detail: `entry ${revision} is past the tenant's revision ${headRevision}` };
  }
  return undefined;
}
