import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Store, TokenRecord, TokenScope } from '../store/store.js';

export const TOKEN_SCOPES: readonly TokenScope[] = ['scim', 'admin', 'authz'];

/** Bearer tokens carry their scope in a readable prefix, so a leaked token is easy to recognise and grep for. */
const PREFIX = 'scimitar';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface IssuedToken {
  readonly record: TokenRecord;
  /** Shown once; only its hash is stored. */
  readonly token: string;
}

export async function issueToken(
  store: Store,
  clock: Clock,
  tenantId: string,
  scope: TokenScope,
  name: string,
): Promise<IssuedToken> {
  if (!TOKEN_SCOPES.includes(scope)) {
    throw new AppError('invalid_value', `scope \`${scope}\` is not one of ${TOKEN_SCOPES.join(', ')}`);
  }
  const token = `${PREFIX}_${scope}_${randomBytes(32).toString('base64url')}`;
  const record = await store.tokens.create({
    id: randomUUID(),
    tenantId,
    name,
    scope,
    hash: hashToken(token),
    createdAt: clock.now().toISOString(),
  });
  return { record, token };
}
