import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, hasPostgres, warnPostgresSkipped } from '../../test/setup/pg.js';
import { openPostgresStore } from './postgres/open-postgres-store.js';
import { openSqliteStore } from './sqlite/open-sqlite-store.js';
import type { Store, Tenant, WebhookDelivery, WebhookSubscription } from './store.js';

if (!hasPostgres()) warnPostgresSkipped('PostgreSQL webhook store');

const backends: [string, () => Promise<Store>][] = [
  ['sqlite', () => openSqliteStore(':memory:')],
  ...(hasPostgres() ? [['postgres', async () => openPostgresStore(await createTestDatabase(), { poolSize: 4 })] as [string, () => Promise<Store>]] : []),
];

describe.each(backends)('webhook store: %s', (_name, open) => {
  let store: Store;
  let tenant: Tenant;
  let other: Tenant;

  beforeAll(async () => {
    store = await open();
    tenant = await store.tenants.create('hooks');
    other = await store.tenants.create('other');
  });
  afterAll(async () => store?.close());

  const subscription = (overrides: Partial<WebhookSubscription> = {}): WebhookSubscription => ({
    id: randomUUID(),
    tenantId: tenant.id,
    url: 'https://receiver.example.com/hook',
    secret: 'whsec_c2VjcmV0',
    events: ['user.*', 'access.granted'],
    format: 'json',
    active: true,
    created: '2031-01-01T00:00:00.000Z',
    ...overrides,
  });
  let sequence = 0;
  const delivery = (s: WebhookSubscription, eventId: string, overrides: Partial<WebhookDelivery> = {}): WebhookDelivery => ({
    // Ids order as they are made, as the dispatcher's do.
    id: `d-${String(++sequence).padStart(6, '0')}-${randomUUID()}`,
    tenantId: s.tenantId,
    subscriptionId: s.id,
    eventId,
    eventType: 'user.created',
    payload: JSON.stringify({ id: eventId, text: 'ünïcode ✓' }),
    status: 'pending',
    attempts: 0,
    nextAttemptAt: '2031-01-01T00:00:00.000Z',
    lastAttemptAt: null,
    lastStatus: null,
    lastError: null,
    created: '2031-01-01T00:00:00.000Z',
    ...overrides,
  });

  it('creates, reads, lists, updates and removes subscriptions, per tenant', async () => {
    const s = subscription();
    await store.webhooks.create(s);
    expect(await store.webhooks.get(tenant.id, s.id)).toEqual(s);
    expect(await store.webhooks.get(other.id, s.id)).toBeUndefined();
    expect(await store.webhooks.get(tenant.id, 'nul\u0000')).toBeUndefined();
    await expect(store.webhooks.create(s)).rejects.toMatchObject({ code: 'uniqueness' });
    expect((await store.webhooks.list(tenant.id)).map((x) => x.id)).toContain(s.id);
    expect(await store.webhooks.list(other.id)).toEqual([]);

    const changed = { ...s, url: 'http://127.0.0.1:9/x', events: ['*'], active: false, secret: 'whsec_bmV3' };
    expect(await store.webhooks.update(changed)).toBe(true);
    expect(await store.webhooks.get(tenant.id, s.id)).toEqual(changed);
    expect(await store.webhooks.update({ ...changed, tenantId: other.id })).toBe(false);

    expect(await store.webhooks.remove(other.id, s.id)).toBe(false);
    expect(await store.webhooks.remove(tenant.id, s.id)).toBe(true);
    expect(await store.webhooks.get(tenant.id, s.id)).toBeUndefined();
    expect(await store.webhooks.remove(tenant.id, s.id)).toBe(false);
  });

  it('queues deliveries only with a cursor move from where the cursor is, once per event', async () => {
    const s = subscription();
    await store.webhooks.create(s);
    const name = `webhook:${s.id}`;
    expect(await store.webhooks.enqueue(tenant.id, s.id, undefined, '5.*', [])).toBe(true);
    expect(await store.audit.cursor(tenant.id, name)).toBe('5.*');
    expect(await store.webhooks.enqueue(tenant.id, s.id, undefined, '6', [delivery(s, '6')])).toBe(false);
    expect(await store.webhooks.enqueue(tenant.id, s.id, '4', '6', [delivery(s, '6')])).toBe(false);
    expect(await store.webhooks.deliveries(tenant.id, s.id, { limit: 10 })).toEqual([]);

    const first = delivery(s, '6');
    expect(await store.webhooks.enqueue(tenant.id, s.id, '5.*', '6.1', [first, delivery(s, '6.1')])).toBe(true);
    // The same event again (a replayed cursor) is skipped, the new one queued.
    expect(await store.webhooks.enqueue(tenant.id, s.id, '6.1', '7', [delivery(s, '6'), delivery(s, '7')])).toBe(true);
    const queued = await store.webhooks.deliveries(tenant.id, s.id, { limit: 10 });
    expect(queued.map((d) => d.eventId)).toEqual(['7', '6.1', '6']);
    expect(queued.at(-1)).toEqual(first);
    expect(await store.audit.cursor(tenant.id, name)).toBe('7');

    // A subscription of another tenant, or none, queues nothing.
    expect(await store.webhooks.enqueue(other.id, s.id, '7', '8', [delivery(s, '8')])).toBe(false);
    expect(await store.webhooks.enqueue(tenant.id, 'missing', undefined, '8', [])).toBe(false);
  });

  it('lets exactly one of two concurrent cursor moves win', async () => {
    const s = subscription();
    await store.webhooks.create(s);
    await store.webhooks.enqueue(tenant.id, s.id, undefined, '1', []);
    const results = await Promise.all([
      store.webhooks.enqueue(tenant.id, s.id, '1', '2', [delivery(s, '2')]),
      store.webhooks.enqueue(tenant.id, s.id, '1', '2', [delivery(s, '2')]),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.webhooks.deliveries(tenant.id, s.id, { limit: 10 })).toHaveLength(1);
  });

  it('hands out due deliveries oldest first, each to one claimer until its lease passes, logs attempts and moves their status', async () => {
    const s = subscription({ tenantId: other.id });
    await store.webhooks.create(s);
    const early = delivery(s, '1', { nextAttemptAt: '2031-01-01T00:00:01.000Z' });
    const late = delivery(s, '2', { nextAttemptAt: '2031-01-01T00:00:09.000Z' });
    await store.webhooks.enqueue(other.id, s.id, undefined, '2', [late, early]);
    const claim = async (now: string, leaseUntil: string) =>
      (await store.webhooks.claim(`2031-01-01T00:00:${now}.000Z`, `2031-01-01T00:00:${leaseUntil}.000Z`, 100))
        .filter((d) => d.subscriptionId === s.id)
        .map((d) => d.eventId);
    expect(await claim('00', '30')).toEqual([]);
    expect(await claim('01', '30')).toEqual(['1']);
    // Claimed: no one gets it again before its lease passes; the later one is due by now.
    expect(await claim('10', '40')).toEqual(['2']);
    expect(await claim('10', '40')).toEqual([]);
    expect(await store.webhooks.delivery(other.id, early.id)).toMatchObject({ status: 'pending', nextAttemptAt: '2031-01-01T00:00:30.000Z' });

    const failed = { deliveryId: early.id, attempt: 1, at: '2031-01-01T00:00:02.000Z', status: 500, error: null, durationMs: 12.6 };
    await store.webhooks.recordAttempt(failed, { status: 'pending', nextAttemptAt: '2031-01-01T00:00:20.000Z' });
    // A second dispatcher that sent the same attempt logs nothing twice.
    await store.webhooks.recordAttempt(failed, { status: 'pending', nextAttemptAt: '2031-01-01T00:00:20.000Z' });
    // The retry is due at 20 s; the other is still leased until 40 s.
    expect(await claim('25', '50')).toEqual(['1']);
    const timeout = { deliveryId: early.id, attempt: 2, at: '2031-01-01T00:00:20.000Z', status: null, error: 'timeout', durationMs: 1000 };
    await store.webhooks.recordAttempt(timeout, { status: 'dead', nextAttemptAt: '2031-01-01T00:00:21.000Z' });
    expect(await store.webhooks.delivery(other.id, early.id)).toMatchObject({
      status: 'dead',
      attempts: 2,
      lastAttemptAt: '2031-01-01T00:00:20.000Z',
      lastStatus: null,
      lastError: 'timeout',
    });
    expect(await store.webhooks.attempts(early.id)).toEqual([
      { ...failed, durationMs: 13 },
      { ...timeout, durationMs: 1000 },
    ]);
    // A dead delivery is never due; one whose dispatcher died is, once its lease passed.
    expect(await claim('55', '59')).toEqual(['2']);

    // Redelivery: pending again, due now, its count and log kept; never through another tenant.
    expect(await store.webhooks.redeliver(tenant.id, early.id, '2031-01-03T00:00:00.000Z')).toBe(false);
    expect(await store.webhooks.delivery(tenant.id, early.id)).toBeUndefined();
    expect(await store.webhooks.redeliver(other.id, early.id, '2031-01-03T00:00:00.000Z')).toBe(true);
    expect(await store.webhooks.delivery(other.id, early.id)).toMatchObject({ status: 'pending', attempts: 2, nextAttemptAt: '2031-01-03T00:00:00.000Z' });
    expect(await store.webhooks.attempts(early.id)).toHaveLength(2);
  });

  it('gives each due delivery to one of two dispatchers claiming at the same moment', async () => {
    const s = subscription();
    await store.webhooks.create(s);
    const all = Array.from({ length: 40 }, (_, i) => delivery(s, String(i + 1), { nextAttemptAt: '2019-01-01T00:00:00.000Z' }));
    await store.webhooks.enqueue(tenant.id, s.id, undefined, '40', all);
    const claims = await Promise.all(
      [0, 1, 2, 3].map(() => store.webhooks.claim('2019-06-01T00:00:00.000Z', '2019-06-01T00:01:00.000Z', 15)),
    );
    const ids = claims.flat().filter((d) => d.subscriptionId === s.id).map((d) => d.id);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
    await store.webhooks.remove(tenant.id, s.id);
  });

  it('pages the delivery log newest first, by status, and forgets it all with the subscription', async () => {
    const s = subscription();
    await store.webhooks.create(s);
    const all = Array.from({ length: 5 }, (_, i) => delivery(s, String(i + 1), i % 2 ? { status: 'dead' } : {}));
    await store.webhooks.enqueue(tenant.id, s.id, undefined, '5', all);
    await store.webhooks.recordAttempt(
      { deliveryId: all[0]!.id, attempt: 1, at: 'x', status: 200, error: null, durationMs: 1 },
      { status: 'delivered', nextAttemptAt: 'x' },
    );
    const page1 = await store.webhooks.deliveries(tenant.id, s.id, { limit: 2 });
    const page2 = await store.webhooks.deliveries(tenant.id, s.id, { limit: 2, before: page1.at(-1)!.id });
    const page3 = await store.webhooks.deliveries(tenant.id, s.id, { limit: 2, before: page2.at(-1)!.id });
    expect([...page1, ...page2, ...page3].map((d) => d.eventId)).toEqual(['5', '4', '3', '2', '1']);
    expect((await store.webhooks.deliveries(tenant.id, s.id, { limit: 10, status: 'dead' })).map((d) => d.eventId)).toEqual(['4', '2']);
    expect((await store.webhooks.deliveries(tenant.id, s.id, { limit: 10, status: 'delivered' })).map((d) => d.eventId)).toEqual(['1']);
    expect(await store.webhooks.deliveries(other.id, s.id, { limit: 10 })).toEqual([]);

    expect(await store.webhooks.remove(tenant.id, s.id)).toBe(true);
    expect(await store.webhooks.delivery(tenant.id, all[0]!.id)).toBeUndefined();
    expect(await store.webhooks.attempts(all[0]!.id)).toEqual([]);
    expect(await store.audit.cursor(tenant.id, `webhook:${s.id}`)).toBeUndefined();
  });

  it('prunes deliveries that ended before a time, with their attempts, and keeps pending ones however old', async () => {
    const s = subscription();
    await store.webhooks.create(s);
    const [old, recent] = ['2020-01-01T00:00:00.000Z', '2020-03-01T00:00:00.000Z'];
    const all = [
      delivery(s, '1', { status: 'delivered', attempts: 1, nextAttemptAt: old }),
      delivery(s, '2', { status: 'dead', attempts: 12, nextAttemptAt: old }),
      delivery(s, '3', { status: 'pending', nextAttemptAt: old }),
      delivery(s, '4', { status: 'delivered', attempts: 1, nextAttemptAt: recent }),
    ];
    expect(await store.webhooks.enqueue(tenant.id, s.id, undefined, '4', all)).toBe(true);
    await store.webhooks.recordAttempt(
      { deliveryId: all[0]!.id, attempt: 1, at: old, status: 200, error: null, durationMs: 3 },
      { status: 'delivered', nextAttemptAt: old },
    );

    expect(await store.webhooks.prune('2020-02-01T00:00:00.000Z')).toBe(2);
    expect((await store.webhooks.deliveries(tenant.id, s.id, { limit: 10 })).map((d) => `${d.eventId} ${d.status}`)).toEqual(['4 delivered', '3 pending']);
    expect(await store.webhooks.attempts(all[0]!.id)).toEqual([]);
    expect(await store.webhooks.prune('2020-02-01T00:00:00.000Z')).toBe(0);
  });
});
