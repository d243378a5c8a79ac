import { AppError } from '../core/errors.js';
import { LIST_RESPONSE } from './schema/urns.js';

/**
 * RFC 7644 §3.4.2 ListResponse, with RFC 9865 `nextCursor`. Key order is fixed so responses diff
 * cleanly: `schemas`, `totalResults`, `startIndex`, `itemsPerPage`, `nextCursor`, `Resources`.
 */
export interface ListResponse<T = Record<string, unknown>> {
  readonly schemas: readonly string[];
  readonly totalResults: number;
  readonly startIndex?: number;
  readonly itemsPerPage: number;
  readonly nextCursor?: string;
  readonly Resources: readonly T[];
}

export interface ListPaging {
  readonly totalResults: number;
  /** The 1-based index the request asked for, echoed; left out on a cursor walk, where it means nothing. */
  readonly startIndex?: number;
  /** Defaults to the number of resources on the page. */
  readonly itemsPerPage?: number;
  /** RFC 9865: present on every page of a cursor walk but the last. */
  readonly nextCursor?: string;
}

/**
 * Wraps a page of rendered resources. Counts must be integers: Okta rejects `"totalResults": "3"`
 * and fractional counts alike (IDP-BEHAVIOUR §1.1), so a non-integer here is a bug, not client input.
 *
 * @example listResponse([user], { totalResults: 1, startIndex: 1 })
 */
export function listResponse<T>(resources: readonly T[], paging: ListPaging): ListResponse<T> {
  const itemsPerPage = paging.itemsPerPage ?? resources.length;
  // INVARIANT: every count in a ListResponse is a non-negative integer.
  for (const [name, value] of [
    ['totalResults', paging.totalResults],
    ['startIndex', paging.startIndex ?? 1],
    ['itemsPerPage', itemsPerPage],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new AppError('internal', 'a list response count is not a non-negative integer', {
        cause: new Error(`${name} = ${String(value)}`),
      });
    }
  }
  return {
    schemas: [LIST_RESPONSE],
    totalResults: paging.totalResults,
    ...(paging.startIndex !== undefined ? { startIndex: paging.startIndex } : {}),
    itemsPerPage,
    ...(paging.nextCursor !== undefined ? { nextCursor: paging.nextCursor } : {}),
    Resources: resources,
  };
}
