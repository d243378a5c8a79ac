import type { FastifyRequest } from 'fastify';
import type { Config } from '../../../config/config.js';
import { AppError } from '../../../core/errors.js';
import { isPlainObject } from '../../../core/json.js';
import type { ScimService } from '../../../service/scim-service.js';
import type { Authenticated, Authenticator } from '../../auth.js';

export interface ScimRouteDeps {
  readonly config: Config;
  readonly auth: Authenticator;
  readonly scim: ScimService;
}

/** The SCIM base URL as clients reach it: `Location`, `meta.location` and every `$ref` start with it. */
export function scimBaseUrl(request: FastifyRequest, config: Config): string {
  const origin = config.baseUrl ?? `${request.protocol}://${request.host}`;
  return `${origin.replace(/\/+$/, '')}/scim/v2`;
}

export function requireAuth(request: FastifyRequest): Authenticated {
  if (!request.auth) throw new AppError('unauthorized', 'a bearer token is required');
  return request.auth;
}

export function searchBody(body: unknown): Record<string, unknown> {
  if (!isPlainObject(body)) throw new AppError('invalid_syntax', 'a SearchRequest body must be a JSON object');
  return body;
}
