import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { systemClock } from '../../src/core/clock.js';
import { buildServer } from '../../src/http/server.js';
import { applyPolicy, authzenClient, evaluation, revisionOf, versionNumber, type AuthzenClient } from './authzen-helpers.js';
import {
  backends,
  ENTERPRISE,
  GROUP_SCHEMA,
  patchOps,
  scimClient,
  startServer,
  USER_SCHEMA,
  type RunningServer,
  type ScimClient,
} from './harness.js';
import { expectScimError } from './scim-helpers.js';

/** The Entra object id of the SRE group: what the mapping names, so renaming the group changes nothing. */
const SRE_OBJECT_ID = randomUUID();

const POLICY = `
resourceTypes:
  report: [read, approve]
  deployment: [create, rollback]
roles:
  people-manager: { permissions: ["report:read", "report:approve"] }
  deployer: { permissions: ["deployment:create", "deployment:rollback"] }
attributeRules:
  - { id: managers-by-title, filter: 'title co "Manager"', role: people-manager, scope: "report:*" }
groupMappings:
  - { id: sre-deployers, group: { externalId: "${SRE_OBJECT_ID}" }, role: deployer, scope: "*" }
`;

/**
 * The product's story, end to end, on each backend: HR changes a title in the IdP, the IdP sends a
 * SCIM PATCH, and the very next authorization decision follows, with the reasons to show for it.
 * Group membership, renames, nesting, deactivation and deletion follow the same path.
 *
 * Two nodes share the database: the one the IdP writes to, and a second with its own index and no
 * polling, which a PEP reaches with the write's revision as `atLeastRevision`.
 */
describe.each(backends())('HR title change to decision (%s)', (backend) => {
  let server: RunningServer;
  let otherNode: FastifyInstance;
  let idp: ScimClient;
  /** The PEP talking to the node that received the writes. */
  let pep: AuthzenClient;
  /** The PEP talking to the other node. */
  let pep2: AuthzenClient;
  let alice: any;
  let bob: any;
  let sre: any;
  let platform: any;

  beforeAll(async () => {
    server = await startServer(backend);
    idp = scimClient(server);
    const token = await server.token('authz');
    pep = authzenClient(server, token);
    await applyPolicy(server, await server.token('admin'), POLICY);

    const config = loadConfig({}, { database: 'sqlite::memory:', port: 0, logLevel: 'silent', authzPollMs: 0 });
    otherNode = await buildServer({ config, store: server.store, clock: systemClock, logger: pino({ level: 'silent' }) });
    const url = await otherNode.listen({ port: 0, host: '127.0.0.1' });
    pep2 = authzenClient({ ...server, url }, token);
  });
  afterAll(async () => {
    await otherNode?.close();
    await server?.close();
  });

  /** The body Entra ID POSTs to create a user, with the enterprise extension. */
  function entraUser(userName: string, title: string) {
    return {
      schemas: [USER_SCHEMA, ENTERPRISE],
      externalId: randomUUID(),
      userName,
      active: true,
      displayName: userName.split('@')[0],
      title,
      emails: [{ primary: true, type: 'work', value: userName }],
      name: { givenName: userName.split('@')[0], familyName: 'Example' },
      [ENTERPRISE]: { department: 'Engineering' },
    };
  }

  async function explain(user: string, action: string, resource: string) {
    const res = await pep.post('/authz/v1/explain', evaluation(user, action, resource));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  it('Alice, a Software Engineer, may not approve reports', async () => {
    const created = await idp.post('/Users', entraUser('alice@contoso.example', 'Software Engineer'));
    expect(created.status).toBe(201);
    alice = created.body;
    expect(await pep.decide(alice.userName, 'approve', 'report:q3')).toBe(false);
  });

  it('Entra replaces her title with "Engineering Manager": the very next evaluation allows, on either node', async () => {
    const res = await idp.patch(`/Users/${alice.id}`, patchOps({ op: 'Replace', path: 'title', value: 'Engineering Manager' }));
    expect(res.status).toBe(200);
    expect(res.body.title).toBe('Engineering Manager');
    const revision = versionNumber(res.body.meta.version);

    // No sleep, no retry: the node that took the write answers after its index applied it,
    // and the other node catches up to the revision the PEP names.
    expect(await pep.decide(alice.userName, 'approve', 'report:q3')).toBe(true);
    const there = await pep2.post(`/access/v1/evaluation?atLeastRevision=${revision}`, evaluation(alice.userName, 'approve', 'report:q3'));
    expect(there.body).toEqual({ decision: true });
    expect(revisionOf(there)).toBeGreaterThanOrEqual(revision);
  });

  it('the reasons name the attribute rule and its filter', async () => {
    const res = await pep.post('/access/v1/evaluation?reasons=true', evaluation(alice.userName, 'approve', 'report:q3'));
    expect(res.body.decision).toBe(true);
    expect(res.body.context.reasons[0]).toMatchObject({
      origin: 'attributeRule',
      id: 'managers-by-title',
      role: 'people-manager',
      permission: 'report:approve',
      scope: 'report:*',
      via: { kind: 'rule', rule: 'managers-by-title', filter: 'title co "Manager"' },
    });
    expect(res.body.context.reason_admin.en).toContain('managers-by-title');
  });

  it('the title changed back: denied again', async () => {
    const res = await idp.patch(`/Users/${alice.id}`, patchOps({ op: 'Replace', path: 'title', value: 'Software Engineer' }));
    expect(res.status).toBe(200);
    expect(await pep.decide(alice.userName, 'approve', 'report:q3')).toBe(false);
    const tag = encodeURIComponent(res.body.meta.version);
    expect(await pep2.decide(alice.userName, 'approve', 'report:q3', `?atLeastRevision=${tag}`)).toBe(false);
  });

  it('Bob is added to the SRE group by a member PATCH: he may deploy', async () => {
    bob = (await idp.post('/Users', entraUser('bob@contoso.example', 'SRE'))).body;
    const group = await idp.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'SRE On-call', externalId: SRE_OBJECT_ID, members: [] });
    expect(group.status).toBe(201);
    sre = group.body;
    expect(await pep.decide(bob.id, 'create', 'deployment:api')).toBe(false);

    const res = await idp.patch(`/Groups/${sre.id}`, patchOps({ op: 'Add', path: 'members', value: [{ value: bob.id }] }));
    expect([200, 204]).toContain(res.status);
    const etag = res.headers.get('etag')!;
    expect(await pep.decide(bob.id, 'create', 'deployment:api')).toBe(true);
    expect(await pep2.decide(bob.id, 'create', 'deployment:api', `?atLeastRevision=${versionNumber(etag)}`)).toBe(true);
  });

  it('explain shows the chain: group (displayName, externalId) → mapping → role → permission → scope', async () => {
    const decision = await explain(bob.userName, 'create', 'deployment:api');
    expect(decision.allowed).toBe(true);
    expect(decision.subject).toMatchObject({ id: bob.id, userName: bob.userName, active: true });
    expect(decision.reasons).toHaveLength(1);
    expect(decision.reasons[0]).toMatchObject({
      effect: 'allow',
      origin: 'groupMapping',
      id: 'sre-deployers',
      role: 'deployer',
      permission: 'deployment:create',
      scope: '*',
      outcome: 'applies',
      via: { kind: 'group', path: [{ id: sre.id, displayName: 'SRE On-call', externalId: SRE_OBJECT_ID }] },
    });
  });

  it('renaming the group in Entra changes nothing: the mapping names its object id', async () => {
    const res = await idp.patch(`/Groups/${sre.id}`, patchOps({ op: 'Replace', path: 'displayName', value: 'Site Reliability' }));
    expect([200, 204]).toContain(res.status);
    expect(await pep.decide(bob.id, 'create', 'deployment:api')).toBe(true);
    const decision = await explain(bob.userName, 'create', 'deployment:api');
    expect(decision.reasons[0].via.path[0].displayName).toBe('Site Reliability');
  });

  it('removing Bob from the group revokes at once', async () => {
    const res = await idp.patch(`/Groups/${sre.id}`, patchOps({ op: 'Remove', path: 'members', value: [{ value: bob.id }] }));
    expect([200, 204]).toContain(res.status);
    expect(await pep.decide(bob.id, 'create', 'deployment:api')).toBe(false);
    expect(await pep2.decide(bob.id, 'create', 'deployment:api', `?atLeastRevision=${versionNumber(res.headers.get('etag')!)}`)).toBe(false);
  });

  it('membership through a nested group counts', async () => {
    const created = await idp.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Platform', members: [{ value: bob.id }] });
    expect(created.status).toBe(201);
    platform = created.body;
    expect(await pep.decide(bob.id, 'create', 'deployment:api')).toBe(false);
    const res = await idp.patch(`/Groups/${sre.id}`, patchOps({ op: 'Add', path: 'members', value: [{ value: platform.id, type: 'Group' }] }));
    expect([200, 204]).toContain(res.status);
    expect(await pep.decide(bob.id, 'create', 'deployment:api')).toBe(true);
    const decision = await explain(bob.userName, 'create', 'deployment:api');
    expect(decision.reasons[0].via.path.map((hop: { displayName: string }) => hop.displayName)).toEqual(['Platform', 'Site Reliability']);
  });

  it('deactivating a user (active "False", as Entra sends it) cuts all access at once', async () => {
    await idp.patch(`/Users/${alice.id}`, patchOps({ op: 'Replace', path: 'title', value: 'Engineering Manager' }));
    await idp.patch(`/Groups/${platform.id}`, patchOps({ op: 'Add', path: 'members', value: [{ value: alice.id }] }));
    const questions = {
      subject: { type: 'user', id: alice.id },
      evaluations: [
        { action: { name: 'approve' }, resource: { type: 'report', id: 'q3' } },
        { action: { name: 'create' }, resource: { type: 'deployment', id: 'api' } },
        { action: { name: 'rollback' }, resource: { type: 'deployment', id: 'api' } },
      ],
    };
    const before = await pep.post('/access/v1/evaluations', questions);
    expect(before.body.evaluations).toEqual([{ decision: true }, { decision: true }, { decision: true }]);

    const off = await idp.patch(`/Users/${alice.id}`, patchOps({ op: 'Replace', path: 'active', value: 'False' }));
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    const after = await pep.post('/access/v1/evaluations', questions);
    expect(after.body.evaluations).toEqual([{ decision: false }, { decision: false }, { decision: false }]);
    const elsewhere = await pep2.post(`/access/v1/evaluations?atLeastRevision=${versionNumber(off.body.meta.version)}`, questions);
    expect(elsewhere.body.evaluations).toEqual([{ decision: false }, { decision: false }, { decision: false }]);

    const permissions = await pep.get(`/authz/v1/users/${alice.id}/permissions`);
    expect(permissions.body).toMatchObject({ subject: { id: alice.id, active: false }, permissions: [] });
    const who = await pep.post('/access/v1/search/subject', { subject: { type: 'user' }, action: { name: 'create' }, resource: { type: 'deployment', id: 'api' } });
    expect(who.body.results.map((r: { id: string }) => r.id)).toEqual([bob.id]);
  });

  it('deleting the user: evaluations answer 404', async () => {
    expect((await idp.delete(`/Users/${alice.id}`)).status).toBe(204);
    expectScimError(await pep.post('/access/v1/evaluation', evaluation(alice.id, 'approve', 'report:q3')), 404);
    expectScimError(await pep.post('/access/v1/evaluation', evaluation(alice.userName, 'approve', 'report:q3')), 404);
  });
});
