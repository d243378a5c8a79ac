import type { FastifyInstance } from 'fastify';
import type { ResourceTypeDef } from '../../../core/attribute.js';
import { AppError, isAppError } from '../../../core/errors.js';
import { parseListRequest, type ListRequest } from '../../../scim/list-request.js';
import { listResponse } from '../../../scim/list-response.js';
import { renderResource } from '../../../scim/resource/render.js';
import { groupResourceType, userResourceType } from '../../../scim/schema/resource-types.js';
import { sendScim } from '../../scim-reply.js';
import { requireAuth, scimBaseUrl, searchBody, type ScimRouteDeps } from './context.js';

/** Errors that mean "this filter or attribute list does not fit this resource type". */
const NOT_FOR_THIS_TYPE = new Set(['invalid_filter', 'invalid_value', 'invalid_path']);

/**
 * `POST /.search` at the root (RFC 7644 §3.4.3) searches Users, then Groups, as one list. A filter
 * that names an attribute one type lacks (`userName` on Groups) matches nothing of that type
 * instead of failing the search; it fails only when it fits no type. Paging runs over the
 * concatenation, so `startIndex`/`count` behave as on a single type. Cursors and `sortBy` across
 * types would need one ordering of two tables, so a cursor here is refused.
 */
export function registerRootSearch(app: FastifyInstance, deps: ScimRouteDeps): void {
  const limits = { maxResults: deps.config.maxResults, defaultPageSize: deps.config.defaultPageSize };

  app.post('/.search', async (request, reply) => {
    const auth = requireAuth(request);
    const body = searchBody(request.body);
    if (Object.keys(body).some((k) => k.toLowerCase() === 'cursor')) {
      throw new AppError('invalid_value', 'cursor pagination is not supported on a root `/.search`; search `/Users/.search` or `/Groups/.search`');
    }
    const parts: { rt: ResourceTypeDef; parsed: ListRequest }[] = [];
    let firstError: AppError | undefined;
    for (const rt of [userResourceType, groupResourceType]) {
      try {
        parts.push({ rt, parsed: parseListRequest(body, rt, limits) });
      } catch (err) {
        if (!isAppError(err) || !NOT_FOR_THIS_TYPE.has(err.code)) throw err;
        firstError ??= err;
      }
    }
    if (parts.length === 0) throw firstError!;

    const startIndex = parts[0]!.parsed.startIndex ?? 1;
    let skip = startIndex - 1;
    let remaining = parts[0]!.parsed.count;
    let totalResults = 0;
    const resources: Record<string, unknown>[] = [];
    const base = scimBaseUrl(request, deps.config);
    for (const { rt, parsed } of parts) {
      const page = await deps.scim.list(auth.tenantId, rt.name, { ...parsed.query, startIndex: skip + 1, count: remaining });
      totalResults += page.totalResults;
      resources.push(...page.resources.map((r) => renderResource(rt, r, base, parsed.projection)));
      skip = Math.max(0, skip - page.totalResults);
      remaining -= page.resources.length;
    }
    return sendScim(reply, 200, listResponse(resources, { totalResults, startIndex, itemsPerPage: resources.length }));
  });
}
