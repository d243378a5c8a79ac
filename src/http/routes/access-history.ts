import type { FastifyInstance } from 'fastify';
import { AppError } from '../../core/errors.js';
import { parseResourceRef } from '../../authz/model.js';
import { accessHistory, type AccessHistoryDeps } from '../../service/access-history.js';
import type { Authenticator } from '../auth.js';
import { schemaError } from './authzen-schemas.js';
import { authOf, sendJson } from './authz-reply.js';

export interface AccessHistoryRouteDeps extends AccessHistoryDeps {
  readonly auth: Authenticator;
  /** Derives every write committed so far, so the history includes the caller's own last write. */
  readonly settle: (tenantId: string) => Promise<void>;
}

interface AccessHistoryQuery {
  readonly user: string;
  readonly permission: string;
  readonly resource: string;
}

const QUERY = {
  type: 'object',
  required: ['user', 'permission', 'resource'],
  properties: {
    user: { type: 'string', minLength: 1, maxLength: 1024 },
    permission: { type: 'string', minLength: 1, maxLength: 1024 },
    resource: { type: 'string', minLength: 1, maxLength: 1024 },
  },
} as const;

/**
 * `GET /audit/v1/access-history?user=alice&permission=deploy&resource=env:prod`: when the user
 * could do it, and why each interval started and ended. `permission` is the action, or
 * `type:action` naming the resource's type. Admin tokens, as the rest of `/audit/v1`.
 */
export function registerAccessHistoryRoute(app: FastifyInstance, deps: AccessHistoryRouteDeps): void {
  app.setSchemaErrorFormatter(schemaError);
  app.addHook('onRequest', async (request) => {
    request.auth = await deps.auth.authenticate(request, 'admin');
  });
  app.get<{ Querystring: AccessHistoryQuery }>('/access-history', { schema: { querystring: QUERY } }, async (request, reply) => {
    const { tenantId } = authOf(request);
    const { user, permission, resource: resourceText } = request.query;
    const resource = parseResourceRef(resourceText);
    if (!resource) throw new AppError('invalid_value', `query parameter \`resource\` must be \`type:id\`, not \`${resourceText}\``);
    const colon = permission.indexOf(':');
    if (colon >= 0 && permission.slice(0, colon) !== resource.type) {
      throw new AppError('invalid_value', `permission \`${permission}\` is not an action on resources of type \`${resource.type}\``);
    }
    const action = colon >= 0 ? permission.slice(colon + 1) : permission;
    await deps.settle(tenantId);
    const found = await accessHistory(deps, tenantId, { user, action, resource });
    const head = await deps.store.audit.head(tenantId);
    return sendJson(request, reply, head.revision, JSON.stringify(found));
  });
}
