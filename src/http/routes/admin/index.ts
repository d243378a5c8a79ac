import type { FastifyInstance } from 'fastify';
import { systemClock } from '../../../core/clock.js';
import { schemaError } from '../authzen-schemas.js';
import { registerCollection, type Collection } from './collections.js';
import type { AdminRouteDeps } from './context.js';
import { expandGrantShorthand, isGrantShorthand } from './grant-request.js';
import { registerPolicyRoutes } from './policy.js';
import { registerRuleMatchRoutes } from './rule-matches.js';

export type { AdminRouteDeps } from './context.js';

/** Policy files are YAML; `application/yaml` is RFC 9512, the others are what tools still send. */
const YAML_TYPES = /^(application|text)\/(x-)?yaml(\s*;.*)?$/i;

/**
 * The admin API (`/admin/v1`): one collection per kind of policy object, previews of attribute
 * rules, and the whole policy as one file (export, plan, apply). Every route needs an admin token
 * and sees only that token's tenant.
 */
export async function registerAdminRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const clock = deps.clock ?? systemClock;
  // Kept as text: the policy routes parse it themselves, so a YAML error is reported with the
  // policy's other problems, and within the body limit the server set.
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.setSchemaErrorFormatter(schemaError);
  app.addHook('onRequest', async (request) => {
    request.auth = await deps.auth.authenticate(request, 'admin');
  });

  const collections: readonly Collection[] = [
    { path: 'resource-types', kind: 'resourceType' },
    { path: 'resources', kind: 'resource' },
    { path: 'roles', kind: 'role' },
    { path: 'bindings', kind: 'binding' },
    { path: 'group-mappings', kind: 'groupMapping' },
    { path: 'attribute-rules', kind: 'attributeRule' },
    {
      path: 'grants',
      kind: 'grant',
      prepare: async (body, auth) =>
        isGrantShorthand(body) ? expandGrantShorthand(body, deps.store.reader(auth.tenantId), clock) : body,
    },
  ];
  for (const collection of collections) registerCollection(app, collection, deps);
  registerRuleMatchRoutes(app, deps);
  registerPolicyRoutes(app, deps);
}
