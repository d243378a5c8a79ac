import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { POLICY_KINDS } from '../../authz/model.js';
import { toInstant } from '../../core/date-time.js';
import { AppError } from '../../core/errors.js';
import { exportEntries, queryEntries, verifyTenant, type EntryFilters } from '../../service/audit-admin.js';
import type { Store } from '../../store/store.js';
import type { Authenticator } from '../auth.js';
import { sendJson } from './admin/context.js';
import { authOf } from './authz-reply.js';
import { schemaError } from './authzen-schemas.js';

export interface AuditRouteDeps {
  readonly auth: Authenticator;
  readonly store: Store;
  /** Derives every write committed so far, so each entry shows the access changes it caused, the caller's last write's too. */
  readonly settle: (tenantId: string) => Promise<void>;
}

/** A schema rather than `false`: Fastify's Ajv would silently drop a misspelt parameter instead of refusing it. */
const NO_MORE = { not: {} } as const;
const text = { type: 'string', minLength: 1, maxLength: 1024 } as const;

const FILTERS = {
  user: text,
  group: text,
  resource: text,
  actor: text,
  // Ajv coerces a single `kind=` to a one-item array; each item may itself be comma-separated.
  kind: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 1024 } },
  since: { type: 'string', maxLength: 100 },
  until: { type: 'string', maxLength: 100 },
} as const;

const EXPORT_QUERY = { type: 'object', properties: FILTERS, additionalProperties: NO_MORE } as const;
const ENTRIES_QUERY = {
  type: 'object',
  properties: {
    ...FILTERS,
    after: { type: 'integer', minimum: 0 },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    order: { type: 'string', enum: ['asc', 'desc'], default: 'asc' },
  },
  additionalProperties: NO_MORE,
} as const;

interface FilterQuery {
  readonly user?: string;
  readonly group?: string;
  readonly resource?: string;
  readonly actor?: string;
  readonly kind?: readonly string[];
  readonly since?: string;
  readonly until?: string;
}

interface EntriesQuery extends FilterQuery {
  readonly after?: number;
  readonly limit: number;
  readonly order: 'asc' | 'desc';
}

/** The log's kinds, by their lower-case name: `kind=user` means `User`. */
const KINDS = new Map(['User', 'Group', ...POLICY_KINDS].map((k) => [k.toLowerCase(), k]));

/**
 * The audit log of the token's tenant (`/audit/v1`, admin tokens; see docs/audit.md):
 *
 * - `GET /entries?user=&group=&resource=&actor=&kind=&since=&until=&after=&limit=&order=`: a page of
 *   entries, each with the access changes it caused; `next` is the `after` of the next page
 * - `GET /export` (the same filters): every matching entry as JSON lines, streamed
 * - `GET /verify`: the chain's verification, 200 whether it passes or not
 * - `GET /checkpoints`: the signed checkpoints, oldest first
 */
export function registerAuditRoutes(app: FastifyInstance, deps: AuditRouteDeps): void {
  const { store } = deps;
  app.setSchemaErrorFormatter(schemaError);
  app.addHook('onRequest', async (request) => {
    request.auth = await deps.auth.authenticate(request, 'admin');
  });

  app.get<{ Querystring: EntriesQuery }>('/entries', { schema: { querystring: ENTRIES_QUERY } }, async (request, reply) => {
    const { tenantId } = authOf(request);
    const { after, limit, order } = request.query;
    const filters = filtersOf(request.query);
    await deps.settle(tenantId);
    const page = await queryEntries(store, tenantId, filters, { ...(after !== undefined ? { after } : {}), limit, descending: order === 'desc' });
    return sendJson(reply, 200, page);
  });

  app.get<{ Querystring: FilterQuery }>('/export', { schema: { querystring: EXPORT_QUERY } }, async (request, reply) => {
    const { tenantId } = authOf(request);
    const filters = filtersOf(request.query);
    await deps.settle(tenantId);
    // A stream: the reply pulls a page of the log at a time, as fast as the client reads.
    return reply.code(200).type('application/x-ndjson; charset=utf-8').send(Readable.from(exportEntries(store, tenantId, filters)));
  });

  app.get('/verify', async (request, reply) => sendJson(reply, 200, await verifyTenant(store, authOf(request).tenantId)));

  app.get('/checkpoints', async (request, reply) =>
    sendJson(reply, 200, { items: await store.audit.checkpoints(authOf(request).tenantId) }),
  );
}

function filtersOf(query: FilterQuery): EntryFilters {
  const refs = (['user', 'group', 'resource'] as const).filter((name) => query[name] !== undefined);
  if (refs.length > 1) {
    throw new AppError('invalid_value', `query parameters ${refs.map((r) => `\`${r}\``).join(' and ')} exclude each other: give one`);
  }
  const ref = refs[0] && query[refs[0]];
  const kinds = (query.kind ?? []).flatMap((k) => k.split(',')).map((k) => k.trim()).filter((k) => k !== '').map(kindOf);
  const since = query.since !== undefined ? instant('since', query.since) : undefined;
  const until = query.until !== undefined ? instant('until', query.until) : undefined;
  return {
    ...(ref !== undefined ? { ref } : {}),
    ...(kinds.length > 0 ? { kinds } : {}),
    ...(query.actor !== undefined ? { actorToken: query.actor } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  };
}

function kindOf(name: string): string {
  const kind = KINDS.get(name.toLowerCase());
  if (kind === undefined) {
    throw new AppError('invalid_value', `query parameter \`kind\` \`${name}\` is not one of ${[...KINDS.values()].map((k) => `\`${k}\``).join(', ')}`);
  }
  return kind;
}

function instant(name: string, value: string): string {
  const found = toInstant(value);
  if (found === undefined) {
    throw new AppError('invalid_value', `query parameter \`${name}\` must be a date-time with a zone, such as \`2026-03-01T09:00:00Z\``);
  }
  return found;
}
