import { createPublicKey, sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Checkpoint } from '../store/store.js';
import type { AuditKey } from './keys.js';

type Signed = Pick<Checkpoint, 'revision' | 'hash' | 'at' | 'sealed'>;

/** What a checkpoint's signature covers: the tenant, so a checkpoint cannot be moved to another. */
function message(tenantId: string, c: Signed): Buffer {
  return Buffer.from(canonicalize({ tenant: tenantId, revision: c.revision, hash: c.hash, at: c.at, sealed: c.sealed })!);
}

export function signCheckpoint(tenantId: string, key: AuditKey, head: Signed): Checkpoint {
  return {
    ...head,
    keyId: key.keyId,
    publicKey: key.publicKey,
    signature: sign(null, message(tenantId, head), key.privateKey).toString('base64url'),
  };
}

/**
 * Checks the signature with `trusted` when given (a public key kept outside the database),
 * otherwise with the key the checkpoint names: that proves the checkpoint was not altered, but not
 * who made it, since whoever can write the table could store a key of their own.
 */
export function checkpointSignatureValid(tenantId: string, checkpoint: Checkpoint, trusted?: string): boolean {
  try {
    const key = createPublicKey(trusted ?? checkpoint.publicKey);
    return verify(null, message(tenantId, checkpoint), key, Buffer.from(checkpoint.signature, 'base64url'));
  } catch {
    return false;
  }
}
