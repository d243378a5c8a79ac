import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { issueToken } from '../../src/service/tokens.js';
import { applyPolicy, authzenClient, evaluation, revisionOf, type AuthzenClient } from './authzen-helpers.js';
import { backends, scimClient, startServer, type RunningServer, type ScimClient } from './harness.js';
import { createGroup, createUser, expectScimError } from './scim-helpers.js';

const POLICY = `
resourceTypes:
  project: [read, deploy]
  database: [connect, read, write, admin]
resources:
  - { type: project, id: web }
  - { type: database, id: orders, parent: "project:web" }
  - { type: database, id: billing, parent: "project:web" }
  - { type: database, id: analytics }
roles:
  db-reader: { permissions: ["database:connect", "database:read"] }
  viewer: { permissions: ["project:read"] }
groupMappings:
  - { id: eng-readers, group: { externalId: aad-eng }, role: db-reader, scope: "project:web" }
bindings:
  - { id: bob-viewer, subject: { type: user, externalId: emp-bob }, role: viewer, scope: "*" }
`;

const READERS = 5;

/**
 * The AuthZEN Authorization API 1.0 over real HTTP: a model applied through the admin API, users
 * and groups provisioned through SCIM, and every endpoint asked as a PEP would, errors included.
 */
describe.each(backends())('AuthZEN API (%s)', (backend) => {
  let server: RunningServer;
  let scim: ScimClient;
  let pep: AuthzenClient;
  let alice: any;
  let bob: any;
  let carol: any;
  let readers: any[];

  beforeAll(async () => {
    server = await startServer(backend);
    scim = scimClient(server);
    pep = authzenClient(server, await server.token('authz'));
    await applyPolicy(server, await server.token('admin'), POLICY);
    alice = await createUser(scim, { userName: 'alice@example.com', externalId: 'emp-alice' });
    bob = await createUser(scim, { userName: 'bob@example.com', externalId: 'emp-bob' });
    carol = await createUser(scim, { userName: 'carol@example.com', active: false });
    readers = [];
    for (let i = 1; i <= READERS; i++) readers.push(await createUser(scim, { userName: `reader-${i}@example.com` }));
    // Alice and Carol reach the mapped group only through a nested one.
    const backendTeam = await createGroup(scim, { displayName: 'Backend', members: [{ value: alice.id }, { value: carol.id }] });
    await createGroup(scim, {
      displayName: 'Engineering',
      externalId: 'aad-eng',
      members: [{ value: backendTeam.id, type: 'Group' }, ...readers.map((r) => ({ value: r.id }))],
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('discovery', () => {
    it('serves the PDP metadata without a token, with absolute endpoint URLs', async () => {
      const res = await authzenClient(server, undefined).get('/.well-known/authzen-configuration');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        policy_decision_point: server.url,
        access_evaluation_endpoint: `${server.url}/access/v1/evaluation`,
        access_evaluations_endpoint: `${server.url}/access/v1/evaluations`,
        search_subject_endpoint: `${server.url}/access/v1/search/subject`,
        search_resource_endpoint: `${server.url}/access/v1/search/resource`,
        search_action_endpoint: `${server.url}/access/v1/search/action`,
      });
    });

    it('names the endpoints after the configured public base URL', async () => {
      const other = await startServer(backend, { config: { baseUrl: 'https://pdp.example.com/' } });
      try {
        const res = await authzenClient(other, undefined).get('/.well-known/authzen-configuration');
        expect(res.body.policy_decision_point).toBe('https://pdp.example.com');
        expect(res.body.access_evaluation_endpoint).toBe('https://pdp.example.com/access/v1/evaluation');
      } finally {
        await other.close();
      }
    });
  });

  describe('evaluation', () => {
    it('allows through a mapped group the user is in through a nested group', async () => {
      const res = await pep.post('/access/v1/evaluation', evaluation('alice@example.com', 'read', 'database:orders'));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body).toEqual({ decision: true });
      expect(revisionOf(res)).toBeGreaterThan(0);
    });

    it('names the subject by SCIM id, userName or externalId alike', async () => {
      for (const id of [alice.id, 'alice@example.com', 'emp-alice']) {
        expect(await pep.decide(id, 'read', 'database:orders')).toBe(true);
      }
    });

    it('denies an action no role gives, and a resource outside the scope', async () => {
      expect(await pep.decide('alice@example.com', 'write', 'database:orders')).toBe(false);
      expect(await pep.decide('alice@example.com', 'read', 'database:analytics')).toBe(false);
      expect(await pep.decide('bob@example.com', 'read', 'database:orders')).toBe(false);
      expect(await pep.decide('bob@example.com', 'read', 'project:anything')).toBe(true);
    });

    it('denies a deactivated user even through a group that allows', async () => {
      expect(await pep.decide('carol@example.com', 'read', 'database:orders')).toBe(false);
    });

    it('places an unregistered resource by its `parent` property', async () => {
      const body = {
        ...evaluation('alice@example.com', 'read', 'database:scratch'),
        resource: { type: 'database', id: 'scratch', properties: { parent: 'project:web' } },
      };
      const res = await pep.post('/access/v1/evaluation', body);
      expect(res.body).toEqual({ decision: true });
    });

    it('with ?reasons=true, says why in the context: the chain from group to permission and the revision', async () => {
      const res = await pep.post('/access/v1/evaluation?reasons=true', evaluation('alice@example.com', 'read', 'database:orders'));
      expect(res.status).toBe(200);
      expect(res.body.decision).toBe(true);
      const { context } = res.body;
      expect(context.revision).toBe(revisionOf(res));
      expect(context.reason_admin.en).toContain('eng-readers');
      expect(context.reason_admin.en).toContain('db-reader');
      expect(context.reasons).toHaveLength(1);
      expect(context.reasons[0]).toMatchObject({
        effect: 'allow',
        origin: 'groupMapping',
        id: 'eng-readers',
        role: 'db-reader',
        permission: 'database:read',
        scope: 'project:web',
        matched: 'project:web',
        outcome: 'applies',
      });
      expect(context.reasons[0].via.path.map((hop: { displayName: string }) => hop.displayName)).toEqual(['Backend', 'Engineering']);
    });

    it('with ?reasons=true, a deny says what is missing', async () => {
      const res = await pep.post('/access/v1/evaluation?reasons=true', evaluation('alice@example.com', 'write', 'database:orders'));
      expect(res.body.decision).toBe(false);
      expect(res.body.context.reasons).toEqual([]);
      expect(res.body.context.reason_admin.en).toContain('database:write');
    });

    it('echoes X-Request-ID', async () => {
      const res = await pep.post('/access/v1/evaluation', evaluation('alice@example.com', 'read', 'database:orders'), {
        'x-request-id': 'pep-req-42',
      });
      expect(res.headers.get('x-request-id')).toBe('pep-req-42');
    });
  });

  describe('consistency', () => {
    it('answers at a revision already reached, in either form a write reports it', async () => {
      const current = revisionOf(await pep.post('/access/v1/evaluation', evaluation('alice@example.com', 'read', 'database:orders')));
      expect(await pep.decide('alice@example.com', 'read', 'database:orders', `?atLeastRevision=${current}`)).toBe(true);
      const tag = encodeURIComponent(`W/"${current}"`);
      expect(await pep.decide('alice@example.com', 'read', 'database:orders', `?atLeastRevision=${tag}`)).toBe(true);
    });

    it('answers 412 for a revision the change log has not reached', async () => {
      const res = await pep.post('/access/v1/evaluation?atLeastRevision=999999999', evaluation('alice@example.com', 'read', 'database:orders'));
      expectScimError(res, 412);
    });

    it('refuses a revision that is not a number', async () => {
      const res = await pep.post('/access/v1/evaluation?atLeastRevision=latest', evaluation('alice@example.com', 'read', 'database:orders'));
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toContain('atLeastRevision');
    });

    it('sees a SCIM write at once when the check names its revision', async () => {
      const dave = await createUser(scim, { userName: 'dave@example.com' });
      expect(await pep.decide(dave.id, 'read', 'database:orders')).toBe(false);
      const engineering = (await scim.get(`/Groups?filter=${encodeURIComponent('externalId eq "aad-eng"')}`)).body.Resources[0];
      const patch = await scim.patch(`/Groups/${engineering.id}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'add', path: 'members', value: [{ value: dave.id }] }],
      });
      expect(patch.status).toBe(204);
      const etag = patch.headers.get('etag')!;
      expect(await pep.decide(dave.id, 'read', 'database:orders', `?atLeastRevision=${encodeURIComponent(etag)}`)).toBe(true);
      // Leave the group as the other tests expect it.
      const undo = await scim.patch(`/Groups/${engineering.id}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'remove', path: `members[value eq "${dave.id}"]` }],
      });
      expect(undo.status).toBe(204);
      expect((await scim.delete(`/Users/${dave.id}`)).status).toBe(204);
    });
  });

  describe('evaluations', () => {
    const items = [
      { action: { name: 'read' }, resource: { type: 'database', id: 'orders' } },
      { action: { name: 'write' }, resource: { type: 'database', id: 'orders' } },
      { action: { name: 'read' }, resource: { type: 'database', id: 'billing' } },
    ];

    it('execute_all (the default): every item answered in order, top-level values as defaults', async () => {
      const res = await pep.post('/access/v1/evaluations', { subject: { type: 'user', id: 'alice@example.com' }, evaluations: items });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ evaluations: [{ decision: true }, { decision: false }, { decision: true }] });
      expect(revisionOf(res)).toBeGreaterThan(0);
    });

    it('an item overrides a default entity as a whole', async () => {
      const res = await pep.post('/access/v1/evaluations', {
        subject: { type: 'user', id: 'alice@example.com' },
        action: { name: 'read' },
        resource: { type: 'database', id: 'orders' },
        evaluations: [{}, { subject: { type: 'user', id: 'bob@example.com' } }, { resource: { type: 'project', id: 'web' }, subject: { type: 'user', id: 'bob@example.com' } }],
      });
      expect(res.body.evaluations).toEqual([{ decision: true }, { decision: false }, { decision: true }]);
    });

    it('deny_on_first_deny stops after the first deny, which it includes', async () => {
      const res = await pep.post('/access/v1/evaluations', {
        subject: { type: 'user', id: 'alice@example.com' },
        options: { evaluations_semantic: 'deny_on_first_deny' },
        evaluations: items,
      });
      expect(res.body.evaluations).toEqual([{ decision: true }, { decision: false }]);
    });

    it('permit_on_first_permit stops after the first permit, which it includes', async () => {
      const res = await pep.post('/access/v1/evaluations', {
        subject: { type: 'user', id: 'alice@example.com' },
        options: { evaluations_semantic: 'permit_on_first_permit' },
        evaluations: [items[1], items[2], items[0]],
      });
      expect(res.body.evaluations).toEqual([{ decision: false }, { decision: true }]);
    });

    it('a failing item is a deny with its error, in its place; the rest are answered', async () => {
      const res = await pep.post('/access/v1/evaluations', {
        subject: { type: 'user', id: 'alice@example.com' },
        evaluations: [
          items[0],
          { action: { name: 'fly' }, resource: { type: 'database', id: 'orders' } },
          { subject: { type: 'user', id: 'nobody@example.com' }, ...items[0] },
          { subject: { type: 'group', id: 'Backend' }, ...items[0] },
          items[2],
        ],
      });
      expect(res.status).toBe(200);
      const [first, unknownAction, unknownUser, notAUser, last] = res.body.evaluations;
      expect(first).toEqual({ decision: true });
      expect(unknownAction).toMatchObject({ decision: false, context: { error: { status: 400 } } });
      expect(unknownAction.context.error.message).toContain('fly');
      expect(unknownUser).toMatchObject({ decision: false, context: { error: { status: 404 } } });
      expect(notAUser).toMatchObject({ decision: false, context: { error: { status: 400 } } });
      expect(last).toEqual({ decision: true });
    });

    it('an item that names no subject, with no default, fails alone', async () => {
      const res = await pep.post('/access/v1/evaluations', {
        action: { name: 'read' },
        resource: { type: 'database', id: 'orders' },
        evaluations: [{ subject: { type: 'user', id: 'alice@example.com' } }, {}],
      });
      expect(res.status).toBe(200);
      expect(res.body.evaluations[0]).toEqual({ decision: true });
      expect(res.body.evaluations[1]).toMatchObject({ decision: false, context: { error: { status: 400 } } });
      expect(res.body.evaluations[1].context.error.message).toContain('subject');
    });

    it('deny_on_first_deny stops at a failing item too', async () => {
      const res = await pep.post('/access/v1/evaluations', {
        subject: { type: 'user', id: 'alice@example.com' },
        options: { evaluations_semantic: 'deny_on_first_deny' },
        evaluations: [items[0], { action: { name: 'fly' }, resource: { type: 'database', id: 'orders' } }, items[2]],
      });
      expect(res.body.evaluations).toHaveLength(2);
      expect(res.body.evaluations[1].context.error.status).toBe(400);
    });

    it('without `evaluations`, is a single evaluation answered as one', async () => {
      const res = await pep.post('/access/v1/evaluations', evaluation('alice@example.com', 'read', 'database:orders'));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ decision: true });
    });

    it('answers a batch of 1,000 in order', async () => {
      const users = ['alice@example.com', 'bob@example.com', 'carol@example.com', ...readers.map((r) => r.userName)];
      const batch = Array.from({ length: 1000 }, (_, i) => ({
        subject: { type: 'user', id: users[i % users.length] },
        resource: { type: 'database', id: i % 3 === 0 ? 'analytics' : 'orders' },
      }));
      const res = await pep.post('/access/v1/evaluations', { action: { name: 'read' }, evaluations: batch });
      expect(res.status).toBe(200);
      expect(res.body.evaluations).toHaveLength(1000);
      const expected = batch.map((item) => ({
        decision: item.resource.id === 'orders' && item.subject.id !== 'bob@example.com' && item.subject.id !== 'carol@example.com',
      }));
      expect(res.body.evaluations).toEqual(expected);
    });
  });

  describe('search', () => {
    async function allPages(path: string, body: Record<string, unknown>, limit: number): Promise<{ pages: any[][]; results: any[] }> {
      const pages: any[][] = [];
      let token: string | undefined;
      for (let guard = 0; guard < 50; guard++) {
        const res = await pep.post(path, { ...body, page: { limit, ...(token ? { token } : {}) } });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.results.length).toBeLessThanOrEqual(limit);
        expect(typeof res.body.page.next_token).toBe('string');
        pages.push(res.body.results);
        token = res.body.page.next_token;
        if (token === '') break;
      }
      return { pages, results: pages.flat() };
    }

    it('subject search: every active user who may, page by page, with the userName', async () => {
      const body = { subject: { type: 'user' }, action: { name: 'read' }, resource: { type: 'database', id: 'orders' } };
      const { pages, results } = await allPages('/access/v1/search/subject', body, 2);
      const expected = [alice, ...readers].map((u) => ({ type: 'user', id: u.id, properties: { userName: u.userName } }));
      expect(results).toHaveLength(expected.length);
      expect(results).toEqual(expect.arrayContaining(expected));
      expect(pages.length).toBe(Math.ceil(expected.length / 2));
      expect(results.map((r) => r.id)).not.toContain(carol.id);
    });

    it('subject search without a page: the first 100', async () => {
      const res = await pep.post('/access/v1/search/subject', {
        subject: { type: 'user' },
        action: { name: 'read' },
        resource: { type: 'project', id: 'web' },
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ results: [{ type: 'user', id: bob.id, properties: { userName: 'bob@example.com' } }], page: { next_token: '' } });
    });

    it('resource search: the registered resources of a type the subject may act on', async () => {
      const body = { subject: { type: 'user', id: 'alice@example.com' }, action: { name: 'read' }, resource: { type: 'database' } };
      const { pages, results } = await allPages('/access/v1/search/resource', body, 1);
      expect(results).toEqual([
        { type: 'database', id: 'billing' },
        { type: 'database', id: 'orders' },
      ]);
      expect(pages).toHaveLength(2);
    });

    it('action search: the actions the subject may do on a resource', async () => {
      const body = { subject: { type: 'user', id: 'alice@example.com' }, resource: { type: 'database', id: 'orders' } };
      const { results } = await allPages('/access/v1/search/action', body, 1);
      expect(results).toEqual([{ name: 'connect' }, { name: 'read' }]);
      const whole = await pep.post('/access/v1/search/action', body);
      expect(whole.body).toEqual({ results: [{ name: 'connect' }, { name: 'read' }], page: { next_token: '' } });
    });

    it('refuses a page token it did not issue', async () => {
      const res = await pep.post('/access/v1/search/subject', {
        subject: { type: 'user' },
        action: { name: 'read' },
        resource: { type: 'database', id: 'orders' },
        page: { token: 'not-a-token' },
      });
      expectScimError(res, 400, 'invalidCursor');
    });

    it('subject search for a subject type other than user is refused', async () => {
      const res = await pep.post('/access/v1/search/subject', {
        subject: { type: 'group' },
        action: { name: 'read' },
        resource: { type: 'database', id: 'orders' },
      });
      expectScimError(res, 400, 'invalidValue');
    });
  });

  describe('errors', () => {
    const allowed = () => evaluation('alice@example.com', 'read', 'database:orders');

    it('no token: 401 with a Bearer challenge', async () => {
      const res = await authzenClient(server, undefined).post('/access/v1/evaluation', allowed());
      expectScimError(res, 401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });

    it('an unknown token: 401', async () => {
      const res = await authzenClient(server, 'scimitar_authz_nope').post('/access/v1/evaluation', allowed());
      expectScimError(res, 401);
    });

    it('a token of another scope: 403, on every route', async () => {
      const wrong = authzenClient(server, server.scimToken);
      expectScimError(await wrong.post('/access/v1/evaluation', allowed()), 403);
      expectScimError(await wrong.post('/access/v1/evaluations', { evaluations: [allowed()] }), 403);
      expectScimError(await wrong.post('/authz/v1/explain', allowed()), 403);
      expectScimError(await wrong.get(`/authz/v1/users/${alice.id}/permissions`), 403);
    });

    it('a token of another tenant does not see this tenant’s users', async () => {
      const other = (await server.store.tenants.findByName('other')) ?? (await server.store.tenants.create('other'));
      const token = (await issueToken(server.store, systemClock, other.id, 'authz', 'other tenant')).token;
      expectScimError(await authzenClient(server, token).post('/access/v1/evaluation', allowed()), 404);
    });

    it('an unknown user: 404', async () => {
      const res = await pep.post('/access/v1/evaluation', evaluation('nobody@example.com', 'read', 'database:orders'));
      expectScimError(res, 404);
      expect(res.body.detail).toContain('nobody@example.com');
    });

    it('an unknown action or resource type: 400 invalidValue', async () => {
      const action = await pep.post('/access/v1/evaluation', evaluation('alice@example.com', 'fly', 'database:orders'));
      expectScimError(action, 400, 'invalidValue');
      expect(action.body.detail).toContain('fly');
      const type = await pep.post('/access/v1/evaluation', evaluation('alice@example.com', 'read', 'spaceship:one'));
      expectScimError(type, 400, 'invalidValue');
      expect(type.body.detail).toContain('spaceship');
    });

    it('a subject type other than user: 400', async () => {
      const res = await pep.post('/access/v1/evaluation', { ...allowed(), subject: { type: 'group', id: 'Backend' } });
      expectScimError(res, 400, 'invalidValue');
    });

    const malformed: [string, unknown, string, string][] = [
      ['a missing subject id', { ...evaluation('x', 'read', 'database:orders'), subject: { type: 'user' } }, 'invalidValue', '`subject.id`'],
      ['a missing action', { subject: { type: 'user', id: 'alice' }, resource: { type: 'database', id: 'orders' } }, 'invalidValue', '`action`'],
      ['a subject that is a string', { ...evaluation('x', 'read', 'database:orders'), subject: 'alice' }, 'invalidValue', '`subject`'],
      ['an id that is an object', { ...evaluation('x', 'read', 'database:orders'), resource: { type: 'database', id: { v: 1 } } }, 'invalidValue', '`resource.id`'],
      ['an empty action name', { ...evaluation('x', 'read', 'database:orders'), action: { name: '' } }, 'invalidValue', '`action.name`'],
      ['context that is not an object', { ...evaluation('x', 'read', 'database:orders'), context: [1, 2] }, 'invalidValue', '`context`'],
      ['an unknown top-level field', { ...evaluation('x', 'read', 'database:orders'), decision: true }, 'invalidSyntax', '`decision`'],
      ['an unknown field in the subject', { ...evaluation('x', 'read', 'database:orders'), subject: { type: 'user', id: 'a', typo: 1 } }, 'invalidSyntax', '`subject.typo`'],
      ['an array body', [evaluation('x', 'read', 'database:orders')], 'invalidSyntax', 'JSON object'],
      ['a body that is not JSON', '{"subject": ', 'invalidSyntax', 'JSON'],
    ];
    it.each(malformed)('a malformed evaluation (%s): 400 naming the field', async (_name, body, scimType, detail) => {
      const res = await pep.post('/access/v1/evaluation', body);
      expectScimError(res, 400, scimType);
      expect(res.body.detail).toContain(detail);
    });

    it('an empty body: 400', async () => {
      const res = await pep.request('POST', '/access/v1/evaluation', undefined, { 'content-type': 'application/json' });
      expectScimError(res, 400, 'invalidSyntax');
    });

    it('a malformed batch names the item', async () => {
      const res = await pep.post('/access/v1/evaluations', {
        subject: { type: 'user', id: 'alice' },
        evaluations: [{ action: { name: 'read' } }, { action: { name: 'read' }, resource: { type: 'database' } }],
      });
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toContain('`evaluations[1].resource.id`');
    });

    it('an unknown evaluations_semantic: 400 listing the known ones', async () => {
      const res = await pep.post('/access/v1/evaluations', { ...allowed(), options: { evaluations_semantic: 'first_wins' } });
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toContain('deny_on_first_deny');
    });

    it('a page limit below 1: 400', async () => {
      const res = await pep.post('/access/v1/search/resource', {
        subject: { type: 'user', id: 'alice@example.com' },
        action: { name: 'read' },
        resource: { type: 'database' },
        page: { limit: 0 },
      });
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toContain('`page.limit`');
    });
  });

  describe('native /authz/v1', () => {
    it('explain: the whole decision, every grant considered, the subject and the revision', async () => {
      const res = await pep.post('/authz/v1/explain', evaluation('emp-alice', 'read', 'database:analytics'));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        allowed: false,
        reasons: [],
        subject: { id: alice.id, userName: 'alice@example.com', externalId: 'emp-alice', active: true },
        revision: revisionOf(res),
      });
      expect(res.body.considered).toEqual([
        expect.objectContaining({ origin: 'groupMapping', id: 'eng-readers', scope: 'project:web', outcome: 'out_of_scope' }),
      ]);
      expect(res.body.missing).toEqual(expect.any(String));
    });

    it('permissions: what a user holds, by userName, SCIM id or externalId', async () => {
      for (const id of ['alice@example.com', alice.id, 'emp-alice']) {
        const res = await pep.get(`/authz/v1/users/${encodeURIComponent(id)}/permissions`);
        expect(res.status).toBe(200);
        expect(res.body.subject.id).toBe(alice.id);
        expect(res.body.permissions.map((p: { permission: string; scope: string }) => `${p.permission}@${p.scope}`)).toEqual([
          'database:connect@project:web',
          'database:read@project:web',
        ]);
        expect(res.body.revision).toBe(revisionOf(res));
      }
      expectScimError(await pep.get('/authz/v1/users/nobody/permissions'), 404);
    });

    it('who-can: users with their details, paged with next/after', async () => {
      const seen: any[] = [];
      let after: string | undefined;
      for (let guard = 0; guard < 10; guard++) {
        const res = await pep.post('/authz/v1/who-can', {
          action: 'read',
          resource: { type: 'database', id: 'orders' },
          limit: 4,
          ...(after ? { after } : {}),
        });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.revision).toBe(revisionOf(res));
        seen.push(...res.body.users);
        after = res.body.next;
        if (after === undefined) break;
      }
      expect(seen.map((u) => u.userName).sort()).toEqual(['alice@example.com', ...readers.map((r) => r.userName)].sort());
      expect(seen.find((u) => u.id === alice.id)).toEqual({ id: alice.id, userName: 'alice@example.com', externalId: 'emp-alice', active: true });
    });

    it('who-can refuses an unknown action', async () => {
      const res = await pep.post('/authz/v1/who-can', { action: 'fly', resource: { type: 'database', id: 'orders' } });
      expectScimError(res, 400, 'invalidValue');
    });
  });
});
