import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../../config/config.js';
import type { Clock } from '../../../core/clock.js';
import type { AccessService } from '../../../service/access.js';
import type { PolicyAdmin } from '../../../service/policy-admin.js';
import type { Store } from '../../../store/store.js';
import type { Authenticator } from '../../auth.js';

export interface AdminRouteDeps {
  readonly config: Config;
  readonly auth: Authenticator;
  readonly policy: PolicyAdmin;
  readonly access: AccessService;
  readonly store: Store;
  /** Turns a grant's `duration` into `expiresAt`; the system clock when not given. */
  readonly clock?: Clock;
}

/** The admin API's base URL as clients reach it, for `Location`. */
export function adminBaseUrl(request: FastifyRequest, config: Config): string {
  const origin = config.baseUrl ?? `${request.protocol}://${request.host}`;
  return `${origin.replace(/\/+$/, '')}/admin/v1`;
}

/**
 * On admin writes the header carries the revision the write produced: a check that passes it as
 * `atLeastRevision` is answered only once the index has that write, on whichever node it lands.
 */
export { REVISION_HEADER } from '../authz-reply.js';

export function sendJson(reply: FastifyReply, status: number, body?: unknown): FastifyReply {
  reply.code(status);
  if (body === undefined) return reply.send();
  return reply.type('application/json; charset=utf-8').send(body);
}

export function ifMatchOf(request: FastifyRequest): { ifMatch?: string } {
  const ifMatch = request.headers['if-match'];
  return ifMatch === undefined ? {} : { ifMatch };
}
