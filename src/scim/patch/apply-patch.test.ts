import { describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../../core/errors.js';
import type { ScimDoc } from '../../store/store.js';
import type { MemberValue } from '../resource/normalize.js';
import { groupResourceType, userResourceType } from '../schema/resource-types.js';
import { ENTERPRISE_USER_SCHEMA as ENT, PATCH_OP } from '../schema/urns.js';
import { applyPatch, type PatchInput } from './index.js';

const msg = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
const patchUser = (doc: PatchInput, ...ops: unknown[]) => applyPatch(doc, msg(...ops), userResourceType);
const patchGroup = (doc: ScimDoc, members: MemberValue[], ...ops: unknown[]) =>
  applyPatch({ ...doc, members }, msg(...ops), groupResourceType);

function codeOf(fn: () => unknown): ErrorCode | 'none' {
  try {
    fn();
    return 'none';
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

const bjensen: ScimDoc = {
  userName: 'bjensen',
  active: true,
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  [ENT]: { department: 'Tour', manager: { value: 'm-1', $ref: '../Users/m-1' } },
};

describe('IDP-BEHAVIOUR §1.2: Entra ID', () => {
  it('default PATCH of several attributes (PascalCase ops, paths)', () => {
    const { doc, changes } = patchUser(
      bjensen,
      { op: 'Replace', path: 'displayName', value: 'Pvlo' },
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'a@b.com' },
      { op: 'Replace', path: 'name.givenName', value: 'G' },
      { op: 'Replace', path: `${ENT}:employeeNumber`, value: '42' },
    );
    expect(doc).toEqual({
      ...bjensen,
      displayName: 'Pvlo',
      name: { givenName: 'G', familyName: 'Jensen' },
      emails: [
        { value: 'a@b.com', type: 'work', primary: true },
        { value: 'babs@jensen.org', type: 'home' },
      ],
      [ENT]: { department: 'Tour', manager: { value: 'm-1', $ref: '../Users/m-1' }, employeeNumber: '42' },
    });
    expect(changes.map((c) => c.path)).toEqual(['displayName', 'emails', 'name.givenName', `${ENT}:employeeNumber`]);
  });

  it('aadOptscim062020: one pathless replace with dotted and URN-qualified keys', () => {
    const { doc } = patchUser(bjensen, {
      op: 'replace',
      value: { displayName: 'B', 'name.givenName': 'K', [`${ENT}:employeeNumber`]: '42', [`${ENT}:manager.value`]: 'm-2' },
    });
    expect(doc).toEqual({
      ...bjensen,
      displayName: 'B',
      name: { givenName: 'K', familyName: 'Jensen' },
      // The `$ref` described the old manager, so it goes with it.
      [ENT]: { department: 'Tour', manager: { value: 'm-2' }, employeeNumber: '42' },
    });
  });

  it('pathless value with a nested extension object', () => {
    const { doc } = patchUser(bjensen, { op: 'replace', value: { [ENT]: { Department: 'Ops', costCenter: '7' } } });
    expect(doc[ENT]).toEqual({ department: 'Ops', costCenter: '7', manager: { value: 'm-1', $ref: '../Users/m-1' } });
  });

  it('a work email on a user without one is created (rule 3)', () => {
    const { doc } = patchUser(
      { userName: 'b', emails: [{ value: 'h@x', type: 'home' }] },
      { op: 'Add', path: 'emails[type eq "work"].value', value: 'w@x' },
    );
    expect(doc.emails).toEqual([{ value: 'h@x', type: 'home' }, { type: 'work', value: 'w@x' }]);
  });

  it('…also on a user without any email, and with several eq terms', () => {
    const { doc } = patchUser(
      { userName: 'b' },
      { op: 'Replace', path: 'emails[type eq "work" and primary eq "True"].value', value: 'w@x' },
    );
    expect(doc.emails).toEqual([{ type: 'work', primary: true, value: 'w@x' }]);
  });

  it.each([
    ['default', { op: 'Replace', path: 'active', value: 'False' }],
    ['with the flag', { op: 'replace', path: 'active', value: false }],
  ])('disables a user (%s)', (_label, op) => {
    const { doc, changes } = patchUser(bjensen, op);
    expect(doc.active).toBe(false);
    expect(changes).toEqual([{ path: 'active', before: true, after: false }]);
  });

  it('adds then removes a member by value list (default)', () => {
    const added = patchGroup({ displayName: 'Eng' }, [{ value: 'u1', type: 'User' }], {
      op: 'Add',
      path: 'members',
      value: [{ $ref: null, value: 'f648f8d5' }],
    });
    expect(added.members).toEqual([{ value: 'u1', type: 'User' }, { value: 'f648f8d5' }]);
    const removed = patchGroup({ displayName: 'Eng' }, [{ value: 'u1', type: 'User' }, { value: 'f648f8d5', type: 'User' }], {
      op: 'Remove',
      path: 'members',
      value: [{ $ref: null, value: 'f648f8d5' }],
    });
    // Rule 2: only the listed member goes; the group is never emptied by this shape.
    expect(removed.members).toEqual([{ value: 'u1', type: 'User' }]);
    expect(removed.changes).toEqual([]);
  });

  it('removes a member by filter (with the flag)', () => {
    const { members } = patchGroup({ displayName: 'Eng' }, [{ value: 'u1', type: 'User' }, { value: '7f4bc1a3', type: 'User' }], {
      op: 'remove',
      path: 'members[value eq "7f4bc1a3"]',
    });
    expect(members).toEqual([{ value: 'u1', type: 'User' }]);
  });

  it('renames a group', () => {
    const { doc, changes, members } = patchGroup({ displayName: 'Eng' }, [], { op: 'Replace', path: 'displayName', value: 'Engineering' });
    expect(doc).toEqual({ displayName: 'Engineering' });
    expect(changes).toEqual([{ path: 'displayName', before: 'Eng', after: 'Engineering' }]);
    expect(members).toBeUndefined();
  });

  it.each([
    ['a string', 'm-2', { value: 'm-2' }],
    ['an object', { value: 'm-2' }, { value: 'm-2' }],
    ['a list', [{ value: 'm-2', $ref: '../Users/m-2' }], { value: 'm-2', $ref: '../Users/m-2' }],
  ])('sets manager as %s (rule 4)', (_label, value, expected) => {
    const { doc } = patchUser(bjensen, { op: 'Replace', path: `${ENT}:manager`, value });
    expect((doc[ENT] as ScimDoc).manager).toEqual(expected);
  });

  it.each([
    ['the attribute', { op: 'Remove', path: `${ENT}:manager` }],
    ['the attribute with its value', { op: 'Remove', path: `${ENT}:manager`, value: 'm-1' }],
    ['a value filter (scim-patch #453)', { op: 'Remove', path: `${ENT}:manager[value eq "m-1"]` }],
  ])('removes manager by %s (rule 4)', (_label, op) => {
    const { doc, changes } = patchUser(bjensen, op);
    expect(doc[ENT]).toEqual({ department: 'Tour' });
    expect(changes.map((c) => c.path)).toEqual([`${ENT}:manager.$ref`, `${ENT}:manager.value`]);
  });

  it('a manager removal naming another manager changes nothing', () => {
    expect(patchUser(bjensen, { op: 'Remove', path: `${ENT}:manager[value eq "m-9"]` }).changes).toEqual([]);
    expect(patchUser(bjensen, { op: 'Remove', path: `${ENT}:manager`, value: [{ value: 'm-9' }] }).changes).toEqual([]);
  });
});

describe('IDP-BEHAVIOUR §1.2: Okta', () => {
  it('deactivates with a pathless replace', () => {
    const { doc } = applyPatch(bjensen, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] }, userResourceType);
    expect(doc.active).toBe(false);
  });

  it('removes by filter and adds by value (with display) in one message', () => {
    const { members, changes } = patchGroup(
      { displayName: 'Eng' },
      [{ value: '89bb1940', type: 'User' }, { value: 'u1', type: 'User' }],
      { op: 'remove', path: 'members[value eq "89bb1940"]' },
      { op: 'add', path: 'members', value: [{ value: '23a35c27', display: 'test.user@okta.local' }] },
    );
    expect(members).toEqual([{ value: 'u1', type: 'User' }, { value: '23a35c27' }]);
    expect(changes).toEqual([]);
  });

  it('pushes the full member list with replace', () => {
    const { members } = patchGroup({ displayName: 'Eng' }, [{ value: 'u1', type: 'User' }], {
      op: 'replace',
      path: 'members',
      value: [{ value: 'u2' }, { value: 'u3' }],
    });
    expect(members).toEqual([{ value: 'u2' }, { value: 'u3' }]);
  });

  it('renames with a pathless replace carrying the unchanged id', () => {
    const op = { op: 'replace', value: { id: 'abf4dd94', displayName: 'Test SCIMv2' } };
    expect(applyPatch({ id: 'abf4dd94', displayName: 'Eng' }, msg(op), groupResourceType).doc).toEqual({ displayName: 'Test SCIMv2' });
    // Without the id to compare, an `id` key is ignored rather than refused.
    expect(patchGroup({ displayName: 'Eng' }, [], op).doc).toEqual({ displayName: 'Test SCIMv2' });
    expect(codeOf(() => applyPatch({ id: 'other', displayName: 'Eng' }, msg(op), groupResourceType))).toBe('mutability');
  });

  it('accepts a password change and stores nothing', () => {
    const result = patchUser(bjensen, { op: 'replace', value: { password: 'hunter2' } }, { op: 'remove', path: 'password' });
    expect(result.doc).toEqual(bjensen);
    expect(result.changes).toEqual([]);
  });
});

describe('RFC 7644 §3.5.2 examples', () => {
  it('add member with display and $ref', () => {
    const { members } = patchGroup({ displayName: 'Eng' }, [], {
      op: 'add',
      path: 'members',
      value: [{ display: 'Babs Jensen', $ref: 'https://example.com/v2/Users/2819c223', value: '2819c223' }],
    });
    expect(members).toEqual([{ value: '2819c223' }]);
  });

  it('pathless add of emails and nickName appends', () => {
    const { doc } = patchUser(bjensen, { op: 'add', value: { emails: [{ value: 'babs@jensen.org', type: 'home' }, { value: 'b@x', type: 'other' }], nickname: 'Babs' } });
    expect(doc.nickName).toBe('Babs');
    // The home address is already there: not added twice.
    expect(doc.emails).toEqual([...(bjensen.emails as unknown[]), { value: 'b@x', type: 'other' }]);
  });

  it('remove all members', () => {
    const { members } = patchGroup({ displayName: 'Eng' }, [{ value: 'u1', type: 'User' }], { op: 'remove', path: 'members' });
    expect(members).toEqual([]);
  });

  it('remove with a complex filter', () => {
    const { doc } = patchUser(bjensen, { op: 'remove', path: 'emails[type eq "work" and value ew "example.com"]' });
    expect(doc.emails).toEqual([{ value: 'babs@jensen.org', type: 'home' }]);
  });

  it('remove the last matching value leaves the attribute unassigned', () => {
    const { doc } = patchUser(bjensen, { op: 'remove', path: 'emails[value co "@"]' });
    expect(doc).not.toHaveProperty('emails');
  });

  it('replace members and then add one', () => {
    const { members } = patchGroup(
      { displayName: 'Eng' },
      [{ value: 'u1', type: 'User' }],
      { op: 'remove', path: 'members' },
      { op: 'add', path: 'members', value: [{ value: 'u2' }, { value: 'u3' }] },
    );
    expect(members).toEqual([{ value: 'u2' }, { value: 'u3' }]);
  });

  it('replace a filtered element merges into it', () => {
    const doc0 = { userName: 'b', addresses: [{ type: 'work', streetAddress: '100 Main', locality: 'X', primary: true }] };
    const { doc } = patchUser(doc0, {
      op: 'replace',
      path: 'addresses[type eq "work"]',
      value: { type: 'work', streetAddress: '911 Universal City Plaza', primary: true },
    });
    expect(doc.addresses).toEqual([{ type: 'work', streetAddress: '911 Universal City Plaza', locality: 'X', primary: true }]);
  });

  it('replace a sub-attribute of a filtered element', () => {
    const doc0 = { userName: 'b', addresses: [{ type: 'work', streetAddress: '100 Main' }, { type: 'home', streetAddress: '1 Home' }] };
    const { doc } = patchUser(doc0, { op: 'replace', path: 'addresses[type eq "work"].streetAddress', value: '1010 Broadway Ave' });
    expect(doc.addresses).toEqual([{ type: 'work', streetAddress: '1010 Broadway Ave' }, { type: 'home', streetAddress: '1 Home' }]);
  });

  it('pathless replace of emails replaces the list', () => {
    const emails = [{ value: 'bjensen@example.com', type: 'work', primary: true }];
    const { doc } = patchUser(bjensen, { op: 'replace', value: { emails, nickName: 'Babs' } });
    expect(doc.emails).toEqual(emails);
  });

  it('replace on an attribute that does not exist adds it', () => {
    expect(patchUser({ userName: 'b', active: true }, { op: 'replace', path: 'title', value: 'Boss' }).doc).toEqual({
      userName: 'b',
      active: true,
      title: 'Boss',
    });
  });
});

describe('semantics', () => {
  it('add and replace are the same on singular attributes', () => {
    for (const op of ['add', 'replace']) {
      expect(patchUser(bjensen, { op, path: 'name', value: { givenName: 'Babs' } }).doc.name).toEqual({ givenName: 'Babs', familyName: 'Jensen' });
      expect(patchUser(bjensen, { op, path: 'active', value: false }).doc.active).toBe(false);
    }
  });

  it('a sub-attribute path creates the complex attribute', () => {
    expect(patchUser({ userName: 'b' }, { op: 'add', path: 'name.familyName', value: 'J' }).doc.name).toEqual({ familyName: 'J' });
  });

  it('removing the last sub-attribute removes the attribute, and an emptied extension', () => {
    const { doc } = patchUser(
      { userName: 'b', active: true, name: { givenName: 'B' }, [ENT]: { department: 'x' } },
      { op: 'remove', path: 'name.givenName' },
      { op: 'remove', path: `${ENT}:department` },
    );
    expect(doc).toEqual({ userName: 'b', active: true });
  });

  it('removing active makes the user active again, the default, so a stored user always has it', () => {
    expect(patchUser({ userName: 'b', active: false }, { op: 'remove', path: 'active' }).doc).toEqual({ userName: 'b', active: true });
  });

  it('remove of a whole extension', () => {
    expect(patchUser(bjensen, { op: 'remove', path: ENT }).doc).not.toHaveProperty(ENT);
  });

  it('replace of a whole extension merges its attributes', () => {
    const { doc } = patchUser(bjensen, { op: 'replace', path: ENT, value: { division: 'D' } });
    expect(doc[ENT]).toMatchObject({ department: 'Tour', division: 'D' });
  });

  it('a sub-attribute without filter applies to every element', () => {
    const { doc } = patchUser(bjensen, { op: 'remove', path: 'emails.type' });
    expect(doc.emails).toEqual([{ value: 'bjensen@example.com', primary: true }, { value: 'babs@jensen.org' }]);
  });

  it('primary: true on one element clears it on the others', () => {
    const byAdd = patchUser(bjensen, { op: 'add', path: 'emails', value: [{ value: 'new@x', primary: 'True' }] });
    expect(byAdd.doc.emails).toEqual([
      { value: 'bjensen@example.com', type: 'work', primary: false },
      { value: 'babs@jensen.org', type: 'home' },
      { value: 'new@x', primary: true },
    ]);
    const byFilter = patchUser(bjensen, { op: 'replace', path: 'emails[type eq "home"].primary', value: true });
    expect(byFilter.doc.emails).toEqual([
      { value: 'bjensen@example.com', type: 'work', primary: false },
      { value: 'babs@jensen.org', type: 'home', primary: true },
    ]);
  });

  it('members are deduplicated by value', () => {
    const { members } = patchGroup({ displayName: 'Eng' }, [{ value: 'u1', type: 'User' }], {
      op: 'add',
      path: 'members',
      value: [{ value: 'u1' }, { value: 'u2', type: 'user' }, { value: 'u2' }],
    });
    expect(members).toEqual([{ value: 'u1', type: 'User' }, { value: 'u2', type: 'User' }]);
  });

  it('a remove that matches nothing is a no-op, not noTarget', () => {
    const { doc, changes } = patchUser(bjensen, { op: 'remove', path: 'emails[type eq "other"]' }, { op: 'remove', path: 'title' });
    expect(doc).toEqual(bjensen);
    expect(changes).toEqual([]);
  });

  it('replace with null clears', () => {
    expect(patchUser(bjensen, { op: 'replace', path: 'name', value: null }).doc).not.toHaveProperty('name');
    expect(patchUser(bjensen, { op: 'replace', path: 'emails[type eq "home"]', value: null }).doc.emails).toHaveLength(1);
  });

  it('paths and op names are case-insensitive', () => {
    const { doc } = patchUser(bjensen, { OP: 'REPLACE', Path: 'NAME.GIVENNAME', Value: 'X' });
    expect(doc.name).toEqual({ givenName: 'X', familyName: 'Jensen' });
  });

  it('ignores readOnly sub-attributes inside values', () => {
    const { doc } = patchUser(bjensen, { op: 'replace', path: `${ENT}:manager`, value: { value: 'm-3', displayName: 'Boss' } });
    expect((doc[ENT] as ScimDoc).manager).toEqual({ value: 'm-3' });
  });

  it('lets an immutable sub-attribute be set when absent but not changed', () => {
    const members = [{ value: 'u1', type: 'User' as const }];
    expect(
      patchGroup({ displayName: 'Eng' }, [{ value: 'u1' }], { op: 'add', path: 'members[value eq "u1"].type', value: 'User' }).members,
    ).toEqual(members);
    expect(codeOf(() => patchGroup({ displayName: 'Eng' }, members, { op: 'replace', path: 'members[value eq "u1"].value', value: 'u2' }))).toBe(
      'mutability',
    );
  });

  it('does not touch its input', () => {
    const input = structuredClone(bjensen);
    patchUser(input, { op: 'remove', path: 'name.givenName' }, { op: 'add', path: 'emails', value: { value: 'z@x', primary: true } });
    expect(input).toEqual(bjensen);
  });

  it('reports no change for a no-op', () => {
    expect(patchUser(bjensen, { op: 'replace', path: 'userName', value: 'bjensen' }, { op: 'add', path: 'emails', value: bjensen.emails }).changes).toEqual(
      [],
    );
  });
});

describe('errors', () => {
  it.each([
    ['a body that is not an object', [], 'invalid_syntax'],
    ['no schemas', { Operations: [{ op: 'add', path: 'title', value: 'x' }] }, 'invalid_syntax'],
    ['the wrong schema', { schemas: ['urn:x'], Operations: [{ op: 'add', path: 'title', value: 'x' }] }, 'invalid_syntax'],
    ['no Operations', { schemas: [PATCH_OP] }, 'invalid_syntax'],
    ['empty Operations', msg(), 'invalid_syntax'],
    ['an operation that is not an object', msg('add'), 'invalid_syntax'],
    ['an unknown op', msg({ op: 'merge', path: 'title', value: 'x' }), 'invalid_syntax'],
    ['add without value', msg({ op: 'add', path: 'title' }), 'invalid_syntax'],
    ['a path that is not a string', msg({ op: 'add', path: 42, value: 'x' }), 'invalid_path'],
    ['a path that does not parse', msg({ op: 'add', path: 'emails[type eq', value: 'x' }), 'invalid_path'],
    ['an unknown attribute', msg({ op: 'add', path: 'shoeSize', value: 44 }), 'invalid_path'],
    ['an unknown sub-attribute', msg({ op: 'add', path: 'name.nick', value: 'x' }), 'invalid_path'],
    ['an unknown sub-attribute after a filter', msg({ op: 'add', path: 'emails[type eq "work"].nick', value: 'x' }), 'invalid_path'],
    ['a filter on a simple attribute', msg({ op: 'remove', path: 'title[value eq "x"]' }), 'invalid_filter'],
    ['a filter of the wrong type', msg({ op: 'remove', path: 'emails[primary eq "yes"]' }), 'invalid_filter'],
    ['a value of the wrong type', msg({ op: 'replace', path: 'active', value: 'yes' }), 'invalid_value'],
    ['a pathless value that is not an object', msg({ op: 'replace', value: 'x' }), 'invalid_value'],
    ['an unknown key in a pathless value', msg({ op: 'replace', value: { shoeSize: 44 } }), 'invalid_value'],
    ['an extension value that is not an object', msg({ op: 'replace', value: { [ENT]: 'x' } }), 'invalid_value'],
    ['removing userName', msg({ op: 'remove', path: 'userName' }), 'invalid_value'],
    ['blanking userName', msg({ op: 'replace', path: 'userName', value: '' }), 'invalid_value'],
    ['two primaries in one write', msg({ op: 'replace', path: 'emails', value: [{ value: 'a', primary: true }, { value: 'b', primary: true }] }), 'invalid_value'],
    ['remove without path', msg({ op: 'remove' }), 'no_target'],
    ['a sub-attribute of no element', msg({ op: 'replace', path: 'phoneNumbers.value', value: '1' }), 'no_target'],
    ['a filter that pins nothing', msg({ op: 'replace', path: 'emails[value co "nobody"].type', value: 'work' }), 'no_target'],
    ['an or filter', msg({ op: 'add', path: 'emails[type eq "a" or type eq "b"].value', value: 'x' }), 'no_target'],
    ['id by path', msg({ op: 'replace', path: 'id', value: 'x' }), 'mutability'],
    ['meta by path', msg({ op: 'replace', path: 'meta.created', value: '2026-01-01T00:00:00Z' }), 'mutability'],
    ['groups', msg({ op: 'add', path: 'groups', value: [{ value: 'g' }] }), 'mutability'],
    ['groups in a pathless value', msg({ op: 'add', value: { groups: [{ value: 'g' }] } }), 'mutability'],
    ['a readOnly sub-attribute', msg({ op: 'replace', path: `${ENT}:manager.displayName`, value: 'x' }), 'mutability'],
  ] as const)('%s', (_label, body, code) => {
    expect(codeOf(() => applyPatch(bjensen, body, userResourceType))).toBe(code);
  });

  it.each([
    ['removing displayName', { op: 'remove', path: 'displayName' }, 'invalid_value'],
    ['a member without value', { op: 'add', path: 'members', value: [{ type: 'User' }] }, 'invalid_value'],
    ['a member of an unknown type', { op: 'add', path: 'members', value: [{ value: 'x', type: 'Robot' }] }, 'invalid_value'],
    ['a readOnly member sub-attribute', { op: 'replace', path: 'members[value eq "u1"].display', value: 'x' }, 'mutability'],
    ['a user attribute', { op: 'add', path: 'emails', value: [] }, 'invalid_path'],
  ] as const)('group: %s', (_label, op, code) => {
    expect(codeOf(() => patchGroup({ displayName: 'Eng' }, [{ value: 'u1', type: 'User' }], op))).toBe(code);
  });

  it('fails as a whole, naming the operation', () => {
    const input = structuredClone(bjensen);
    expect(() => patchUser(input, { op: 'replace', path: 'title', value: 'Boss' }, { op: 'replace', path: 'active', value: 'nope' })).toThrow(
      'operation 2: attribute `active` must be a boolean',
    );
    expect(input).toEqual(bjensen);
  });

  it('refuses to patch members it was not given', () => {
    expect(codeOf(() => applyPatch({ displayName: 'Eng' }, msg({ op: 'add', path: 'members', value: [{ value: 'u' }] }), groupResourceType))).toBe(
      'internal',
    );
  });
});
