import { describe, expect, it } from 'vitest';
import { groupResourceType, userResourceType } from '../schema/resource-types.js';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from '../schema/urns.js';
import type { StoredGroup, StoredUser } from '../../store/store.js';
import { parseProjection } from './projection.js';
import { renderResource } from './render.js';

const BASE = 'https://scim.example.com/scim/v2';
const CREATED = '2026-01-02T03:04:05.000Z';
const MODIFIED = '2026-02-03T04:05:06.000Z';

/** A user as Entra provisions it: work email, enterprise extension with a manager, string-ish everything. */
const entraUser: StoredUser = {
  id: 'u-1',
  created: CREATED,
  lastModified: MODIFIED,
  version: 42,
  doc: {
    // Deliberately out of schema order: rendering must not depend on document key order.
    active: true,
    userName: 'Bjensen@contoso.onmicrosoft.com',
    externalId: '6b7c1d2e-0000-4000-8000-000000000001',
    displayName: 'Barbara Jensen',
    name: { familyName: 'Jensen', givenName: 'Barbara', formatted: 'Barbara Jensen' },
    title: 'Tour Guide',
    emails: [{ type: 'work', primary: true, value: 'bjensen@contoso.com' }],
    roles: [{ value: 'Reader', primary: false }],
    [ENTERPRISE_USER_SCHEMA]: {
      manager: { value: 'u-2' },
      department: 'Tour Operations',
      employeeNumber: '701984',
    },
  },
};

function render(stored: StoredUser | StoredGroup, attributes?: string, excluded?: string) {
  const rt = 'members' in stored ? groupResourceType : userResourceType;
  return renderResource(rt, stored, BASE, parseProjection(rt, attributes, excluded));
}

describe('renderResource: users', () => {
  it('renders a full Entra-style user with the enterprise extension and a manager', () => {
    expect(renderResource(userResourceType, entraUser, BASE)).toStrictEqual({
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
      id: 'u-1',
      externalId: '6b7c1d2e-0000-4000-8000-000000000001',
      userName: 'Bjensen@contoso.onmicrosoft.com',
      name: { formatted: 'Barbara Jensen', familyName: 'Jensen', givenName: 'Barbara' },
      displayName: 'Barbara Jensen',
      title: 'Tour Guide',
      active: true,
      emails: [{ value: 'bjensen@contoso.com', type: 'work', primary: true }],
      roles: [{ value: 'Reader', primary: false }],
      [ENTERPRISE_USER_SCHEMA]: {
        employeeNumber: '701984',
        department: 'Tour Operations',
        manager: { value: 'u-2', $ref: `${BASE}/Users/u-2` },
      },
      meta: {
        resourceType: 'User',
        created: CREATED,
        lastModified: MODIFIED,
        location: `${BASE}/Users/u-1`,
        version: 'W/"42"',
      },
    });
  });

  it('keeps a stable key order: schemas, id, externalId, core in schema order, extensions, meta', () => {
    const keys = Object.keys(renderResource(userResourceType, entraUser, BASE));
    expect(keys).toEqual([
      'schemas',
      'id',
      'externalId',
      'userName',
      'name',
      'displayName',
      'title',
      'active',
      'emails',
      'roles',
      ENTERPRISE_USER_SCHEMA,
      'meta',
    ]);
    const name = renderResource(userResourceType, entraUser, BASE).name as object;
    expect(Object.keys(name)).toEqual(['formatted', 'familyName', 'givenName']);
  });

  it('never renders password, nor document keys the schemas do not define', () => {
    const stored: StoredUser = {
      ...entraUser,
      doc: { ...entraUser.doc, password: 'hunter2', id: 'forged', meta: { version: 'x' }, schemas: ['x'], nonsense: 1 },
    };
    const out = renderResource(userResourceType, stored, BASE);
    expect(out).not.toHaveProperty('password');
    expect(out).not.toHaveProperty('nonsense');
    expect(out.id).toBe('u-1');
    expect(out.schemas).toEqual([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
    expect((out.meta as Record<string, unknown>).version).toBe('W/"42"');
    expect(JSON.stringify(out)).not.toContain('hunter2');
  });

  it('never renders password even when attributes names it', () => {
    const stored: StoredUser = { ...entraUser, doc: { ...entraUser.doc, password: 'hunter2' } };
    expect(render(stored, 'password,userName')).toStrictEqual({
      schemas: [USER_SCHEMA],
      id: 'u-1',
      userName: 'Bjensen@contoso.onmicrosoft.com',
    });
  });

  it('lists only the core schema when the user has no extension data', () => {
    const stored: StoredUser = { ...entraUser, doc: { userName: 'a', [ENTERPRISE_USER_SCHEMA]: {} } };
    const out = renderResource(userResourceType, stored, BASE);
    expect(out.schemas).toEqual([USER_SCHEMA]);
    expect(out).not.toHaveProperty(ENTERPRISE_USER_SCHEMA);
  });

  it('renders the groups a user is in when the store read them', () => {
    const stored: StoredUser = {
      ...entraUser,
      groups: [
        { value: 'g-1', display: 'Engineering', type: 'direct' },
        { value: 'g-2', display: 'All Staff', type: 'indirect' },
      ],
    };
    expect(renderResource(userResourceType, stored, BASE).groups).toStrictEqual([
      { value: 'g-1', $ref: `${BASE}/Groups/g-1`, display: 'Engineering', type: 'direct' },
      { value: 'g-2', $ref: `${BASE}/Groups/g-2`, display: 'All Staff', type: 'indirect' },
    ]);
    expect(renderResource(userResourceType, entraUser, BASE)).not.toHaveProperty('groups');
    expect(renderResource(userResourceType, { ...entraUser, groups: [] }, BASE).groups).toEqual([]);
  });

  it('places groups at its schema position, between addresses and entitlements', () => {
    const stored: StoredUser = {
      ...entraUser,
      doc: { userName: 'a', entitlements: [{ value: 'e' }], addresses: [{ locality: 'Oslo' }] },
      groups: [{ value: 'g-1', display: 'G', type: 'direct' }],
    };
    expect(Object.keys(renderResource(userResourceType, stored, BASE))).toEqual([
      'schemas',
      'id',
      'userName',
      'addresses',
      'groups',
      'entitlements',
      'meta',
    ]);
  });

  describe('manager', () => {
    const withManager = (manager: unknown): StoredUser => ({
      ...entraUser,
      doc: { userName: 'a', [ENTERPRISE_USER_SCHEMA]: { manager } },
    });
    const managerOf = (manager: unknown) =>
      (renderResource(userResourceType, withManager(manager), BASE)[ENTERPRISE_USER_SCHEMA] as Record<string, unknown>)
        ?.manager;

    it.each([
      ['{value}', { value: 'u-9' }],
      ['a bare id (Entra string form)', 'u-9'],
      ['a one-element list (older Entra form)', [{ value: 'u-9' }]],
    ])('computes $ref for %s', (_, manager) => {
      expect(managerOf(manager)).toStrictEqual({ value: 'u-9', $ref: `${BASE}/Users/u-9` });
    });

    it('keeps a stored $ref and displayName', () => {
      expect(managerOf({ displayName: 'Boss', $ref: 'https://elsewhere/Users/u-9', value: 'u-9' })).toStrictEqual({
        value: 'u-9',
        $ref: 'https://elsewhere/Users/u-9',
        displayName: 'Boss',
      });
    });
  });
});

describe('renderResource: groups', () => {
  const group: StoredGroup = {
    id: 'g-1',
    created: CREATED,
    lastModified: MODIFIED,
    version: 7,
    doc: { displayName: 'Engineering', externalId: 'ext-g' },
    members: [
      { value: 'u-1', type: 'User', display: 'Barbara Jensen' },
      { value: 'g-2', type: 'Group' },
    ],
  };

  it('renders members with $ref by member type, display only when known', () => {
    expect(renderResource(groupResourceType, group, BASE)).toStrictEqual({
      schemas: [GROUP_SCHEMA],
      id: 'g-1',
      externalId: 'ext-g',
      displayName: 'Engineering',
      members: [
        { value: 'u-1', $ref: `${BASE}/Users/u-1`, display: 'Barbara Jensen', type: 'User' },
        { value: 'g-2', $ref: `${BASE}/Groups/g-2`, type: 'Group' },
      ],
      meta: {
        resourceType: 'Group',
        created: CREATED,
        lastModified: MODIFIED,
        location: `${BASE}/Groups/g-1`,
        version: 'W/"7"',
      },
    });
  });

  it('leaves members out when the store did not read them, and renders [] for an empty group', () => {
    const { members: _, ...unread } = group;
    expect(renderResource(groupResourceType, unread, BASE)).not.toHaveProperty('members');
    expect(renderResource(groupResourceType, { ...group, members: [] }, BASE).members).toEqual([]);
  });

  it('drops members when excluded even if they were read', () => {
    expect(render(group, undefined, 'members')).not.toHaveProperty('members');
  });

  it('returns only the asked member sub-attributes', () => {
    expect(render(group, 'members.value').members).toStrictEqual([{ value: 'u-1' }, { value: 'g-2' }]);
  });
});

describe('renderResource: projection', () => {
  it('attributes=userName returns schemas, id and userName only', () => {
    expect(render(entraUser, 'userName')).toStrictEqual({
      schemas: [USER_SCHEMA],
      id: 'u-1',
      userName: 'Bjensen@contoso.onmicrosoft.com',
    });
  });

  it('sub-attribute selection keeps the parent with only those subs', () => {
    expect(render(entraUser, 'name.givenName,emails.value')).toStrictEqual({
      schemas: [USER_SCHEMA],
      id: 'u-1',
      name: { givenName: 'Barbara' },
      emails: [{ value: 'bjensen@contoso.com' }],
    });
  });

  it('selects an extension attribute by its full URN path', () => {
    expect(render(entraUser, `${ENTERPRISE_USER_SCHEMA}:department`)).toStrictEqual({
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
      id: 'u-1',
      [ENTERPRISE_USER_SCHEMA]: { department: 'Tour Operations' },
    });
  });

  it('selects a whole extension by its bare URN, and drops it from schemas when excluded', () => {
    const only = render(entraUser, ENTERPRISE_USER_SCHEMA);
    expect(Object.keys(only)).toEqual(['schemas', 'id', ENTERPRISE_USER_SCHEMA]);
    expect(only[ENTERPRISE_USER_SCHEMA]).toHaveProperty('manager');

    const without = render(entraUser, undefined, ENTERPRISE_USER_SCHEMA);
    expect(without.schemas).toEqual([USER_SCHEMA]);
    expect(without).not.toHaveProperty(ENTERPRISE_USER_SCHEMA);
  });

  it('selects the manager value alone', () => {
    expect(render(entraUser, `${ENTERPRISE_USER_SCHEMA}:manager.value`)[ENTERPRISE_USER_SCHEMA]).toStrictEqual({
      manager: { value: 'u-2' },
    });
  });

  it('excludedAttributes removes attributes and sub-attributes but never id', () => {
    const out = render(entraUser, undefined, 'id,emails,name.familyName,meta');
    expect(out.id).toBe('u-1');
    expect(out).not.toHaveProperty('emails');
    expect(out).not.toHaveProperty('meta');
    expect(out.name).toStrictEqual({ formatted: 'Barbara Jensen', givenName: 'Barbara' });
  });

  it('picks meta sub-attributes', () => {
    expect(render(entraUser, 'meta.version').meta).toStrictEqual({ version: 'W/"42"' });
  });
});
