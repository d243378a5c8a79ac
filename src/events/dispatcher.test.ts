import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.js';
import { openSqliteStore } from '../store/sqlite/open-sqlite-store.js';
import type { Store, Tenant, WebhookSubscription } from '../store/store.js';
import { createWebhookDispatcher, retryDelayMs } from './dispatcher.js';
import { verifyWebhook } from './signing.js';

describe('retryDelayMs', () => {
  it('doubles from the base, ±20 % jitter, at most 6 hours', () => {
    expect([1, 2, 3, 4, 13].map((n) => retryDelayMs(n, 10_000, 0.5))).toEqual([10_000, 20_000, 40_000, 80_000, 6 * 3600_000]);
    expect(retryDelayMs(3, 10_000, 0)).toBe(32_000);
    expect(retryDelayMs(3, 10_000, 0.999999)).toBe(48_000);
    for (let i = 0; i < 100; i++) {
      const delay = retryDelayMs(5, 1000);
      expect(delay).toBeGreaterThanOrEqual(12_800);
      expect(delay).toBeLessThanOrEqual(19_200);
    }
    expect(retryDelayMs(40, 10_000, 1)).toBe(6 * 3600_000);
  });
});

/** Deadline-bounded polling, so a broken dispatcher fails the test instead of hanging it. */
async function until<T>(probe: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('webhook dispatcher', () => {
  let store: Store;
  let tenant: Tenant;
  let receiver: Server;
  let base: string;
  const received: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];
  /** Paths that answer 500; `/hang` never answers. */
  const failing = new Set(['/fail']);

  beforeAll(async () => {
    store = await openSqliteStore(':memory:');
    tenant = await store.tenants.create('dispatch');
    receiver = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body });
        if (req.url === '/hang') return;
        res.writeHead(failing.has(req.url ?? '') ? 500 : 204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
    await store?.close();
  });

  /** A logged, derived write (the deriver's part played by `recordDerived`), so its event is readable. */
  async function write(userId: string): Promise<number> {
    const revision = await store.write(tenant.id, async (tx) => {
      const next = await tx.nextRevision();
      await tx.appendChange({
        revision: next,
        at: new Date().toISOString(),
        actor: { tokenId: null, kind: 'system' },
        change: { resourceType: 'User', resourceId: userId, operation: 'create', attributes: [], membersAdded: [], membersRemoved: [] },
      });
      return next;
    });
    expect(await store.audit.recordDerived(tenant.id, revision - 1, revision, [])).toBe(true);
    return revision;
  }

  async function subscribe(path: string): Promise<WebhookSubscription> {
    const s: WebhookSubscription = {
      id: `sub${path.replace('/', '-')}`,
      tenantId: tenant.id,
      url: `${base}${path}`,
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      events: ['user.*'],
      format: 'json',
      active: true,
      created: new Date().toISOString(),
    };
    await store.webhooks.create(s);
    const head = (await store.audit.head(tenant.id)).revision;
    await store.webhooks.enqueue(tenant.id, s.id, undefined, `${head}.*`, []);
    return s;
  }

  it('delivers signed events, retries a failing receiver without holding back the others, and gives up after maxAttempts', async () => {
    await write('before-subscribing');
    const ok = await subscribe('/ok');
    const bad = await subscribe('/fail');
    const errors: unknown[] = [];
    const dispatcher = createWebhookDispatcher({
      store,
      allowPrivate: true,
      clock: systemClock,
      pollMs: 20,
      maxAttempts: 3,
      retryBaseMs: 10,
      timeoutMs: 2000,
      onError: (err) => errors.push(err),
    });
    dispatcher.start();
    try {
      await write('u1');
      await write('u2');
      dispatcher.wake(tenant.id);
      await until(async () => (received.filter((r) => r.path === '/ok').length === 2 ? true : undefined), 'both events at /ok');
      const ok1 = received.find((r) => r.path === '/ok')!;
      expect(verifyWebhook(ok.secret, ok1.headers, ok1.body)).toMatchObject({ ok: true, id: '2' });
      expect(JSON.parse(ok1.body)).toMatchObject({ id: '2', type: 'user.created', data: { resourceId: 'u1' } });
      expect(ok1.headers['content-type']).toBe('application/json');

      const dead = await until(async () => {
        const log = await store.webhooks.deliveries(tenant.id, bad.id, { limit: 10, status: 'dead' });
        return log.length === 2 ? log : undefined;
      }, 'both /fail deliveries dead');
      expect(dead.map((d) => [d.eventId, d.attempts, d.lastStatus])).toEqual([
        ['3', 3, 500],
        ['2', 3, 500],
      ]);
      expect((await store.webhooks.attempts(dead[0]!.id)).map((a) => a.attempt)).toEqual([1, 2, 3]);
      expect(received.filter((r) => r.path === '/fail')).toHaveLength(6);
      // The history before the subscription was never sent.
      expect(received.some((r) => r.body.includes('before-subscribing'))).toBe(false);
      expect(errors).toEqual([]);
    } finally {
      await dispatcher.stop();
      await store.webhooks.remove(tenant.id, ok.id);
      await store.webhooks.remove(tenant.id, bad.id);
    }
  });

  it('lets go of a subscription removed after it was listed', async () => {
    const ghost: WebhookSubscription = { ...(await subscribe('/ghost')), id: 'removed-meanwhile' };
    await store.webhooks.remove(tenant.id, 'sub-ghost');
    let enqueues = 0;
    const webhooks = {
      ...store.webhooks,
      list: async () => [ghost],
      enqueue: (...args: Parameters<Store['webhooks']['enqueue']>) => {
        enqueues += 1;
        return store.webhooks.enqueue(...args);
      },
    };
    const dispatcher = createWebhookDispatcher({
      store: { ...store, webhooks },
      clock: systemClock,
      pollMs: 60_000,
      maxAttempts: 1,
      retryBaseMs: 10,
      timeoutMs: 300,
      onError: (err) => {
        throw err;
      },
    });
    dispatcher.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await dispatcher.stop();
    expect(enqueues).toBe(1);
  });

  it('records unreachable receivers as failed attempts, and stops within its timeout when one hangs', async () => {
    const hang = await subscribe('/hang');
    const gone: WebhookSubscription = { ...(await subscribe('/gone')), url: 'http://127.0.0.1:1/nothing-listens' };
    await store.webhooks.update(gone);
    const dispatcher = createWebhookDispatcher({
      store,
      allowPrivate: true,
      clock: systemClock,
      pollMs: 20,
      maxAttempts: 5,
      retryBaseMs: 60_000,
      timeoutMs: 300,
      onError: (err) => {
        throw err;
      },
    });
    dispatcher.start();
    await write('u3');
    dispatcher.wake();
    const [refused] = await until(async () => {
      const log = await store.webhooks.deliveries(tenant.id, gone.id, { limit: 1 });
      return log[0]?.attempts ? log : undefined;
    }, 'an attempt at the unreachable receiver');
    expect(refused).toMatchObject({ status: 'pending', attempts: 1, lastStatus: null, lastError: expect.stringMatching(/ECONNREFUSED/) });
    await until(async () => (received.some((r) => r.path === '/hang') ? true : undefined), 'the hanging request');
    const started = Date.now();
    await dispatcher.stop();
    expect(Date.now() - started).toBeLessThan(2000);
    const [hung] = await store.webhooks.deliveries(tenant.id, hang.id, { limit: 1 });
    expect(hung).toMatchObject({ status: 'pending', attempts: 1, lastStatus: null });
  });

  it('does not send to a private address unless allowed: the attempt fails and says why', async () => {
    const s = await subscribe('/private');
    await write('u-private');
    const dispatcher = createWebhookDispatcher({
      store,
      clock: systemClock,
      pollMs: 20,
      maxAttempts: 1,
      retryBaseMs: 10,
      timeoutMs: 300,
      onError: () => undefined,
    });
    dispatcher.start();
    const [dead] = await until(async () => {
      const log = await store.webhooks.deliveries(tenant.id, s.id, { limit: 1, status: 'dead' });
      return log.length > 0 ? log : undefined;
    }, 'the refused delivery');
    await dispatcher.stop();
    expect(dead).toMatchObject({ attempts: 1, lastStatus: null, lastError: expect.stringMatching(/^not sent: 127\.0\.0\.1 is a private, loopback or reserved address/) });
    expect(received.filter((r) => r.path === '/private')).toEqual([]);
    await store.webhooks.remove(tenant.id, s.id);
  });

  it('removes the deliveries that ended more than retentionDays ago when it starts', async () => {
    const s = await subscribe('/retained');
    const ended = (eventId: string, days: number) => ({
      id: `retained-${eventId}`,
      tenantId: tenant.id,
      subscriptionId: s.id,
      eventId,
      eventType: 'user.created',
      payload: '{}',
      status: 'delivered' as const,
      attempts: 1,
      nextAttemptAt: new Date(Date.now() - days * 86_400_000).toISOString(),
      lastAttemptAt: null,
      lastStatus: 204,
      lastError: null,
      created: new Date(Date.now() - days * 86_400_000).toISOString(),
    });
    const cursor = await store.audit.cursor(tenant.id, `webhook:${s.id}`);
    await store.webhooks.enqueue(tenant.id, s.id, cursor, cursor!, [ended('old', 8), ended('recent', 6)]);
    const dispatcher = createWebhookDispatcher({
      store,
      clock: systemClock,
      pollMs: 20,
      maxAttempts: 3,
      retryBaseMs: 1000,
      timeoutMs: 300,
      retentionDays: 7,
      onError: () => undefined,
    });
    dispatcher.start();
    const left = await until(async () => {
      const log = await store.webhooks.deliveries(tenant.id, s.id, { limit: 10 });
      return log.length === 1 ? log : undefined;
    }, 'the old delivery to go');
    await dispatcher.stop();
    expect(left.map((d) => d.eventId)).toEqual(['recent']);
  });
});
