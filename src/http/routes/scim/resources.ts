import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ResourceTypeDef } from '../../../core/attribute.js';
import { etagOf, matchesIfNoneMatch } from '../../../scim/etag.js';
import { parseListRequest } from '../../../scim/list-request.js';
import { listResponse } from '../../../scim/list-response.js';
import { parseProjection, type Projection } from '../../../scim/resource/projection.js';
import { renderResource } from '../../../scim/resource/render.js';
import type { StoredScimResource } from '../../../service/scim-service.js';
import type { ReadOptions } from '../../../store/store.js';
import { actorOf } from '../../auth.js';
import { sendScim } from '../../scim-reply.js';
import { requireAuth, scimBaseUrl, searchBody, type ScimRouteDeps } from './context.js';

type IdParams = { Params: { id: string }; Querystring: Record<string, string | string[]> };
type Query = { Querystring: Record<string, string | string[]> };

/** Users and Groups share every route; only the resource type differs. */
export function registerResourceRoutes(app: FastifyInstance, rt: ResourceTypeDef, deps: ScimRouteDeps): void {
  const { config, scim } = deps;
  const type = rt.name;
  const limits = { maxResults: config.maxResults, defaultPageSize: config.defaultPageSize };

  function projectionOf(request: FastifyRequest<Query>): Projection {
    return parseProjection(rt, request.query.attributes, request.query.excludedAttributes);
  }

  function readOptions(projection: Projection): ReadOptions {
    return { members: projection.readsMembers, groups: projection.readsGroups };
  }

  function render(request: FastifyRequest, resource: StoredScimResource, projection: Projection) {
    return renderResource(rt, resource, scimBaseUrl(request, config), projection);
  }

  function sendResource(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    resource: StoredScimResource,
    projection: Projection,
  ) {
    reply.header('etag', etagOf(resource.version));
    return sendScim(reply, status, render(request, resource, projection));
  }

  async function list(request: FastifyRequest, reply: FastifyReply, input: Record<string, unknown>) {
    const auth = requireAuth(request);
    const parsed = parseListRequest(input, rt, limits);
    const page = await scim.list(auth.tenantId, type, parsed.query);
    const resources = page.resources.map((r) => render(request, r, parsed.projection));
    return sendScim(
      reply,
      200,
      listResponse(resources, {
        totalResults: page.totalResults,
        startIndex: parsed.startIndex,
        itemsPerPage: resources.length,
        ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}),
      }),
    );
  }

  app.get<Query>(rt.endpoint, (request, reply) => list(request, reply, request.query));

  app.post(`${rt.endpoint}/.search`, (request, reply) => list(request, reply, searchBody(request.body)));

  app.get<IdParams>(`${rt.endpoint}/:id`, async (request, reply) => {
    const auth = requireAuth(request);
    const projection = projectionOf(request);
    const resource = await scim.get(auth.tenantId, type, request.params.id, readOptions(projection));
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch !== undefined && !matchesIfNoneMatch(ifNoneMatch, resource.version)) {
      reply.header('etag', etagOf(resource.version));
      return reply.code(304).send();
    }
    return sendResource(request, reply, 200, resource, projection);
  });

  app.post<Query>(rt.endpoint, async (request, reply) => {
    const auth = requireAuth(request);
    const projection = projectionOf(request);
    const outcome = await scim.create(auth.tenantId, actorOf(request, auth), type, request.body, readOptions(projection));
    reply.header('location', `${scimBaseUrl(request, config)}${rt.endpoint}/${outcome.resource.id}`);
    return sendResource(request, reply, 201, outcome.resource, projection);
  });

  app.put<IdParams>(`${rt.endpoint}/:id`, async (request, reply) => {
    const auth = requireAuth(request);
    const projection = projectionOf(request);
    const outcome = await scim.replace(
      auth.tenantId,
      actorOf(request, auth),
      type,
      request.params.id,
      request.body,
      precondition(request),
      readOptions(projection),
    );
    return sendResource(request, reply, 200, outcome.resource, projection);
  });

  app.patch<IdParams>(`${rt.endpoint}/:id`, async (request, reply) => {
    const auth = requireAuth(request);
    const projection = projectionOf(request);
    // A group PATCH answers 204 unless the client asks for attributes (RFC 7644 §3.5.2 allows
    // both; Entra recommends 204), so a 10,000-member group is not re-read to answer a member add.
    const wantsBody = type === 'User' || hasProjectionParams(request);
    const outcome = await scim.patch(
      auth.tenantId,
      actorOf(request, auth),
      type,
      request.params.id,
      request.body,
      precondition(request),
      wantsBody ? readOptions(projection) : {},
    );
    if (!wantsBody) {
      reply.header('etag', etagOf(outcome.resource.version));
      return sendScim(reply, 204);
    }
    return sendResource(request, reply, 200, outcome.resource, projection);
  });

  app.delete<IdParams>(`${rt.endpoint}/:id`, async (request, reply) => {
    const auth = requireAuth(request);
    await scim.remove(auth.tenantId, actorOf(request, auth), type, request.params.id, precondition(request));
    return sendScim(reply, 204);
  });
}

function precondition(request: FastifyRequest): { ifMatch?: string } {
  const ifMatch = request.headers['if-match'];
  return ifMatch === undefined ? {} : { ifMatch };
}

function hasProjectionParams(request: FastifyRequest<Query>): boolean {
  return request.query.attributes !== undefined || request.query.excludedAttributes !== undefined;
}
