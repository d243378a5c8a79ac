import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { issueToken } from '../../src/service/tokens.js';
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
  type ScimResponse,
} from './harness.js';
import {
  createGroup,
  createUser,
  expectScimError,
  filterParam,
  memberIds,
  resourcesOf,
  unique,
} from './scim-helpers.js';

const SMALL_BODY_LIMIT = 64 * 1024;

/**
 * The bad-input matrix: every rejection is an RFC 7644 §3.12 Error with the right status and
 * scimType, and every failed write leaves the resource exactly as it was ("nothing half-written").
 */
describe.each(backends())('bad input (%s)', (backend) => {
  let server: RunningServer;
  let client: ScimClient;
  /** A user and a group every test may try (and fail) to damage; compared after each failure. */
  let victim: any;
  let victimGroup: any;
  let member: any;

  beforeAll(async () => {
    server = await startServer(backend, { config: { maxBodyBytes: SMALL_BODY_LIMIT } });
    client = scimClient(server);
    member = await createUser(client);
    victim = await createUser(client, {
      schemas: [USER_SCHEMA, ENTERPRISE],
      name: { givenName: 'Victor', familyName: 'Tim' },
      title: 'Target',
      emails: [{ type: 'work', value: 'victim@example.com', primary: true }],
      [ENTERPRISE]: { department: 'QA' },
    });
    const group = await createGroup(client, { members: [{ value: member.id }] });
    // The baseline is what a GET shows, so later comparisons test the stored state, not the POST echo.
    victim = (await client.get(`/Users/${victim.id}`)).body;
    victimGroup = (await client.get(`/Groups/${group.id}`)).body;
    expect(victimGroup.members.map((m: { value: string }) => m.value)).toEqual([member.id]);
  });
  afterAll(async () => {
    await server?.close();
  });

  /** The victim user and group read back exactly as they were created. */
  async function expectUntouched(): Promise<void> {
    const user = await client.get(`/Users/${victim.id}`);
    expect(user.status).toBe(200);
    expect(user.body).toEqual(victim);
    const group = await client.get(`/Groups/${victimGroup.id}`);
    expect(group.status).toBe(200);
    expect(group.body).toEqual(victimGroup);
  }

  /** Sends a raw body with a given content type. */
  function raw(method: string, path: string, body: string, contentType: string): Promise<ScimResponse> {
    return client.request(method, path, body, { 'content-type': contentType });
  }

  describe('malformed requests', () => {
    it('X1 malformed JSON → 400 invalidSyntax (POST, PUT, PATCH)', async () => {
      expectScimError(await raw('POST', '/Users', '{"schemas": [', 'application/scim+json'), 400, 'invalidSyntax');
      expectScimError(await raw('PUT', `/Users/${victim.id}`, '{"userName": "x",}', 'application/scim+json'), 400, 'invalidSyntax');
      expectScimError(await raw('PATCH', `/Users/${victim.id}`, 'not json at all', 'application/json'), 400, 'invalidSyntax');
      await expectUntouched();
    });

    it('X2 wrong content type (text/plain) → 415', async () => {
      const body = JSON.stringify({ schemas: [USER_SCHEMA], userName: `${unique('ct')}@example.com` });
      expectScimError(await raw('POST', '/Users', body, 'text/plain'), 415);
      expectScimError(
        await raw('PATCH', `/Users/${victim.id}`, JSON.stringify(patchOps({ op: 'replace', path: 'title', value: 'x' })), 'text/plain'),
        415,
      );
      expectScimError(await raw('POST', '/Users', body, 'application/x-www-form-urlencoded'), 415);
      expect(resourcesOf(await client.get(`/Users?${filterParam(`userName eq "${JSON.parse(body).userName}"`)}`))).toEqual([]);
      await expectUntouched();
    });

    it('X3 empty body on POST / PUT / PATCH → 400', async () => {
      expectScimError(await raw('POST', '/Users', '', 'application/scim+json'), 400, 'invalidSyntax');
      expectScimError(await raw('PUT', `/Users/${victim.id}`, '', 'application/scim+json'), 400, 'invalidSyntax');
      expectScimError(await raw('PATCH', `/Users/${victim.id}`, '', 'application/scim+json'), 400, 'invalidSyntax');
      expectScimError(await client.request('POST', '/Groups'), 400);
      // A JSON value that is not an object.
      expectScimError(await client.post('/Users', []), 400, 'invalidSyntax');
      expectScimError(await client.post('/Users', 'null'), 400, 'invalidSyntax');
      await expectUntouched();
    });

    it('X4 unknown attribute → 400 (POST, PUT, PATCH), nothing written', async () => {
      const userName = `${unique('unknown')}@example.com`;
      expectScimError(await client.post('/Users', { schemas: [USER_SCHEMA], userName, favouriteColour: 'blue' }), 400, [
        'invalidValue',
        'invalidSyntax',
      ]);
      expect(resourcesOf(await client.get(`/Users?${filterParam(`userName eq "${userName}"`)}`))).toEqual([]);
      expectScimError(
        await client.put(`/Users/${victim.id}`, { schemas: [USER_SCHEMA], userName: victim.userName, favouriteColour: 'blue' }),
        400,
        ['invalidValue', 'invalidSyntax'],
      );
      expectScimError(
        await client.put(`/Users/${victim.id}`, { schemas: [USER_SCHEMA], userName: victim.userName, name: { nickname: 'x' } }),
        400,
        ['invalidValue', 'invalidSyntax'],
      );
      expectScimError(
        await client.patch(`/Users/${victim.id}`, patchOps({ op: 'replace', value: { title: 'Changed', favouriteColour: 'blue' } })),
        400,
        ['invalidValue', 'invalidPath', 'invalidSyntax'],
      );
      // An unknown schema URN in `schemas` is refused too.
      expectScimError(await client.post('/Users', { schemas: [USER_SCHEMA, 'urn:example:made:up'], userName }), 400);
      await expectUntouched();
    });

    it('X5 wrong value types → 400 invalidValue, nothing written', async () => {
      expectScimError(
        await client.patch(`/Users/${victim.id}`, patchOps({ op: 'replace', path: 'active', value: 'maybe' })),
        400,
        'invalidValue',
      );
      expectScimError(
        await client.put(`/Users/${victim.id}`, { schemas: [USER_SCHEMA], userName: victim.userName, title: 42 }),
        400,
        'invalidValue',
      );
      expectScimError(
        await client.patch(`/Users/${victim.id}`, patchOps({ op: 'replace', path: 'emails', value: [
          { value: 'a@example.com', primary: true },
          { value: 'b@example.com', primary: true },
        ] })),
        400,
        'invalidValue',
      );
      await expectUntouched();
    });

    it('X6 readOnly attributes in PATCH (id, meta, groups) → 400 mutability', async () => {
      for (const op of [
        { op: 'replace', path: 'id', value: randomUUID() },
        { op: 'replace', path: 'meta.created', value: '2001-01-01T00:00:00Z' },
        { op: 'replace', path: 'meta', value: { created: '2001-01-01T00:00:00Z' } },
        { op: 'add', path: 'groups', value: [{ value: victimGroup.id }] },
        // A pathless value that changes `id` (unlike Okta's, which carries it unchanged).
        { op: 'replace', value: { id: randomUUID(), title: 'Stolen' } },
      ]) {
        expectScimError(await client.patch(`/Users/${victim.id}`, patchOps(op)), 400, 'mutability');
      }
      expectScimError(
        await client.patch(`/Groups/${victimGroup.id}`, patchOps({ op: 'replace', path: 'id', value: randomUUID() })),
        400,
        'mutability',
      );
      await expectUntouched();
    });

    it('X7 bad filter → 400 invalidFilter', async () => {
      for (const filter of [
        'userName eq',
        'userName xx "a"',
        '(userName eq "a"',
        'userName eq "a" and',
        'userName eq "unterminated',
        'emails[type eq "work"',
        'noSuchAttribute eq "x"',
        'userName eq "a" or or title eq "b"',
      ]) {
        const res = await client.get(`/Users?${filterParam(filter)}`);
        expectScimError(res, 400, 'invalidFilter');
      }
      expectScimError(await client.get(`/Groups?${filterParam('displayName eq')}`), 400, 'invalidFilter');
    });

    it('X8 bad PATCH path → 400 invalidPath', async () => {
      for (const path of ['noSuchAttribute', 'name.noSuchPart', 'name..givenName', 'emails[type eq "work"].nope', `${ENTERPRISE}:nope`]) {
        const res = await client.patch(`/Users/${victim.id}`, patchOps({ op: 'replace', path, value: 'x' }));
        expectScimError(res, 400, 'invalidPath');
      }
      await expectUntouched();
    });

    it('X9 unsupported or malformed PATCH op → 400', async () => {
      expectScimError(await client.patch(`/Users/${victim.id}`, patchOps({ op: 'move', path: 'title', value: 'x' })), 400, 'invalidSyntax');
      expectScimError(await client.patch(`/Users/${victim.id}`, patchOps({ op: 'copy', from: 'title', path: 'nickName' })), 400, 'invalidSyntax');
      expectScimError(await client.patch(`/Users/${victim.id}`, patchOps({ path: 'title', value: 'x' })), 400, 'invalidSyntax');
      expectScimError(await client.patch(`/Users/${victim.id}`, patchOps()), 400, 'invalidSyntax');
      // Missing PatchOp schema.
      expectScimError(await client.patch(`/Users/${victim.id}`, { Operations: [{ op: 'replace', path: 'title', value: 'x' }] }), 400);
      // `replace` without a value.
      expectScimError(await client.patch(`/Users/${victim.id}`, patchOps({ op: 'replace', path: 'title' })), 400);
      // A valid op followed by an invalid one: the valid one is not applied either.
      expectScimError(
        await client.patch(
          `/Users/${victim.id}`,
          patchOps({ op: 'replace', path: 'title', value: 'Half' }, { op: 'explode', path: 'nickName', value: 'x' }),
        ),
        400,
      );
      expectScimError(
        await client.patch(
          `/Users/${victim.id}`,
          patchOps({ op: 'replace', path: 'title', value: 'Half' }, { op: 'replace', path: 'noSuchAttribute', value: 'x' }),
        ),
        400,
        'invalidPath',
      );
      await expectUntouched();
    });

    it('X10 remove of userName (required) → 400; remove with no path → 400 noTarget', async () => {
      expectScimError(await client.patch(`/Users/${victim.id}`, patchOps({ op: 'remove', path: 'userName' })), 400, [
        'invalidValue',
        'mutability',
      ]);
      expectScimError(await client.patch(`/Users/${victim.id}`, patchOps({ op: 'replace', path: 'userName', value: '' })), 400, [
        'invalidValue',
        'mutability',
      ]);
      expectScimError(await client.patch(`/Groups/${victimGroup.id}`, patchOps({ op: 'remove', path: 'displayName' })), 400, [
        'invalidValue',
        'mutability',
      ]);
      expectScimError(await client.patch(`/Users/${victim.id}`, patchOps({ op: 'remove' })), 400, 'noTarget');
      // A PUT without the required userName (a replace cannot drop it).
      expectScimError(await client.put(`/Users/${victim.id}`, { schemas: [USER_SCHEMA], title: 'Nameless' }), 400, 'invalidValue');
      // A POST without the required userName.
      expectScimError(await client.post('/Users', { schemas: [USER_SCHEMA], title: 'Nameless' }), 400, 'invalidValue');
      await expectUntouched();
    });

    it('X11 a duplicate userName on PUT or PATCH → 409 uniqueness, nothing written', async () => {
      expectScimError(
        await client.put(`/Users/${victim.id}`, { schemas: [USER_SCHEMA], userName: member.userName.toUpperCase() }),
        409,
        'uniqueness',
      );
      expectScimError(
        await client.patch(`/Users/${victim.id}`, patchOps({ op: 'replace', path: 'userName', value: member.userName })),
        409,
        'uniqueness',
      );
      await expectUntouched();
    });

    it('X12 unknown ids → 404 on GET, PUT, PATCH, DELETE', async () => {
      const id = randomUUID();
      expectScimError(await client.get(`/Users/${id}`), 404);
      expectScimError(await client.put(`/Users/${id}`, { schemas: [USER_SCHEMA], userName: `${unique('ghost')}@example.com` }), 404);
      expectScimError(await client.patch(`/Users/${id}`, patchOps({ op: 'replace', path: 'title', value: 'x' })), 404);
      expectScimError(await client.delete(`/Users/${id}`), 404);
      expectScimError(await client.get(`/Groups/${id}`), 404);
      expectScimError(await client.get('/NoSuchEndpoint'), 404);
    });

    it('X13 a group member that does not exist → 400, nothing written', async () => {
      const displayName = unique('ghost-members');
      expectScimError(
        await client.post('/Groups', { schemas: [GROUP_SCHEMA], displayName, members: [{ value: member.id }, { value: randomUUID() }] }),
        400,
        'invalidValue',
      );
      expect(resourcesOf(await client.get(`/Groups?${filterParam(`displayName eq "${displayName}"`)}`))).toEqual([]);
      expectScimError(
        await client.patch(`/Groups/${victimGroup.id}`, patchOps({ op: 'add', path: 'members', value: [{ value: randomUUID() }] })),
        400,
        'invalidValue',
      );
      // A valid member and an unknown one in one PATCH: neither lands.
      const other = await createUser(client);
      expectScimError(
        await client.patch(
          `/Groups/${victimGroup.id}`,
          patchOps({ op: 'add', path: 'members', value: [{ value: other.id }, { value: randomUUID() }] }),
        ),
        400,
        'invalidValue',
      );
      // A group cannot be its own member.
      expectScimError(
        await client.patch(`/Groups/${victimGroup.id}`, patchOps({ op: 'add', path: 'members', value: [{ value: victimGroup.id }] })),
        400,
      );
      await expectUntouched();
    });

    it('X14 oversized body → 413, nothing written', async () => {
      const userName = `${unique('big')}@example.com`;
      const body = { schemas: [USER_SCHEMA], userName, title: 'x'.repeat(100 * 1024) };
      expectScimError(await client.post('/Users', body), 413);
      expect(resourcesOf(await client.get(`/Users?${filterParam(`userName eq "${userName}"`)}`))).toEqual([]);
      expectScimError(await client.patch(`/Users/${victim.id}`, patchOps({ op: 'replace', path: 'title', value: 'y'.repeat(100 * 1024) })), 413);
      await expectUntouched();
    });
  });

  describe('authentication and authorisation', () => {
    function expectUnauthorized(res: ScimResponse): void {
      expectScimError(res, 401);
      expect(res.headers.get('www-authenticate') ?? '').toMatch(/^Bearer/i);
    }

    it('X15 missing, malformed, wrong and revoked tokens → 401 with WWW-Authenticate', async () => {
      const url = `${server.scimUrl}/Users/${victim.id}`;
      const none = await fetch(url);
      const noneBody = await none.json();
      expectUnauthorized({ status: none.status, headers: none.headers, body: noneBody });

      const basic = await fetch(url, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      expectUnauthorized({ status: basic.status, headers: basic.headers, body: await basic.json() });

      expectUnauthorized(await scimClient(server, 'scimitar_scim_not-a-real-token').get(`/Users/${victim.id}`));
      expectUnauthorized(await scimClient(server, '').get('/Users'));

      // Revoked before its first use, so no cached lookup can hide the revocation.
      const issued = await issueToken(server.store, systemClock, server.tenantId, 'scim', 'to be revoked');
      expect(await server.store.tokens.revoke(server.tenantId, issued.record.id, new Date().toISOString())).toBe(true);
      const revoked = scimClient(server, issued.token);
      expectUnauthorized(await revoked.get(`/Users/${victim.id}`));
      expectUnauthorized(await revoked.post('/Users', { schemas: [USER_SCHEMA], userName: `${unique('revoked')}@example.com` }));
      expectUnauthorized(await revoked.patch(`/Users/${victim.id}`, patchOps({ op: 'replace', path: 'title', value: 'x' })));
      expectUnauthorized(await revoked.delete(`/Users/${victim.id}`));
      await expectUntouched();
    });

    it('X16 an admin-scope (or authz-scope) token on SCIM → 403', async () => {
      for (const scope of ['admin', 'authz'] as const) {
        const wrong = scimClient(server, await server.token(scope));
        expectScimError(await wrong.get(`/Users/${victim.id}`), 403);
        expectScimError(await wrong.get('/Users'), 403);
        expectScimError(await wrong.patch(`/Users/${victim.id}`, patchOps({ op: 'replace', path: 'title', value: 'x' })), 403);
        expectScimError(await wrong.delete(`/Users/${victim.id}`), 403);
      }
      await expectUntouched();
    });
  });

  describe('tenant isolation', () => {
    let other: ScimClient;
    let foreignUser: any;
    let foreignGroup: any;

    beforeAll(async () => {
      other = scimClient(server, await server.otherTenantToken());
      foreignUser = await createUser(other, { title: 'Foreign' });
      foreignGroup = await createGroup(other, { members: [{ value: foreignUser.id }] });
    });

    /** The same request with another tenant's id and with a random id answers alike, up to the id in `detail`. */
    async function expectSameAsRandom(send: (id: string) => Promise<ScimResponse>, foreignId: string): Promise<void> {
      const randomId = randomUUID();
      const foreign = await send(foreignId);
      const random = await send(randomId);
      expectScimError(foreign, 404);
      expectScimError(random, 404);
      expect({ ...foreign.body, detail: foreign.body.detail.replaceAll(foreignId, '<id>') }).toEqual({
        ...random.body,
        detail: random.body.detail.replaceAll(randomId, '<id>'),
      });
      expect(foreign.headers.get('content-type')).toBe(random.headers.get('content-type'));
    }

    it("X17 another tenant's user and group ids → 404 on GET, PUT, PATCH, DELETE, indistinguishable from a random id", async () => {
      for (const [endpoint, id] of [
        ['/Users', foreignUser.id],
        ['/Groups', foreignGroup.id],
      ] as const) {
        const body = endpoint === '/Users' ? { schemas: [USER_SCHEMA], userName: `${unique('hijack')}@example.com` } : { schemas: [GROUP_SCHEMA], displayName: 'hijack' };
        await expectSameAsRandom((x) => client.get(`${endpoint}/${x}`), id);
        await expectSameAsRandom((x) => client.put(`${endpoint}/${x}`, body), id);
        await expectSameAsRandom((x) => client.patch(`${endpoint}/${x}`, patchOps({ op: 'replace', path: 'displayName', value: 'hijack' })), id);
        await expectSameAsRandom((x) => client.delete(`${endpoint}/${x}`), id);
      }
      // Lists and filters do not see the other tenant either.
      expect(resourcesOf(await client.get(`/Users?${filterParam(`id eq "${foreignUser.id}"`)}`))).toEqual([]);
      expect(resourcesOf(await client.get(`/Users?${filterParam(`userName eq "${foreignUser.userName}"`)}`))).toEqual([]);

      // The other tenant's resources are exactly as they were.
      const user = await other.get(`/Users/${foreignUser.id}`);
      expect({ ...user.body, groups: undefined, meta: undefined }).toEqual({ ...foreignUser, groups: undefined, meta: undefined });
      expect(user.body.groups.map((g: { value: string }) => g.value)).toEqual([foreignGroup.id]);
      expect(await memberIds(other, foreignGroup.id)).toEqual([foreignUser.id]);
      await expectUntouched();
    });

    it('X18 the same userName may exist in two tenants', async () => {
      const mine = await client.post('/Users', { schemas: [USER_SCHEMA], userName: foreignUser.userName });
      expect(mine.status, JSON.stringify(mine.body)).toBe(201);
      expect(mine.body.id).not.toBe(foreignUser.id);
    });

    it("X19 another tenant's id as a group member → 400, and nothing written", async () => {
      const displayName = unique('graft');
      const created = await client.post('/Groups', {
        schemas: [GROUP_SCHEMA],
        displayName,
        members: [{ value: member.id }, { value: foreignUser.id }],
      });
      expectScimError(created, 400, 'invalidValue');
      expect(resourcesOf(await client.get(`/Groups?${filterParam(`displayName eq "${displayName}"`)}`))).toEqual([]);

      // Indistinguishable from an unknown id.
      const randomId = randomUUID();
      const random = await client.patch(`/Groups/${victimGroup.id}`, patchOps({ op: 'add', path: 'members', value: [{ value: randomId }] }));
      const foreign = await client.patch(
        `/Groups/${victimGroup.id}`,
        patchOps({ op: 'add', path: 'members', value: [{ value: foreignUser.id }] }),
      );
      expectScimError(foreign, 400, 'invalidValue');
      expect(foreign.body.detail.replaceAll(foreignUser.id, '<id>')).toBe(random.body.detail.replaceAll(randomId, '<id>'));

      for (const body of [
        patchOps({ op: 'replace', path: 'members', value: [{ value: member.id }, { value: foreignUser.id }] }),
        patchOps({ op: 'add', path: 'members', value: [{ value: foreignGroup.id, type: 'Group' }] }),
        patchOps({ op: 'replace', value: { displayName: 'grafted', members: [{ value: foreignUser.id }] } }),
      ]) {
        expectScimError(await client.patch(`/Groups/${victimGroup.id}`, body), 400, 'invalidValue');
      }
      expectScimError(
        await client.put(`/Groups/${victimGroup.id}`, { schemas: [GROUP_SCHEMA], displayName: 'grafted', members: [{ value: foreignUser.id }] }),
        400,
        'invalidValue',
      );
      // A remove naming a foreign id does not reach into the other tenant.
      const removal = await client.patch(`/Groups/${victimGroup.id}`, patchOps({ op: 'remove', path: `members[value eq "${foreignUser.id}"]` }));
      expect([200, 204, 400]).toContain(removal.status);
      expect(await memberIds(other, foreignGroup.id)).toEqual([foreignUser.id]);
      await expectUntouched();
    });
  });

  it('X21 positive controls: application/json, application/scim+json with charset, and text/json bodies are accepted', async () => {
    for (const type of ['application/json', 'application/scim+json; charset=utf-8', 'application/json;charset=UTF-8', 'text/json']) {
      const userName = `${unique('ctype')}@example.com`;
      const res = await raw('POST', '/Users', JSON.stringify({ schemas: [USER_SCHEMA], userName }), type);
      expect(res.status, `${type}: ${JSON.stringify(res.body)}`).toBe(201);
      expect(res.headers.get('content-type') ?? '').toMatch(/^application\/scim\+json/);
    }
  });

  it('X22 a member whose claimed type is wrong (a group claimed as User) → 400, nothing written', async () => {
    const displayName = unique('wrong-type');
    const res = await client.post('/Groups', {
      schemas: [GROUP_SCHEMA],
      displayName,
      members: [{ value: victimGroup.id, type: 'User' }],
    });
    expectScimError(res, 400, 'invalidValue');
    expect(resourcesOf(await client.get(`/Groups?${filterParam(`displayName eq "${displayName}"`)}`))).toEqual([]);
    const outsider = await createUser(client);
    expectScimError(
      await client.patch(`/Groups/${victimGroup.id}`, patchOps({ op: 'add', path: 'members', value: [{ value: outsider.id, type: 'Group' }] })),
      400,
      'invalidValue',
    );
    await expectUntouched();
  });

  it('X23 an immutable value cannot change: a member\'s value by PATCH sub-path → 400 mutability', async () => {
    expectScimError(
      await client.patch(
        `/Groups/${victimGroup.id}`,
        patchOps({ op: 'replace', path: `members[value eq "${member.id}"].value`, value: randomUUID() }),
      ),
      400,
      'mutability',
    );
    await expectUntouched();
  });

  describe('values a database may not hold', () => {
    /** JSON text with a string escape the HTTP client would otherwise re-encode. */
    function userJson(userName: string, extra = ''): string {
      return `{"schemas":["${USER_SCHEMA}"],"userName":${userName}${extra}}`;
    }

    /** Either stored exactly (and read back exactly) or refused with 400 invalidValue; never a 500. */
    async function storedOrRefused(res: ScimResponse, read: (body: any) => unknown, expected: string): Promise<void> {
      expect([201, 200, 400], `${res.status}: ${JSON.stringify(res.body)}`).toContain(res.status);
      if (res.status === 400) {
        expectScimError(res, 400, 'invalidValue');
        return;
      }
      expect(read(res.body)).toBe(expected);
      const again = await client.get(`/Users/${res.body.id}`);
      expect(again.status).toBe(200);
      expect(read(again.body)).toBe(expected);
    }

    it('X24 an id holding U+0000 is an unknown id: 404, never a 500', async () => {
      expectScimError(await client.get('/Users/%00'), 404);
      expectScimError(await client.patch('/Users/a%00b', patchOps({ op: 'replace', path: 'title', value: 'x' })), 404);
      expectScimError(await client.delete('/Groups/%00'), 404);
    });

    it('X25 a filter value holding U+0000 matches nobody (or is a 400 invalidFilter), never a 500', async () => {
      const filtered = await client.get(`/Users?${filterParam('userName eq "a\\u0000b"')}`);
      expect([200, 400], `${filtered.status}: ${JSON.stringify(filtered.body)}`).toContain(filtered.status);
      if (filtered.status === 200) expect(resourcesOf(filtered)).toEqual([]);
      else expectScimError(filtered, 400, 'invalidFilter');
    });

    it('X26 attribute values holding U+0000 or a lone surrogate are stored exactly or refused with 400 invalidValue, never a 500', async () => {
      const tag = unique('nul');
      await storedOrRefused(await client.post('/Users', userJson(`"${tag}-a\\u0000b@example.com"`)), (b) => b.userName, `${tag}-a\u0000b@example.com`);
      await storedOrRefused(
        await client.post('/Users', userJson(`"${tag}-title@example.com"`, ',"title":"a\\u0000b"')),
        (b) => b.title,
        'a\u0000b',
      );
      await storedOrRefused(
        await client.post('/Users', userJson(`"${tag}-surrogate@example.com"`, ',"title":"a\\ud800b"')),
        (b) => b.title,
        'a\ud800b',
      );
      const patched = await client.patch(
        `/Users/${victim.id}`,
        `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x\\u0000y"}]}`,
      );
      expect([200, 400], `${patched.status}: ${JSON.stringify(patched.body)}`).toContain(patched.status);
      if (patched.status === 400) {
        expectScimError(patched, 400, 'invalidValue');
        await expectUntouched();
      } else {
        expect((await client.get(`/Users/${victim.id}`)).body.title).toBe('x\u0000y');
        // Put the victim back as it was, for the other tests.
        const restored = await client.patch(`/Users/${victim.id}`, patchOps({ op: 'replace', path: 'title', value: victim.title }));
        expect(restored.status).toBe(200);
        victim = (await client.get(`/Users/${victim.id}`)).body;
      }
    });

    it('X27 a member id holding U+0000 is an unknown member: 400 invalidValue, nothing written', async () => {
      const memberAdd = await client.patch(
        `/Groups/${victimGroup.id}`,
        `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"x\\u0000y"}]}]}`,
      );
      expectScimError(memberAdd, 400, 'invalidValue');
      await expectUntouched();
    });
  });

  it('X28 router-level rejections (an over-long id, a broken percent-encoding) still answer with the SCIM Error body', async () => {
    const long = await client.get(`/Users/${'x'.repeat(5000)}`);
    expect([404, 414], JSON.stringify(long.body)).toContain(long.status);
    expectScimError(long, long.status);
    expectScimError(await client.get('/Users/%C3'), 400);
    expectScimError(await client.patch('/Groups/%E0%A4%A', patchOps({ op: 'replace', path: 'displayName', value: 'x' })), 400);
    await expectUntouched();
  });

  it('X29 a request line too long for the server (431) still answers with the SCIM Error body', async () => {
    const filter = Array.from({ length: 2000 }, (_, i) => `userName eq "u${i}@example.com"`).join(' or ');
    const res = await client.get(`/Users?${filterParam(filter)}`);
    expect([400, 413, 414, 431]).toContain(res.status);
    expectScimError(res, res.status);
  });

  it('X20 every error carries the Error schema, a string status equal to the HTTP status, and a detail', async () => {
    const cases: [Promise<ScimResponse>, number][] = [
      [client.get(`/Users/${randomUUID()}`), 404],
      [client.get(`/Users?${filterParam('bad filter')}`), 400],
      [client.post('/Users', { schemas: [USER_SCHEMA], userName: victim.userName }), 409],
      [scimClient(server, 'nope').get('/Users'), 401],
      [client.post('/Schemas', {}), 405],
      [client.get('/Me'), 501],
      [client.get('/Users?startIndex=abc'), 400],
      [client.get('/Users?count=1.5'), 400],
      [client.get('/Users?attributes=noSuchAttribute'), 400],
      [client.patch(`/Users/${victim.id}`, patchOps({ op: 'replace', path: 'title', value: 'x' }), { 'if-match': 'W/"0"' }), 412],
      [client.request('POST', '/Users', '{}', { 'content-type': 'text/plain' }), 415],
      [scimClient(server, 'nope').get(`/Users/${victim.id}`), 401],
    ];
    for (const [pending, status] of cases) {
      const res = await pending;
      expectScimError(res, status);
      // RFC 7644 Table 9 defines scimType values for 400 and 409 (and `sensitive` for 403) only.
      if (status === 400 || status === 409) expect(typeof res.body.scimType).toBe('string');
      else expect(res.body.scimType).toBeUndefined();
    }
    await expectUntouched();
  });
});
