import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * The tenant-independent audit key: an Ed25519 key pair that signs checkpoints, and the HMAC key
 * of the entry chain derived from it (HKDF), so one secret file is all an operator keeps safe.
 */
export interface AuditKey {
  readonly privateKey: KeyObject;
  /** SPKI PEM. */
  readonly publicKey: string;
  /** The first 16 hex digits of the SHA-256 of the public key's DER: names the key in checkpoints. */
  readonly keyId: string;
  readonly chainKey: Uint8Array;
}

export function auditKeyFromPem(pem: string): AuditKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('the audit key must be an Ed25519 private key (PEM)');
  const publicObject = createPublicKey(privateKey);
  const der = publicObject.export({ type: 'spki', format: 'der' });
  const raw = privateKey.export({ type: 'pkcs8', format: 'der' });
  return {
    privateKey,
    publicKey: publicObject.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: createHash('sha256').update(der).digest('hex').slice(0, 16),
    chainKey: new Uint8Array(hkdfSync('sha256', raw, 'scimitar', 'audit chain v1', 32)),
  };
}

export function generateAuditKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * Reads the key file, creating it (mode 0600) with a new key when it does not exist, so a fresh
 * install chains and signs from its first write.
 */
export function loadOrCreateAuditKey(path: string): AuditKey {
  if (!existsSync(path)) {
    mkdirSync(dirname(resolve(path)), { recursive: true });
    try {
      writeFileSync(path, generateAuditKeyPem(), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process starting at the same moment wrote it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return auditKeyFromPem(readFileSync(path, 'utf8'));
}

/** Where the store opened with no key file configured keeps its key. */
export interface AuditKeyOptions {
  /** An Ed25519 private key (PKCS#8 PEM) file; created when missing. */
  readonly auditKeyFile?: string;
  /** A key already loaded (tests, the library). */
  readonly auditKey?: AuditKey;
}

export function resolveAuditKey(options: AuditKeyOptions, defaultFile: string | undefined): AuditKey {
  if (options.auditKey) return options.auditKey;
  const file = options.auditKeyFile ?? defaultFile;
  // No file at all only for an in-memory database, whose log dies with the process anyway.
  return file === undefined ? auditKeyFromPem(generateAuditKeyPem()) : loadOrCreateAuditKey(file);
}
