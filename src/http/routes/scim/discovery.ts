import type { FastifyInstance } from 'fastify';
import { AppError } from '../../../core/errors.js';
import { createDiscovery } from '../../../scim/discovery.js';
import { sendScim } from '../../scim-reply.js';
import { scimBaseUrl, type ScimRouteDeps } from './context.js';

const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` describe the server, not a tenant, so
 * they need no token (IdP setup wizards read them before a token is configured). Writes get 405
 * as RFC 7644 §4 requires.
 */
export function registerDiscoveryRoutes(app: FastifyInstance, deps: ScimRouteDeps): void {
  const { config } = deps;
  const discoveryFor = (baseUrl: string) =>
    createDiscovery({
      baseUrl,
      maxResults: config.maxResults,
      defaultPageSize: config.defaultPageSize,
      bulk: { maxOperations: config.bulkMaxOperations, maxPayloadSize: config.maxBodyBytes },
    });

  app.get('/ServiceProviderConfig', (request, reply) =>
    sendScim(reply, 200, discoveryFor(scimBaseUrl(request, config)).serviceProviderConfig()),
  );
  app.get('/ResourceTypes', (request, reply) =>
    sendScim(reply, 200, discoveryFor(scimBaseUrl(request, config)).resourceTypes()),
  );
  app.get<{ Params: { name: string } }>('/ResourceTypes/:name', (request, reply) => {
    const found = discoveryFor(scimBaseUrl(request, config)).resourceType(request.params.name);
    if (!found) throw new AppError('not_found', `resource type \`${request.params.name}\` not found`);
    return sendScim(reply, 200, found);
  });
  app.get('/Schemas', (request, reply) => sendScim(reply, 200, discoveryFor(scimBaseUrl(request, config)).schemas()));
  app.get<{ Params: { id: string } }>('/Schemas/:id', (request, reply) => {
    const found = discoveryFor(scimBaseUrl(request, config)).schema(request.params.id);
    if (!found) throw new AppError('not_found', `schema \`${request.params.id}\` not found`);
    return sendScim(reply, 200, found);
  });

  for (const url of ['/ServiceProviderConfig', '/ResourceTypes', '/ResourceTypes/:name', '/Schemas', '/Schemas/:id']) {
    app.route({
      method: [...WRITE_METHODS],
      url,
      handler: async () => {
        throw new AppError('method_not_allowed', `\`${url.split('/')[1]}\` is read-only`);
      },
    });
  }
}
