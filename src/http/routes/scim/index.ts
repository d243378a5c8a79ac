import type { FastifyInstance } from 'fastify';
import { AppError } from '../../../core/errors.js';
import { groupResourceType, userResourceType } from '../../../scim/schema/resource-types.js';
import { registerBulkRoute } from './bulk.js';
import type { ScimRouteDeps } from './context.js';
import { registerDiscoveryRoutes } from './discovery.js';
import { registerResourceRoutes } from './resources.js';
import { registerRootSearch } from './root-search.js';

export function registerScimRoutes(app: FastifyInstance, deps: ScimRouteDeps): void {
  registerDiscoveryRoutes(app, deps);
  app.register(async (tenantScoped) => {
    tenantScoped.addHook('onRequest', async (request) => {
      request.auth = await deps.auth.authenticate(request, 'scim');
    });
    registerResourceRoutes(tenantScoped, userResourceType, deps);
    registerResourceRoutes(tenantScoped, groupResourceType, deps);
    registerBulkRoute(tenantScoped, deps);
    registerRootSearch(tenantScoped, deps);
    // RFC 7644 §3.11: a server that does not support /Me answers 501.
    tenantScoped.all('/Me', async () => {
      throw new AppError('not_implemented', '`/Me` is not supported: tokens belong to identity providers, not users');
    });
  });
}
