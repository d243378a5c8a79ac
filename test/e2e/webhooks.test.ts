import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { verifyWebhook } from '../../src/events/signing.js';
import { issueToken } from '../../src/service/tokens.js';
import { applyPolicy } from './authzen-helpers.js';
import { backends, GROUP_SCHEMA, patchOps, scimClient, startServer, USER_SCHEMA, type RunningServer, type ScimClient } from './harness.js';

const POLICY = `
resourceTypes:
  env: [deploy]
roles:
  deployer: { permissions: ["env:deploy"] }
attributeRules:
  - { id: sre-title, filter: 'title eq "SRE"', role: deployer, scope: "env:*" }
`;

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Deadline-bounded polling: a delivery that never comes fails the test, it never hangs it. */
async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface SseEvent {
  readonly id: string;
  readonly event: string;
  readonly data: any;
}

/** A minimal Server-Sent Events client over node:http, so a test controls exactly when it disconnects. */
function openStream(url: string, token: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; events: SseEvent[]; close: () => void }>((resolve, reject) => {
    const events: SseEvent[] = [];
    const req = httpRequest(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers } }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const fields = new Map<string, string>();
          for (const line of buffer.slice(0, end).split('\n')) {
            const colon = line.indexOf(':');
            if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
          }
          buffer = buffer.slice(end + 2);
          if (fields.has('data')) events.push({ id: fields.get('id')!, event: fields.get('event')!, data: JSON.parse(fields.get('data')!) });
        }
      });
      res.on('error', () => undefined);
      resolve({ status: res.statusCode ?? 0, events, close: () => req.destroy() });
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end();
  });
}

describe.each(backends())('webhooks and the event stream (%s)', (backend) => {
  let server: RunningServer;
  let adminToken: string;
  let idp: ScimClient;
  let receiver: Server;
  let receiverUrl: string;
  const received: Received[] = [];
  /** Per path: the status to answer the n-th request with (1-based); 204 when absent. */
  const behaviour = new Map<string, (n: number) => number>();

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const path = req.url ?? '';
        received.push({ path, headers: req.headers, body });
        const n = received.filter((r) => r.path === path).length;
        res.writeHead(behaviour.get(path)?.(n) ?? 204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    server = await startServer(backend, {
      // The receiver listens on 127.0.0.1.
      config: { webhookPollMs: 50, webhookRetryBaseMs: 50, webhookMaxAttempts: 3, webhookTimeoutMs: 2000, webhookAllowPrivate: true },
    });
    adminToken = await server.token('admin');
    idp = scimClient(server);
    await applyPolicy(server, adminToken, POLICY);
  });
  afterAll(async () => {
    await server?.close();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  async function api(method: string, path: string, body?: unknown, token = adminToken) {
    const res = await fetch(`${server.url}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  const at = (path: string) => received.filter((r) => r.path === path);
  const subscribe = async (path: string, events: string[]) => {
    const res = await api('POST', '/webhooks', { url: `${receiverUrl}${path}`, events });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; secret: string; url: string; events: string[]; active: boolean };
  };
  const deliveriesOf = async (id: string, query = '') => (await api('GET', `/webhooks/${id}/deliveries${query}`)).body.items as any[];

  it('sends SCIM writes and the access they changed, signed and verifiable, filtered by each subscription', async () => {
    const users = await subscribe('/users', ['user.created']);
    const all = await subscribe('/all', ['*']);
    expect(users.secret).toMatch(/^whsec_/);

    const user = await idp.post('/Users', { schemas: [USER_SCHEMA], userName: 'sam@example.com', title: 'SRE' });
    const group = await idp.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'On-call' });
    expect([user.status, group.status]).toEqual([201, 201]);
    const revision = Number(/W\/"(\d+)"/.exec(user.body.meta.version)![1]);

    await until(() => (at('/all').length >= 3 && at('/users').length >= 1 ? true : undefined), 'the deliveries');
    const [created] = at('/users');
    expect(at('/users')).toHaveLength(1);
    expect(verifyWebhook(users.secret, created!.headers, created!.body)).toEqual({
      ok: true,
      id: String(revision),
      timestamp: expect.any(Number),
    });
    expect(verifyWebhook(all.secret, created!.headers, created!.body).ok).toBe(false);
    expect(JSON.parse(created!.body)).toMatchObject({
      id: String(revision),
      type: 'user.created',
      tenant: server.tenantId,
      revision,
      actor: { kind: 'scim', tokenId: expect.any(String) },
      data: { resourceType: 'User', resourceId: user.body.id, operation: 'create' },
    });

    // At least once, not ordered: a consumer orders by event id.
    const events = at('/all').map((r) => {
      expect(verifyWebhook(all.secret, r.headers, r.body).ok).toBe(true);
      expect(r.headers['content-type']).toBe('application/json');
      const event = JSON.parse(r.body);
      expect(r.headers['webhook-id']).toBe(event.id);
      return event;
    });
    const byId = Object.fromEntries(events.map((e) => [e.id, e]));
    expect(byId[String(revision)].type).toBe('user.created');
    expect(byId[`${revision}.1`]).toMatchObject({
      type: 'access.granted',
      data: { user: user.body.id, permission: 'env:deploy', scope: 'env:*', effect: 'allow', change: 'gained' },
    });
    expect(byId[String(revision + 1)]).toMatchObject({ type: 'group.created', data: { resourceId: group.body.id } });

    // The secret is shown once; afterwards it is masked.
    const read = await api('GET', `/webhooks/${users.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: users.id, events: ['user.created'], active: true, format: 'json' });
    expect(read.body.secret).not.toBe(users.secret);
    expect(read.body.secret).toMatch(/^whsec_…/);
    const log = await deliveriesOf(users.id);
    expect(log).toEqual([expect.objectContaining({ eventId: String(revision), eventType: 'user.created', status: 'delivered', attempts: 1 })]);
    for (const s of [users, all]) expect((await api('DELETE', `/webhooks/${s.id}`)).status).toBe(204);
  });

  it('tells subscribers when a temporary grant runs out: the system logs the expiry once, then policy.expired and access.revoked', async () => {
    const expiry = await subscribe('/expiry', ['policy.expired', 'access.*']);
    const user = await idp.post('/Users', { schemas: [USER_SCHEMA], userName: 'oncall@example.com' });
    expect(user.status).toBe(201);
    const grant = await api('POST', '/grants', { user: 'oncall@example.com', role: 'deployer', scope: 'env:prod', duration: 'PT1.5S', reason: 'INC-7' });
    expect(grant.status, JSON.stringify(grant.body)).toBe(201);
    const { id, expiresAt } = grant.body as { id: string; expiresAt: string };

    const mine = () => at('/expiry').map((r) => JSON.parse(r.body)).filter((e) => e.type === 'policy.expired' || e.data.user === user.body.id);
    const events = await until(() => (mine().some((e) => e.type === 'access.revoked') ? mine() : undefined), 'the expiry events', 20_000);
    const granted = events.find((e) => e.type === 'access.granted');
    const expired = events.find((e) => e.type === 'policy.expired');
    const revoked = events.find((e) => e.type === 'access.revoked');
    expect(granted).toMatchObject({ data: { permission: 'env:deploy', scope: 'env:prod', change: 'gained', detail: { expiresAt } } });
    expect(expired).toMatchObject({
      actor: { kind: 'system', tokenId: null },
      data: { kind: 'policy', objectKind: 'grant', objectId: id, operation: 'expire', after: { id, expiresAt } },
    });
    expect(Date.parse(expired.time)).toBeGreaterThanOrEqual(Date.parse(expiresAt));
    expect(revoked).toMatchObject({
      id: `${expired.revision}.1`,
      revision: expired.revision,
      data: { permission: 'env:deploy', scope: 'env:prod', effect: 'allow', change: 'lost', detail: { reason: `grant ${id} expired at ${expiresAt}` } },
    });
    for (const r of at('/expiry')) expect(verifyWebhook(expiry.secret, r.headers, r.body).ok).toBe(true);

    // Logged once, however many sweeps ran since; the grant object itself is left as it was.
    const entries = await fetch(`${server.url}/audit/v1/entries?kind=grant&resource=${id}`, { headers: { authorization: `Bearer ${adminToken}` } });
    const operations = ((await entries.json()) as { items: { change: { operation: string } }[] }).items.map((e) => e.change.operation);
    expect(operations.sort()).toEqual(['create', 'expire']);
    expect((await api('GET', `/grants/${id}`)).body).toMatchObject({ id, expiresAt, meta: { version: grant.body.meta.version } });
    await api('DELETE', `/webhooks/${expiry.id}`);
  });

  it('retries a receiver that answers 500 twice, delivering the same signed event on the third attempt', async () => {
    behaviour.set('/flaky', (n) => (n <= 2 ? 500 : 200));
    const flaky = await subscribe('/flaky', ['group.*']);
    expect((await idp.post('/Users', { schemas: [USER_SCHEMA], userName: 'not-a-group@example.com' })).status).toBe(201);
    const group = await idp.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Flaky' });
    expect(group.status).toBe(201);

    const [delivery] = await until(async () => {
      const log = await deliveriesOf(flaky.id, '?status=delivered');
      return log.length === 1 ? log : undefined;
    }, 'the flaky delivery');
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200, eventType: 'group.created' });
    const detail = await api('GET', `/webhooks/${flaky.id}/deliveries/${delivery.id}`);
    expect(detail.body.attemptLog.map((a: any) => a.status)).toEqual([500, 500, 200]);
    expect(detail.body.event).toMatchObject({ type: 'group.created', data: { resourceId: group.body.id } });

    const sent = at('/flaky');
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((r) => r.body)).size).toBe(1);
    expect(new Set(sent.map((r) => r.headers['webhook-id'])).size).toBe(1);
    for (const r of sent) expect(verifyWebhook(flaky.secret, r.headers, r.body).ok).toBe(true);
    await api('DELETE', `/webhooks/${flaky.id}`);
  });

  it('marks a delivery dead after maxAttempts, shows it in the delivery log, and redelivers it on demand', async () => {
    let up = false;
    behaviour.set('/down', () => (up ? 200 : 503));
    const down = await subscribe('/down', ['user.*']);
    const user = await idp.post('/Users', { schemas: [USER_SCHEMA], userName: 'dee@example.com' });
    expect(user.status).toBe(201);

    const [dead] = await until(async () => {
      const log = await deliveriesOf(down.id, '?status=dead');
      return log.length === 1 ? log : undefined;
    }, 'the dead delivery');
    expect(dead).toMatchObject({ status: 'dead', attempts: 3, lastStatus: 503, eventType: 'user.created' });
    expect(dead).not.toHaveProperty('nextAttemptAt');
    expect(at('/down')).toHaveLength(3);

    up = true;
    const redelivered = await api('POST', `/webhooks/${down.id}/deliveries/${dead.id}/redeliver`);
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toMatchObject({ id: dead.id, status: expect.stringMatching(/pending|delivered/) });
    const done = await until(async () => {
      const detail = await api('GET', `/webhooks/${down.id}/deliveries/${dead.id}`);
      return detail.body.status === 'delivered' ? detail.body : undefined;
    }, 'the redelivery');
    expect(done.attempts).toBe(4);
    expect(done.attemptLog.map((a: any) => a.status)).toEqual([503, 503, 503, 200]);
    expect(JSON.parse(at('/down')[3]!.body).data.resourceId).toBe(user.body.id);
    await api('DELETE', `/webhooks/${down.id}`);
  });

  it('keeps subscriptions and deliveries to their tenant: another tenant gets 404', async () => {
    const mine = await subscribe('/mine', ['user.created']);
    expect((await idp.post('/Users', { schemas: [USER_SCHEMA], userName: 'mine@example.com' })).status).toBe(201);
    const [delivery] = await until(async () => {
      const log = await deliveriesOf(mine.id);
      return log.length === 1 ? log : undefined;
    }, 'a delivery');
    const other = (await server.store.tenants.findByName('other')) ?? (await server.store.tenants.create('other'));
    const theirs = (await issueToken(server.store, systemClock, other.id, 'admin', 'other admin')).token;

    expect((await api('GET', '/webhooks', undefined, theirs)).body).toEqual({ items: [], total: 0 });
    for (const [method, path] of [
      ['GET', `/webhooks/${mine.id}`],
      ['PATCH', `/webhooks/${mine.id}`],
      ['DELETE', `/webhooks/${mine.id}`],
      ['POST', `/webhooks/${mine.id}/secret`],
      ['GET', `/webhooks/${mine.id}/deliveries`],
      ['GET', `/webhooks/${mine.id}/deliveries/${delivery.id}`],
      ['POST', `/webhooks/${mine.id}/deliveries/${delivery.id}/redeliver`],
    ] as const) {
      const res = await api(method, path, method === 'PATCH' ? { active: false } : undefined, theirs);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect((await api('GET', `/webhooks/${mine.id}`)).body.active).toBe(true);
    expect((await api('GET', '/webhooks', undefined, server.scimToken)).status).toBe(403);
    expect((await api('GET', '/webhooks', undefined, 'nope')).status).toBe(401);
    await api('DELETE', `/webhooks/${mine.id}`);
  });

  it('validates subscriptions, updates them, rotates the secret and deletes them', async () => {
    const bad = [
      { url: 'ftp://example.com/hook', events: ['*'] },
      { url: 'not a url', events: ['*'] },
      { url: `${receiverUrl}/x`, events: ['user.renamed'] },
      { url: `${receiverUrl}/x`, events: [] },
      { url: `${receiverUrl}/x` },
      { url: `${receiverUrl}/x`, events: ['*'], format: 'set' },
      { url: `${receiverUrl}/x`, events: ['*'], evnts: ['*'] },
    ];
    for (const body of bad) {
      const res = await api('POST', '/webhooks', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    }
    const created = await subscribe('/x', ['user.*']);
    const patched = await api('PATCH', `/webhooks/${created.id}`, { active: false, events: ['access.*', 'access.*'] });
    expect(patched.body).toMatchObject({ active: false, events: ['access.*'], url: `${receiverUrl}/x` });
    expect((await api('PATCH', `/webhooks/${created.id}`, { events: ['nope'] })).status).toBe(400);
    const replaced = await api('PUT', `/webhooks/${created.id}`, { url: `${receiverUrl}/y`, events: ['policy.*'] });
    expect(replaced.body).toMatchObject({ active: true, events: ['policy.*'], url: `${receiverUrl}/y` });
    expect((await api('PUT', `/webhooks/${created.id}`, { url: `${receiverUrl}/y` })).status).toBe(400);

    const rotated = await api('POST', `/webhooks/${created.id}/secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(rotated.body.secret).not.toBe(created.secret);
    expect((await api('GET', '/webhooks')).body.items.map((s: any) => s.id)).toContain(created.id);

    expect((await api('DELETE', `/webhooks/${created.id}`)).status).toBe(204);
    expect((await api('GET', `/webhooks/${created.id}`)).status).toBe(404);
    expect((await api('DELETE', `/webhooks/${created.id}`)).status).toBe(404);
  });

  it('streams events over SSE and resumes after Last-Event-ID with exactly the missed ones', async () => {
    const authz = await server.token('authz');
    const streamUrl = `${server.url}/events`;
    const first = await openStream(streamUrl, authz);
    expect(first.status).toBe(200);
    const user = await idp.post('/Users', { schemas: [USER_SCHEMA], userName: 'sse@example.com', title: 'SRE' });
    expect(user.status).toBe(201);
    const r1 = Number(/W\/"(\d+)"/.exec(user.body.meta.version)![1]);
    await until(() => (first.events.length >= 2 ? true : undefined), 'the first events');
    expect(first.events.map((e) => [e.id, e.event])).toEqual([
      [String(r1), 'user.created'],
      [`${r1}.1`, 'access.granted'],
    ]);
    expect(first.events[0]!.data).toMatchObject({ id: String(r1), tenant: server.tenantId, data: { resourceId: user.body.id } });
    first.close();

    // Written while nobody listens.
    expect((await idp.patch(`/Users/${user.body.id}`, patchOps({ op: 'replace', path: 'title', value: 'Engineer' }))).status).toBe(200);
    expect((await idp.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'SSE' })).status).toBe(201);
    const missed = [String(r1 + 1), `${r1 + 1}.1`, String(r1 + 2)];

    const resumed = await openStream(streamUrl, adminToken, { 'last-event-id': `${r1}.1` });
    await until(() => (resumed.events.length >= 3 ? true : undefined), 'the missed events');
    // One poll more: nothing else may follow.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(resumed.events.map((e) => e.id)).toEqual(missed);
    expect(resumed.events.map((e) => e.event)).toEqual(['user.updated', 'access.revoked', 'group.created']);
    resumed.close();

    // After a change event its access events follow; `N.*` skips all of revision N.
    const fromEntry = await openStream(`${streamUrl}?after=${r1}`, authz);
    await until(() => (fromEntry.events.length >= 4 ? true : undefined), 'the events after the entry');
    expect(fromEntry.events.map((e) => e.id)).toEqual([`${r1}.1`, ...missed]);
    fromEntry.close();
    const skipping = await openStream(`${streamUrl}?after=${r1 + 1}.*`, authz);
    await until(() => (skipping.events.length >= 1 ? true : undefined), 'the events after the revision');
    expect(skipping.events.map((e) => e.id)).toEqual([String(r1 + 2)]);
    skipping.close();

    // Left open: closing the server must end it rather than wait for the client.
    await openStream(streamUrl, authz);

    for (const [token, headers, status] of [
      [authz, { 'last-event-id': 'yesterday' }, 400],
      [server.scimToken, {}, 403],
      ['nope', {}, 401],
    ] as const) {
      const refused = await openStream(streamUrl, token, headers);
      expect(refused.status).toBe(status);
      refused.close();
    }
  });
});

describe.each(backends())('webhook egress by default (%s)', (backend) => {
  let server: RunningServer;
  let adminToken: string;
  beforeAll(async () => {
    server = await startServer(backend);
    adminToken = await server.token('admin');
  });
  afterAll(async () => server?.close());

  it('refuses receivers on loopback, private and link-local addresses, naming the setting that allows them', async () => {
    const urls = ['http://127.0.0.1:9/hook', 'http://localhost/hook', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/hook', 'https://10.0.0.5/hook'];
    for (const url of urls) {
      const res = await fetch(`${server.url}/admin/v1/webhooks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url, events: ['*'] }),
      });
      expect(res.status, url).toBe(400);
      expect(await res.json()).toMatchObject({ scimType: 'invalidValue', detail: expect.stringContaining('SCIMITAR_WEBHOOK_ALLOW_PRIVATE=true') });
    }
    const listed = await fetch(`${server.url}/admin/v1/webhooks`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(((await listed.json()) as { total: number }).total).toBe(0);
  });
});
