import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy, authzenClient, evaluation, type AuthzenClient } from './authzen-helpers.js';
import { backends, GROUP_SCHEMA, patchOps, scimClient, startServer, USER_SCHEMA, type RunningServer, type ScimClient } from './harness.js';
import { expectScimError } from './scim-helpers.js';

const ENG_ID = randomUUID();

const POLICY = `
resourceTypes:
  env: [deploy, read]
resources:
  - { type: env, id: prod }
  - { type: env, id: prod-eu, parent: "env:prod" }
roles:
  deployer: { permissions: ["env:deploy", "env:read"] }
groupMappings:
  - { id: eng-deployers, group: { externalId: "${ENG_ID}" }, role: deployer, scope: "env:prod" }
`;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An instant strictly between the writes around it: clocks tick in milliseconds. */
async function instant(): Promise<string> {
  await pause(15);
  const at = new Date().toISOString();
  await pause(15);
  return at;
}

/**
 * Time travel over real HTTP: `?at=` answers checks, explains and who-can as of a past instant,
 * and `/audit/v1/access-history` gives the intervals and their causes, on each backend.
 */
describe.each(backends())('time travel (%s)', (backend) => {
  let server: RunningServer;
  let idp: ScimClient;
  let pep: AuthzenClient;
  let adminToken: string;
  let alice: { id: string };
  let eng: { id: string };
  const times: Record<'beforeAdd' | 'whileMember' | 'afterRemove', string> = { beforeAdd: '', whileMember: '', afterRemove: '' };

  const audit = async (path: string) => {
    const response = await fetch(`${server.url}/audit/v1${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    server = await startServer(backend);
    idp = scimClient(server);
    pep = authzenClient(server, await server.token('authz'));
    adminToken = await server.token('admin');
    await applyPolicy(server, adminToken, POLICY);
    alice = (await idp.post('/Users', { schemas: [USER_SCHEMA], userName: 'alice@example.com', title: 'Engineer' })).body;
    eng = (await idp.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Engineering', externalId: ENG_ID })).body;
    times.beforeAdd = await instant();
    expect([200, 204]).toContain((await idp.patch(`/Groups/${eng.id}`, patchOps({ op: 'add', path: 'members', value: [{ value: alice.id }] }))).status);
    times.whileMember = await instant();
    const removed = await idp.patch(`/Groups/${eng.id}`, patchOps({ op: 'remove', path: `members[value eq "${alice.id}"]` }));
    expect([200, 204]).toContain(removed.status);
    times.afterRemove = await instant();
  });
  afterAll(() => server?.close());

  const at = (time: string) => `?at=${encodeURIComponent(time)}`;

  it('answers a check as it would have been answered then', async () => {
    expect(await pep.decide(alice.id, 'deploy', 'env:prod', at(times.beforeAdd))).toBe(false);
    expect(await pep.decide(alice.id, 'deploy', 'env:prod', at(times.whileMember))).toBe(true);
    // The hierarchy counts as it was: prod-eu sits under prod.
    expect(await pep.decide('alice@example.com', 'deploy', 'env:prod-eu', at(times.whileMember))).toBe(true);
    expect(await pep.decide(alice.id, 'deploy', 'env:prod', at(times.afterRemove))).toBe(false);
    expect(await pep.decide(alice.id, 'deploy', 'env:prod')).toBe(false);
  });

  it('explains and lists who could, as of then', async () => {
    const explained = await pep.post(`/authz/v1/explain${at(times.whileMember)}`, evaluation(alice.id, 'deploy', 'env:prod'));
    expect(explained.status).toBe(200);
    expect(explained.body.allowed).toBe(true);
    expect(explained.body.reasons[0]).toMatchObject({ origin: 'groupMapping', id: 'eng-deployers' });
    expect(explained.body.reasons[0].via.path.map((g: { displayName: string }) => g.displayName)).toEqual(['Engineering']);

    const whoThen = await pep.post(`/authz/v1/who-can${at(times.whileMember)}`, { action: 'deploy', resource: { type: 'env', id: 'prod' } });
    expect(whoThen.body.users.map((u: { userName: string }) => u.userName)).toEqual(['alice@example.com']);
    const whoNow = await pep.post('/authz/v1/who-can', { action: 'deploy', resource: { type: 'env', id: 'prod' } });
    expect(whoNow.body.users).toEqual([]);
  });

  it('gives the intervals of access with the write that opened and closed each', async () => {
    const { status, body } = await audit(`/access-history?user=alice@example.com&permission=deploy&resource=env:prod`);
    expect(status).toBe(200);
    expect(body.user).toBe(alice.id);
    expect(body.intervals).toHaveLength(1);
    const [interval] = body.intervals;
    expect(interval.from.at > times.beforeAdd && interval.from.at < times.whileMember).toBe(true);
    expect(interval.from.entry).toMatchObject({ kind: 'Group', subject: eng.id, operation: 'patch', actor: { kind: 'scim' } });
    expect(interval.from.changes[0]).toMatchObject({ userId: alice.id, permission: 'env:deploy', scope: 'env:prod', change: 'gained' });
    expect(interval.from.changes[0].detail.via[0]).toMatchObject({ origin: 'groupMapping', id: 'eng-deployers', role: 'deployer' });
    expect(interval.until.at > times.whileMember && interval.until.at < times.afterRemove).toBe(true);
    expect(interval.until.changes[0]).toMatchObject({ change: 'lost' });

    // `type:action` works too; a resource the user never reached has no intervals.
    expect((await audit(`/access-history?user=${alice.id}&permission=env:deploy&resource=env:prod-eu`)).body.intervals).toHaveLength(1);
    expect((await audit(`/access-history?user=${alice.id}&permission=env:deploy&resource=env:staging`)).body.intervals).toEqual([]);
  });

  it('ends an interval at the expiry of a temporary grant, with no write to cause it', async () => {
    const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const grant = await fetch(`${server.url}/admin/v1/grants`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        id: 'alice-breakglass',
        subject: { type: 'user', id: alice.id },
        role: 'deployer',
        scope: 'env:prod',
        expiresAt,
        reason: 'incident 42',
      }),
    });
    expect(grant.status).toBe(201);
    await pause(1700);
    const { body } = await audit(`/access-history?user=${alice.id}&permission=env:read&resource=env:prod`);
    const last = body.intervals.at(-1);
    expect(last.from.changes[0].detail.via[0]).toMatchObject({ origin: 'grant', id: 'alice-breakglass' });
    expect(last.until).toMatchObject({ cause: 'expiry', at: expiresAt });
  });

  it('refuses bad times with a clear 400, and needs an admin token for history', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    for (const query of [at(future), '?at=yesterday', `${at(times.whileMember)}&atLeastRevision=1`]) {
      const res = await pep.post(`/access/v1/evaluation${query}`, evaluation(alice.id, 'deploy', 'env:prod'));
      expectScimError(res, 400);
    }
    const missing = await audit('/access-history?user=alice@example.com&permission=deploy');
    expect(missing.status).toBe(400);
    const badResource = await audit('/access-history?user=alice@example.com&permission=deploy&resource=prod');
    expect(badResource.status).toBe(400);
    const wrongType = await audit('/access-history?user=alice@example.com&permission=doc:read&resource=env:prod');
    expect(wrongType.status).toBe(400);
    const nobody = await audit('/access-history?user=nobody&permission=deploy&resource=env:prod');
    expect(nobody.status).toBe(404);
    const asScim = await fetch(`${server.url}/audit/v1/access-history?user=x&permission=y&resource=a:b`, {
      headers: { authorization: `Bearer ${server.scimToken}` },
    });
    expect(asScim.status).toBe(403);
  });
});
