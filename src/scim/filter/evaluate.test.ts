import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ResourceTypeDef } from '../../core/attribute.js';
import type { Filter, ResolvedAttr } from '../../core/filter.js';
import { groupResourceType, userResourceType } from '../schema/resource-types.js';
import { ENTERPRISE_USER_SCHEMA as ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA } from '../schema/urns.js';
import { evaluateFilter } from './evaluate.js';
import { parseFilter } from './parser.js';
import { resolveFilter } from './resolve.js';

function resolved(text: string, rt: ResourceTypeDef): Filter<ResolvedAttr> {
  const parsed = parseFilter(text);
  const result = parsed.ok ? resolveFilter(parsed.value, rt) : parsed;
  if (!result.ok) throw new Error(`test filter rejected: ${result.error.detail}`);
  return result.value;
}

const BARBARA_ID = '2819c223-7f76-453a-919d-413861904646';
const MANAGER_ID = '26118915-6090-4610-87e4-49d8ca9f808d';
const GUIDES_ID = 'e9e30dba-f08f-4109-8486-d5c6a331660a';

/** Users as the server renders them (RFC 7643 §8.3 and friends). */
const users: Resources = {
  barbara: {
    schemas: [USER_SCHEMA, ENTERPRISE],
    id: BARBARA_ID,
    externalId: 'bjensen',
    userName: 'BJensen@Example.com',
    name: { formatted: 'Ms. Barbara J Jensen III', familyName: 'Jensen', givenName: 'Barbara' },
    displayName: 'Babs Jensen',
    title: 'Tour Guide',
    active: true,
    emails: [
      { value: 'bjensen@example.com', type: 'work', primary: true },
      { value: 'babs@jensen.org', type: 'home' },
    ],
    groups: [{ value: GUIDES_ID, display: 'Tour Guides', type: 'direct' }],
    meta: { resourceType: 'User', created: '2025-06-01T08:00:00.000Z', lastModified: '2026-02-03T10:00:00.000Z' },
    [ENTERPRISE]: {
      employeeNumber: '701984',
      department: 'Tour Operations',
      manager: { value: MANAGER_ID, displayName: 'John Smith' },
    },
  },
  ana: {
    schemas: [USER_SCHEMA, ENTERPRISE],
    id: 'a0c7d1e4-0000-4000-8000-000000000001',
    userName: 'ana@x.com',
    title: 'Engineering Manager',
    active: true,
    emails: [
      { value: 'ana@x.com', type: 'home' },
      { value: 'ana@corp.example', type: 'work' },
    ],
    meta: { resourceType: 'User', created: '2025-12-31T23:00:00.000Z', lastModified: '2025-12-31T23:00:00.000Z' },
    [ENTERPRISE]: { department: 'Engineering' },
  },
  kim: {
    schemas: [USER_SCHEMA],
    id: 'b1d8e2f5-0000-4000-8000-000000000002',
    userName: 'kim',
    name: { givenName: '' },
    active: false,
    emails: [],
    meta: { resourceType: 'User', created: '2026-03-01T00:00:00.000Z', lastModified: '2026-03-01T00:00:00.000Z' },
  },
};

const groups: Resources = {
  guides: {
    schemas: [GROUP_SCHEMA],
    id: GUIDES_ID,
    displayName: 'Tour Guides',
    members: [{ value: BARBARA_ID, type: 'User', display: 'Babs Jensen' }],
    meta: { resourceType: 'Group', created: '2025-01-01T00:00:00.000Z', lastModified: '2025-01-01T00:00:00.000Z' },
  },
  empty: {
    schemas: [GROUP_SCHEMA],
    id: 'f0000000-0000-4000-8000-000000000003',
    displayName: 'Nobody',
    members: [],
    meta: { resourceType: 'Group', created: '2025-01-01T00:00:00.000Z', lastModified: '2025-01-01T00:00:00.000Z' },
  },
};

type Resources = Readonly<Record<string, Record<string, unknown>>>;

function matching(text: string, rt: ResourceTypeDef, resources: Resources): string[] {
  const filter = resolved(text, rt);
  return Object.keys(resources).filter((key) => evaluateFilter(filter, resources[key] as Record<string, unknown>));
}

describe('evaluateFilter on users', () => {
  it.each([
    // caseExact false: userName, emails, department compare case-insensitively; id and externalId do not
    ['userName eq "bjensen@example.com"', ['barbara']],
    ['USERNAME EQ "BJENSEN@EXAMPLE.COM"', ['barbara']],
    ['externalId eq "bjensen"', ['barbara']],
    ['externalId eq "BJENSEN"', []],
    [`id eq "${BARBARA_ID.toUpperCase()}"`, []],
    // Entra and attribute rules: the enterprise extension
    [`${ENTERPRISE}:department eq "tour operations"`, ['barbara']],
    [`${ENTERPRISE}:department eq "Engineering" and title co "Manager"`, ['ana']],
    [`${ENTERPRISE}:manager.value eq "${MANAGER_ID}"`, ['barbara']],
    // Entra checks the current manager with `manager eq`: the implied `.value` of a reference.
    [`manager eq "${MANAGER_ID}"`, ['barbara']],
    [`${ENTERPRISE}:manager eq "${MANAGER_ID}"`, ['barbara']],
    [`${ENTERPRISE}:manager[value eq "${MANAGER_ID}"]`, ['barbara']],
    [`${ENTERPRISE}:employeeNumber pr`, ['barbara']],
    // value paths test one element; plain paths may be met by different elements
    ['emails[type eq "work" and value co "@example.com"]', ['barbara']],
    ['emails[type eq "work" and value co "@x.com"]', []],
    ['emails.type eq "work" and emails.value co "@x.com"', ['ana']],
    ['emails[type eq "work"].value eq "BJensen@Example.com"', ['barbara']],
    ['emails[not (type eq "work")]', ['barbara', 'ana']],
    ['emails co "jensen"', ['barbara']],
    ['emails ew ".example"', ['ana']],
    ['groups eq "' + GUIDES_ID + '"', ['barbara']],
    // ne is `not eq`: missing values are `ne` anything; on lists, no element may equal
    ['title ne "Tour Guide"', ['ana', 'kim']],
    ['emails.type ne "work"', ['kim']],
    ['emails.type ne "home"', ['kim']],
    // dateTimes compare as instants, whatever the zone of the literal
    ['meta.lastModified gt "2026-01-01T00:00:00Z"', ['barbara', 'kim']],
    ['meta.created eq "2026-01-01T00:00:00+01:00"', ['ana']],
    ['meta.created lt "2026-01-01T00:00:00+01:00"', ['barbara']],
    ['meta.created le "2026-01-01T00:00:00+01:00"', ['barbara', 'ana']],
    // booleans, Entra's strings included
    ['active eq true', ['barbara', 'ana']],
    ['active eq "False"', ['kim']],
    ['active ne true', ['kim']],
    // pr: missing, empty strings and empty lists are absent; false is a value
    ['emails pr', ['barbara', 'ana']],
    ['not (emails pr)', ['kim']],
    ['name.givenName pr', ['barbara']],
    ['name pr', ['barbara']],
    ['active pr', ['barbara', 'ana', 'kim']],
    ['title eq null', ['kim']],
    // strings order by code point after lowercasing
    ['userName gt "b"', ['barbara', 'kim']],
    ['userName lt "BJENSEN@EXAMPLE.COM"', ['ana']],
    ['userName ge "BJENSEN@EXAMPLE.COM"', ['barbara', 'kim']],
    ['name.givenName sw "bar" or displayName ew "JENSEN"', ['barbara']],
    ['(title co "guide" or title co "manager") and not (active eq false)', ['barbara', 'ana']],
  ])('%s', (text, expected) => {
    expect(matching(text, userResourceType, users)).toEqual(expected);
  });
});

describe('evaluateFilter on groups', () => {
  it.each([
    [`members eq "${BARBARA_ID}"`, ['guides']],
    [`id eq "${GUIDES_ID}" and members eq "${BARBARA_ID}"`, ['guides']],
    [`id eq "${GUIDES_ID}" and members eq "someone-else"`, []],
    [`members[value eq "${BARBARA_ID}" and type eq "user"]`, ['guides']],
    ['displayName eq "tour guides"', ['guides']],
    ['members pr', ['guides']],
    ['members ne "x"', ['guides', 'empty']],
  ])('%s', (text, expected) => {
    expect(matching(text, groupResourceType, groups)).toEqual(expected);
  });
});

describe('evaluateFilter: edge cases of the semantics', () => {
  const titleOf = resolved('title pr', userResourceType);
  if (titleOf.kind !== 'present') throw new Error('unreachable');
  const { path } = titleOf;
  const present: Filter<ResolvedAttr> = { kind: 'present', path };
  const title = { kind: 'compare', path, op: 'eq', value: 'x' } as const;

  it.each([
    [undefined, false],
    [null, false],
    ['', false],
    [[], false],
    [[null, ''], false],
    [{}, false],
    [{ a: null, b: '' }, false],
    [false, true],
    [0, true],
    [' ', true],
    [{ a: false }, true],
  ])('pr on %j is %s', (value, expected) => {
    expect(evaluateFilter(present, { title: value })).toBe(expected);
  });

  it('matches nothing with a null value or a value of the wrong type', () => {
    expect(evaluateFilter({ ...title, value: null }, { title: 'x' })).toBe(false);
    expect(evaluateFilter({ ...title, op: 'ne', value: null }, { title: 'x' })).toBe(true);
    expect(evaluateFilter(title, { title: 42 })).toBe(false);
    expect(evaluateFilter(resolved('active eq true', userResourceType), { active: 'true' })).toBe(false);
    const created = resolved('meta.created gt "2020-01-01T00:00:00Z"', userResourceType);
    expect(evaluateFilter(created, { meta: { created: 'soon' } })).toBe(false);
  });

  it('orders strings by code point, as UTF-8 bytes do, not by UTF-16 unit', () => {
    // U+FF21 (fullwidth A) is one unit 0xFF21; U+1F600 is the pair 0xD83D 0xDE00: code points order them the other way.
    const filter = resolved('title gt "\uff21"', userResourceType);
    expect(evaluateFilter(filter, { title: '😀' })).toBe(true);
  });

  it('reads extension attributes only under the extension URN', () => {
    const department = resolved('department eq "eng"', userResourceType);
    expect(evaluateFilter(department, { department: 'eng' })).toBe(false);
    expect(evaluateFilter(department, { [ENTERPRISE]: { department: 'ENG' } })).toBe(true);
    expect(evaluateFilter(department, { [ENTERPRISE]: 'eng' })).toBe(false);
  });

  it('treats a single value where a list is expected as a list of one', () => {
    const work = resolved('emails[type eq "work"]', userResourceType);
    expect(evaluateFilter(work, { emails: { type: 'work' } })).toBe(true);
  });
});

describe('evaluateFilter: total on any JSON', () => {
  const filters = [
    'userName eq "a"',
    'title ne "a"',
    'emails[type eq "work" and not (value co "@x")]',
    'emails.value sw "a" or emails pr',
    'meta.lastModified ge "2026-01-01T00:00:00Z"',
    'active eq true',
    `${ENTERPRISE}:manager.value eq "m" and ${ENTERPRISE}:department pr`,
    'name.givenName gt "m"',
  ].map((text) => resolved(text, userResourceType));
  const json = fc.jsonValue({ maxDepth: 3 });
  const isoDate = fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  const resource = fc.record(
    {
      userName: json,
      title: json,
      active: json,
      emails: fc.oneof(json, fc.array(fc.record({ type: json, value: json }, { requiredKeys: [] }))),
      meta: fc.oneof(json, fc.record({ lastModified: fc.oneof(json, isoDate) })),
      name: json,
      [ENTERPRISE]: fc.oneof(json, fc.record({ department: json, manager: json }, { requiredKeys: [] })),
    },
    { requiredKeys: [] },
  );

  it('never throws on resources of arbitrary shape', () => {
    fc.assert(
      fc.property(fc.constantFrom(...filters), resource, (filter, doc) => {
        expect(typeof evaluateFilter(filter, doc)).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});
