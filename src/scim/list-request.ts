import type { ResourceTypeDef } from '../core/attribute.js';
import { AppError } from '../core/errors.js';
import type { ResolvedAttr } from '../core/filter.js';
import type { ListQuery } from '../store/store.js';
import { parseAttrPath, parseFilter, resolveAttrPath, resolveFilter, type FilterLimits } from './filter/index.js';
import { parseProjection, type Projection } from './resource/projection.js';
import { findSubAttribute } from './schema/lookup.js';
import { SEARCH_REQUEST } from './schema/urns.js';

export interface ListLimits {
  /** The most resources one page holds; a larger `count` is clamped to it (RFC 7644 §3.4.2.4 allows that). */
  readonly maxResults: number;
  /** The page size when the request gives no `count`. */
  readonly defaultPageSize: number;
  readonly filter?: Partial<FilterLimits>;
}

export interface ListRequest {
  /** What the store runs: filter and sort resolved, paging settled, members/groups reads from the projection. */
  readonly query: ListQuery;
  readonly projection: Projection;
  /** The `startIndex` to echo in the ListResponse; undefined on a cursor walk (RFC 9865), where it means nothing. */
  readonly startIndex: number | undefined;
  readonly count: number;
}

/**
 * Reads a list request: the query string of `GET /Users` (values are strings, or lists of strings
 * when a parameter repeats) or the body of `POST /Users/.search` (RFC 7644 §3.4.3: typed values,
 * `attributes` as an array). Parameter names are matched case-insensitively (RFC 7643 §2.1 makes
 * attribute names so; IdPs are not careful about parameter names either). Unknown parameters
 * (Entra's `aadOptscim062020` feature flag) are ignored.
 *
 * A SearchRequest is told apart by its `schemas` key, which must then hold
 * `urn:ietf:params:scim:api:messages:2.0:SearchRequest` (`invalid_syntax` otherwise); a body without
 * `schemas` is read leniently, like a query string.
 *
 * Paging (RFC 7644 §3.4.2.4, RFC 9865):
 * - `startIndex` below 1 is 1; `count` below 0 is 0; above `maxResults` it is clamped; absent, it is
 *   `defaultPageSize`. Anything but an integer is `invalid_value`; an empty query value counts as absent.
 * - `cursor` starts or continues a cursor walk; present but empty means the first page. Its characters
 *   must be RFC 3986 unreserved ones (`invalid_cursor`). `cursor` with `startIndex` is `invalid_value`:
 *   the two paging methods do not mix.
 *
 * The filter is parsed and resolved, then passed on untouched: `userName eq "X"` reaches the SQL
 * compiler as written (case-insensitive matching is the compiler's job, IDP-BEHAVIOUR rule 6).
 * Filter errors are `invalid_filter`; `sortBy` and `sortOrder` errors are `invalid_value`.
 *
 * @example parseListRequest({ filter: 'userName eq "bjensen"', count: '1' }, userResourceType, limits)
 */
export function parseListRequest(input: Record<string, unknown>, rt: ResourceTypeDef, limits: ListLimits): ListRequest {
  const params = new Params(input);
  const schemas = params.raw('schemas');
  if (schemas !== undefined) checkSearchRequest(schemas);

  const projection = parseProjection(rt, params.names('attributes'), params.names('excludedAttributes'));
  const filterText = params.text('filter', 'invalid_filter');
  const sortByText = params.text('sortBy', 'invalid_value');
  const sortOrder = params.text('sortOrder', 'invalid_value');
  const cursor = params.cursor();
  const requestedStart = params.integer('startIndex');
  const requestedCount = params.integer('count');

  if (cursor !== undefined && requestedStart !== undefined) {
    throw new AppError('invalid_value', '`cursor` and `startIndex` cannot be combined: page by one or the other');
  }
  const startIndex = Math.max(1, requestedStart ?? 1);
  const pageSize = Math.min(limits.defaultPageSize, limits.maxResults);
  const count = Math.min(Math.max(0, requestedCount ?? pageSize), limits.maxResults);
  const sortBy = sortByText === undefined || sortByText.trim() === '' ? undefined : sortKey(sortByText, rt);
  const descending = sortBy !== undefined && isDescending(sortOrder);
  const filter = filterText === undefined || filterText.trim() === '' ? undefined : resolvedFilter(filterText, rt, limits);

  const query: ListQuery = {
    ...(filter !== undefined ? { filter } : {}),
    ...(sortBy !== undefined ? { sortBy, descending } : {}),
    startIndex: cursor === undefined ? startIndex : 1,
    count,
    ...(cursor !== undefined ? { cursor } : {}),
    members: projection.readsMembers,
    groups: projection.readsGroups,
  };
  return { query, projection, startIndex: cursor === undefined ? startIndex : undefined, count };
}

/** RFC 3986 §2.3 unreserved characters, the only ones RFC 9865 allows in a cursor. */
const CURSOR = /^[A-Za-z0-9._~-]*$/;
/** An optionally signed run of digits; `1.0`, `1e3` and `0x10` are not integers to us. */
const INTEGER = /^[+-]?\d+$/;

/** Case-insensitive access to the request's parameters, with the type rules of both input forms. */
class Params {
  private readonly entries: ReadonlyMap<string, { key: string; value: unknown }[]>;

  constructor(input: Record<string, unknown>) {
    const entries = new Map<string, { key: string; value: unknown }[]>();
    for (const [key, value] of Object.entries(input)) {
      const lower = key.toLowerCase();
      entries.set(lower, [...(entries.get(lower) ?? []), { key, value }]);
    }
    this.entries = entries;
  }

  /** The value of `name` under whatever spelling; `startIndex` and `STARTINDEX` together are ambiguous. */
  raw(name: string): unknown {
    const found = this.entries.get(name.toLowerCase());
    if (found === undefined) return undefined;
    if (found.length > 1) throw invalid(`\`${name}\` is given more than once (${found.map((e) => `\`${e.key}\``).join(', ')})`);
    return found[0]?.value;
  }

  /** A single value: a repeated query parameter arrives as an array and is refused. */
  private scalar(name: string, code: 'invalid_value' | 'invalid_filter'): unknown {
    const value = this.raw(name);
    if (Array.isArray(value)) throw new AppError(code, `\`${name}\` is given more than once`);
    return value;
  }

  text(name: string, code: 'invalid_value' | 'invalid_filter'): string | undefined {
    const value = this.scalar(name, code);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw new AppError(code, `\`${name}\` must be a string`);
    return value;
  }

  integer(name: string): number | undefined {
    const value = this.scalar(name, 'invalid_value');
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number' && Number.isInteger(value)) return clampSafe(value);
    if (typeof value === 'string') {
      const text = value.trim();
      if (text === '') return undefined;
      if (INTEGER.test(text)) return clampSafe(Number(text));
    }
    throw invalid(`\`${name}\` must be an integer, not \`${shown(value)}\``);
  }

  /** `attributes` / `excludedAttributes`: a comma-separated string, or a list of them. */
  names(name: string): string | string[] | undefined {
    const value = this.raw(name);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && value.every((item): item is string => typeof item === 'string')) return value;
    throw invalid(`\`${name}\` must be a list of attribute names`);
  }

  cursor(): string | undefined {
    const value = this.scalar('cursor', 'invalid_value');
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw new AppError('invalid_cursor', '`cursor` must be a string');
    if (!CURSOR.test(value)) throw new AppError('invalid_cursor', `cursor \`${value.slice(0, 64)}\` is not valid`);
    return value;
  }
}

function checkSearchRequest(schemas: unknown): void {
  const list = Array.isArray(schemas) ? schemas : [schemas];
  if (!list.some((s) => typeof s === 'string' && s.toLowerCase() === SEARCH_REQUEST.toLowerCase())) {
    throw new AppError('invalid_syntax', `a search request must list \`${SEARCH_REQUEST}\` in \`schemas\``);
  }
}

function resolvedFilter(text: string, rt: ResourceTypeDef, limits: ListLimits): ListQuery['filter'] {
  const parsed = parseFilter(text, limits.filter);
  if (!parsed.ok) throw parsed.error;
  const resolved = resolveFilter(parsed.value, rt);
  if (!resolved.ok) throw resolved.error;
  return resolved.value;
}

/**
 * RFC 7644 §3.4.2.3. A multi-valued complex attribute sorts by its `value` (the store takes the
 * primary one, or the first); a singular complex one (`name`) names no single value, and neither
 * `password` nor the store-kept `members` / `groups` lists can order resources.
 */
function sortKey(text: string, rt: ResourceTypeDef): ResolvedAttr {
  const parsed = parseAttrPath(text.trim());
  if (!parsed.ok) throw invalid(`\`sortBy\`: ${parsed.error.detail}`, parsed.error);
  const resolved = resolveAttrPath(parsed.value, rt);
  if (!resolved.ok) throw invalid(`\`sortBy\`: ${resolved.error.detail}`, resolved.error);
  const path = resolved.value;
  const leaf = path.sub ?? path.top;
  const storeKept = path.schema === rt.schema.id && ['members', 'groups'].includes(path.top.name);
  if (path.top.returned === 'never' || leaf.returned === 'never' || storeKept) {
    throw invalid(`cannot sort by \`${text.trim()}\``);
  }
  if (leaf.type !== 'complex') return path;
  const value = path.top.multiValued ? findSubAttribute(path.top, 'value') : undefined;
  if (value === undefined) throw invalid(`cannot sort by complex attribute \`${text.trim()}\`; name one of its sub-attributes`);
  return { ...path, sub: value };
}

function isDescending(sortOrder: string | undefined): boolean {
  const order = sortOrder?.trim().toLowerCase();
  if (order === undefined || order === '' || order === 'ascending') return false;
  if (order === 'descending') return true;
  throw invalid(`\`sortOrder\` must be \`ascending\` or \`descending\`, not \`${sortOrder}\``);
}

function clampSafe(n: number): number {
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n));
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

function invalid(detail: string, cause?: unknown): AppError {
  return new AppError('invalid_value', detail, cause === undefined ? undefined : { cause });
}
