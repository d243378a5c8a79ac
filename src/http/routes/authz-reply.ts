import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/config.js';
import { toInstant } from '../../core/date-time.js';
import { AppError } from '../../core/errors.js';
import type { AccessService, Consistency, Explanation } from '../../service/access.js';
import type { GrantReason } from '../../authz/evaluate.js';
import type { Via } from '../../authz/via.js';
import type { Authenticated, Authenticator } from '../auth.js';
import { schemaError, type DecisionQuery } from './authzen-schemas.js';

/** What the AuthZEN and the native authz routes are built from. */
export interface AuthzRouteDeps {
  readonly config: Config;
  readonly auth: Authenticator;
  readonly access: AccessService;
}

/** Decisions are plain JSON (AuthZEN §10); only errors keep the SCIM error body every route shares. */
export const JSON_TYPE = 'application/json; charset=utf-8';

/** The index revision an answer was computed at: a client passes it back as `atLeastRevision` to read its own writes. */
export const REVISION_HEADER = 'x-scimitar-revision';

/**
 * Every route of `scope` needs an `authz` token, checked before the body is parsed, so a caller
 * without one learns nothing about the message format. Schema failures become `AppError`s.
 */
export function authzScope(scope: FastifyInstance, auth: Authenticator): void {
  scope.setSchemaErrorFormatter(schemaError);
  scope.addHook('onRequest', async (request) => {
    request.auth = await auth.authenticate(request, 'authz');
  });
}

export function authOf(request: FastifyRequest): Authenticated {
  if (!request.auth) throw new AppError('unauthorized', 'a bearer token is required');
  return request.auth;
}

/**
 * `?atLeastRevision=12` or `?atLeastRevision=W/"12"` (the schema admits nothing else), or
 * `?at=2026-03-01T09:00:00Z` to answer as of a past instant; not both.
 */
export function consistencyOf(query: DecisionQuery): Consistency | undefined {
  const text = query.atLeastRevision;
  if (query.at !== undefined) {
    if (text !== undefined) throw new AppError('invalid_value', 'query parameters `at` and `atLeastRevision` exclude each other');
    const instant = toInstant(query.at);
    if (instant === undefined) {
      throw new AppError('invalid_value', 'query parameter `at` must be a date-time with a zone, such as `2026-03-01T09:00:00Z`');
    }
    return { at: new Date(instant) };
  }
  if (text === undefined) return undefined;
  return { atLeastRevision: Number(text.startsWith('W/') ? text.slice(3, -1) : text) };
}

/**
 * Sends an already serialized JSON body with the revision it was computed at. AuthZEN §10.1.3: a
 * request's `X-Request-ID` is echoed, so a PEP can match answers to questions.
 */
export function sendJson(request: FastifyRequest, reply: FastifyReply, revision: number, json: string): FastifyReply {
  const requestId = request.headers['x-request-id'];
  if (requestId !== undefined) reply.header('x-request-id', requestId);
  return reply.code(200).header('content-type', JSON_TYPE).header(REVISION_HEADER, String(revision)).send(json);
}

/** The page size of a search: 100 unless asked, and never more than 1,000 (a larger `limit` gets a shorter page). */
export function pageLimit(limit: number | undefined): number {
  return limit === undefined ? DEFAULT_PAGE : Math.min(limit, MAX_PAGE);
}

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

/**
 * One sentence for an administrator reading a log: who may (not) do what, and the chain that decides,
 * e.g. ``alice@example.com may `approve` `report:q3`: group mapping `managers` (group `Managers`) gives
 * role `people-manager`, which holds `report:approve` on `*` ``.
 */
export function describeDecision(explanation: Explanation, action: string, resource: { type: string; id: string }): string {
  const who = explanation.subject ? `\`${explanation.subject.userName}\`` : 'the subject';
  const what = `\`${action}\` \`${resource.type}:${resource.id}\``;
  const first = explanation.reasons[0];
  if (explanation.allowed && first) {
    const more = explanation.reasons.length > 1 ? ` (and ${explanation.reasons.length - 1} more grant(s))` : '';
    return `${who} may ${what}: ${grantChain(first)}${more}`;
  }
  if (first) return `${who} may not ${what}: denied by ${grantChain(first)}`;
  return `${who} may not ${what}: ${explanation.missing ?? 'no grant applies'}`;
}

function grantChain(reason: GrantReason): string {
  const source = `${ORIGIN[reason.origin]} \`${reason.id}\`${reason.via ? viaText(reason.via) : ''}`;
  const through = reason.rolePath.length > 1 ? ` (through ${reason.rolePath.map((r) => `\`${r}\``).join(' → ')})` : '';
  const until = reason.expiresAt ? ` until ${reason.expiresAt}` : '';
  const condition = reason.condition ? ` when \`${reason.condition.expression}\`` : '';
  return `${source} gives role \`${reason.role}\`${through}, which holds \`${reason.permission}\` on \`${reason.scope}\`${condition}${until}`;
}

const ORIGIN: Readonly<Record<GrantReason['origin'], string>> = {
  binding: 'binding',
  groupMapping: 'group mapping',
  attributeRule: 'attribute rule',
  grant: 'temporary grant',
};

function viaText(via: Via): string {
  switch (via.kind) {
    case 'group':
      return via.path.length > 0 ? ` (group ${via.path.map((hop) => `\`${hop.displayName}\``).join(' → ')})` : '';
    case 'rule':
      return ` (\`${via.filter}\`)`;
    case 'user':
    case 'everyone':
      return '';
  }
}
