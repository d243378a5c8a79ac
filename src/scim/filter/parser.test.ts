import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttrPath, CompareOp, Filter, FilterValue } from '../../core/filter.js';
import { DEFAULT_FILTER_LIMITS, parseFilter } from './parser.js';

type F = Filter<AttrPath>;
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

const at = (attr: string, sub?: string, uri?: string): AttrPath => ({
  ...(uri === undefined ? {} : { uri }),
  attr,
  ...(sub === undefined ? {} : { sub }),
});
const cmp = (path: AttrPath | string, op: CompareOp, value: FilterValue): F => ({
  kind: 'compare',
  path: typeof path === 'string' ? at(path) : path,
  op,
  value,
});
const pr = (path: AttrPath | string): F => ({ kind: 'present', path: typeof path === 'string' ? at(path) : path });
const and = (left: F, right: F): F => ({ kind: 'and', left, right });
const or = (left: F, right: F): F => ({ kind: 'or', left, right });
const not = (filter: F): F => ({ kind: 'not', filter });
const vp = (path: string, filter: F): F => ({ kind: 'valuePath', path: at(path), filter });

function parsed(text: string, limits = {}): F {
  const result = parseFilter(text, limits);
  if (!result.ok) throw new Error(`unexpected failure: ${result.error.detail}`);
  return result.value;
}

function failure(text: string, limits = {}): { code: string; position: number; detail: string } {
  const result = parseFilter(text, limits);
  if (result.ok) throw new Error(`unexpectedly parsed \`${text}\``);
  const position = /^position (\d+): /.exec(result.error.detail)?.[1];
  return { code: result.error.code, position: Number(position), detail: result.error.detail };
}

describe('parseFilter: valid filters', () => {
  const cases: readonly (readonly [string, F])[] = [
    // every operator, values of every kind
    ['userName eq "bjensen"', cmp('userName', 'eq', 'bjensen')],
    ['title ne "Tour Guide"', cmp('title', 'ne', 'Tour Guide')],
    ['name.familyName co "O\'Malley"', cmp(at('name', 'familyName'), 'co', "O'Malley")],
    ['userName sw "J"', cmp('userName', 'sw', 'J')],
    ['userName ew "@example.com"', cmp('userName', 'ew', '@example.com')],
    ['meta.lastModified gt "2011-05-13T04:42:34Z"', cmp(at('meta', 'lastModified'), 'gt', '2011-05-13T04:42:34Z')],
    ['count ge 10', cmp('count', 'ge', 10)],
    ['count lt -12.5e3', cmp('count', 'lt', -12500)],
    ['ratio le 0.25', cmp('ratio', 'le', 0.25)],
    ['title pr', pr('title')],
    ['active eq true', cmp('active', 'eq', true)],
    ['active eq false', cmp('active', 'eq', false)],
    ['title eq null', cmp('title', 'eq', null)],
    ['title eq ""', cmp('title', 'eq', '')],
    // keywords, operators and literals are case-insensitive
    [
      'userName EQ "x" AND title Pr OR NOT (active eq TRUE)',
      or(and(cmp('userName', 'eq', 'x'), pr('title')), not(cmp('active', 'eq', true))),
    ],
    ['title eq NULL', cmp('title', 'eq', null)],
    // precedence: and binds tighter than or; both associate to the left
    ['a eq 1 or b eq 2 and c eq 3', or(cmp('a', 'eq', 1), and(cmp('b', 'eq', 2), cmp('c', 'eq', 3)))],
    ['a eq 1 and b eq 2 or c eq 3', or(and(cmp('a', 'eq', 1), cmp('b', 'eq', 2)), cmp('c', 'eq', 3))],
    ['a pr and b pr and c pr', and(and(pr('a'), pr('b')), pr('c'))],
    ['a pr or b pr or c pr', or(or(pr('a'), pr('b')), pr('c'))],
    ['(a eq 1 or b eq 2) and c eq 3', and(or(cmp('a', 'eq', 1), cmp('b', 'eq', 2)), cmp('c', 'eq', 3))],
    ['a pr and (b pr and c pr)', and(pr('a'), and(pr('b'), pr('c')))],
    ['((a pr))', pr('a')],
    // not
    ['not (a pr)', not(pr('a'))],
    ['not(a pr) and b pr', and(not(pr('a')), pr('b'))],
    ['not (not (a pr or b pr))', not(not(or(pr('a'), pr('b'))))],
    // JSON string escapes
    ['a eq "q\\"b\\\\s\\/\\b\\f\\n\\r\\t"', cmp('a', 'eq', 'q"b\\s/\b\f\n\r\t')],
    ['a eq "caf\\u00e9"', cmp('a', 'eq', 'café')],
    ['a eq "\\ud83d\\ude00 ünïcødé"', cmp('a', 'eq', '😀 ünïcødé')],
    // URN-qualified names: the URN is everything before the last colon
    [`${ENTERPRISE}:department eq "x"`, cmp(at('department', undefined, ENTERPRISE), 'eq', 'x')],
    [`${ENTERPRISE}:manager.value eq "x"`, cmp(at('manager', 'value', ENTERPRISE), 'eq', 'x')],
    [`${CORE_USER}:name.givenName sw "B"`, cmp(at('name', 'givenName', CORE_USER), 'sw', 'B')],
    ['members.$ref eq "x"', cmp(at('members', '$ref'), 'eq', 'x')],
    // value paths, with relative inner paths
    [
      'emails[type eq "work" and value co "@x"]',
      vp('emails', and(cmp('type', 'eq', 'work'), cmp('value', 'co', '@x'))),
    ],
    ['emails[not (type eq "work")] and userName pr', and(vp('emails', not(cmp('type', 'eq', 'work'))), pr('userName'))],
    [
      `${ENTERPRISE}:manager[value eq "m"]`,
      { kind: 'valuePath', path: at('manager', undefined, ENTERPRISE), filter: cmp('value', 'eq', 'm') },
    ],
    // Entra's `[filter].sub op value` becomes one valuePath
    ['emails[type eq "work"].value eq "x"', vp('emails', and(cmp('type', 'eq', 'work'), cmp('value', 'eq', 'x')))],
    [
      'emails[type eq "work" or primary eq true].value pr',
      vp('emails', and(or(cmp('type', 'eq', 'work'), cmp('primary', 'eq', true)), pr('value'))),
    ],
    // AWS IAM Identity Center's membership probe
    ['id eq "g" and members eq "u"', and(cmp('id', 'eq', 'g'), cmp('members', 'eq', 'u'))],
    // keywords are names where a name is expected
    ['not eq 1', cmp('not', 'eq', 1)],
    ['and pr and pr pr', and(pr('and'), pr('pr'))],
    ['not[eq pr]', vp('not', pr('eq'))],
    // whitespace is free between tokens
    ['  a\teq\n"x"and(b pr)  ', and(cmp('a', 'eq', 'x'), pr('b'))],
  ];

  it.each(cases)('%s', (text, expected) => {
    expect(parsed(text)).toStrictEqual(expected);
  });
});

describe('parseFilter: invalid filters', () => {
  const cases: readonly (readonly [string, number, string])[] = [
    ['', 0, 'expected an attribute path'],
    ['userName', 8, 'expected an operator'],
    ['userName xx "a"', 9, 'expected an operator'],
    ['userName eq', 11, 'expected a value'],
    ['userName eq bjensen', 12, 'expected a value'],
    ['userName eq "a" foo', 16, 'expected `and`, `or` or the end'],
    ['userName eq "a" and', 19, 'expected an attribute path'],
    ['(a pr', 5, 'expected `and`, `or` or `)`'],
    ['a pr)', 4, 'expected `and`, `or` or the end'],
    ['not a pr', 4, 'expected an operator'],
    ['a eq "x', 5, 'unterminated string'],
    ['a eq "\\x"', 6, 'invalid escape `\\x`'],
    ['a eq "\\u12"', 6, 'invalid escape'],
    ['a eq "tab\there"', 9, 'control character U+0009'],
    ['a eq 01', 5, 'invalid number `01`'],
    ['a eq 12abc', 5, 'invalid number `12abc`'],
    ['a eq 1e999', 5, 'out of range'],
    ["a eq 'x'", 5, 'unexpected character'],
    ['a eq "é" ü', 9, 'unexpected character `ü`'],
    ['a.b.c pr', 0, 'invalid attribute path `a.b.c`'],
    ['foo:bar pr', 0, 'invalid attribute path'],
    ['urn:x: pr', 0, 'invalid attribute path'],
    ['emails[type eq "work"', 21, 'expected `and`, `or` or `]`'],
    ['emails[type[value pr] pr]', 11, 'cannot contain another value path'],
    ['name.givenName[x pr]', 14, 'must follow a top-level attribute'],
    ['emails[type eq "w"].(', 20, 'expected a sub-attribute name'],
    ['emails[type eq "w"].value', 25, 'expected an operator'],
    ['emails[type eq "w"] eq "x"', 20, 'expected `and`, `or` or the end'],
  ];

  it.each(cases)('%s → position %i', (text, position, fragment) => {
    const error = failure(text);
    expect(error.code).toBe('invalid_filter');
    expect(error.position).toBe(position);
    expect(error.detail).toContain(fragment);
  });
});

describe('parseFilter: limits', () => {
  it('exports the defaults', () => {
    expect(DEFAULT_FILTER_LIMITS).toEqual({ maxLength: 4096, maxNodes: 256, maxDepth: 32 });
  });

  it('refuses text longer than maxLength', () => {
    const text = `a eq "${'x'.repeat(4089)}"`;
    expect(text).toHaveLength(4096);
    expect(parseFilter(text).ok).toBe(true);
    expect(failure(`${text} `)).toMatchObject({ code: 'invalid_filter', position: 4096 });
    expect(failure('a eq "xx"', { maxLength: 8 })).toMatchObject({ position: 8 });
  });

  it('refuses more than maxNodes nodes', () => {
    const terms = (n: number) => Array.from({ length: n }, (_, i) => `a${i} pr`).join(' and ');
    expect(parseFilter(terms(128)).ok).toBe(true); // 255 nodes
    expect(failure(terms(129)).detail).toContain('limit of 256');
    expect(parseFilter(terms(2), { maxNodes: 3 }).ok).toBe(true);
    expect(failure(terms(3), { maxNodes: 3 }).code).toBe('invalid_filter');
  });

  it('counts the nodes of the desugared Entra form', () => {
    expect(parseFilter('emails[type eq "work"].value eq "x"', { maxNodes: 4 }).ok).toBe(true);
    expect(parseFilter('emails[type eq "work"].value eq "x"', { maxNodes: 3 }).ok).toBe(false);
  });

  it('refuses nesting deeper than maxDepth, counting (, not ( and [', () => {
    const nested = (n: number) => `${'('.repeat(n)}a pr${')'.repeat(n)}`;
    expect(parseFilter(nested(32)).ok).toBe(true);
    expect(failure(nested(33))).toMatchObject({ code: 'invalid_filter', position: 32 });
    expect(parseFilter('not (emails[type pr])', { maxDepth: 2 }).ok).toBe(true);
    expect(failure('not ((emails[type pr]))', { maxDepth: 2 }).position).toBe(12);
  });

  it('fails fast on deep nesting far beyond the limit', () => {
    expect(failure('('.repeat(4000)).position).toBe(32);
  });
});

describe('parseFilter: never throws', () => {
  const check = (text: string) => {
    const result = parseFilter(text);
    if (!result.ok) {
      expect(result.error.code).toBe('invalid_filter');
      expect(result.error.detail).toMatch(/^position \d+: /);
    }
  };
  /** Fragments of real filters, so random strings reach deep into the grammar. */
  const fragment = fc.constantFrom(
    ' ', '(', ')', '[', ']', '.', '"', '\\', 'not', 'and', 'or', 'eq', 'pr', 'co', 'gt', 'true', 'null',
    'emails', 'type', 'value', '"x"', '"\\u00e9"', '12', '-1.5e3', '$ref', `${ENTERPRISE}:`, 'manager.value', ':',
  );
  const soup = fc.array(fragment, { maxLength: 30 }).map((parts) => parts.join(''));
  /** Any UTF-16 code unit, lone surrogates included. */
  const codeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) });

  it('on arbitrary strings', () => fc.assert(fc.property(fc.string(), check)));
  it('on arbitrary Unicode strings', () => fc.assert(fc.property(fc.string({ unit: 'binary' }), check)));
  it('on arbitrary UTF-16 code units', () => fc.assert(fc.property(codeUnits, check)));
  it('on filter-like token soup', () => fc.assert(fc.property(soup, check), { numRuns: 2000 }));
});
