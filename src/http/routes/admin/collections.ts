import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseResourceRef, type PolicyKind } from '../../../authz/model.js';
import { AppError } from '../../../core/errors.js';
import { isPlainObject } from '../../../core/json.js';
import { etagOf, matchesIfNoneMatch } from '../../../scim/etag.js';
import type { PolicyRecord } from '../../../store/store.js';
import { actorOf, type Authenticated } from '../../auth.js';
import { requireAuth } from '../scim/context.js';
import { adminBaseUrl, ifMatchOf, REVISION_HEADER, sendJson, type AdminRouteDeps } from './context.js';

/** One collection of the admin API: a URL segment over one kind of policy object. */
export interface Collection {
  readonly path: string;
  readonly kind: PolicyKind;
  /**
   * Turns a create body into the object's plain shape before validation (the grant shorthand names a
   * user and a duration); absent for kinds that have only the plain shape.
   */
  readonly prepare?: (body: Record<string, unknown>, auth: Authenticated) => Promise<Record<string, unknown>>;
}

/** Kinds keyed by an opaque id get one generated when a create leaves it out, as a SCIM server does. */
const GENERATED_IDS: ReadonlySet<PolicyKind> = new Set(['binding', 'groupMapping', 'attributeRule', 'grant']);

export const KEY_PARAMS = {
  type: 'object',
  properties: { key: { type: 'string', minLength: 1 } },
  required: ['key'],
} as const;

/** Only the top-level shape: the deep validation is `parsePolicyObject`, which names every problem. */
const OBJECT_BODY = { type: 'object' } as const;

type KeyRoute = { Params: { key: string } };

/** `GET`/`POST` on the collection, `GET`/`PUT`/`DELETE` on one object, all under the admin scope. */
export function registerCollection(app: FastifyInstance, collection: Collection, deps: AdminRouteDeps): void {
  const { config, policy } = deps;
  const { kind, path } = collection;

  function sendRecord(reply: FastifyReply, status: number, record: PolicyRecord, revision?: number) {
    reply.header('etag', etagOf(record.version));
    if (revision !== undefined) reply.header(REVISION_HEADER, String(revision));
    return sendJson(reply, status, renderRecord(record));
  }

  async function prepared(body: unknown, auth: Authenticated): Promise<Record<string, unknown>> {
    // `meta` is what a read adds; a client that sends back what it read is not making a mistake.
    const { meta: _meta, ...object } = body as Record<string, unknown>;
    return collection.prepare ? collection.prepare(object, auth) : object;
  }

  app.get(`/${path}`, async (request, reply) => {
    const auth = requireAuth(request);
    const records = await policy.list(auth.tenantId, kind);
    return sendJson(reply, 200, { items: records.map(renderRecord), total: records.length });
  });

  app.get<KeyRoute>(`/${path}/:key`, { schema: { params: KEY_PARAMS } }, async (request, reply) => {
    const auth = requireAuth(request);
    const record = await policy.get(auth.tenantId, kind, request.params.key);
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch !== undefined && !matchesIfNoneMatch(ifNoneMatch, record.version)) {
      reply.header('etag', etagOf(record.version));
      return reply.code(304).send();
    }
    return sendRecord(reply, 200, record);
  });

  app.post(`/${path}`, { schema: { body: OBJECT_BODY } }, async (request, reply) => {
    const auth = requireAuth(request);
    const object = await prepared(request.body, auth);
    if (GENERATED_IDS.has(kind) && object.id === undefined) object.id = randomUUID();
    const written = await policy.put(auth.tenantId, actorOf(request, auth), kind, object, { mode: 'create' });
    reply.header('location', `${adminBaseUrl(request, config)}/${path}/${encodeKey(written.record.id)}`);
    return sendRecord(reply, 201, written.record, written.revision);
  });

  app.put<KeyRoute>(`/${path}/:key`, { schema: { params: KEY_PARAMS, body: OBJECT_BODY } }, async (request, reply) => {
    const auth = requireAuth(request);
    const key = request.params.key;
    const object = withKey(kind, key, await prepared(request.body, auth));
    const written = await policy.put(auth.tenantId, actorOf(request, auth), kind, object, {
      mode: 'upsert',
      id: key,
      ...ifMatchOf(request),
    });
    if (written.created) reply.header('location', `${adminBaseUrl(request, config)}/${path}/${encodeKey(key)}`);
    return sendRecord(reply, written.created ? 201 : 200, written.record, written.revision);
  });

  app.delete<KeyRoute>(`/${path}/:key`, { schema: { params: KEY_PARAMS } }, async (request, reply) => {
    const auth = requireAuth(request);
    const revision = await policy.remove(auth.tenantId, actorOf(request, auth), kind, request.params.key, ifMatchOf(request));
    reply.header(REVISION_HEADER, String(revision));
    return sendJson(reply, 204);
  });
}

/** An object as the admin API shows it: the object itself, plus when and at which revision it last changed. */
function renderRecord(record: PolicyRecord): Record<string, unknown> {
  const doc = isPlainObject(record.doc) ? record.doc : {};
  return { ...doc, meta: { version: etagOf(record.version), created: record.created, lastModified: record.lastModified } };
}

/**
 * A PUT body may leave out the key the URL already gives; when it names one, the service compares
 * the two and refuses a mismatch.
 */
function withKey(kind: PolicyKind, key: string, object: Record<string, unknown>): Record<string, unknown> {
  switch (kind) {
    case 'resourceType':
    case 'role':
      return object.name === undefined ? { ...object, name: key } : object;
    case 'resource': {
      if (object.type !== undefined || object.id !== undefined) return object;
      const ref = parseResourceRef(key);
      if (!ref) throw new AppError('invalid_value', `resource key \`${key}\` must be \`type:id\``);
      return { ...object, type: ref.type, id: ref.id };
    }
    default:
      return object.id === undefined ? { ...object, id: key } : object;
  }
}

/** Keys go into one path segment; colons stay readable (`/resources/database:orders`). */
function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%3A/gi, ':');
}
