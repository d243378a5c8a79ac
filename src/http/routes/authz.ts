import type { FastifyInstance } from 'fastify';
import { authOf, authzScope, consistencyOf, pageLimit, sendJson, type AuthzRouteDeps } from './authz-reply.js';
import {
  DECISION_QUERY,
  EVALUATION_BODY,
  ID_PARAMS,
  WHO_CAN_BODY,
  type DecisionQuery,
  type EvaluationBody,
  type WhoCanBody,
} from './authzen-schemas.js';

/**
 * The native authz API, under `/authz/v1`: only what AuthZEN has no shape for (the whole decision
 * with every grant considered, a user's effective permissions, who-can with user details). Checks
 * themselves go through AuthZEN (`/access/v1/evaluation`), so there is one way to ask.
 */
export function registerAuthzRoutes(app: FastifyInstance, deps: AuthzRouteDeps): void {
  const { access } = deps;
  authzScope(app, deps.auth);

  /** The same question as an AuthZEN evaluation; the answer is the engine's `Decision`, the subject and the revision. */
  app.post<{ Body: EvaluationBody; Querystring: DecisionQuery }>(
    '/explain',
    { schema: { body: EVALUATION_BODY, querystring: DECISION_QUERY } },
    async (request, reply) => {
      const { tenantId } = authOf(request);
      const { subject, action, resource, context } = request.body;
      const explanation = await access.explain(
        tenantId,
        { subject, action: action.name, resource, ...(context ? { context } : {}) },
        consistencyOf(request.query),
      );
      return sendJson(request, reply, explanation.revision, JSON.stringify(explanation));
    },
  );

  /** `:id` is the SCIM id, the userName or the externalId, as an AuthZEN subject id is. */
  app.get<{ Params: { id: string }; Querystring: DecisionQuery }>(
    '/users/:id/permissions',
    { schema: { params: ID_PARAMS, querystring: DECISION_QUERY } },
    async (request, reply) => {
      const { tenantId } = authOf(request);
      const found = await access.permissions(tenantId, { type: 'user', id: request.params.id }, consistencyOf(request.query));
      return sendJson(request, reply, found.revision, JSON.stringify(found));
    },
  );

  app.post<{ Body: WhoCanBody; Querystring: DecisionQuery }>(
    '/who-can',
    { schema: { body: WHO_CAN_BODY, querystring: DECISION_QUERY } },
    async (request, reply) => {
      const { tenantId } = authOf(request);
      const { action, resource, context, limit, after } = request.body;
      const page = await access.whoCan(
        tenantId,
        { action, resource, ...(context ? { context } : {}) },
        { limit: pageLimit(limit), ...(after !== undefined && after !== '' ? { after } : {}) },
        consistencyOf(request.query),
      );
      const body = { users: page.items, ...(page.next !== undefined ? { next: page.next } : {}), revision: page.revision };
      return sendJson(request, reply, page.revision, JSON.stringify(body));
    },
  );
}
