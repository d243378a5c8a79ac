import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import {
  createGroup,
  createUser,
  expectListResponse,
  expectScimError,
  filterParam,
  memberIds,
  resourcesOf,
  sorted,
  unique,
} from './scim-helpers.js';

/** The smaller IdPs of IDP-BEHAVIOUR §1.1: OneLogin, JumpCloud, PingFederate, AWS IAM Identity Center style, Google. */
describe.each(backends())('other IdPs (%s)', (backend) => {
  let server: RunningServer;
  let client: ScimClient;

  beforeAll(async () => {
    server = await startServer(backend);
    client = scimClient(server);
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('OneLogin', () => {
    it('O1 PATCH /Groups/{id} adds and removes members (lower-case ops, value arrays), with an empty User-Agent', async () => {
      const users = [await createUser(client), await createUser(client), await createUser(client)];
      const group = await createGroup(client);
      const headers = { 'user-agent': '' };
      const add = await client.request(
        'PATCH',
        `/Groups/${group.id}`,
        patchOps({ op: 'add', path: 'members', value: users.map((u) => ({ value: u.id })) }),
        headers,
      );
      expect([200, 204], JSON.stringify(add.body)).toContain(add.status);
      expect(await memberIds(client, group.id)).toEqual(sorted(users.map((u) => u.id)));

      const remove = await client.request(
        'PATCH',
        `/Groups/${group.id}`,
        patchOps({ op: 'remove', path: 'members', value: [{ value: users[2]!.id }] }),
        headers,
      );
      expect([200, 204], JSON.stringify(remove.body)).toContain(remove.status);
      expect(await memberIds(client, group.id)).toEqual(sorted([users[0]!.id, users[1]!.id]));
    });
  });

  describe('JumpCloud', () => {
    it('J1 connection test: creates a test user and a test group, then deletes them', async () => {
      const user = await client.post('/Users', {
        schemas: [USER_SCHEMA],
        userName: `jc-test-${randomUUID()}@example.com`,
        name: { givenName: 'JumpCloud', familyName: 'Test' },
        emails: [{ value: `jc-test-${randomUUID()}@example.com`, type: 'work', primary: true }],
        active: true,
      });
      expect(user.status, JSON.stringify(user.body)).toBe(201);
      const group = await client.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `JumpCloud Test ${randomUUID()}` });
      expect(group.status, JSON.stringify(group.body)).toBe(201);

      expect((await client.delete(`/Users/${user.body.id}`)).status).toBe(204);
      expect((await client.delete(`/Groups/${group.body.id}`)).status).toBe(204);
      expectScimError(await client.get(`/Users/${user.body.id}`), 404);
      expectScimError(await client.get(`/Groups/${group.body.id}`), 404);
      expect(resourcesOf(await client.get(`/Users?${filterParam(`userName eq "${user.body.userName}"`)}`))).toEqual([]);
      expect(resourcesOf(await client.get(`/Groups?${filterParam(`displayName eq "${group.body.displayName}"`)}`))).toEqual([]);
    });

    it('J2 a group without a members key is empty, lists as empty, and takes members later', async () => {
      const displayName = unique('JC Group');
      const res = await client.post('/Groups', { schemas: [GROUP_SCHEMA], displayName });
      expect(res.status).toBe(201);
      expect(res.body.members ?? []).toEqual([]);
      const read = await client.get(`/Groups/${res.body.id}`);
      expect(read.status).toBe(200);
      expect(read.body.members ?? []).toEqual([]);

      // JumpCloud takes over an existing group with a matching name: its lookup must find it.
      const found = resourcesOf(await client.get(`/Groups?${filterParam(`displayName eq "${displayName.toLowerCase()}"`)}`));
      expect(found.map((g) => g.id)).toEqual([res.body.id]);
      expect(found[0].members ?? []).toEqual([]);

      const user = await createUser(client);
      const add = await client.patch(`/Groups/${res.body.id}`, patchOps({ op: 'add', path: 'members', value: [{ value: user.id }] }));
      expect([200, 204]).toContain(add.status);
      expect(await memberIds(client, res.body.id)).toEqual([user.id]);

      // Emptying it again (a value-array remove of the last member) keeps the group.
      const remove = await client.patch(
        `/Groups/${res.body.id}`,
        patchOps({ op: 'remove', path: 'members', value: [{ value: user.id }] }),
      );
      expect([200, 204]).toContain(remove.status);
      expect(await memberIds(client, res.body.id)).toEqual([]);
    });

    it('J3 deprovision sets the user inactive; the user stays readable', async () => {
      const user = await createUser(client);
      const res = await client.patch(`/Users/${user.id}`, patchOps({ op: 'replace', path: 'active', value: false }));
      expect(res.status).toBe(200);
      const read = await client.get(`/Users/${user.id}`);
      expect(read.body.active).toBe(false);
    });
  });

  describe('PingFederate SCIM Provisioner', () => {
    it('P1 PUT updates of users: the stored user is exactly the PUT body, twice in a row', async () => {
      const userName = `${unique('ping')}@example.com`;
      const created = await createUser(client, {
        schemas: [USER_SCHEMA, ENTERPRISE],
        userName,
        name: { givenName: 'Ping', familyName: 'Fed' },
        emails: [{ value: userName, type: 'work', primary: true }],
        phoneNumbers: [{ value: '+1 555 0100', type: 'work' }],
        title: 'Analyst',
        [ENTERPRISE]: { department: 'Ops', employeeNumber: '7' },
      });

      const first = {
        schemas: [USER_SCHEMA, ENTERPRISE],
        userName,
        externalId: 'ping-ext-1',
        name: { givenName: 'Ping', familyName: 'Federate' },
        emails: [
          { value: userName, type: 'work', primary: true },
          { value: `home-${userName}`, type: 'home' },
        ],
        title: 'Senior Analyst',
        active: true,
        [ENTERPRISE]: { department: 'Security', costCenter: 'CC-1' },
      };
      const res = await client.put(`/Users/${created.id}`, first);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const after = (await client.get(`/Users/${created.id}`)).body;
      expect(res.body).toEqual(after);
      expect(after.externalId).toBe('ping-ext-1');
      expect(after.name).toEqual(first.name);
      expect(after.emails).toEqual(first.emails);
      expect(after.title).toBe('Senior Analyst');
      // Not merged: the phone number and employeeNumber the PUT omits are gone.
      expect(after.phoneNumbers).toBeUndefined();
      expect(after[ENTERPRISE]).toEqual({ department: 'Security', costCenter: 'CC-1' });

      // Ping disables by PUT.
      const second = await client.put(`/Users/${created.id}`, { ...first, active: false });
      expect(second.status).toBe(200);
      const disabled = (await client.get(`/Users/${created.id}`)).body;
      expect(disabled.active).toBe(false);
      expect(disabled[ENTERPRISE]).toEqual({ department: 'Security', costCenter: 'CC-1' });

      // PUT of an unknown id is a 404, not an upsert.
      expectScimError(await client.put(`/Users/${randomUUID()}`, first), 404);
    });

    it('P2 Ping finds groups by listing all of them: every group appears once', async () => {
      const mine = [await createGroup(client), await createGroup(client), await createGroup(client)];
      const seen: string[] = [];
      let startIndex = 1;
      for (let page = 0; page < 50; page++) {
        const body = expectListResponse(await client.get(`/Groups?startIndex=${startIndex}&count=2`));
        const resources = body.Resources ?? [];
        if (resources.length === 0) break;
        seen.push(...resources.map((g: { id: string }) => g.id));
        startIndex += resources.length;
        if (startIndex > body.totalResults) break;
      }
      expect(new Set(seen).size).toBe(seen.length);
      for (const g of mine) expect(seen).toContain(g.id);
    });
  });

  describe('AWS IAM Identity Center style', () => {
    it('A1 GET /Groups?filter=id eq "g" and members eq "u": 1 result when a member, 0 when not', async () => {
      const [member, outsider] = [await createUser(client), await createUser(client)];
      const group = await createGroup(client, { members: [{ value: member.id }] });
      const other = await createGroup(client, { members: [{ value: outsider.id }] });

      const yes = expectListResponse(await client.get(`/Groups?${filterParam(`id eq "${group.id}" and members eq "${member.id}"`)}`));
      expect(yes.totalResults).toBe(1);
      expect(yes.Resources.map((g: { id: string }) => g.id)).toEqual([group.id]);

      const no = expectListResponse(await client.get(`/Groups?${filterParam(`id eq "${group.id}" and members eq "${outsider.id}"`)}`));
      expect(no.totalResults).toBe(0);
      expect(no.Resources ?? []).toEqual([]);

      // The explicit sub-attribute form means the same.
      const explicit = resourcesOf(await client.get(`/Groups?${filterParam(`id eq "${other.id}" and members.value eq "${outsider.id}"`)}`));
      expect(explicit.map((g) => g.id)).toEqual([other.id]);

      // After the member leaves, the query answers 0.
      await client.patch(`/Groups/${group.id}`, patchOps({ op: 'remove', path: `members[value eq "${member.id}"]` }));
      const after = expectListResponse(await client.get(`/Groups?${filterParam(`id eq "${group.id}" and members eq "${member.id}"`)}`));
      expect(after.totalResults).toBe(0);
    });

    it('A2 lookups on userName, externalId, id and displayName with eq', async () => {
      const user = await createUser(client, { externalId: `aws-${randomUUID()}`, displayName: unique('AWS Person') });
      for (const filter of [
        `userName eq "${user.userName}"`,
        `externalId eq "${user.externalId}"`,
        `id eq "${user.id}"`,
        `displayName eq "${user.displayName}"`,
      ]) {
        const found = resourcesOf(await client.get(`/Users?${filterParam(filter)}`));
        expect(found.map((u) => u.id), filter).toEqual([user.id]);
      }
    });
  });

  describe('Google Workspace', () => {
    it('G1 GET /Users?count=1 probe: at most one resource, integer counts', async () => {
      await createUser(client);
      await createUser(client);
      const body = expectListResponse(await client.get('/Users?count=1'));
      expect(body.Resources).toHaveLength(1);
      expect(body.itemsPerPage).toBe(1);
      expect(body.totalResults).toBeGreaterThanOrEqual(2);
      expect(body.startIndex).toBe(1);
    });
  });
});
