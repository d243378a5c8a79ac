import type { FastifyInstance } from 'fastify';
import { compileRuleFilter } from '../../../authz/rule-filter.js';
import type { AttributeRuleDef } from '../../../authz/model.js';
import { AppError } from '../../../core/errors.js';
import type { ResolvedAttr } from '../../../core/filter.js';
import { parseAttrPath, resolveAttrPath } from '../../../scim/filter/index.js';
import { userResourceType } from '../../../scim/schema/resource-types.js';
import type { ScimReader, StoredUser } from '../../../store/store.js';
import { requireAuth } from '../scim/context.js';
import { KEY_PARAMS } from './collections.js';
import { sendJson, type AdminRouteDeps } from './context.js';

export interface MatchedUser {
  readonly id: string;
  readonly userName: string;
  readonly displayName?: string;
  readonly active: boolean;
}

export interface RuleMatches {
  readonly total: number;
  readonly users: readonly MatchedUser[];
}

/**
 * Who an attribute rule selects, now: the rule's filter run as a query through the store, so an
 * admin sees the effect of a filter before saving it (preview) or after (matches). It is the same
 * compiled filter the permission index evaluates, so the two cannot disagree on who matches.
 */
export function registerRuleMatchRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  const { config, policy, store } = deps;

  function limitOf(value: unknown): number {
    if (value === undefined) return config.defaultPageSize;
    const limit = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > config.maxResults) {
      throw new AppError('invalid_value', `\`limit\` must be an integer from 0 to ${config.maxResults}`);
    }
    return limit;
  }

  const previewBody = {
    type: 'object',
    required: ['filter'],
    properties: { filter: { type: 'string' }, limit: { type: 'integer', minimum: 0, maximum: config.maxResults } },
    // A schema rather than `false`: Fastify's Ajv would silently strip a misspelt field instead of refusing it.
    additionalProperties: { not: {} },
  } as const;

  app.post<{ Body: { filter: string; limit?: number } }>(
    '/attribute-rules/preview',
    { schema: { body: previewBody } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const { filter, limit } = request.body;
      return sendJson(reply, 200, await ruleMatches(store.reader(auth.tenantId), filter, limit ?? config.defaultPageSize));
    },
  );

  app.get<{ Params: { key: string }; Querystring: Record<string, unknown> }>(
    '/attribute-rules/:key/matches',
    { schema: { params: KEY_PARAMS } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const limit = limitOf(request.query.limit);
      const rule = (await policy.get(auth.tenantId, 'attributeRule', request.params.key)).doc as AttributeRuleDef;
      return sendJson(reply, 200, await ruleMatches(store.reader(auth.tenantId), rule.filter, limit));
    },
  );
}

async function ruleMatches(reader: ScimReader, filterText: string, limit: number): Promise<RuleMatches> {
  const filter = compileRuleFilter(filterText);
  if (!filter.ok) throw filter.error;
  const page = await reader.list('User', { filter: filter.value, sortBy: USER_NAME, startIndex: 1, count: limit });
  return { total: page.totalResults, users: page.resources.map(matchedUser) };
}

const USER_NAME: ResolvedAttr = (() => {
  const path = parseAttrPath('userName');
  const resolved = path.ok ? resolveAttrPath(path.value, userResourceType) : path;
  if (!resolved.ok) throw resolved.error;
  return resolved.value;
})();

function matchedUser(user: StoredUser): MatchedUser {
  const { userName, displayName, active } = user.doc;
  return {
    id: user.id,
    userName: String(userName),
    ...(typeof displayName === 'string' ? { displayName } : {}),
    // RFC 7643 leaves `active` optional; a user without it is active, as the permission index treats it.
    active: active !== false,
  };
}
