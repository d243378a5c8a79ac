import { describe, expect, it } from 'vitest';
import type { AttributeDef, ResourceTypeDef } from '../../core/attribute.js';
import { AppError } from '../../core/errors.js';
import { COMMON_ATTRIBUTES } from '../schema/common-attributes.js';
import { findSubAttribute, findTopAttribute } from '../schema/lookup.js';
import { groupResourceType, userResourceType } from '../schema/resource-types.js';
import { ENTERPRISE_USER_SCHEMA } from '../schema/urns.js';
import { parseProjection, type Projection } from './projection.js';

const top = (rt: ResourceTypeDef, name: string, uri?: string): AttributeDef => {
  const found = findTopAttribute(rt, uri, name);
  if (!found) throw new Error(`no attribute ${name}`);
  return found.def;
};
const sub = (parent: AttributeDef, name: string): AttributeDef => {
  const found = findSubAttribute(parent, name);
  if (!found) throw new Error(`no sub-attribute ${name}`);
  return found;
};

/** The top-level attribute names a projection returns, out of every attribute `rt` defines. */
function returned(p: Projection, rt: ResourceTypeDef): string[] {
  const all = [
    ...COMMON_ATTRIBUTES.map((def) => ({ name: def.name, def })),
    ...rt.schema.attributes.map((def) => ({ name: def.name, def })),
    ...rt.extensions.flatMap((e) => e.schema.attributes.map((def) => ({ name: `${e.schema.id}:${def.name}`, def }))),
  ];
  return all.filter(({ def }) => p.returns(def)).map(({ name }) => name);
}

function failure(fn: () => unknown): { code: string; detail: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return { code: err.code, detail: err.detail };
    throw err;
  }
  throw new Error('expected an AppError');
}

const user = userResourceType;
const group = groupResourceType;

describe('parseProjection: defaults (RFC 7643 §7 returned)', () => {
  it('returns every default attribute and reads groups and members', () => {
    const p = parseProjection(user);
    expect(returned(p, user)).toContain('userName');
    expect(returned(p, user)).toContain('meta');
    expect(returned(p, user)).toContain(`${ENTERPRISE_USER_SCHEMA}:manager`);
    expect(returned(p, user)).not.toContain('password');
    expect(p.readsGroups).toBe(true);
    expect(p.readsMembers).toBe(false);
    expect(parseProjection(group).readsMembers).toBe(true);
    expect(parseProjection(group).readsGroups).toBe(false);
  });

  it('treats empty parameters as absent', () => {
    expect(returned(parseProjection(user, '', ' , '), user)).toEqual(returned(parseProjection(user), user));
  });
});

describe('parseProjection: attributes', () => {
  it('attributes=userName → id and userName (schemas is always added by the renderer)', () => {
    const p = parseProjection(user, 'userName');
    expect(returned(p, user)).toEqual(['id', 'userName']);
    expect(p.readsGroups).toBe(false);
  });

  it('is case-insensitive and accepts URN-qualified core names', () => {
    const p = parseProjection(user, 'USERNAME,urn:ietf:params:scim:schemas:core:2.0:User:displayName');
    expect(returned(p, user)).toEqual(['id', 'userName', 'displayName']);
  });

  it('emails.value keeps emails with only value', () => {
    const p = parseProjection(user, 'emails.value');
    const emails = top(user, 'emails');
    expect(p.returns(emails)).toBe(true);
    expect(p.returnsSub(emails, sub(emails, 'value'))).toBe(true);
    expect(p.returnsSub(emails, sub(emails, 'type'))).toBe(false);
  });

  it('a whole attribute wins over one of its sub-attributes, in either order', () => {
    for (const list of ['name,name.givenName', 'name.givenName,name']) {
      const p = parseProjection(user, list);
      const name = top(user, 'name');
      expect(p.returnsSub(name, sub(name, 'familyName'))).toBe(true);
    }
  });

  it('accepts a list of lists (repeated query parameter, SearchRequest array)', () => {
    const p = parseProjection(user, ['userName', 'displayName,title']);
    expect(returned(p, user)).toEqual(['id', 'userName', 'displayName', 'title']);
  });

  it('selects an extension attribute by full URN path, and a whole extension by its URN', () => {
    expect(returned(parseProjection(user, `${ENTERPRISE_USER_SCHEMA}:department`), user)).toEqual([
      'id',
      `${ENTERPRISE_USER_SCHEMA}:department`,
    ]);
    const whole = returned(parseProjection(user, ENTERPRISE_USER_SCHEMA.toLowerCase()), user);
    expect(whole).toEqual(['id', ...['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager'].map((n) => `${ENTERPRISE_USER_SCHEMA}:${n}`)]);
  });

  it('finds an extension attribute by its bare name too (RFC 7644 §3.10)', () => {
    expect(returned(parseProjection(user, 'department'), user)).toEqual(['id', `${ENTERPRISE_USER_SCHEMA}:department`]);
  });

  it('reads groups only when asked, members only when asked', () => {
    expect(parseProjection(user, 'groups').readsGroups).toBe(true);
    expect(parseProjection(user, 'groups.display').readsGroups).toBe(true);
    expect(parseProjection(group, 'displayName').readsMembers).toBe(false);
    expect(parseProjection(group, 'members.value').readsMembers).toBe(true);
  });

  it('accepts schemas and password, and returns password never', () => {
    const p = parseProjection(user, 'schemas,password');
    expect(returned(p, user)).toEqual(['id']);
  });

  it.each([
    ['an unknown attribute', 'nickname,favouriteColour'],
    ['an unknown sub-attribute', 'name.nickname'],
    ['an extension attribute on the wrong resource type', `${ENTERPRISE_USER_SCHEMA}:department`, group],
    ['an attribute of an unknown schema', 'urn:example:custom:2.0:User:shoeSize'],
    ['a value filter', 'emails[type eq "work"]'],
    ['a malformed name', 'name..givenName'],
  ])('rejects %s with invalid_value', (_, list, rt: ResourceTypeDef = user) => {
    expect(failure(() => parseProjection(rt, list)).code).toBe('invalid_value');
  });
});

describe('parseProjection: excludedAttributes', () => {
  it('excludedAttributes=members → readsMembers false (pushed into the query)', () => {
    const p = parseProjection(group, undefined, 'members');
    expect(p.readsMembers).toBe(false);
    expect(returned(p, group)).toEqual(['id', 'externalId', 'meta', 'displayName']);
  });

  it('excludedAttributes=groups → readsGroups false', () => {
    expect(parseProjection(user, undefined, 'groups').readsGroups).toBe(false);
  });

  it('never removes always attributes', () => {
    expect(returned(parseProjection(user, undefined, 'id'), user)).toContain('id');
  });

  it('removes single sub-attributes and leaves the rest', () => {
    const p = parseProjection(user, undefined, 'name.middleName');
    const name = top(user, 'name');
    expect(p.returns(name)).toBe(true);
    expect(p.returnsSub(name, sub(name, 'middleName'))).toBe(false);
    expect(p.returnsSub(name, sub(name, 'givenName'))).toBe(true);
  });

  it('ignores unknown names (members on Users, other vendors’ attributes)', () => {
    const p = parseProjection(user, undefined, 'members,urn:example:custom:2.0:User:shoeSize,bogus');
    expect(returned(p, user)).toEqual(returned(parseProjection(user), user));
  });

  it('still rejects names that are not attribute paths', () => {
    expect(failure(() => parseProjection(user, undefined, 'emails[type eq "work"]')).code).toBe('invalid_value');
  });

  it('applies after attributes when both are given', () => {
    const p = parseProjection(user, 'name,userName', 'name.middleName,userName');
    const name = top(user, 'name');
    expect(returned(p, user)).toEqual(['id', 'name']);
    expect(p.returnsSub(name, sub(name, 'middleName'))).toBe(false);
    expect(p.returnsSub(name, sub(name, 'givenName'))).toBe(true);
  });
});
