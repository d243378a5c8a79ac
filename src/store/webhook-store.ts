import type { Kysely, Selectable } from 'kysely';
import { AppError } from '../core/errors.js';
import type { StoreBackend } from './backend.js';
import type { DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookStore, WebhookSubscription } from './store.js';
import type { Database, WebhookDeliveriesTable, WebhookSubscriptionsTable } from './tables.js';
import { storableKey } from './text.js';
import { inWriteTransaction } from './write-transaction.js';

/** The columns of one delivery row: a multi-row INSERT binds this many parameters per row. */
const DELIVERY_COLUMNS = 13;

/** The cursor of a subscription in `audit_cursors`: the position of the last event it looked at. */
function webhookCursorName(subscriptionId: string): string {
  return `webhook:${subscriptionId}`;
}

/**
 * Webhook subscriptions, their outbox of deliveries and the log of attempts. Deliveries are
 * written only by `enqueue`, together with the move of the subscription's cursor, so an event is
 * queued once per subscription however many dispatchers run (the cursor compare-and-set decides,
 * and the unique (subscription, event) pair backs it up).
 */
export function createWebhookStore(db: Kysely<Database>, backend: StoreBackend): WebhookStore {
  return {
    async create(subscription) {
      try {
        await db.insertInto('webhook_subscriptions').values(subscriptionValues(subscription, backend)).execute();
      } catch (err) {
        if (backend.constraintViolation(err)?.kind === 'unique') {
          throw new AppError('uniqueness', `webhook \`${subscription.id}\` already exists`, { cause: err });
        }
        throw err;
      }
    },

    async list(tenantId) {
      const rows = await db
        .selectFrom('webhook_subscriptions')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('created')
        .orderBy('id')
        .execute();
      return rows.map(toSubscription);
    },

    async get(tenantId, id) {
      if (!storableKey(id)) return undefined;
      const row = await db
        .selectFrom('webhook_subscriptions')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toSubscription(row);
    },

    async update(subscription) {
      if (!storableKey(subscription.id)) return false;
      const { url, secret, events, format, active } = subscriptionValues(subscription, backend);
      const result = await db
        .updateTable('webhook_subscriptions')
        .set({ url, secret, events, format, active })
        .where('tenant_id', '=', subscription.tenantId)
        .where('id', '=', subscription.id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async remove(tenantId, id) {
      if (!storableKey(id)) return false;
      return inWriteTransaction(db, backend, async (conn) => {
        const deliveries = conn
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('tenant_id', '=', tenantId)
          .where('subscription_id', '=', id);
        await conn.deleteFrom('webhook_attempts').where('delivery_id', 'in', deliveries).execute();
        await conn.deleteFrom('webhook_deliveries').where('tenant_id', '=', tenantId).where('subscription_id', '=', id).execute();
        await conn.deleteFrom('audit_cursors').where('tenant_id', '=', tenantId).where('name', '=', webhookCursorName(id)).execute();
        const result = await conn
          .deleteFrom('webhook_subscriptions')
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .executeTakeFirst();
        return result.numDeletedRows > 0n;
      });
    },

    enqueue(tenantId, subscriptionId, from, to, deliveries) {
      const name = webhookCursorName(subscriptionId);
      return inWriteTransaction(db, backend, async (conn) => {
        const subscription = await conn
          .selectFrom('webhook_subscriptions')
          .select('id')
          .where('tenant_id', '=', tenantId)
          .where('id', '=', subscriptionId)
          .executeTakeFirst();
        if (!subscription) return false;
        // Compare-and-set in one statement: under PostgreSQL's READ COMMITTED a concurrent mover
        // makes this statement re-check `position` (or the key) after it commits, so exactly one
        // of them moves it.
        const moved =
          from === undefined
            ? await conn
                .insertInto('audit_cursors')
                .values({ tenant_id: tenantId, name, position: to })
                .onConflict((oc) => oc.columns(['tenant_id', 'name']).doNothing())
                .returning('position')
                .executeTakeFirst()
            : await conn
                .updateTable('audit_cursors')
                .set({ position: to })
                .where('tenant_id', '=', tenantId)
                .where('name', '=', name)
                .where('position', '=', from)
                .returning('position')
                .executeTakeFirst();
        if (!moved) return false;
        const rowsPerInsert = Math.floor(backend.maxParameters / DELIVERY_COLUMNS);
        for (let i = 0; i < deliveries.length; i += rowsPerInsert) {
          await conn
            .insertInto('webhook_deliveries')
            .values(deliveries.slice(i, i + rowsPerInsert).map(deliveryValues))
            .onConflict((oc) => oc.columns(['subscription_id', 'event_id']).doNothing())
            .execute();
        }
        return true;
      });
    },

    async claim(now, leaseUntil, limit) {
      // Every wake asks, and mostly nothing is due: a plain read then spares the write lock.
      const due = (qb: Kysely<Database>) =>
        qb.selectFrom('webhook_deliveries').where('status', '=', 'pending').where('next_attempt_at', '<=', now);
      if (limit <= 0 || !(await due(db).select('id').limit(1).executeTakeFirst())) return [];
      return inWriteTransaction(db, backend, async (conn) => {
        let oldest = due(conn).selectAll().orderBy('next_attempt_at').orderBy('id').limit(limit);
        // Another node claiming at the same moment skips these rows rather than waiting for them.
        if (backend.rowLocks) oldest = oldest.forUpdate().skipLocked();
        const rows = await oldest.execute();
        if (rows.length === 0) return [];
        const ids = rows.map((r) => r.id);
        await conn.updateTable('webhook_deliveries').set({ next_attempt_at: leaseUntil }).where('id', 'in', ids).execute();
        return rows.map((row) => toDelivery({ ...row, next_attempt_at: leaseUntil }));
      });
    },

    async recordAttempt(attempt, next) {
      await inWriteTransaction(db, backend, async (conn) => {
        await conn
          .insertInto('webhook_attempts')
          .values({
            delivery_id: attempt.deliveryId,
            attempt: attempt.attempt,
            at: attempt.at,
            status: attempt.status,
            error: attempt.error,
            duration_ms: Math.round(attempt.durationMs),
          })
          // Two dispatchers that sent the same attempt log it once.
          .onConflict((oc) => oc.columns(['delivery_id', 'attempt']).doNothing())
          .execute();
        await conn
          .updateTable('webhook_deliveries')
          .set({
            status: next.status,
            attempts: attempt.attempt,
            next_attempt_at: next.nextAttemptAt,
            last_attempt_at: attempt.at,
            last_status: attempt.status,
            last_error: attempt.error,
          })
          .where('id', '=', attempt.deliveryId)
          // Another dispatcher that already recorded this attempt (or a later one) wins.
          .where('attempts', '<', attempt.attempt)
          .execute();
      });
    },

    async deliveries(tenantId, subscriptionId, query) {
      if (!storableKey(subscriptionId) || (query.before !== undefined && !storableKey(query.before))) return [];
      let q = db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('subscription_id', '=', subscriptionId);
      if (query.status !== undefined) q = q.where('status', '=', query.status);
      if (query.before !== undefined) q = q.where('id', '<', query.before);
      const rows = await q.orderBy('id', 'desc').limit(Math.max(0, query.limit)).execute();
      return rows.map(toDelivery);
    },

    async delivery(tenantId, id) {
      if (!storableKey(id)) return undefined;
      const row = await db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toDelivery(row);
    },

    async attempts(deliveryId) {
      if (!storableKey(deliveryId)) return [];
      const rows = await db
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('delivery_id', '=', deliveryId)
        .orderBy('attempt')
        .execute();
      return rows.map(
        (r): WebhookAttempt => ({
          deliveryId: r.delivery_id,
          attempt: Number(r.attempt),
          at: r.at,
          status: r.status === null ? null : Number(r.status),
          error: r.error,
          durationMs: Number(r.duration_ms),
        }),
      );
    },

    async redeliver(tenantId, id, now) {
      if (!storableKey(id)) return false;
      const result = await db
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', next_attempt_at: now })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    prune(before) {
      return inWriteTransaction(db, backend, async (conn) => {
        // Finished deliveries carry their last attempt's time in `next_attempt_at`: the `due` index serves this.
        const finished = (qb: typeof conn) =>
          qb.selectFrom('webhook_deliveries').select('id').where('status', 'in', ['delivered', 'dead']).where('next_attempt_at', '<', before);
        await conn.deleteFrom('webhook_attempts').where('delivery_id', 'in', finished(conn)).execute();
        const result = await conn.deleteFrom('webhook_deliveries').where('id', 'in', finished(conn)).executeTakeFirst();
        return Number(result.numDeletedRows);
      });
    },
  };
}

function subscriptionValues(s: WebhookSubscription, backend: StoreBackend) {
  return {
    tenant_id: s.tenantId,
    id: s.id,
    url: s.url,
    secret: s.secret,
    events: JSON.stringify(s.events),
    format: s.format,
    active: backend.bool(s.active),
    created: s.created,
  };
}

function toSubscription(row: Selectable<WebhookSubscriptionsTable>): WebhookSubscription {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    url: row.url,
    secret: row.secret,
    events: JSON.parse(row.events) as string[],
    format: row.format as WebhookSubscription['format'],
    active: Boolean(row.active),
    created: row.created,
  };
}

function deliveryValues(d: WebhookDelivery) {
  return {
    id: d.id,
    tenant_id: d.tenantId,
    subscription_id: d.subscriptionId,
    event_id: d.eventId,
    event_type: d.eventType,
    payload: d.payload,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.nextAttemptAt,
    last_attempt_at: d.lastAttemptAt,
    last_status: d.lastStatus,
    last_error: d.lastError,
    created: d.created,
  };
}

function toDelivery(row: Selectable<WebhookDeliveriesTable>): WebhookDelivery {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    subscriptionId: row.subscription_id,
    eventId: row.event_id,
    eventType: row.event_type,
    payload: row.payload,
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: row.next_attempt_at,
    lastAttemptAt: row.last_attempt_at,
    lastStatus: row.last_status === null ? null : Number(row.last_status),
    lastError: row.last_error,
    created: row.created,
  };
}
