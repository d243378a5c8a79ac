import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { systemClock } from '../../src/core/clock.js';
import { issueToken } from '../../src/service/tokens.js';
import { backends, ENTERPRISE, scimClient, startServer, type RunningServer, type ScimClient, type ScimResponse } from './harness.js';
import { createUser, expectScimError, unique } from './scim-helpers.js';

/**
 * The admin API (`/admin/v1`) as an operator or the web console uses it: real HTTP against a
 * listening server, on SQLite and on PostgreSQL. Objects get unique names so the tests share a
 * tenant; the whole-policy tests (which replace the model) each get a tenant of their own.
 */

interface AdminResponse extends ScimResponse {
  readonly text: string;
}

function adminClient(server: RunningServer, token: string | undefined) {
  async function request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<AdminResponse> {
    const raw = typeof body === 'string';
    const response = await fetch(`${server.url}/admin/v1${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': raw ? 'application/yaml' : 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: raw ? body : JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    const json = /json/.test(response.headers.get('content-type') ?? '') && text !== '' ? JSON.parse(text) : undefined;
    return { status: response.status, headers: response.headers, body: json, text };
  }
  return {
    request,
    get: (path: string, headers?: Record<string, string>) => request('GET', path, undefined, headers),
    post: (path: string, body: unknown, headers?: Record<string, string>) => request('POST', path, body, headers),
    put: (path: string, body: unknown, headers?: Record<string, string>) => request('PUT', path, body, headers),
    delete: (path: string, headers?: Record<string, string>) => request('DELETE', path, undefined, headers),
  };
}

type AdminClient = ReturnType<typeof adminClient>;

function expectStatus(res: AdminResponse, status: number): void {
  expect(res.status, `expected ${status}, got ${res.status}: ${res.text}`).toBe(status);
}

/** A created object: 201, its URL in `Location`, its version in `ETag`, the write's revision in the header. */
function expectCreated(res: AdminResponse, path: string): void {
  expectStatus(res, 201);
  expect(res.headers.get('location')).toMatch(new RegExp(`/admin/v1${path}/[^/]+$`));
  expect(res.headers.get('etag')).toMatch(/^W\/"\d+"$/);
  expect(Number(res.headers.get('x-scimitar-revision'))).toBeGreaterThan(0);
  expect(res.body.meta.version).toBe(res.headers.get('etag'));
}

const revisionOf = (res: AdminResponse) => Number(res.headers.get('x-scimitar-revision'));

for (const backend of backends()) {
  describe(`admin API (${backend})`, () => {
    let server: RunningServer;
    let admin: AdminClient;
    let scim: ScimClient;

    /** A fresh tenant with an admin token, for tests that must own the whole model. */
    async function tenantAdmin(): Promise<AdminClient> {
      const tenant = await server.store.tenants.create(unique('t').toLowerCase());
      return adminClient(server, (await issueToken(server.store, systemClock, tenant.id, 'admin', 'test')).token);
    }

    /** A resource type with `read` and `write`, and a role holding `read`. */
    async function typeAndRole(client: AdminClient = admin): Promise<{ type: string; role: string }> {
      const type = unique('db');
      const role = unique('reader');
      expectStatus(await client.post('/resource-types', { name: type, actions: ['read', 'write'] }), 201);
      expectStatus(await client.post('/roles', { name: role, permissions: [`${type}:read`] }), 201);
      return { type, role };
    }

    beforeAll(async () => {
      server = await startServer(backend);
      admin = adminClient(server, await server.token('admin'));
      scim = scimClient(server);
    });
    afterAll(() => server?.close());

    it('AD1 resource types: create, read, list, replace, delete, with ETags and preconditions', async () => {
      const name = unique('database');
      const created = await admin.post('/resource-types', { name, actions: ['connect', 'read'], description: 'SQL' });
      expectCreated(created, '/resource-types');
      expect(created.headers.get('location')).toMatch(new RegExp(`/admin/v1/resource-types/${name}$`));
      expect(created.body).toMatchObject({ name, actions: ['connect', 'read'], description: 'SQL' });
      expect(created.body.meta.created).toBe(created.body.meta.lastModified);

      const read = await admin.get(`/resource-types/${name}`);
      expectStatus(read, 200);
      expect(read.headers.get('etag')).toBe(created.headers.get('etag'));
      expect(read.body).toEqual(created.body);
      expectStatus(await admin.get(`/resource-types/${name}`, { 'if-none-match': read.headers.get('etag')! }), 304);

      const list = await admin.get('/resource-types');
      expectStatus(list, 200);
      expect(list.body.total).toBe(list.body.items.length);
      expect(list.body.items).toContainEqual(created.body);

      expectScimError(await admin.post('/resource-types', { name, actions: ['read'] }), 409, 'uniqueness');

      const stale = created.headers.get('etag')!;
      const replaced = await admin.put(`/resource-types/${name}`, { name, actions: ['connect', 'read', 'write'] }, { 'if-match': stale });
      expectStatus(replaced, 200);
      expect(replaced.body.actions).toEqual(['connect', 'read', 'write']);
      expect(replaced.body.description).toBeUndefined();
      expect(revisionOf(replaced)).toBeGreaterThan(revisionOf(created));
      expect(replaced.headers.get('etag')).toBe(`W/"${revisionOf(replaced)}"`);

      expectScimError(await admin.put(`/resource-types/${name}`, { name, actions: ['read'] }, { 'if-match': stale }), 412);
      expectScimError(await admin.delete(`/resource-types/${name}`, { 'if-match': stale }), 412);
      expect((await admin.get(`/resource-types/${name}`)).body.actions).toEqual(['connect', 'read', 'write']);

      const deleted = await admin.delete(`/resource-types/${name}`, { 'if-match': replaced.headers.get('etag')! });
      expectStatus(deleted, 204);
      expect(revisionOf(deleted)).toBeGreaterThan(revisionOf(replaced));
      expectScimError(await admin.get(`/resource-types/${name}`), 404);
      expectScimError(await admin.delete(`/resource-types/${name}`), 404);
    });

    it('AD2 PUT creates when absent (201), takes its key from the URL, refuses a body that names another key', async () => {
      const name = unique('queue');
      const created = await admin.put(`/resource-types/${name}`, { actions: ['publish'] });
      expectCreated(created, '/resource-types');
      expect(created.body.name).toBe(name);

      expectScimError(await admin.put(`/resource-types/${name}`, { name: unique('other'), actions: ['publish'] }), 400, 'invalidValue');
      // What a read returns, `meta` included, can be sent back as it is.
      const read = await admin.get(`/resource-types/${name}`);
      const again = await admin.put(`/resource-types/${name}`, { ...read.body, actions: ['publish', 'consume'] });
      expectStatus(again, 200);
      expect(again.body.actions).toEqual(['publish', 'consume']);
      // An identical PUT changes nothing: same version.
      const same = await admin.put(`/resource-types/${name}`, { name, actions: ['publish', 'consume'] });
      expectStatus(same, 200);
      expect(same.headers.get('etag')).toBe(again.headers.get('etag'));
      // A precondition on a missing object fails: there is nothing for it to match.
      expectScimError(await admin.put(`/resource-types/${unique('none')}`, { actions: ['x'] }, { 'if-match': 'W/"1"' }), 412);
    });

    it('AD3 every kind: create, read, list, replace and delete through its collection', async () => {
      const { type, role } = await typeAndRole();
      const user = await createUser(scim);
      const objects: [string, Record<string, unknown>, (body: any) => string][] = [
        ['/resources', { type, id: 'orders', attributes: { tier: 'gold' } }, (b) => `${b.type}:${b.id}`],
        ['/resources', { type, id: 'orders/eu', parent: `${type}:orders` }, (b) => `${b.type}:${b.id}`],
        ['/attribute-rules', { filter: 'title eq "Engineer"', role, scope: `${type}:*` }, (b) => b.id],
        ['/group-mappings', { group: { displayName: 'Engineering' }, role, scope: '*' }, (b) => b.id],
        ['/bindings', { subject: { type: 'user', id: user.id }, role, scope: `${type}:orders` }, (b) => b.id],
        ['/grants', { subject: { type: 'user', userName: user.userName }, role, scope: '*', expiresAt: '2099-01-01T00:00:00.000Z', reason: 'INC-1' }, (b) => b.id],
      ];
      const created: [string, string, AdminResponse][] = [];
      for (const [path, body, keyOf] of objects) {
        const res = await admin.post(path, body);
        expectCreated(res, path);
        expect(res.body).toMatchObject(body);
        const key = keyOf(res.body);
        if (path !== '/resources') expect(key).toMatch(/^[0-9a-f-]{36}$/);
        expect(decodeURIComponent(res.headers.get('location')!.split('/').at(-1)!)).toBe(key);
        const read = await admin.get(`${path}/${encodeURIComponent(key)}`);
        expectStatus(read, 200);
        expect(read.body).toEqual(res.body);
        const list = await admin.get(path);
        expect(list.body.items.map(keyOf)).toContain(key);
        created.push([path, key, res]);
      }
      // Colons stay readable in the path.
      expectStatus(await admin.get(`/resources/${type}:orders`), 200);

      const [, bindingKey, binding] = created.find(([path]) => path === '/bindings')!;
      const replaced = await admin.put(`/bindings/${bindingKey}`, { ...binding.body, effect: 'deny', description: 'frozen' });
      expectStatus(replaced, 200);
      expect(replaced.body).toMatchObject({ id: bindingKey, effect: 'deny', description: 'frozen' });

      for (const [path, key] of created.reverse()) {
        expectStatus(await admin.delete(`${path}/${encodeURIComponent(key)}`), 204);
        expectScimError(await admin.get(`${path}/${encodeURIComponent(key)}`), 404);
      }
    });

    it('AD4 an object others depend on cannot be deleted (409), and says what depends on it', async () => {
      const { type, role } = await typeAndRole();
      const binding = await admin.post('/bindings', { subject: { type: 'everyone' }, role, scope: `${type}:*` });
      expectStatus(binding, 201);
      const refused = await admin.delete(`/roles/${role}`);
      expectScimError(refused, 409);
      expect(refused.body.detail).toContain(binding.body.id);
      expectScimError(await admin.delete(`/resource-types/${type}`), 409);
      expectStatus(await admin.get(`/roles/${role}`), 200);

      expectStatus(await admin.delete(`/bindings/${binding.body.id}`), 204);
      expectStatus(await admin.delete(`/roles/${role}`), 204);
      expectStatus(await admin.delete(`/resource-types/${type}`), 204);
    });

    it('AD5 a model that would be invalid is refused (400) with a detail naming the problem', async () => {
      const { type, role } = await typeAndRole();

      const unknownAction = await admin.post('/roles', { name: unique('r'), permissions: [`${type}:frobnicate`] });
      expectScimError(unknownAction, 400, 'invalidValue');
      expect(unknownAction.body.detail).toContain(`\`${type}:frobnicate\``);
      expect(unknownAction.body.detail).toContain('no action `frobnicate`');

      const unknownType = await admin.post('/roles', { name: unique('r'), permissions: ['spaceship:fly'] });
      expectScimError(unknownType, 400, 'invalidValue');
      expect(unknownType.body.detail).toContain('`spaceship:fly`');

      // a includes b, then b including a closes a cycle.
      const a = unique('a');
      const b = unique('b');
      expectStatus(await admin.post('/roles', { name: b, permissions: [`${type}:read`] }), 201);
      expectStatus(await admin.post('/roles', { name: a, permissions: [], includes: [b] }), 201);
      const cycle = await admin.put(`/roles/${b}`, { name: b, permissions: [`${type}:read`], includes: [a] });
      expectScimError(cycle, 400, 'invalidValue');
      expect(cycle.body.detail).toContain('includes itself');
      expect((await admin.get(`/roles/${b}`)).body.includes).toBeUndefined();

      const badCel = await admin.post('/bindings', { subject: { type: 'everyone' }, role, scope: '*', condition: 'request.time >' });
      expectScimError(badCel, 400, 'invalidValue');
      expect(badCel.body.detail).toContain('`condition`');

      const badFilter = await admin.post('/attribute-rules', { filter: 'title eq', role, scope: '*' });
      expectScimError(badFilter, 400, 'invalidValue');
      expect(badFilter.body.detail).toContain('`filter`');

      const unknownField = await admin.post('/bindings', { subject: { type: 'everyone' }, rol: role, scope: '*' });
      expectScimError(unknownField, 400, 'invalidValue');
      expect(unknownField.body.detail).toContain('unknown field `rol`');

      const wrongType = await admin.post('/resource-types', { name: unique('t'), actions: 'read' });
      expectScimError(wrongType, 400, 'invalidValue');
      expect(wrongType.body.detail).toContain('`actions`');
    });

    it('AD6 malformed requests get a SCIM error body', async () => {
      expectScimError(await admin.request('POST', '/roles', '{"name": ', { 'content-type': 'application/json' }), 400, 'invalidSyntax');
      expectScimError(await admin.post('/roles', ['not', 'an', 'object']), 400, 'invalidSyntax');
      expectScimError(await admin.request('POST', '/roles', undefined, { 'content-type': 'application/json' }), 400, 'invalidSyntax');
      // YAML is for whole policy files; a collection takes a JSON object.
      expectScimError(await admin.post('/roles', 'name: x\npermissions: []\n'), 400, 'invalidSyntax');
      expectScimError(await admin.request('POST', '/roles', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415);
      expectScimError(await admin.get('/no-such-collection'), 404);
    });

    it('AD7 the revision of a write is one a check can wait for', async () => {
      const { type, role } = await typeAndRole();
      const user = await createUser(scim);
      const binding = await admin.post('/bindings', { subject: { type: 'user', userName: user.userName }, role, scope: `${type}:*` });
      expectStatus(binding, 201);
      const check = await fetch(`${server.url}/access/v1/evaluation?atLeastRevision=${revisionOf(binding)}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await server.token('authz')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ subject: { type: 'user', id: user.id }, action: { name: 'read' }, resource: { type, id: 'x' } }),
      });
      expect(check.status).toBe(200);
      expect(await check.json()).toEqual({ decision: true });
    });

    it('AD8 attribute rule preview: the users the filter selects now, from the store', async () => {
      const department = unique('Eng');
      const manager = (title: string, active = true) =>
        createUser(scim, {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
          displayName: `${title} of ${department}`,
          title,
          active,
          [ENTERPRISE]: { department },
        });
      const lead = await manager('Engineering Manager');
      const director = await manager('Senior Manager', false);
      await manager('Engineer');
      const filter = `${ENTERPRISE}:department eq "${department}" and title co "Manager"`;

      const preview = await admin.post('/attribute-rules/preview', { filter });
      expectStatus(preview, 200);
      expect(preview.body.total).toBe(2);
      expect(preview.body.users).toEqual(
        [
          { id: lead.id, userName: lead.userName, displayName: lead.displayName, active: true },
          { id: director.id, userName: director.userName, displayName: director.displayName, active: false },
        ].sort((x, y) => (x.userName < y.userName ? -1 : 1)),
      );

      const limited = await admin.post('/attribute-rules/preview', { filter, limit: 1 });
      expect(limited.body.total).toBe(2);
      expect(limited.body.users).toHaveLength(1);

      expectScimError(await admin.post('/attribute-rules/preview', { filter: 'title eq' }), 400, 'invalidFilter');
      expectScimError(await admin.post('/attribute-rules/preview', { filter: 'shoeSize gt 40' }), 400, 'invalidFilter');
      expectScimError(await admin.post('/attribute-rules/preview', { filter, limt: 1 }), 400, 'invalidSyntax');
      expectScimError(await admin.post('/attribute-rules/preview', { limit: 1 }), 400, 'invalidValue');
      expectScimError(await admin.post('/attribute-rules/preview', { filter, limit: -1 }), 400, 'invalidValue');

      const { role } = await typeAndRole();
      const rule = await admin.post('/attribute-rules', { filter, role, scope: '*' });
      expectStatus(rule, 201);
      const matches = await admin.get(`/attribute-rules/${rule.body.id}/matches`);
      expectStatus(matches, 200);
      expect(matches.body).toEqual(preview.body);
      expect((await admin.get(`/attribute-rules/${rule.body.id}/matches?limit=0`)).body).toEqual({ total: 2, users: [] });
      expectScimError(await admin.get(`/attribute-rules/${unique('none')}/matches`), 404);
    });

    it('AD9 a temporary grant may name its user and a duration', async () => {
      const { role } = await typeAndRole();
      const user = await createUser(scim, { externalId: unique('ext') });
      const before = Date.now();
      const grant = await admin.post('/grants', { user: user.userName.toUpperCase(), role, scope: '*', duration: 'PT4H', reason: 'INC-42' });
      const after = Date.now();
      expectCreated(grant, '/grants');
      expect(grant.body).toMatchObject({ subject: { type: 'user', id: user.id }, role, scope: '*', reason: 'INC-42' });
      const expires = Date.parse(grant.body.expiresAt);
      expect(expires).toBeGreaterThanOrEqual(before + 4 * 3600_000 - 1000);
      expect(expires).toBeLessThanOrEqual(after + 4 * 3600_000 + 1000);

      const byExternalId = await admin.post('/grants', { user: user.externalId, role, scope: '*', expiresAt: '2099-01-01T00:00:00Z', reason: 'x' });
      expectStatus(byExternalId, 201);
      expect(byExternalId.body.subject).toEqual({ type: 'user', id: user.id });

      expectScimError(await admin.post('/grants', { user: unique('ghost'), role, scope: '*', duration: 'PT1H', reason: 'x' }), 404);
      expectScimError(await admin.post('/grants', { user: user.id, role, scope: '*', duration: '4 hours', reason: 'x' }), 400, 'invalidValue');
      expectScimError(await admin.post('/grants', { user: user.id, role, scope: '*', reason: 'x' }), 400, 'invalidValue');
      expectScimError(
        await admin.post('/grants', { user: user.id, role, scope: '*', duration: 'PT1H', expiresAt: '2099-01-01T00:00:00Z', reason: 'x' }),
        400,
        'invalidValue',
      );
    });

    it('AD10 policy file: plan writes nothing, apply writes all, export reads back what was applied', async () => {
      const client = await tenantAdmin();
      const empty = await client.get('/policy', { accept: 'application/yaml' });
      expectStatus(empty, 200);
      expect(empty.headers.get('content-type')).toMatch(/^application\/yaml/);
      expect(parseYaml(empty.text)).toEqual({});

      const file = [
        'resourceTypes:',
        '  database: [connect, read, write]',
        'resources:',
        '  - { type: database, id: orders }',
        'roles:',
        '  db-reader: { permissions: ["database:connect", "database:read"] }',
        '  db-writer: { permissions: ["database:write"], includes: [db-reader] }',
        'attributeRules:',
        '  - { id: managers, filter: "title co \\"Manager\\"", role: db-reader, scope: "*" }',
        'groupMappings:',
        '  - { id: eng, group: { displayName: Engineering }, role: db-writer, scope: "database:orders" }',
        '',
      ].join('\n');

      const plan = await client.post('/policy/plan', file);
      expectStatus(plan, 200);
      expect(plan.body.create.map((e: any) => `${e.kind} ${e.id}`)).toEqual([
        'resourceType database',
        'resource database:orders',
        'role db-reader',
        'role db-writer',
        'attributeRule managers',
        'groupMapping eng',
      ]);
      expect(plan.body.replace).toEqual([]);
      expect(plan.body.delete).toEqual([]);
      expect((await client.get('/roles')).body.total).toBe(0);

      const applied = await client.put('/policy', file);
      expectStatus(applied, 200);
      expect(applied.body.plan).toEqual(plan.body);
      expect(applied.body.revision).toBe(revisionOf(applied));
      expect((await client.get('/roles/db-writer')).body.includes).toEqual(['db-reader']);

      // The YAML export, and the JSON one, each plan nothing when given back.
      const yaml = await client.get('/policy', { accept: 'application/yaml' });
      expect(parseYaml(yaml.text)).toEqual(parseYaml(file));
      const json = await client.get('/policy');
      expectStatus(json, 200);
      expect(json.headers.get('content-type')).toMatch(/^application\/json/);
      expect(json.body).toEqual(parseYaml(file));
      for (const body of [yaml.text, json.body]) {
        const again = await client.post('/policy/plan', body);
        expect(again.body).toEqual({ create: [], replace: [], delete: [] });
      }
      const unchanged = await client.put('/policy', json.body);
      expect(unchanged.body.revision).toBeNull();

      // Dropping the mapping and changing a role: one replace, one delete, nothing else.
      const next = { ...json.body, roles: { ...json.body.roles, 'db-reader': { permissions: ['database:read'] } } };
      delete next.groupMappings;
      const changed = await client.put('/policy', next);
      expectStatus(changed, 200);
      expect(changed.body.plan.replace.map((e: any) => e.id)).toEqual(['db-reader']);
      expect(changed.body.plan.delete.map((e: any) => e.id)).toEqual(['eng']);
      expectScimError(await client.get('/group-mappings/eng'), 404);
    });

    it('AD11 an invalid policy file is refused as a whole, with every problem listed', async () => {
      const client = await tenantAdmin();
      const file = [
        'resourceTypes:',
        '  database: [read]',
        'roles:',
        '  reader: { permissions: ["database:read", "database:fly"] }',
        '  loop-a: { permissions: [], includes: [loop-b] }',
        '  loop-b: { permissions: [], includes: [loop-a] }',
        'bindings:',
        '  - { id: b1, subject: { type: everyone }, role: nobody, scope: "*" }',
        '',
      ].join('\n');
      for (const res of [await client.post('/policy/plan', file), await client.put('/policy', file)]) {
        expectScimError(res, 400, 'invalidValue');
        expect(res.body.detail).toContain('`database:fly`');
        expect(res.body.detail).toContain('includes itself');
        expect(res.body.detail).toContain('role `nobody` does not exist');
      }
      expect((await client.get('/resource-types')).body.total).toBe(0);

      const syntax = await client.put('/policy', 'roles: [unclosed\n');
      expectScimError(syntax, 400, 'invalidValue');
      expect(syntax.body.detail).toMatch(/line \d+/);
      expectScimError(await client.put('/policy', { rolez: {} }), 400, 'invalidValue');
      expectScimError(await client.request('PUT', '/policy', '', { 'content-type': 'application/yaml' }), 400, 'invalidSyntax');
    });

    it('AD12 another tenant sees none of these objects, and may use the same names', async () => {
      const { type, role } = await typeAndRole();
      const other = await tenantAdmin();
      expectScimError(await other.get(`/roles/${role}`), 404);
      expectScimError(await other.delete(`/roles/${role}`), 404);
      expectScimError(await other.put(`/roles/${role}`, { name: role, permissions: [`${type}:read`] }), 400, 'invalidValue');
      expect((await other.get('/roles')).body).toEqual({ items: [], total: 0 });
      expect((await other.get('/policy')).body).toEqual({});
      expectStatus(await other.post('/resource-types', { name: type, actions: ['read'] }), 201);
      expectStatus(await other.post('/roles', { name: role, permissions: [`${type}:read`] }), 201);
      expect((await admin.get(`/roles/${role}`)).body.meta).toBeDefined();
    });

    it('AD13 only an admin token of the tenant may use the admin API', async () => {
      const none = await adminClient(server, undefined).get('/roles');
      expectScimError(none, 401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expectScimError(await adminClient(server, 'scimitar_admin_nope').get('/roles'), 401);
      expectScimError(await adminClient(server, server.scimToken).get('/roles'), 403);
      expectScimError(await adminClient(server, await server.token('authz')).put('/policy', {}), 403);
      // The token is checked before the body is read.
      expectScimError(await adminClient(server, undefined).post('/roles', '{"broken'), 401);
    });
  });
}
