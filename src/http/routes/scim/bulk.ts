import type { FastifyInstance } from 'fastify';
import { etagOf } from '../../../scim/etag.js';
import { RESOURCE_TYPES } from '../../../scim/schema/resource-types.js';
import { BULK_RESPONSE } from '../../../scim/schema/urns.js';
import { runBulk } from '../../../service/bulk.js';
import { actorOf } from '../../auth.js';
import { scimErrorBody } from '../../error-mapper.js';
import { sendScim } from '../../scim-reply.js';
import { requireAuth, scimBaseUrl, type ScimRouteDeps } from './context.js';

export function registerBulkRoute(app: FastifyInstance, deps: ScimRouteDeps): void {
  app.post('/Bulk', async (request, reply) => {
    const auth = requireAuth(request);
    const results = await runBulk(deps.scim, auth.tenantId, actorOf(request, auth), request.body, deps.config.bulkMaxOperations);
    const base = scimBaseUrl(request, deps.config);
    return sendScim(reply, 200, {
      schemas: [BULK_RESPONSE],
      Operations: results.map((r) => ({
        method: r.method,
        ...(r.bulkId !== undefined ? { bulkId: r.bulkId } : {}),
        ...(r.version !== undefined ? { version: etagOf(r.version) } : {}),
        ...(r.type && r.id && r.status !== 204 ? { location: `${base}${RESOURCE_TYPES[r.type].endpoint}/${r.id}` } : {}),
        status: String(r.status),
        ...(r.error ? { response: scimErrorBody(r.error) } : {}),
      })),
    });
  });
}
