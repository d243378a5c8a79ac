import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config/config.js';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { EVENT_TYPES, formatPosition, isKnownPattern } from '../../events/event.js';
import { privateHostReason } from '../../events/egress.js';
import { headPosition } from '../../events/feed.js';
import { generateSecret } from '../../events/signing.js';
import type { DeliveryStatus, Store, WebhookDelivery, WebhookSubscription } from '../../store/store.js';
import type { Authenticator } from '../auth.js';
import { schemaError } from './authzen-schemas.js';
import { adminBaseUrl, sendJson } from './admin/context.js';
import { requireAuth } from './scim/context.js';

export interface WebhookRouteDeps {
  readonly config: Config;
  readonly auth: Authenticator;
  readonly store: Store;
  readonly clock: Clock;
  /** The dispatcher's `wake`: a redelivery goes out now rather than at the next poll. */
  readonly wake: (tenantId: string) => void;
}

/** A schema rather than `false`: Fastify's Ajv would silently strip a misspelt field instead of refusing it. */
const NO_MORE = { not: {} } as const;

const FIELDS = {
  url: { type: 'string', minLength: 1, maxLength: 2048 },
  events: { type: 'array', minItems: 1, maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 100 } },
  format: { type: 'string', enum: ['json'] },
  active: { type: 'boolean' },
} as const;

const FULL_BODY = { type: 'object', required: ['url', 'events'], properties: FIELDS, additionalProperties: NO_MORE } as const;
const PARTIAL_BODY = { type: 'object', properties: FIELDS, additionalProperties: NO_MORE } as const;

const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1 } } } as const;
const DELIVERY_PARAMS = {
  type: 'object',
  required: ['id', 'deliveryId'],
  properties: { id: { type: 'string', minLength: 1 }, deliveryId: { type: 'string', minLength: 1 } },
} as const;
const DELIVERIES_QUERY = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['pending', 'delivered', 'dead'] },
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
    before: { type: 'string', minLength: 1, maxLength: 100 },
  },
} as const;

interface SubscriptionBody {
  readonly url?: string;
  readonly events?: readonly string[];
  readonly format?: 'json';
  readonly active?: boolean;
}

type IdRoute = { Params: { id: string } };
type DeliveryRoute = { Params: { id: string; deliveryId: string } };

/**
 * `/admin/v1/webhooks`: subscriptions to the tenant's events (see docs/webhooks.md), their
 * delivery log, redelivery and secret rotation. Admin tokens; a subscription or delivery of
 * another tenant is answered 404, as one that does not exist. The signing secret is shown once,
 * in the answer that creates (or rotates) it, and masked everywhere else.
 */
export function registerWebhookRoutes(app: FastifyInstance, deps: WebhookRouteDeps): void {
  const { store, clock } = deps;
  app.setSchemaErrorFormatter(schemaError);
  app.addHook('onRequest', async (request) => {
    request.auth = await deps.auth.authenticate(request, 'admin');
  });

  async function subscriptionOf(request: FastifyRequest<IdRoute>): Promise<WebhookSubscription> {
    const found = await store.webhooks.get(requireAuth(request).tenantId, request.params.id);
    if (!found) throw new AppError('not_found', `webhook \`${request.params.id}\` not found`);
    return found;
  }

  async function deliveryOf(request: FastifyRequest<DeliveryRoute>): Promise<WebhookDelivery> {
    const subscription = await subscriptionOf(request);
    const found = await store.webhooks.delivery(subscription.tenantId, request.params.deliveryId);
    if (!found || found.subscriptionId !== subscription.id) {
      throw new AppError('not_found', `delivery \`${request.params.deliveryId}\` not found`);
    }
    return found;
  }

  app.get('/webhooks', async (request, reply) => {
    const items = await store.webhooks.list(requireAuth(request).tenantId);
    return sendJson(reply, 200, { items: items.map((s) => renderSubscription(s)), total: items.length });
  });

  app.post<{ Body: SubscriptionBody }>('/webhooks', { schema: { body: FULL_BODY } }, async (request, reply) => {
    const { tenantId } = requireAuth(request);
    const subscription: WebhookSubscription = {
      id: randomUUID(),
      tenantId,
      ...validated(request.body as Required<SubscriptionBody>, deps.config.webhookAllowPrivate),
      secret: generateSecret(),
      created: clock.now().toISOString(),
    };
    await store.webhooks.create(subscription);
    // It starts at the head: the events of writes before its creation are history, not news.
    const head = formatPosition(await headPosition(store.audit, tenantId));
    await store.webhooks.enqueue(tenantId, subscription.id, undefined, head, []);
    reply.header('location', `${adminBaseUrl(request, deps.config)}/webhooks/${subscription.id}`);
    return sendJson(reply, 201, renderSubscription(subscription, 'reveal'));
  });

  app.get<IdRoute>('/webhooks/:id', { schema: { params: ID_PARAMS } }, async (request, reply) =>
    sendJson(reply, 200, renderSubscription(await subscriptionOf(request))),
  );

  /** PUT replaces the settable fields (the omitted ones take their defaults); PATCH changes only those it names. */
  async function update(request: FastifyRequest<IdRoute & { Body: SubscriptionBody }>, mode: 'replace' | 'merge') {
    const current = await subscriptionOf(request);
    const body = mode === 'merge' ? { ...current, ...request.body } : (request.body as Required<SubscriptionBody>);
    const next: WebhookSubscription = { ...current, ...validated(body, deps.config.webhookAllowPrivate) };
    if (!(await store.webhooks.update(next))) throw new AppError('not_found', `webhook \`${current.id}\` not found`);
    return renderSubscription(next);
  }
  app.put<IdRoute & { Body: SubscriptionBody }>('/webhooks/:id', { schema: { params: ID_PARAMS, body: FULL_BODY } }, async (request, reply) =>
    sendJson(reply, 200, await update(request, 'replace')),
  );
  app.patch<IdRoute & { Body: SubscriptionBody }>(
    '/webhooks/:id',
    { schema: { params: ID_PARAMS, body: PARTIAL_BODY } },
    async (request, reply) => sendJson(reply, 200, await update(request, 'merge')),
  );

  app.delete<IdRoute>('/webhooks/:id', { schema: { params: ID_PARAMS } }, async (request, reply) => {
    if (!(await store.webhooks.remove(requireAuth(request).tenantId, request.params.id))) {
      throw new AppError('not_found', `webhook \`${request.params.id}\` not found`);
    }
    return sendJson(reply, 204);
  });

  app.post<IdRoute>('/webhooks/:id/secret', { schema: { params: ID_PARAMS } }, async (request, reply) => {
    const rotated = { ...(await subscriptionOf(request)), secret: generateSecret() };
    if (!(await store.webhooks.update(rotated))) throw new AppError('not_found', `webhook \`${rotated.id}\` not found`);
    return sendJson(reply, 200, renderSubscription(rotated, 'reveal'));
  });

  app.get<IdRoute & { Querystring: { status?: DeliveryStatus; limit: number; before?: string } }>(
    '/webhooks/:id/deliveries',
    { schema: { params: ID_PARAMS, querystring: DELIVERIES_QUERY } },
    async (request, reply) => {
      const subscription = await subscriptionOf(request);
      const { status, limit, before } = request.query;
      const items = await store.webhooks.deliveries(subscription.tenantId, subscription.id, {
        limit,
        ...(status ? { status } : {}),
        ...(before ? { before } : {}),
      });
      const last = items.at(-1);
      return sendJson(reply, 200, {
        items: items.map(renderDelivery),
        ...(last && items.length === limit ? { next: last.id } : {}),
      });
    },
  );

  app.get<DeliveryRoute>('/webhooks/:id/deliveries/:deliveryId', { schema: { params: DELIVERY_PARAMS } }, async (request, reply) => {
    const delivery = await deliveryOf(request);
    const attempts = await store.webhooks.attempts(delivery.id);
    return sendJson(reply, 200, {
      ...renderDelivery(delivery),
      event: JSON.parse(delivery.payload) as unknown,
      attemptLog: attempts.map(({ deliveryId: _id, ...attempt }) => attempt),
    });
  });

  app.post<DeliveryRoute>(
    '/webhooks/:id/deliveries/:deliveryId/redeliver',
    { schema: { params: DELIVERY_PARAMS } },
    async (request, reply) => {
      const delivery = await deliveryOf(request);
      if (!(await store.webhooks.redeliver(delivery.tenantId, delivery.id, clock.now().toISOString()))) {
        throw new AppError('not_found', `delivery \`${delivery.id}\` not found`);
      }
      deps.wake(delivery.tenantId);
      const queued = await store.webhooks.delivery(delivery.tenantId, delivery.id);
      return sendJson(reply, 202, renderDelivery(queued ?? delivery));
    },
  );
}

/** The settable fields, checked beyond the schema: an http(s) URL, not a private one unless allowed; patterns that can match something. */
function validated(
  body: Required<SubscriptionBody> | WebhookSubscription,
  allowPrivate: boolean,
): Pick<WebhookSubscription, 'url' | 'events' | 'format' | 'active'> {
  let url: URL;
  try {
    url = new URL(body.url);
  } catch {
    throw new AppError('invalid_value', `\`${body.url}\` is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError('invalid_value', `webhook url \`${body.url}\` must be http or https`);
  }
  const refused = allowPrivate ? undefined : privateHostReason(url);
  if (refused) {
    throw new AppError('invalid_value', `webhook url \`${body.url}\` is refused: ${refused}; set SCIMITAR_WEBHOOK_ALLOW_PRIVATE=true to allow it`);
  }
  const unknown = body.events.filter((pattern) => !isKnownPattern(pattern));
  if (unknown.length > 0) {
    throw new AppError(
      'invalid_value',
      `unknown event type pattern \`${unknown[0]}\`; use \`*\`, \`<kind>.*\` or one of ${EVENT_TYPES.map((t) => `\`${t}\``).join(', ')}`,
    );
  }
  return { url: url.toString(), events: [...new Set(body.events)], format: body.format ?? 'json', active: body.active ?? true };
}

/** A subscription as the API shows it; the secret only in full when it was just made. */
function renderSubscription(s: WebhookSubscription, secret: 'reveal' | 'mask' = 'mask') {
  return {
    id: s.id,
    url: s.url,
    events: s.events,
    format: s.format,
    active: s.active,
    created: s.created,
    secret: secret === 'reveal' ? s.secret : `${s.secret.slice(0, 6)}…${s.secret.slice(-4)}`,
  };
}

function renderDelivery(d: WebhookDelivery) {
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    ...(d.status === 'pending' ? { nextAttemptAt: d.nextAttemptAt } : {}),
    lastAttemptAt: d.lastAttemptAt,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    created: d.created,
  };
}
