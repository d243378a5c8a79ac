import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { namesWholeSchema, parseAttrPath, parsePatchPath, type PatchPath } from './path.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('parsePatchPath', () => {
  const cases: readonly (readonly [string, PatchPath])[] = [
    ['displayName', { attr: { attr: 'displayName' } }],
    ['name.givenName', { attr: { attr: 'name', sub: 'givenName' } }],
    [
      'emails[type eq "work"].value',
      {
        attr: { attr: 'emails' },
        filter: { kind: 'compare', path: { attr: 'type' }, op: 'eq', value: 'work' },
        subAfterFilter: 'value',
      },
    ],
    [
      'members[value eq "7f4bc1a3"]',
      { attr: { attr: 'members' }, filter: { kind: 'compare', path: { attr: 'value' }, op: 'eq', value: '7f4bc1a3' } },
    ],
    [
      'addresses[type eq "work" and not (primary eq false)].locality',
      {
        attr: { attr: 'addresses' },
        filter: {
          kind: 'and',
          left: { kind: 'compare', path: { attr: 'type' }, op: 'eq', value: 'work' },
          right: { kind: 'not', filter: { kind: 'compare', path: { attr: 'primary' }, op: 'eq', value: false } },
        },
        subAfterFilter: 'locality',
      },
    ],
    [`${ENTERPRISE}:employeeNumber`, { attr: { uri: ENTERPRISE, attr: 'employeeNumber' } }],
    [`${ENTERPRISE}:manager`, { attr: { uri: ENTERPRISE, attr: 'manager' } }],
    [`${ENTERPRISE}:manager.value`, { attr: { uri: ENTERPRISE, attr: 'manager', sub: 'value' } }],
    [
      `${ENTERPRISE}:manager[value eq "x"]`,
      {
        attr: { uri: ENTERPRISE, attr: 'manager' },
        filter: { kind: 'compare', path: { attr: 'value' }, op: 'eq', value: 'x' },
      },
    ],
    // a bare extension URN is the whole extension, in its canonical spelling
    [ENTERPRISE, { attr: { uri: ENTERPRISE, attr: '' } }],
    [ENTERPRISE.toLowerCase(), { attr: { uri: ENTERPRISE, attr: '' } }],
    // a core schema URN is not an extension: read as attribute `User` of schema `urn:…:core:2.0`
    [
      'urn:ietf:params:scim:schemas:core:2.0:User',
      { attr: { uri: 'urn:ietf:params:scim:schemas:core:2.0', attr: 'User' } },
    ],
  ];

  it.each(cases)('%s', (text, expected) => {
    expect(parsePatchPath(text)).toStrictEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 0],
    ['emails[type eq "work"', 21],
    ['emails[type eq "work"] value', 23],
    ['emails[type eq "work"].value.display', 23],
    ['emails[type eq "work"].', 23],
    ['name.givenName[x pr]', 14],
    ['members[value[x pr] pr]', 13],
    [`${ENTERPRISE}[value pr]`, ENTERPRISE.length],
    [`${ENTERPRISE}:`, 0],
    ['displayName eq "x"', 12],
    ['a.b.c', 0],
  ])('refuses `%s` at position %i', (text, position) => {
    const result = parsePatchPath(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('invalid_path');
    expect(result.error.detail).toMatch(new RegExp(`^position ${position}: `));
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const result = parsePatchPath(text);
        expect(result.ok || result.error.code === 'invalid_path').toBe(true);
      }),
    );
  });
});

describe('parseAttrPath', () => {
  it.each([
    ['userName', { attr: 'userName' }],
    [' meta.lastModified ', { attr: 'meta', sub: 'lastModified' }],
    [`${ENTERPRISE}:manager.displayName`, { uri: ENTERPRISE, attr: 'manager', sub: 'displayName' }],
    [ENTERPRISE, { uri: ENTERPRISE, attr: '' }],
  ])('%s', (text, expected) => {
    expect(parseAttrPath(text)).toStrictEqual({ ok: true, value: expected });
  });

  it.each(['', 'emails[type eq "work"]', 'name.givenName,title', 'a b'])('refuses `%s`', (text) => {
    const result = parseAttrPath(text);
    expect(result.ok ? 'ok' : result.error.code).toBe('invalid_path');
  });
});

describe('namesWholeSchema', () => {
  it('tells a whole extension from an attribute', () => {
    const whole = parseAttrPath(ENTERPRISE);
    const attribute = parseAttrPath(`${ENTERPRISE}:department`);
    expect(whole.ok && namesWholeSchema(whole.value)).toBe(true);
    expect(attribute.ok && namesWholeSchema(attribute.value)).toBe(false);
  });
});
