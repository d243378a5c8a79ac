import { describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../core/errors.js';
import type { Filter } from '../core/filter.js';
import { parseFilter, resolveFilter } from './filter/index.js';
import { parseListRequest, type ListLimits } from './list-request.js';
import { findSubAttribute, findTopAttribute } from './schema/lookup.js';
import { groupResourceType, userResourceType } from './schema/resource-types.js';
import { ENTERPRISE_USER_SCHEMA, SEARCH_REQUEST, USER_SCHEMA } from './schema/urns.js';

const limits: ListLimits = { maxResults: 200, defaultPageSize: 50 };
const user = userResourceType;
const group = groupResourceType;

function resolved(text: string, rt = user): Filter {
  const parsed = parseFilter(text);
  if (!parsed.ok) throw parsed.error;
  const result = resolveFilter(parsed.value, rt);
  if (!result.ok) throw result.error;
  return result.value;
}

function failure(input: Record<string, unknown>, rt = user, lim = limits): { code: ErrorCode; scimType?: string } {
  try {
    parseListRequest(input, rt, lim);
  } catch (err) {
    if (err instanceof AppError) return { code: err.code, ...(err.scimType ? { scimType: err.scimType } : {}) };
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(input)} to fail`);
}

describe('parseListRequest: paging (RFC 7644 §3.4.2.4)', () => {
  it.each([
    ['nothing', {}, 1, 50],
    ['Okta probe', { startIndex: '1', count: '2' }, 1, 2],
    ['Okta paging', { startIndex: '101', count: '100' }, 101, 100],
    ['startIndex 0 → 1', { startIndex: '0' }, 1, 50],
    ['negative startIndex → 1', { startIndex: '-5' }, 1, 50],
    ['count 0 (totalResults only)', { count: '0' }, 1, 0],
    ['negative count → 0', { count: '-3' }, 1, 0],
    ['count above maxResults → maxResults', { count: '100000' }, 1, 200],
    ['huge digit strings clamp', { startIndex: '99999999999999999999999', count: '99999999999999999999999' }, Number.MAX_SAFE_INTEGER, 200],
    ['explicit plus sign and spaces', { startIndex: ' +3 ', count: ' 7' }, 3, 7],
    ['empty values count as absent', { startIndex: '', count: '' }, 1, 50],
    ['SearchRequest numbers', { schemas: [SEARCH_REQUEST], startIndex: 11, count: 10 }, 11, 10],
    ['parameter names in any case', { STARTINDEX: '4', Count: '5' }, 4, 5],
  ])('%s', (_, input, startIndex, count) => {
    const parsed = parseListRequest(input, user, limits);
    expect(parsed.startIndex).toBe(startIndex);
    expect(parsed.count).toBe(count);
    expect(parsed.query.startIndex).toBe(startIndex);
    expect(parsed.query.count).toBe(count);
    expect(parsed.query).not.toHaveProperty('cursor');
  });

  it('never defaults to more than maxResults', () => {
    expect(parseListRequest({}, user, { maxResults: 10, defaultPageSize: 100 }).count).toBe(10);
  });

  it.each([
    ['count=abc', { count: 'abc' }],
    ['count=1.5', { count: '1.5' }],
    ['count=1e3', { count: '1e3' }],
    ['startIndex=0x10', { startIndex: '0x10' }],
    ['a repeated count', { count: ['1', '2'] }],
    ['a fractional JSON count', { schemas: [SEARCH_REQUEST], count: 2.5 }],
    ['a boolean JSON startIndex', { schemas: [SEARCH_REQUEST], startIndex: true }],
    ['one parameter in two spellings', { count: '1', COUNT: '2' }],
  ])('rejects %s with invalid_value', (_, input) => {
    expect(failure(input)).toEqual({ code: 'invalid_value', scimType: 'invalidValue' });
  });
});

describe('parseListRequest: cursor (RFC 9865)', () => {
  it('an empty cursor starts a cursor walk; startIndex is not echoed', () => {
    const parsed = parseListRequest({ cursor: '', count: '10' }, user, limits);
    expect(parsed.query).toMatchObject({ cursor: '', count: 10, startIndex: 1 });
    expect(parsed.startIndex).toBeUndefined();
  });

  it('passes a nextCursor through unchanged', () => {
    expect(parseListRequest({ cursor: 'WzEsImFiYyIsMyw_In0~.x' }, user, limits).query.cursor).toBe('WzEsImFiYyIsMyw_In0~.x');
  });

  it('works in a SearchRequest body', () => {
    const body = { schemas: [SEARCH_REQUEST], cursor: '', count: 10, attributes: ['userName'] };
    expect(parseListRequest(body, user, limits).query).toMatchObject({ cursor: '', count: 10 });
  });

  it.each([
    ['cursor with startIndex', { cursor: 'abc', startIndex: '1' }, 'invalid_value'],
    ['an empty cursor with startIndex', { cursor: '', startIndex: '5' }, 'invalid_value'],
    ['reserved characters', { cursor: 'a/b+c=' }, 'invalid_cursor'],
    ['a non-string cursor', { schemas: [SEARCH_REQUEST], cursor: 5 }, 'invalid_cursor'],
  ] as const)('rejects %s', (_, input, code) => {
    expect(failure(input).code).toBe(code);
  });

  it('allows an empty startIndex next to a cursor (it counts as absent)', () => {
    expect(parseListRequest({ cursor: 'abc', startIndex: '' }, user, limits).query.cursor).toBe('abc');
  });
});

describe('parseListRequest: filter', () => {
  it('passes userName eq through unchanged: no case folding here', () => {
    const parsed = parseListRequest({ filter: 'userName eq "Bjensen@Example.com"' }, user, limits);
    expect(parsed.query.filter).toStrictEqual(resolved('userName eq "Bjensen@Example.com"'));
    expect(parsed.query.filter).toMatchObject({ kind: 'compare', op: 'eq', value: 'Bjensen@Example.com' });
  });

  it('passes displayName eq through unchanged on groups (Entra group lookup)', () => {
    const parsed = parseListRequest({ filter: 'displayName eq "Eng Team"', excludedAttributes: 'members' }, group, limits);
    expect(parsed.query.filter).toStrictEqual(resolved('displayName eq "Eng Team"', group));
    expect(parsed.query.members).toBe(false);
  });

  it('resolves Entra connection-test, enterprise and member filters', () => {
    expect(parseListRequest({ filter: 'externalId eq "6b7c1d2e-0000-4000-8000-000000000001"' }, user, limits).query.filter).toBeDefined();
    expect(parseListRequest({ filter: `${ENTERPRISE_USER_SCHEMA}:employeeNumber eq "42"` }, user, limits).query.filter).toBeDefined();
    expect(parseListRequest({ filter: 'id eq "g" and members eq "u"' }, group, limits).query.filter).toBeDefined();
  });

  it('treats an empty filter as none', () => {
    expect(parseListRequest({ filter: '  ' }, user, limits).query).not.toHaveProperty('filter');
  });

  it.each([
    ['a syntax error', { filter: 'userName eq' }],
    ['an unknown attribute', { filter: 'shoeSize eq 42' }],
    ['a password probe', { filter: 'password eq "x"' }],
    ['a filter over the node limit', { filter: 'userName pr or title pr or nickName pr' }],
    ['a repeated filter', { filter: ['userName pr', 'id pr'] }],
    ['a non-string filter', { schemas: [SEARCH_REQUEST], filter: 5 }],
  ])('rejects %s with invalid_filter', (_, input) => {
    const lim = { ...limits, filter: { maxNodes: 3 } };
    expect(failure(input, user, lim)).toEqual({ code: 'invalid_filter', scimType: 'invalidFilter' });
  });
});

describe('parseListRequest: sorting (RFC 7644 §3.4.2.3)', () => {
  const userName = findTopAttribute(user, undefined, 'userName')?.def;
  const emails = findTopAttribute(user, undefined, 'emails')?.def;

  it('resolves sortBy, ascending by default', () => {
    const query = parseListRequest({ sortBy: 'USERNAME' }, user, limits).query;
    expect(query.sortBy).toStrictEqual({ schema: USER_SCHEMA, top: userName });
    expect(query.descending).toBe(false);
  });

  it.each([
    ['descending', true],
    ['DESCENDING', true],
    ['Ascending', false],
    ['', false],
  ])('sortOrder=%s', (sortOrder, descending) => {
    expect(parseListRequest({ sortBy: 'userName', sortOrder }, user, limits).query.descending).toBe(descending);
  });

  it('ignores sortOrder without sortBy', () => {
    const query = parseListRequest({ sortOrder: 'descending' }, user, limits).query;
    expect(query).not.toHaveProperty('sortBy');
    expect(query).not.toHaveProperty('descending');
  });

  it('sorts a multi-valued complex attribute by its value', () => {
    const sortBy = parseListRequest({ sortBy: 'emails' }, user, limits).query.sortBy;
    expect(sortBy).toStrictEqual({ schema: USER_SCHEMA, top: emails, sub: emails && findSubAttribute(emails, 'value') });
  });

  it('accepts URN-qualified and meta paths', () => {
    expect(parseListRequest({ sortBy: `${ENTERPRISE_USER_SCHEMA}:department` }, user, limits).query.sortBy?.schema).toBe(
      ENTERPRISE_USER_SCHEMA,
    );
    expect(parseListRequest({ sortBy: 'meta.lastModified' }, user, limits).query.sortBy?.sub?.name).toBe('lastModified');
  });

  it.each([
    ['an unknown attribute', { sortBy: 'shoeSize' }],
    ['a singular complex attribute', { sortBy: 'name' }],
    ['password', { sortBy: 'password' }],
    ['members', { sortBy: 'members' }, group],
    ['groups', { sortBy: 'groups.display' }],
    ['a malformed path', { sortBy: 'emails[type eq "work"]' }],
    ['a bad sortOrder', { sortBy: 'userName', sortOrder: 'up' }],
  ])('rejects %s with invalid_value', (_, input, rt = user) => {
    expect(failure(input, rt).code).toBe('invalid_value');
  });
});

describe('parseListRequest: projection and reads', () => {
  it('Entra group listing: excludedAttributes=members never reads members', () => {
    const parsed = parseListRequest({ excludedAttributes: 'members' }, group, limits);
    expect(parsed.query.members).toBe(false);
    expect(parsed.projection.readsMembers).toBe(false);
  });

  it('reads members and groups by default', () => {
    expect(parseListRequest({}, group, limits).query.members).toBe(true);
    expect(parseListRequest({}, user, limits).query.groups).toBe(true);
  });

  it('attributes=userName skips the group walk', () => {
    expect(parseListRequest({ attributes: 'userName' }, user, limits).query.groups).toBe(false);
  });

  it('accepts attributes as a SearchRequest array', () => {
    const body = { schemas: [SEARCH_REQUEST], attributes: ['userName', 'displayName'], excludedAttributes: [] };
    expect(parseListRequest(body, user, limits).projection.readsGroups).toBe(false);
  });

  it.each([
    ['an unknown attribute', { attributes: 'shoeSize' }],
    ['a non-string attributes entry', { schemas: [SEARCH_REQUEST], attributes: ['userName', 5] }],
  ])('rejects %s with invalid_value', (_, input) => {
    expect(failure(input).code).toBe('invalid_value');
  });
});

describe('parseListRequest: SearchRequest (RFC 7644 §3.4.3)', () => {
  it('reads a full SearchRequest', () => {
    const body = {
      schemas: [SEARCH_REQUEST],
      attributes: ['displayName', 'userName'],
      filter: 'displayName sw "smith"',
      sortBy: 'userName',
      sortOrder: 'descending',
      startIndex: 1,
      count: 10,
    };
    const parsed = parseListRequest(body, user, limits);
    expect(parsed.query).toMatchObject({ startIndex: 1, count: 10, descending: true, groups: false });
    expect(parsed.query.filter).toStrictEqual(resolved('displayName sw "smith"'));
  });

  it('accepts the schema URN in any case and ignores unknown keys', () => {
    expect(parseListRequest({ schemas: [SEARCH_REQUEST.toUpperCase()], whatever: 1 }, user, limits).count).toBe(50);
  });

  it.each([
    ['no SearchRequest URN', { schemas: [USER_SCHEMA] }],
    ['an empty schemas list', { schemas: [] }],
    ['schemas not a list of strings', { schemas: { a: 1 } }],
  ])('rejects %s with invalid_syntax', (_, input) => {
    expect(failure(input)).toEqual({ code: 'invalid_syntax', scimType: 'invalidSyntax' });
  });

  it('ignores unknown query parameters such as Entra’s feature flag', () => {
    expect(parseListRequest({ aadOptscim062020: '', count: '1' }, user, limits).count).toBe(1);
  });
});
