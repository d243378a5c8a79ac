import { describe, expect, it } from 'vitest';
import type { ResourceTypeDef } from '../../core/attribute.js';
import { AppError, type ErrorCode } from '../../core/errors.js';
import { attr } from '../schema/define.js';
import { findTopAttribute } from '../schema/lookup.js';
import { groupResourceType, userResourceType } from '../schema/resource-types.js';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, MS_ADSCIM_GROUP_SCHEMA, USER_SCHEMA } from '../schema/urns.js';
import { normalizeResource, normalizeValue } from './normalize.js';

const def = (name: string) => {
  const top = findTopAttribute(userResourceType, undefined, name);
  if (!top) throw new Error(`no attribute ${name}`);
  return top.def;
};

function codeOf(fn: () => unknown): ErrorCode | 'none' {
  try {
    fn();
    return 'none';
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

describe('normalizeValue', () => {
  it.each([
    ['string', 'title', 'Boss', 'Boss'],
    ['empty string is unassigned', 'title', '', undefined],
    ['null is unassigned', 'title', null, undefined],
    ['boolean', 'active', false, false],
    ['Entra "True"', 'active', 'True', true],
    ['Entra "False"', 'active', 'False', false],
    ['any case', 'active', 'fALSE', false],
    ['complex names canonicalised', 'name', { GIVENNAME: 'Barbara', familyname: 'Jensen' }, { givenName: 'Barbara', familyName: 'Jensen' }],
    ['empty complex is unassigned', 'name', { givenName: '', familyName: null }, undefined],
    ['multi-valued', 'emails', [{ value: 'a@b', Primary: 'true' }], [{ value: 'a@b', primary: true }]],
    ['lone element is wrapped', 'emails', { value: 'a@b' }, [{ value: 'a@b' }]],
    ['empty elements are dropped', 'emails', [{ value: '' }, { value: 'a@b' }], [{ value: 'a@b' }]],
    ['empty list is unassigned', 'emails', [], undefined],
    ['manager as a string (Entra)', 'manager', 'm-1', { value: 'm-1' }],
    ['manager as an object', 'manager', { value: 'm-1' }, { value: 'm-1' }],
    ['manager as a list (older Entra)', 'manager', [{ value: 'm-1', $ref: '../Users/m-1' }], { value: 'm-1', $ref: '../Users/m-1' }],
    ['readOnly sub-attribute dropped', 'manager', { value: 'm-1', displayName: 'Boss' }, { value: 'm-1' }],
    ['$ref null dropped (Entra)', 'manager', { value: 'm-1', $ref: null }, { value: 'm-1' }],
  ] as const)('%s', (_label, name, raw, expected) => {
    expect(normalizeValue(def(name), raw, name)).toEqual(expected);
  });

  it.each([
    ['number for a string', 'title', 42],
    ['bad boolean', 'active', 'yes'],
    ['object for a string', 'title', { value: 'x' }],
    ['unknown sub-attribute', 'name', { nickname: 'x' }],
    ['two primaries', 'emails', [{ value: 'a', primary: true }, { value: 'b', primary: 'True' }]],
    ['string for a complex without value', 'name', 'Barbara'],
    ['two managers', 'manager', [{ value: 'a' }, { value: 'b' }]],
    ['sub-attribute given twice', 'name', { givenName: 'a', GivenName: 'b' }],
  ] as const)('rejects %s', (_label, name, raw) => {
    expect(codeOf(() => normalizeValue(def(name), raw, name))).toBe('invalid_value');
  });

  it('names the offending attribute in the detail', () => {
    expect(() => normalizeValue(def('emails'), [{ value: 'a' }, { value: 'b', primary: 'maybe' }], 'emails')).toThrow(
      'attribute `emails[1].primary` must be a boolean',
    );
  });

  it.each([
    ['integer', attr('n', 'integer', ''), 3, 3],
    ['decimal', attr('n', 'decimal', ''), 2.5, 2.5],
    ['dateTime', attr('d', 'dateTime', ''), '2026-01-31T10:00:00Z', '2026-01-31T10:00:00Z'],
    ['dateTime with offset', attr('d', 'dateTime', ''), '2026-01-31T10:00:00.5+02:00', '2026-01-31T10:00:00.5+02:00'],
    ['binary', attr('b', 'binary', ''), 'AAEC', 'AAEC'],
  ] as const)('accepts %s', (_label, d, raw, expected) => {
    expect(normalizeValue(d, raw, d.name)).toEqual(expected);
  });

  it.each([
    ['fraction for an integer', attr('n', 'integer', ''), 2.5],
    ['string for an integer', attr('n', 'integer', ''), '3'],
    ['infinity for a decimal', attr('n', 'decimal', ''), Infinity],
    ['dateTime without zone', attr('d', 'dateTime', ''), '2026-01-31T10:00:00'],
    ['day that does not exist', attr('d', 'dateTime', ''), '2026-02-30T10:00:00Z'],
    ['not a dateTime', attr('d', 'dateTime', ''), 'yesterday'],
  ] as const)('rejects %s', (_label, d, raw) => {
    expect(codeOf(() => normalizeValue(d, raw, d.name))).toBe('invalid_value');
  });
});

describe('normalizeResource', () => {
  const user = (extra: Record<string, unknown>) => ({ schemas: [USER_SCHEMA], userName: 'bjensen', ...extra });

  it('canonicalises names, defaults active, keeps extension attributes under their URN', () => {
    const { doc } = normalizeResource(
      {
        Schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA.toUpperCase()],
        USERNAME: 'bjensen',
        name: { givenName: 'Barbara' },
        [ENTERPRISE_USER_SCHEMA]: { Department: 'Tour', manager: 'm-1' },
        [`${ENTERPRISE_USER_SCHEMA}:employeeNumber`]: '42',
      },
      userResourceType,
      'create',
    );
    expect(doc).toEqual({
      userName: 'bjensen',
      name: { givenName: 'Barbara' },
      active: true,
      [ENTERPRISE_USER_SCHEMA]: { department: 'Tour', manager: { value: 'm-1' }, employeeNumber: '42' },
    });
  });

  it('replays an Entra create', () => {
    const { doc } = normalizeResource(
      {
        schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        externalId: '0a21f0f2',
        userName: 'Test_User_ab6490ee@contoso.com',
        active: true,
        emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b@contoso.com' }],
        meta: { resourceType: 'User' },
        name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
        roles: [],
      },
      userResourceType,
      'create',
    );
    expect(doc).toEqual({
      externalId: '0a21f0f2',
      userName: 'Test_User_ab6490ee@contoso.com',
      active: true,
      emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b@contoso.com' }],
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    });
  });

  it('replays an Okta create: password and groups are dropped', () => {
    const { doc } = normalizeResource(
      user({ password: 't1meMa$heen', groups: [], active: true, externalId: '00u1', id: 'x', meta: {} }),
      userResourceType,
      'create',
    );
    expect(doc).toEqual({ userName: 'bjensen', active: true, externalId: '00u1' });
  });

  it('keeps active false, and defaults it on replace too', () => {
    expect(normalizeResource(user({ active: 'False' }), userResourceType, 'replace', { userName: 'b', active: false }).doc.active).toBe(false);
    expect(normalizeResource(user({}), userResourceType, 'replace', { userName: 'b', active: false }).doc.active).toBe(true);
  });

  it('replace clears what the body omits', () => {
    const { doc } = normalizeResource(user({}), userResourceType, 'replace', { userName: 'b', title: 'Boss', name: { givenName: 'B' } });
    expect(doc).toEqual({ userName: 'bjensen', active: true });
  });

  it('accepts manager in each IdP shape', () => {
    for (const manager of ['m-1', { value: 'm-1' }, [{ value: 'm-1', $ref: null }]]) {
      const { doc } = normalizeResource(user({ [ENTERPRISE_USER_SCHEMA]: { manager } }), userResourceType, 'create');
      expect(doc[ENTERPRISE_USER_SCHEMA]).toEqual({ manager: { value: 'm-1' } });
    }
  });

  it('drops an extension that ends up empty', () => {
    const { doc } = normalizeResource(user({ [ENTERPRISE_USER_SCHEMA]: { department: '' } }), userResourceType, 'create');
    expect(doc).toEqual({ userName: 'bjensen', active: true });
  });

  describe('groups', () => {
    it('accepts the ADSCIM schema (Entra) and extracts members', () => {
      const result = normalizeResource(
        {
          schemas: [GROUP_SCHEMA, MS_ADSCIM_GROUP_SCHEMA],
          displayName: 'Eng',
          members: [{ value: 'u1', display: 'Babs', type: 'user' }, { value: 'g2', $ref: '../Groups/g2' }, { value: 'u1' }],
        },
        groupResourceType,
        'create',
      );
      expect(result).toEqual({ doc: { displayName: 'Eng' }, members: [{ value: 'u1', type: 'User' }, { value: 'g2' }] });
    });

    it('empty members (Okta group push, Entra create)', () => {
      expect(normalizeResource({ schemas: [GROUP_SCHEMA], displayName: 'Eng', members: [] }, groupResourceType, 'create')).toEqual({
        doc: { displayName: 'Eng' },
        members: [],
      });
    });

    it('no members key, no members', () => {
      expect(normalizeResource({ schemas: [GROUP_SCHEMA], displayName: 'Eng' }, groupResourceType, 'create')).toEqual({ doc: { displayName: 'Eng' } });
    });

    it.each([
      ['member without value', [{ display: 'x', type: 'User' }]],
      ['member of an unknown type', [{ value: 'x', type: 'Robot' }]],
    ])('rejects %s', (_label, members) => {
      expect(codeOf(() => normalizeResource({ schemas: [GROUP_SCHEMA], displayName: 'Eng', members }, groupResourceType, 'create'))).toBe(
        'invalid_value',
      );
    });
  });

  it.each([
    ['a body that is not an object', [], 'invalid_syntax'],
    ['a string body', 'x', 'invalid_syntax'],
    ['no schemas', { userName: 'b' }, 'invalid_value'],
    ['schemas without the core schema', { schemas: [ENTERPRISE_USER_SCHEMA], userName: 'b' }, 'invalid_value'],
    ['an unknown schema', { schemas: [USER_SCHEMA, 'urn:example:x'], userName: 'b' }, 'invalid_value'],
    ['the ADSCIM schema on a user', { schemas: [USER_SCHEMA, MS_ADSCIM_GROUP_SCHEMA], userName: 'b' }, 'invalid_value'],
    ['an unknown attribute', { schemas: [USER_SCHEMA], userName: 'b', shoeSize: 44 }, 'invalid_value'],
    ['an unknown extension attribute', { schemas: [USER_SCHEMA], userName: 'b', [ENTERPRISE_USER_SCHEMA]: { shoeSize: 44 } }, 'invalid_value'],
    ['an extension that is not an object', { schemas: [USER_SCHEMA], userName: 'b', [ENTERPRISE_USER_SCHEMA]: 'x' }, 'invalid_value'],
    ['a missing userName', { schemas: [USER_SCHEMA] }, 'invalid_value'],
    ['an empty userName', { schemas: [USER_SCHEMA], userName: '' }, 'invalid_value'],
    ['an attribute given twice', { schemas: [USER_SCHEMA], userName: 'b', title: 'x', Title: 'y' }, 'invalid_value'],
    ['two primary emails', { schemas: [USER_SCHEMA], userName: 'b', emails: [{ value: 'a', primary: true }, { value: 'b', primary: true }] }, 'invalid_value'],
    ['members on a user', { schemas: [USER_SCHEMA], userName: 'b', members: [] }, 'invalid_value'],
  ] as const)('rejects %s', (_label, body, code) => {
    expect(codeOf(() => normalizeResource(body, userResourceType, 'create'))).toBe(code);
  });

  it('names every unknown attribute', () => {
    expect(() => normalizeResource({ schemas: [USER_SCHEMA], userName: 'b', foo: 1, bar: 2 }, userResourceType, 'create')).toThrow(
      'unknown attributes `foo`, `bar`',
    );
  });

  it('rejects a group without displayName', () => {
    expect(codeOf(() => normalizeResource({ schemas: [GROUP_SCHEMA], members: [] }, groupResourceType, 'create'))).toBe('invalid_value');
  });

  describe('immutable attributes on replace', () => {
    const rt: ResourceTypeDef = {
      ...userResourceType,
      schema: { ...userResourceType.schema, attributes: [...userResourceType.schema.attributes, attr('badge', 'string', '', { mutability: 'immutable' })] },
    };
    const body = (extra: Record<string, unknown>) => ({ schemas: [USER_SCHEMA], userName: 'b', ...extra });

    it('may be set when absent', () => {
      expect(normalizeResource(body({ badge: 'B1' }), rt, 'replace', { userName: 'b' }).doc.badge).toBe('B1');
    });
    it('may be repeated unchanged', () => {
      expect(normalizeResource(body({ badge: 'B1' }), rt, 'replace', { userName: 'b', badge: 'B1' }).doc.badge).toBe('B1');
    });
    it('is kept when omitted', () => {
      expect(normalizeResource(body({}), rt, 'replace', { userName: 'b', badge: 'B1' }).doc.badge).toBe('B1');
    });
    it('may not change', () => {
      expect(codeOf(() => normalizeResource(body({ badge: 'B2' }), rt, 'replace', { userName: 'b', badge: 'B1' }))).toBe('mutability');
    });
  });
});
