import type { FastifyRequest } from 'fastify';
import type { Actor } from '../core/change.js';
import { AppError } from '../core/errors.js';
import { hashToken } from '../service/tokens.js';
import type { Store, TokenRecord, TokenScope } from '../store/store.js';

export interface Authenticated {
  readonly tenantId: string;
  readonly tokenId: string;
  readonly scope: TokenScope;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth?: Authenticated;
  }
}

export interface Authenticator {
  /** Resolves the bearer token of a request, or throws 401 (missing, unknown, revoked) / 403 (wrong scope). */
  authenticate(request: FastifyRequest, scope: TokenScope): Promise<Authenticated>;
  /** Drops cached lookups, e.g. right after a revoke through this process. */
  forget(): void;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Token lookups are cached briefly because every SCIM request needs one and IdPs send bursts;
 * the cache is short (`cacheMs`) so a token revoked from another process stops working within it.
 */
export function createAuthenticator(store: Store, cacheMs: number, now: () => number = Date.now): Authenticator {
  const cache = new Map<string, { record: TokenRecord | undefined; until: number }>();

  // Keyed by the bearer token itself, so a cached request skips the SHA-256 too: the token is in
  // this process's memory for the request anyway, and the cache lives no longer than `cacheMs`.
  async function lookup(token: string): Promise<TokenRecord | undefined> {
    const hit = cache.get(token);
    const time = now();
    if (hit && hit.until > time) return hit.record;
    const record = await store.tokens.findByHash(hashToken(token));
    if (cache.size > 10_000) cache.clear();
    cache.set(token, { record, until: time + cacheMs });
    return record;
  }

  return {
    async authenticate(request, scope) {
      const header = request.headers.authorization;
      const match = header ? BEARER.exec(header) : null;
      if (!match) throw new AppError('unauthorized', 'a bearer token is required');
      const record = await lookup(match[1]!);
      if (!record || record.revokedAt !== null) throw new AppError('unauthorized', 'the bearer token is not valid');
      if (record.scope !== scope) {
        throw new AppError('forbidden', `a token of scope \`${record.scope}\` cannot use this endpoint; it needs scope \`${scope}\``);
      }
      return { tenantId: record.tenantId, tokenId: record.id, scope: record.scope };
    },
    forget: () => cache.clear(),
  };
}

export function actorOf(request: FastifyRequest, auth: Authenticated): Actor {
  const userAgent = request.headers['user-agent'];
  return {
    tokenId: auth.tokenId,
    kind: auth.scope === 'admin' ? 'admin' : 'scim',
    requestId: request.id,
    ...(userAgent ? { userAgent } : {}),
  };
}
