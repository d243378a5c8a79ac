import { createHmac } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { ChangeRecord, EntryHasher } from '../store/store.js';

/** The hash the first entry of a tenant chains to. */
export const GENESIS = '0'.repeat(64);

/**
 * The chain: `hash(n) = HMAC-SHA256(chainKey, hash(n-1) + "\n" + JCS(entry n))`, where the entry
 * is `{tenant, revision, at, actor, change}` in RFC 8785 canonical JSON, so a JSONB round trip
 * (which reorders keys) hashes the same. Keyed, because an unkeyed chain can be recomputed by
 * anyone who can edit the table: without the key an edit cannot be hidden by rewriting the
 * hashes after it. The signed checkpoints (`checkpoint.ts`) let others verify without the key.
 */
export function createEntryHasher(chainKey: Uint8Array): EntryHasher {
  return (previousHash, tenantId, record) =>
    createHmac('sha256', chainKey).update(previousHash).update('\n').update(canonicalEntry(tenantId, record)).digest('hex');
}

export function canonicalEntry(tenantId: string, record: ChangeRecord): string {
  const { revision, at, actor, change } = record;
  const text = canonicalize({ tenant: tenantId, revision, at, actor, change });
  if (text === undefined) throw new TypeError('an audit entry must be JSON');
  return text;
}
