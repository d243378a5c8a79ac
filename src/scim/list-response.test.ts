import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors.js';
import { listResponse } from './list-response.js';
import { LIST_RESPONSE } from './schema/urns.js';

describe('listResponse', () => {
  it('builds an RFC 7644 ListResponse with integer counts, in a fixed key order', () => {
    const out = listResponse([{ id: 'a' }, { id: 'b' }], { totalResults: 12, startIndex: 3 });
    expect(out).toStrictEqual({
      schemas: [LIST_RESPONSE],
      totalResults: 12,
      startIndex: 3,
      itemsPerPage: 2,
      Resources: [{ id: 'a' }, { id: 'b' }],
    });
    expect(Object.keys(out)).toEqual(['schemas', 'totalResults', 'startIndex', 'itemsPerPage', 'Resources']);
  });

  it('returns an empty Resources list for a filter that misses (Entra connection test)', () => {
    expect(listResponse([], { totalResults: 0, startIndex: 1 })).toStrictEqual({
      schemas: [LIST_RESPONSE],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });
  });

  it('carries nextCursor and leaves startIndex out on a cursor walk (RFC 9865)', () => {
    const out = listResponse([{ id: 'a' }], { totalResults: 5, itemsPerPage: 1, nextCursor: 'abc' });
    expect(Object.keys(out)).toEqual(['schemas', 'totalResults', 'itemsPerPage', 'nextCursor', 'Resources']);
    expect(out.nextCursor).toBe('abc');
  });

  it.each([
    ['a fractional total', { totalResults: 1.5 }],
    ['a negative startIndex', { totalResults: 1, startIndex: -1 }],
    ['a string count', { totalResults: '3' as unknown as number }],
  ])('refuses %s as an internal error', (_, paging) => {
    expect(() => listResponse([], paging)).toThrow(AppError);
    try {
      listResponse([], paging);
    } catch (err) {
      expect((err as AppError).code).toBe('internal');
    }
  });
});
