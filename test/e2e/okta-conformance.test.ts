import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backends,
  ENTERPRISE,
  GROUP_SCHEMA,
  PATCH_SCHEMA,
  scimClient,
  startServer,
  USER_SCHEMA,
  type RunningServer,
  type ScimClient,
} from './harness.js';
import {
  createGroup,
  createUser,
  expectListResponse,
  expectScimError,
  expectScimJson,
  filterParam,
  memberIds,
  resourcesOf,
  sorted,
  unique,
} from './scim-helpers.js';

/**
 * Okta (OIN and AIW apps), replayed as Okta's SCIM 2.0 reference and IDP-BEHAVIOUR §1 describe it:
 * lookups with startIndex/count, PUT for every profile change, pathless deactivation, Group Push.
 */
describe.each(backends())('Okta conformance (%s)', (backend) => {
  let server: RunningServer;
  let client: ScimClient;

  beforeAll(async () => {
    server = await startServer(backend);
    // Okta's client identifies itself; nothing must depend on it, but send it as Okta does.
    const base = scimClient(server);
    client = {
      ...base,
      get: (path, headers) => base.get(path, { 'user-agent': 'Okta SCIM Client 1.0.0', ...headers }),
    };
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Okta's create body (Okta SCIM 2.0 reference, "Create the user"). */
  function oktaUser(userName: string) {
    return {
      schemas: [USER_SCHEMA],
      userName,
      name: { givenName: 'Test', familyName: 'User' },
      emails: [{ primary: true, value: userName, type: 'work' }],
      displayName: 'Test User',
      locale: 'en-US',
      externalId: `00u${randomUUID().replaceAll('-', '').slice(0, 17)}`,
      groups: [],
      password: 'S3cret-Passw0rd!',
      active: true,
    };
  }

  async function getUser(id: string) {
    const res = await client.get(`/Users/${id}`);
    expect(res.status).toBe(200);
    return res.body;
  }

  it('R1 test connection: GET /Users?startIndex=1&count=2 answers integer startIndex, itemsPerPage ≤ 2, totalResults', async () => {
    await createUser(client);
    await createUser(client);
    await createUser(client);
    const res = await client.get('/Users?startIndex=1&count=2');
    const body = expectListResponse(res);
    expect(body.startIndex).toBe(1);
    expect(body.itemsPerPage).toBe(2);
    expect(body.Resources).toHaveLength(2);
    expect(body.totalResults).toBeGreaterThanOrEqual(3);
  });

  it('R2 lookup userName eq with startIndex=1&count=100 is case-insensitive, and a differently-cased POST is a 409 (no 409 loop)', async () => {
    const tag = unique('alice');
    const created = await client.post('/Users', oktaUser(`${tag}@Example.com`.replace(/^a/, 'A')));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const userName = created.body.userName as string;
    expect(userName.startsWith('A')).toBe(true);

    const lookup = await client.get(`/Users?${filterParam(`userName eq "${userName.toLowerCase()}"`)}&startIndex=1&count=100`);
    const body = expectListResponse(lookup);
    expect(body.totalResults).toBe(1);
    expect(body.startIndex).toBe(1);
    expect(body.Resources.map((u: { id: string }) => u.id)).toEqual([created.body.id]);
    // The stored spelling is kept as created.
    expect(body.Resources[0].userName).toBe(userName);

    const upper = userName.toUpperCase().replace('@EXAMPLE.COM', '@example.com');
    const duplicate = await client.post('/Users', oktaUser(upper));
    expectScimError(duplicate, 409, 'uniqueness');

    // The lookup that precedes Okta's next POST finds the user, so Okta links instead of looping.
    const relookup = resourcesOf(await client.get(`/Users?${filterParam(`userName eq "${upper}"`)}&startIndex=1&count=100`));
    expect(relookup.map((u) => u.id)).toEqual([created.body.id]);
  });

  it('R3 create with a password: 201 with a body, and the password never comes back (POST, GET, list, PUT, PATCH)', async () => {
    const userName = `${unique('pw')}@example.com`;
    const res = await client.post('/Users', oktaUser(userName));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expectScimJson(res);
    // Okta treats an empty body as an error.
    expect(res.body.id).toEqual(expect.any(String));
    expect(res.body.userName).toBe(userName);
    expect(res.body.active).toBe(true);
    expect(JSON.stringify(res.body)).not.toContain('S3cret-Passw0rd!');
    expect(res.body.password).toBeUndefined();

    const read = await getUser(res.body.id);
    expect(read.password).toBeUndefined();
    expect(JSON.stringify(read)).not.toContain('S3cret-Passw0rd!');

    const asked = await client.get(`/Users/${res.body.id}?attributes=password,userName`);
    expect(asked.status).toBe(200);
    expect(asked.body.password).toBeUndefined();

    const listed = resourcesOf(await client.get(`/Users?${filterParam(`userName eq "${userName}"`)}`));
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain('S3cret-Passw0rd!');

    const put = await client.put(`/Users/${res.body.id}`, { ...oktaUser(userName), password: 'N3w-Passw0rd!' });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(JSON.stringify(put.body)).not.toContain('Passw0rd');

    const patched = await client.patch(`/Users/${res.body.id}`, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: 'replace', value: { password: 'Th1rd-Passw0rd!' } }],
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(JSON.stringify(patched.body)).not.toContain('Passw0rd');
    expect(JSON.stringify(await getUser(res.body.id))).not.toContain('Passw0rd');
  });

  it('R4 full PUT update: omitted attributes (title, nickName, enterprise) are cleared, active stays true when omitted', async () => {
    const userName = `${unique('put')}@example.com`;
    const created = (
      await client.post('/Users', {
        ...oktaUser(userName),
        schemas: [USER_SCHEMA, ENTERPRISE],
        title: 'Engineer',
        nickName: 'Tester',
        [ENTERPRISE]: { department: 'R&D' },
      })
    ).body;
    expect(created.title).toBe('Engineer');

    // Okta GETs the user, then PUTs the full object it wants.
    const current = await getUser(created.id);
    const { title: _title, nickName: _nick, active: _active, [ENTERPRISE]: _ent, ...rest } = current;
    const res = await client.put(`/Users/${created.id}`, {
      ...rest,
      schemas: [USER_SCHEMA],
      name: { givenName: 'Renamed', familyName: 'User' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expectScimJson(res);
    expect(res.headers.get('etag')).toBe(res.body.meta.version);

    const after = await getUser(created.id);
    expect(res.body).toEqual(after);
    expect(after.title).toBeUndefined();
    expect(after.nickName).toBeUndefined();
    expect(after[ENTERPRISE]).toBeUndefined();
    expect(after.active).toBe(true);
    expect(after.name).toEqual({ givenName: 'Renamed', familyName: 'User' });
    expect(after.userName).toBe(userName);
    expect(after.id).toBe(created.id);
    expect(after.meta.created).toBe(created.meta.created);
  });

  it('R5 deactivate by PUT active:false, and by pathless {"op":"replace","value":{"active":false}}', async () => {
    const a = (await client.post('/Users', oktaUser(`${unique('deact')}@example.com`))).body;
    const { password: _pw, ...aBody } = oktaUser(a.userName);
    const put = await client.put(`/Users/${a.id}`, { ...aBody, externalId: a.externalId, active: false });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.active).toBe(false);
    expect((await getUser(a.id)).active).toBe(false);

    const b = (await client.post('/Users', oktaUser(`${unique('deact')}@example.com`))).body;
    const patch = await client.patch(`/Users/${b.id}`, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(patch.status, JSON.stringify(patch.body)).toBe(200);
    expect(patch.body.active).toBe(false);
    const after = await getUser(b.id);
    expect(after.active).toBe(false);
    // Only `active` changed.
    expect(after.name).toEqual(b.name);
    expect(after.emails).toEqual(b.emails);

    // Reactivation works the same way.
    const back = await client.patch(`/Users/${b.id}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', value: { active: true } }] });
    expect(back.status).toBe(200);
    expect((await getUser(b.id)).active).toBe(true);
  });

  describe('Group Push', () => {
    it('R6 POST {displayName, members: []} creates an empty group', async () => {
      const displayName = unique('Okta Push');
      const res = await client.post('/Groups', { schemas: [GROUP_SCHEMA], displayName, members: [] });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expectScimJson(res);
      expect(res.body.displayName).toBe(displayName);
      expect(res.body.members ?? []).toEqual([]);
      expect(res.headers.get('location')).toBe(res.body.meta.location);
      const found = resourcesOf(await client.get(`/Groups?${filterParam(`displayName eq "${displayName}"`)}&startIndex=1&count=100`));
      expect(found.map((g) => g.id)).toEqual([res.body.id]);
    });

    it('R7 remove by members[value eq "id"] and add by value/display in one PATCH', async () => {
      const [u1, u2, u3] = [await createUser(client), await createUser(client), await createUser(client)];
      const group = await createGroup(client, { members: [{ value: u1.id }, { value: u2.id }] });
      const res = await client.patch(`/Groups/${group.id}`, {
        schemas: [PATCH_SCHEMA],
        Operations: [
          { op: 'remove', path: `members[value eq "${u1.id}"]` },
          { op: 'add', path: 'members', value: [{ value: u3.id, display: u3.userName }] },
        ],
      });
      expect([200, 204]).toContain(res.status);
      expect(await memberIds(client, group.id)).toEqual(sorted([u2.id, u3.id]));
    });

    it('R8 replace-all members: stale members are gone, new ones present', async () => {
      const users = [];
      for (let i = 0; i < 4; i++) users.push(await createUser(client));
      const group = await createGroup(client, { members: [{ value: users[0]!.id }, { value: users[1]!.id }] });
      const res = await client.patch(`/Groups/${group.id}`, {
        schemas: [PATCH_SCHEMA],
        Operations: [
          {
            op: 'replace',
            path: 'members',
            value: [
              { value: users[1]!.id, display: users[1]!.userName },
              { value: users[2]!.id, display: users[2]!.userName },
              { value: users[3]!.id, display: users[3]!.userName },
            ],
          },
        ],
      });
      expect([200, 204]).toContain(res.status);
      expect(await memberIds(client, group.id)).toEqual(sorted([users[1]!.id, users[2]!.id, users[3]!.id]));

      // Replacing with an empty list empties the group.
      const empty = await client.patch(`/Groups/${group.id}`, {
        schemas: [PATCH_SCHEMA],
        Operations: [{ op: 'replace', path: 'members', value: [] }],
      });
      expect([200, 204]).toContain(empty.status);
      expect(await memberIds(client, group.id)).toEqual([]);
    });

    it('R9 pathless rename carrying the unchanged id succeeds, members untouched', async () => {
      const user = await createUser(client);
      const group = await createGroup(client, { members: [{ value: user.id }] });
      const newName = unique('Test SCIMv2');
      const res = await client.patch(`/Groups/${group.id}`, {
        schemas: [PATCH_SCHEMA],
        Operations: [{ op: 'replace', value: { id: group.id, displayName: newName } }],
      });
      expect([200, 204], JSON.stringify(res.body)).toContain(res.status);
      const after = await client.get(`/Groups/${group.id}`);
      expect(after.body.displayName).toBe(newName);
      expect(after.body.id).toBe(group.id);
      expect(after.body.members.map((m: { value: string }) => m.value)).toEqual([user.id]);
    });

    it('R7b removing a member that is no longer there succeeds (Okta treats any error as a failed push)', async () => {
      const [u1, u2] = [await createUser(client), await createUser(client)];
      const group = await createGroup(client, { members: [{ value: u1.id }] });
      const res = await client.patch(`/Groups/${group.id}`, {
        schemas: [PATCH_SCHEMA],
        Operations: [{ op: 'remove', path: `members[value eq "${u2.id}"]` }],
      });
      expect([200, 204], JSON.stringify(res.body)).toContain(res.status);
      expect(await memberIds(client, group.id)).toEqual([u1.id]);
    });

    it('R10 DELETE on unlink: 204, the group is gone, its members are not', async () => {
      const user = await createUser(client);
      const group = await createGroup(client, { members: [{ value: user.id }] });
      const res = await client.delete(`/Groups/${group.id}`);
      expect(res.status).toBe(204);
      expectScimError(await client.get(`/Groups/${group.id}`), 404);
      const member = await getUser(user.id);
      expect(member.groups ?? []).toEqual([]);
    });

    it('R11 GET /Groups?startIndex=1&count=100 lists groups with integer counts', async () => {
      await createGroup(client);
      const body = expectListResponse(await client.get('/Groups?startIndex=1&count=100'));
      expect(body.startIndex).toBe(1);
      expect(body.totalResults).toBeGreaterThanOrEqual(1);
      expect(body.Resources.length).toBe(Math.min(100, body.totalResults));
    });
  });

  it('R13 AIW group PUT replaces the member list exactly; a PUT without members empties the group', async () => {
    const users = [await createUser(client), await createUser(client), await createUser(client)];
    const group = await createGroup(client, { members: [{ value: users[0]!.id }, { value: users[1]!.id }] });
    const newName = unique('AIW Group');
    const res = await client.put(`/Groups/${group.id}`, {
      schemas: [GROUP_SCHEMA],
      id: group.id,
      displayName: newName,
      members: [
        { value: users[1]!.id, display: users[1]!.userName },
        { value: users[2]!.id, display: users[2]!.userName },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.displayName).toBe(newName);
    expect(sorted(res.body.members.map((m: { value: string }) => m.value))).toEqual(sorted([users[1]!.id, users[2]!.id]));
    expect(await memberIds(client, group.id)).toEqual(sorted([users[1]!.id, users[2]!.id]));

    const emptied = await client.put(`/Groups/${group.id}`, { schemas: [GROUP_SCHEMA], displayName: newName });
    expect(emptied.status, JSON.stringify(emptied.body)).toBe(200);
    expect(await memberIds(client, group.id)).toEqual([]);
  });

  it('R14 PUT that changes only the case of the own userName is not a conflict with itself', async () => {
    const userName = `${unique('case')}@example.com`;
    const created = (await client.post('/Users', oktaUser(userName))).body;
    const { password: _pw, ...body } = oktaUser(userName.toUpperCase());
    const res = await client.put(`/Users/${created.id}`, { ...body, externalId: created.externalId });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.userName).toBe(userName.toUpperCase());
  });

  it('R15 a deleted user frees the userName for a new POST', async () => {
    const userName = `${unique('reuse')}@example.com`;
    const first = (await client.post('/Users', oktaUser(userName))).body;
    expect((await client.delete(`/Users/${first.id}`)).status).toBe(204);
    const second = await client.post('/Users', oktaUser(userName.toUpperCase()));
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(second.body.id).not.toBe(first.id);
  });

  it('R16 an id the client sends on POST is ignored; the server assigns its own', async () => {
    const clientId = randomUUID();
    const res = await client.post('/Users', { ...oktaUser(`${unique('id')}@example.com`), id: clientId });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.id).not.toBe(clientId);
    expectScimError(await client.get(`/Users/${clientId}`), 404);
  });

  it('R17 a filter with `+` for spaces (form encoding) reads like %20', async () => {
    const user = (await client.post('/Users', oktaUser(`${unique('plus')}@example.com`))).body;
    const res = await client.get(`/Users?filter=userName+eq+%22${encodeURIComponent(user.userName)}%22&startIndex=1&count=100`);
    expect(resourcesOf(res).map((u) => u.id)).toEqual([user.id]);
  });

  it('R12 stable paging: 25 more users, count=10 pages visit every user exactly once, in the same order twice', async () => {
    const tag = unique('page');
    const created: string[] = [];
    for (let i = 0; i < 25; i++) created.push((await createUser(client, { userName: `${tag}-${String(i).padStart(2, '0')}@example.com` })).id);

    async function walk(): Promise<string[]> {
      const ids: string[] = [];
      let startIndex = 1;
      let total = Number.POSITIVE_INFINITY;
      // Bounded: at most 100 pages.
      for (let page = 0; page < 100 && startIndex <= total; page++) {
        const body = expectListResponse(await client.get(`/Users?startIndex=${startIndex}&count=10`));
        expect(body.startIndex).toBe(startIndex);
        total = body.totalResults;
        const resources = body.Resources ?? [];
        if (resources.length === 0) break;
        expect(resources.length).toBeLessThanOrEqual(10);
        ids.push(...resources.map((u: { id: string }) => u.id));
        startIndex += resources.length;
      }
      expect(ids).toHaveLength(total);
      return ids;
    }

    const first = await walk();
    const second = await walk();
    expect(new Set(first).size).toBe(first.length);
    for (const id of created) expect(first.filter((x) => x === id)).toHaveLength(1);
    expect(second).toEqual(first);
  });
});
