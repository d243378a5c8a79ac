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
  ADSCIM_GROUP_SCHEMA,
  createGroup,
  createUser,
  expectScimError,
  expectScimJson,
  filterParam,
  memberIds,
  expectListResponse,
  resourcesOf,
  sorted,
  unique,
} from './scim-helpers.js';

/**
 * Microsoft Entra ID provisioning, replayed request by request as IDP-BEHAVIOUR §1 documents it:
 * default (PascalCase, string booleans, value-array member removal) and `aadOptscim062020` shapes.
 */
describe.each(backends())('Entra ID conformance (%s)', (backend) => {
  let server: RunningServer;
  let client: ScimClient;

  beforeAll(async () => {
    server = await startServer(backend);
    client = scimClient(server, server.scimToken);
  });
  afterAll(async () => {
    await server?.close();
  });

  /** The body Entra POSTs to create a user (Microsoft's SCIM reference request, with the enterprise extension). */
  function entraUser(manager?: string) {
    const tag = randomUUID();
    return {
      schemas: [USER_SCHEMA, ENTERPRISE],
      externalId: randomUUID(),
      userName: `Test_User_${tag}@contoso.example`,
      active: true,
      emails: [{ primary: true, type: 'work', value: `Test_User_${tag}@testuser.example` }],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
      [ENTERPRISE]: { department: 'Engineering', ...(manager ? { manager: { value: manager } } : {}) },
    };
  }

  async function getUser(id: string) {
    const res = await client.get(`/Users/${id}`);
    expect(res.status).toBe(200);
    return res.body;
  }

  it('E1 test connection: filter on a random GUID answers 200 with an empty ListResponse and integer totalResults 0', async () => {
    const res = await client.get(`/Users?${filterParam(`userName eq "${randomUUID()}"`)}`);
    expect(res.status).toBe(200);
    expectScimJson(res);
    expect(res.body.totalResults).toBe(0);
    expect(Number.isInteger(res.body.totalResults)).toBe(true);
    expect(res.body.Resources ?? []).toEqual([]);
    expect(resourcesOf(res)).toEqual([]);
  });

  it('E2 create user with the Entra body: 201, Location, full body, application/scim+json', async () => {
    const manager = await createUser(client);
    const body = entraUser(manager.id);
    const res = await client.post('/Users', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expectScimJson(res);
    const created = res.body;
    expect(typeof created.id).toBe('string');
    expect(created.id).not.toBe('');
    expect(res.headers.get('location')).toBe(created.meta.location);
    expect(created.meta.location).toMatch(new RegExp(`/scim/v2/Users/${created.id}$`));
    expect(created.schemas).toContain(USER_SCHEMA);
    expect(created.schemas).toContain(ENTERPRISE);
    expect(created.userName).toBe(body.userName);
    expect(created.externalId).toBe(body.externalId);
    expect(created.active).toBe(true);
    expect(created.emails).toEqual([{ value: body.emails[0]!.value, type: 'work', primary: true }]);
    expect(created.name).toMatchObject(body.name);
    expect(created.roles ?? []).toEqual([]);
    expect(created[ENTERPRISE].department).toBe('Engineering');
    expect(created[ENTERPRISE].manager.value).toBe(manager.id);
    expect(created.meta.resourceType).toBe('User');
    expect(typeof created.meta.created).toBe('string');
    expect(typeof created.meta.lastModified).toBe('string');
    expect(created.password).toBeUndefined();

    // The body a later GET returns is the one the POST returned.
    const read = await client.get(`/Users/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created);
  });

  it('E3 lookup by externalId eq and by emails[type eq "work"].value eq', async () => {
    const body = entraUser();
    const created = (await client.post('/Users', body)).body;

    const byExternalId = resourcesOf(await client.get(`/Users?${filterParam(`externalId eq "${body.externalId}"`)}`));
    expect(byExternalId.map((u) => u.id)).toEqual([created.id]);

    const workEmail = body.emails[0]!.value;
    const byEmail = resourcesOf(await client.get(`/Users?${filterParam(`emails[type eq "work"].value eq "${workEmail}"`)}`));
    expect(byEmail.map((u) => u.id)).toEqual([created.id]);

    // The same address as a home email does not match a work-email lookup.
    const home = await createUser(client, { emails: [{ type: 'home', value: `home-${workEmail}` }] });
    const noMatch = resourcesOf(
      await client.get(`/Users?${filterParam(`emails[type eq "work"].value eq "home-${workEmail}"`)}`),
    );
    expect(noMatch.map((u) => u.id)).not.toContain(home.id);
    expect(noMatch).toEqual([]);

    // Entra combines with `and` only.
    const both = resourcesOf(
      await client.get(`/Users?${filterParam(`externalId eq "${body.externalId}" and userName eq "${body.userName}"`)}`),
    );
    expect(both.map((u) => u.id)).toEqual([created.id]);
  });

  it('E4 duplicate create: 409 uniqueness with string status "409", and the re-POST keeps answering 409 without a second user', async () => {
    const body = entraUser();
    expect((await client.post('/Users', body)).status).toBe(201);
    const again = await client.post('/Users', body);
    expectScimError(again, 409, 'uniqueness');
    expect(again.body.status).toBe('409');
    // Entra re-POSTs after a timeout: still 409, still one user.
    expectScimError(await client.post('/Users', { ...body, externalId: randomUUID() }), 409, 'uniqueness');
    const found = resourcesOf(await client.get(`/Users?${filterParam(`userName eq "${body.userName}"`)}`));
    expect(found).toHaveLength(1);
  });

  it('E5 PascalCase PATCH with several ops, incl. emails[type eq "work"].value and enterprise employeeNumber', async () => {
    const user = (await client.post('/Users', entraUser())).body;
    const newEmail = `${unique('pvlo')}@contoso.example`;
    const res = await client.patch(
      `/Users/${user.id}`,
      patchOps(
        { op: 'Replace', path: 'displayName', value: 'Pvlo' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: newEmail },
        { op: 'Replace', path: 'name.givenName', value: 'G' },
        { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: '42' },
      ),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expectScimJson(res);
    expect(res.headers.get('etag')).toBe(res.body.meta.version);

    const after = await getUser(user.id);
    expect(res.body).toEqual(after);
    expect(after.displayName).toBe('Pvlo');
    expect(after.emails).toEqual([{ value: newEmail, type: 'work', primary: true }]);
    expect(after.name).toEqual({ formatted: 'givenName familyName', familyName: 'familyName', givenName: 'G' });
    expect(after[ENTERPRISE]).toMatchObject({ employeeNumber: '42', department: 'Engineering' });
    expect(after.userName).toBe(user.userName);
    expect(after.externalId).toBe(user.externalId);
    expect(after.meta.version).not.toBe(user.meta.version);
  });

  it('E6 disable: Replace active "False" (string), "True" back, then false (boolean, with the flag)', async () => {
    const user = (await client.post('/Users', entraUser())).body;
    const off = await client.patch(`/Users/${user.id}`, patchOps({ op: 'Replace', path: 'active', value: 'False' }));
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body.active).toBe(false);
    expect((await getUser(user.id)).active).toBe(false);

    const on = await client.patch(`/Users/${user.id}`, patchOps({ op: 'Replace', path: 'active', value: 'True' }));
    expect(on.status).toBe(200);
    expect((await getUser(user.id)).active).toBe(true);

    const flagged = await client.patch(`/Users/${user.id}`, patchOps({ op: 'replace', path: 'active', value: false }));
    expect(flagged.status).toBe(200);
    expect((await getUser(user.id)).active).toBe(false);

    // The inactive user is still returned by lookups (Entra reads soft-deleted users back).
    const found = resourcesOf(await client.get(`/Users?${filterParam(`userName eq "${user.userName}"`)}`));
    expect(found.map((u) => [u.id, u.active])).toEqual([[user.id, false]]);
  });

  it('E7 aadOptscim062020: pathless replace with dotted and URN-qualified keys', async () => {
    const user = (await client.post('/Users', entraUser())).body;
    const res = await client.patch(
      `/Users/${user.id}`,
      patchOps({
        op: 'replace',
        value: { displayName: 'B', 'name.givenName': 'K', [`${ENTERPRISE}:employeeNumber`]: '42' },
      }),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const after = await getUser(user.id);
    expect(after.displayName).toBe('B');
    // The dotted key sets one sub-attribute and keeps the others.
    expect(after.name).toEqual({ formatted: 'givenName familyName', familyName: 'familyName', givenName: 'K' });
    expect(after[ENTERPRISE]).toEqual({ employeeNumber: '42', department: 'Engineering' });
    // No attribute literally named `name.givenName` or the URN key leaked into the resource.
    expect(Object.keys(after)).not.toContain('name.givenName');
    expect(Object.keys(after)).not.toContain(`${ENTERPRISE}:employeeNumber`);
  });

  it('E8 add (and replace) on emails[type eq "work"].value when no work email exists creates it', async () => {
    const homeEmail = `${unique('home')}@example.com`;
    const user = await createUser(client, { emails: [{ type: 'home', value: homeEmail }] });
    const workEmail = `${unique('work')}@contoso.example`;
    const res = await client.patch(
      `/Users/${user.id}`,
      patchOps({ op: 'Add', path: 'emails[type eq "work"].value', value: workEmail }),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const after = await getUser(user.id);
    expect(sortByValue(after.emails)).toEqual(sortByValue([{ type: 'home', value: homeEmail }, { type: 'work', value: workEmail }]));

    // The default-mode verb is Replace; it must create the element too.
    const bare = await createUser(client);
    const replaced = await client.patch(
      `/Users/${bare.id}`,
      patchOps({ op: 'Replace', path: 'emails[type eq "work"].value', value: workEmail }),
    );
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    expect((await getUser(bare.id)).emails).toEqual([{ type: 'work', value: workEmail }]);

    // And the new work email is what Entra's lookup finds.
    const found = resourcesOf(await client.get(`/Users?${filterParam(`emails[type eq "work"].value eq "${workEmail}"`)}`));
    expect(sorted(found.map((u) => u.id))).toEqual(sorted([user.id, bare.id]));
  });

  it('E9 manager as a string, as {value}, as [{value}], then removed (by path and by manager[value eq])', async () => {
    const [m1, m2, m3] = [await createUser(client), await createUser(client), await createUser(client)];
    const user = (await client.post('/Users', entraUser())).body;
    const managerPath = `${ENTERPRISE}:manager`;

    const asString = await client.patch(`/Users/${user.id}`, patchOps({ op: 'Replace', path: managerPath, value: m1.id }));
    expect(asString.status, JSON.stringify(asString.body)).toBe(200);
    expect((await getUser(user.id))[ENTERPRISE].manager.value).toBe(m1.id);

    // Entra first checks the current manager with a query on id and manager.
    const check = resourcesOf(
      await client.get(`/Users?${filterParam(`id eq "${user.id}" and ${managerPath}.value eq "${m1.id}"`)}`),
    );
    expect(check.map((u) => u.id)).toEqual([user.id]);

    const asObject = await client.patch(`/Users/${user.id}`, patchOps({ op: 'Replace', path: managerPath, value: { value: m2.id } }));
    expect(asObject.status, JSON.stringify(asObject.body)).toBe(200);
    expect((await getUser(user.id))[ENTERPRISE].manager.value).toBe(m2.id);

    const asArray = await client.patch(
      `/Users/${user.id}`,
      patchOps({ op: 'Replace', path: managerPath, value: [{ $ref: null, value: m3.id }] }),
    );
    expect(asArray.status, JSON.stringify(asArray.body)).toBe(200);
    const withM3 = await getUser(user.id);
    expect(withM3[ENTERPRISE].manager.value).toBe(m3.id);
    // A `$ref`, when rendered, points at the new manager, never the previous one.
    if (withM3[ENTERPRISE].manager.$ref !== undefined) expect(withM3[ENTERPRISE].manager.$ref).toMatch(new RegExp(`${m3.id}$`));

    const removed = await client.patch(`/Users/${user.id}`, patchOps({ op: 'Remove', path: managerPath }));
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    const noManager = await getUser(user.id);
    expect(noManager[ENTERPRISE]?.manager).toBeUndefined();
    expect(noManager[ENTERPRISE]?.department).toBe('Engineering');

    // The flag shape of the removal.
    await client.patch(`/Users/${user.id}`, patchOps({ op: 'add', path: managerPath, value: m1.id }));
    expect((await getUser(user.id))[ENTERPRISE].manager.value).toBe(m1.id);
    const byFilter = await client.patch(
      `/Users/${user.id}`,
      patchOps({ op: 'remove', path: `${managerPath}[value eq "${m1.id}"]` }),
    );
    expect(byFilter.status, JSON.stringify(byFilter.body)).toBe(200);
    expect((await getUser(user.id))[ENTERPRISE]?.manager).toBeUndefined();
  });

  it('E10 group create with empty members and the ADSCIM schema URN, then Add members value arrays', async () => {
    const displayName = unique('Entra Group');
    const res = await client.post('/Groups', {
      schemas: [GROUP_SCHEMA, ADSCIM_GROUP_SCHEMA],
      externalId: randomUUID(),
      displayName,
      members: [],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expectScimJson(res);
    expect(res.headers.get('location')).toBe(res.body.meta.location);
    expect(res.body.displayName).toBe(displayName);
    expect(res.body.members ?? []).toEqual([]);
    expect(res.body.schemas).not.toContain(ADSCIM_GROUP_SCHEMA);
    const group = res.body;

    const users = [await createUser(client), await createUser(client), await createUser(client)];
    const added = await client.patch(
      `/Groups/${group.id}`,
      patchOps({ op: 'Add', path: 'members', value: users.map((u) => ({ $ref: null, value: u.id })) }),
    );
    expect(added.status, JSON.stringify(added.body)).toBe(204);
    expect(await memberIds(client, group.id)).toEqual(sorted(users.map((u) => u.id)));

    // Adding someone already there changes nothing and does not fail.
    const again = await client.patch(`/Groups/${group.id}`, patchOps({ op: 'Add', path: 'members', value: [{ value: users[0]!.id }] }));
    expect(again.status).toBe(204);
    expect(await memberIds(client, group.id)).toEqual(sorted(users.map((u) => u.id)));
  });

  it('E11 Remove members with a value array removes ONLY those members; the others remain', async () => {
    const users = [];
    for (let i = 0; i < 5; i++) users.push(await createUser(client));
    const group = await createGroup(client, { schemas: [GROUP_SCHEMA, ADSCIM_GROUP_SCHEMA], members: [] });
    expect(
      (await client.patch(`/Groups/${group.id}`, patchOps({ op: 'Add', path: 'members', value: users.map((u) => ({ value: u.id })) })))
        .status,
    ).toBe(204);

    const res = await client.patch(
      `/Groups/${group.id}`,
      patchOps({ op: 'Remove', path: 'members', value: [{ $ref: null, value: users[1]!.id }, { value: users[3]!.id }] }),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(204);
    expect(await memberIds(client, group.id)).toEqual(sorted([users[0]!.id, users[2]!.id, users[4]!.id]));

    // The removed users still exist; only their membership went.
    expect((await client.get(`/Users/${users[1]!.id}`)).status).toBe(200);
  });

  it('E12 remove with members[value eq "id"] (aadOptscim062020) removes exactly that member', async () => {
    const users = [await createUser(client), await createUser(client), await createUser(client)];
    const group = await createGroup(client, { members: users.map((u) => ({ value: u.id })) });
    const res = await client.patch(`/Groups/${group.id}`, patchOps({ op: 'remove', path: `members[value eq "${users[0]!.id}"]` }));
    expect(res.status, JSON.stringify(res.body)).toBe(204);
    expect(await memberIds(client, group.id)).toEqual(sorted([users[1]!.id, users[2]!.id]));
  });

  it('E13 excludedAttributes=members: GET /Groups/{id} and a filtered list carry no members key', async () => {
    const user = await createUser(client);
    const displayName = unique('Excluded Members');
    const group = await createGroup(client, { displayName, members: [{ value: user.id }] });

    const one = await client.get(`/Groups/${group.id}?excludedAttributes=members`);
    expect(one.status).toBe(200);
    expectScimJson(one);
    expect(one.body.id).toBe(group.id);
    expect(one.body.displayName).toBe(displayName);
    expect('members' in one.body).toBe(false);
    expect(one.headers.get('etag')).toBe(one.body.meta.version);

    const list = resourcesOf(await client.get(`/Groups?excludedAttributes=members&${filterParam(`displayName eq "${displayName}"`)}`));
    expect(list).toHaveLength(1);
    expect(list[0].id).toBe(group.id);
    expect('members' in list[0]).toBe(false);

    // Without the parameter the members are there.
    expect(await memberIds(client, group.id)).toEqual([user.id]);
  });

  it('E14 Replace displayName answers 204 (or 200 with the body) and renames the group, members untouched', async () => {
    const user = await createUser(client);
    const group = await createGroup(client, { members: [{ value: user.id }] });
    const newName = unique('Renamed');
    const res = await client.patch(`/Groups/${group.id}`, patchOps({ op: 'Replace', path: 'displayName', value: newName }));
    expect([200, 204]).toContain(res.status);
    if (res.status === 200) expect(res.body.displayName).toBe(newName);
    const after = await client.get(`/Groups/${group.id}`);
    expect(after.body.displayName).toBe(newName);
    expect(after.body.members.map((m: { value: string }) => m.value)).toEqual([user.id]);
    // Group display names compare case-insensitively (RFC 7643 caseExact=false).
    const found = resourcesOf(await client.get(`/Groups?${filterParam(`displayName eq "${newName.toUpperCase()}"`)}`));
    expect(found.map((g) => g.id)).toEqual([group.id]);
  });

  it('E15 group PATCH answers 204', async () => {
    const user = await createUser(client);
    const group = await createGroup(client);
    const res = await client.patch(`/Groups/${group.id}`, patchOps({ op: 'Add', path: 'members', value: [{ value: user.id }] }));
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
  });

  it('E16 DELETE user: 204, then 404, and the user vanishes from every group', async () => {
    const [gone, stays] = [await createUser(client), await createUser(client)];
    const groups = [
      await createGroup(client, { members: [{ value: gone.id }, { value: stays.id }] }),
      await createGroup(client, { members: [{ value: gone.id }] }),
    ];
    const res = await client.delete(`/Users/${gone.id}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();

    expectScimError(await client.get(`/Users/${gone.id}`), 404);
    expect(await memberIds(client, groups[0].id)).toEqual([stays.id]);
    expect(await memberIds(client, groups[1].id)).toEqual([]);
    const byMember = resourcesOf(await client.get(`/Groups?${filterParam(`members eq "${gone.id}"`)}`));
    expect(byMember).toEqual([]);
    // A second DELETE is a 404 with an Error body (Entra treats it as already done).
    expectScimError(await client.delete(`/Users/${gone.id}`), 404);
  });

  it('E17 DELETE group: 204, then 404', async () => {
    const group = await createGroup(client);
    expect((await client.delete(`/Groups/${group.id}`)).status).toBe(204);
    expectScimError(await client.get(`/Groups/${group.id}`), 404);
  });

  it('E18 string booleans: primary "True" on POST and in a roles Add become real booleans', async () => {
    const body = entraUser();
    body.emails = [{ primary: 'True' as unknown as boolean, type: 'work', value: body.emails[0]!.value }];
    const res = await client.post('/Users', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.emails[0].primary).toBe(true);
    const roles = await client.patch(
      `/Users/${res.body.id}`,
      patchOps({
        op: 'Add',
        path: 'roles',
        value: [{ primary: 'True', value: 'Admin', type: 'WindowsAzureActiveDirectoryRole', display: 'Admin' }],
      }),
    );
    expect(roles.status, JSON.stringify(roles.body)).toBe(200);
    const after = await getUser(res.body.id);
    expect(after.roles).toEqual([{ primary: true, value: 'Admin', type: 'WindowsAzureActiveDirectoryRole', display: 'Admin' }]);
    const primary = await client.patch(`/Users/${res.body.id}`, patchOps({ op: 'Replace', path: 'emails[type eq "work"].primary', value: 'False' }));
    expect(primary.status, JSON.stringify(primary.body)).toBe(200);
    expect((await getUser(res.body.id)).emails[0].primary).toBe(false);
  });

  it('E19 Replace userName with a different case of the same name is not a conflict with itself', async () => {
    const user = (await client.post('/Users', entraUser())).body;
    const res = await client.patch(`/Users/${user.id}`, patchOps({ op: 'Replace', path: 'userName', value: user.userName.toUpperCase() }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await getUser(user.id)).userName).toBe(user.userName.toUpperCase());
    const renamed = `${unique('renamed')}@contoso.example`;
    const res2 = await client.patch(`/Users/${user.id}`, patchOps({ op: 'Replace', path: 'userName', value: renamed }));
    expect(res2.status).toBe(200);
    // The old name is free again, the new one is taken.
    expect(resourcesOf(await client.get(`/Users?${filterParam(`userName eq "${user.userName}"`)}`))).toEqual([]);
    expect(resourcesOf(await client.get(`/Users?${filterParam(`userName eq "${renamed}"`)}`)).map((u) => u.id)).toEqual([user.id]);
  });

  it('E20 Add on an existing work email replaces its value; Remove emails[type eq "work"] drops only that element', async () => {
    const work = `${unique('w')}@contoso.example`;
    const home = `${unique('h')}@example.com`;
    const user = await createUser(client, { emails: [{ type: 'work', value: work, primary: true }, { type: 'home', value: home }] });
    const next = `${unique('w2')}@contoso.example`;
    const res = await client.patch(`/Users/${user.id}`, patchOps({ op: 'Add', path: 'emails[type eq "work"].value', value: next }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(sortByValue((await getUser(user.id)).emails)).toEqual(
      sortByValue([{ type: 'work', value: next, primary: true }, { type: 'home', value: home }]),
    );
    const removed = await client.patch(`/Users/${user.id}`, patchOps({ op: 'Remove', path: 'emails[type eq "work"]' }));
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect((await getUser(user.id)).emails).toEqual([{ type: 'home', value: home }]);
  });

  it('E21 several sub-attribute ops on one absent addresses[type eq "work"] build ONE work address', async () => {
    const user = await createUser(client);
    const res = await client.patch(
      `/Users/${user.id}`,
      patchOps(
        { op: 'Add', path: 'addresses[type eq "work"].streetAddress', value: '1 Main St' },
        { op: 'Add', path: 'addresses[type eq "work"].locality', value: 'Springfield' },
        { op: 'Add', path: 'addresses[type eq "work"].country', value: 'US' },
        { op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0199' },
        { op: 'Replace', path: 'name.familyName', value: 'Created' },
      ),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const after = await getUser(user.id);
    expect(after.addresses).toEqual([{ type: 'work', streetAddress: '1 Main St', locality: 'Springfield', country: 'US' }]);
    expect(after.phoneNumbers).toEqual([{ type: 'mobile', value: '+1 555 0199' }]);
    expect(after.name).toEqual({ familyName: 'Created' });
  });

  it('E22 Add members with a lone object value (not a list) adds that member', async () => {
    const [u1, u2] = [await createUser(client), await createUser(client)];
    const group = await createGroup(client, { members: [{ value: u1.id }] });
    const res = await client.patch(`/Groups/${group.id}`, patchOps({ op: 'Add', path: 'members', value: { value: u2.id } }));
    expect([200, 204], JSON.stringify(res.body)).toContain(res.status);
    expect(await memberIds(client, group.id)).toEqual(sorted([u1.id, u2.id]));
  });

  it('E23 20 concurrent member-add PATCHes on one group lose no member', async () => {
    const users = [];
    for (let i = 0; i < 20; i++) users.push(await createUser(client));
    const group = await createGroup(client, { members: [] });
    const results = await Promise.all(
      users.map((u, i) =>
        client.patch(
          `/Groups/${group.id}`,
          // Alternate the two shapes Entra uses, one per request, as a sync burst does.
          i % 2 === 0
            ? patchOps({ op: 'Add', path: 'members', value: [{ $ref: null, value: u.id }] })
            : patchOps({ op: 'Replace', path: 'displayName', value: group.displayName }, { op: 'add', path: 'members', value: [{ value: u.id }] }),
        ),
      ),
    );
    for (const res of results) expect([200, 204], JSON.stringify(res.body)).toContain(res.status);
    expect(await memberIds(client, group.id)).toEqual(sorted(users.map((u) => u.id)));
  });

  it('E24 concurrent duplicate POSTs of one user (Entra retrying after a timeout): one 201, the rest 409, one user', async () => {
    const body = entraUser();
    const results = await Promise.all(Array.from({ length: 8 }, () => client.post('/Users', body)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) expectScimError(r, 409, 'uniqueness');
    expect(resourcesOf(await client.get(`/Users?${filterParam(`userName eq "${body.userName}"`)}`))).toHaveLength(1);
  });

  it('E25 re-sending unchanged state (a no-op PATCH) answers 200 and keeps meta.version and lastModified', async () => {
    const user = (await client.post('/Users', entraUser())).body;
    const res = await client.patch(
      `/Users/${user.id}`,
      patchOps(
        { op: 'Replace', path: 'active', value: 'True' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: user.emails[0].value },
        { op: 'Replace', path: 'externalId', value: user.externalId },
      ),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.meta.version).toBe(user.meta.version);
    expect(res.body.meta.lastModified).toBe(user.meta.lastModified);
    expect(res.headers.get('etag')).toBe(user.meta.version);
  });

  it('E26 nested groups: a user sees direct and indirect groups; deleting the inner group unlinks everywhere', async () => {
    const user = await createUser(client);
    const inner = await createGroup(client, { members: [{ value: user.id }] });
    const outer = await createGroup(client, { members: [{ value: inner.id, type: 'Group' }] });
    const outerRead = await client.get(`/Groups/${outer.id}`);
    expect(outerRead.body.members).toEqual([expect.objectContaining({ value: inner.id, type: 'Group' })]);

    const groups = (await getUser(user.id)).groups as { value: string; type: string }[];
    expect(groups.map((g) => [g.value, g.type]).sort()).toEqual(
      [
        [inner.id, 'direct'],
        [outer.id, 'indirect'],
      ].sort(),
    );

    expect((await client.delete(`/Groups/${inner.id}`)).status).toBe(204);
    expect(await memberIds(client, outer.id)).toEqual([]);
    expect((await getUser(user.id)).groups ?? []).toEqual([]);
  });

  it('E27 with the aadOptscim062020 flag in the tenant URL, every request carries it as a query parameter and works', async () => {
    const flag = 'aadOptscim062020';
    const body = entraUser();
    const created = await client.post(`/Users?${flag}`, body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id;
    expect(resourcesOf(await client.get(`/Users?${flag}&${filterParam(`userName eq "${body.userName}"`)}`)).map((u) => u.id)).toEqual([id]);
    expect((await client.get(`/Users/${id}?${flag}`)).status).toBe(200);
    const patched = await client.patch(`/Users/${id}?${flag}`, patchOps({ op: 'replace', path: 'active', value: false }));
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.active).toBe(false);

    const group = await client.post(`/Groups?${flag}`, { schemas: [GROUP_SCHEMA, ADSCIM_GROUP_SCHEMA], displayName: unique('flag'), members: [] });
    expect(group.status).toBe(201);
    const add = await client.patch(`/Groups/${group.body.id}?${flag}`, patchOps({ op: 'add', path: 'members', value: [{ value: id }] }));
    expect(add.status).toBe(204);
    const remove = await client.patch(`/Groups/${group.body.id}?${flag}`, patchOps({ op: 'remove', path: `members[value eq "${id}"]` }));
    expect(remove.status).toBe(204);
    expect(await memberIds(client, group.body.id)).toEqual([]);
    expect((await client.get(`/Groups/${group.body.id}?${flag}&excludedAttributes=members`)).body.members).toBeUndefined();
    expect((await client.delete(`/Groups/${group.body.id}?${flag}`)).status).toBe(204);
    expect((await client.delete(`/Users/${id}?${flag}`)).status).toBe(204);
  });

  it('E28 the group side of the connection test: a random displayName gives an empty ListResponse', async () => {
    const res = await client.get(`/Groups?excludedAttributes=members&${filterParam(`displayName eq "${randomUUID()}"`)}`);
    const body = expectListResponse(res);
    expect(body.totalResults).toBe(0);
    expect(body.Resources ?? []).toEqual([]);
  });
});

function sortByValue<T extends { value: string }>(list: T[]): T[] {
  return [...list].sort((a, b) => (a.value < b.value ? -1 : 1));
}
