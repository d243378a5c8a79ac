import { createHash } from 'node:crypto';
import type { ResourceTypeName } from '../core/attribute.js';
import { AppError } from '../core/errors.js';
import type { Filter, ResolvedAttr } from '../core/filter.js';

/**
 * RFC 9865 cursors for keyset pagination. A cursor names the last row a page returned by its sort
 * key and `seq`, so the next page is `WHERE (key, seq) > (…)` — no OFFSET, and rows inserted or
 * deleted meanwhile never make a walk skip or repeat a row that stays.
 *
 * The text is base64url JSON: `[1, query, seq, keyTag, keyValue?]`. `query` fingerprints the tenant,
 * resource type, filter and sort, so a cursor from another query or tenant is refused with
 * `invalid_cursor` rather than silently walking the wrong result set. Cursors are opaque to clients,
 * not secret: a forged one can only point elsewhere in the same tenant's results.
 */
export interface CursorPosition {
  readonly seq: number;
  /** The sort key of the row, as the driver returned it; `null` for a row without a value. */
  readonly key: SortKeyValue;
}

/** What a sort key can be on either backend. JSON values (a PostgreSQL `jsonb` key) travel as text. */
export type SortKeyValue = string | number | boolean | bigint | Date | null | { readonly json: string };

export interface QueryShape {
  readonly tenantId: string;
  readonly type: ResourceTypeName;
  readonly filter?: Filter;
  readonly sortBy?: ResolvedAttr;
  readonly descending?: boolean;
}

const VERSION = 1;

/** A short digest of everything that decides which rows a walk visits and in what order. */
export function queryFingerprint(shape: QueryShape): string {
  const text = JSON.stringify([
    shape.tenantId,
    shape.type,
    shape.filter ? filterKey(shape.filter) : null,
    shape.sortBy ? attrKey(shape.sortBy) : null,
    shape.descending === true,
  ]);
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}

export function encodeCursor(fingerprint: string, position: CursorPosition): string {
  const { key } = position;
  let tagged: unknown[];
  if (key === null) tagged = ['n'];
  else if (typeof key === 'string') tagged = ['s', key];
  else if (typeof key === 'number') tagged = ['i', key];
  else if (typeof key === 'boolean') tagged = ['b', key];
  else if (typeof key === 'bigint') tagged = ['g', key.toString()];
  else if (key instanceof Date) tagged = ['d', key.toISOString()];
  else tagged = ['j', key.json];
  return Buffer.from(JSON.stringify([VERSION, fingerprint, position.seq, ...tagged])).toString('base64url');
}

/** Throws `AppError('invalid_cursor')` for anything this store did not issue for this very query. */
export function decodeCursor(cursor: string, fingerprint: string): CursorPosition {
  const invalid = () => new AppError('invalid_cursor', `cursor \`${cursor.slice(0, 64)}\` is not valid for this query`);
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed[0] !== VERSION || parsed[1] !== fingerprint) throw invalid();
  const [, , seq, tag, value] = parsed as [unknown, unknown, unknown, unknown, unknown];
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) throw invalid();
  const key = decodeKey(tag, value, parsed.length);
  if (key === undefined) throw invalid();
  return { seq, key };
}

function decodeKey(tag: unknown, value: unknown, length: number): SortKeyValue | undefined {
  if (tag === 'n') return length === 4 ? null : undefined;
  if (length !== 5) return undefined;
  switch (tag) {
    case 's':
      return typeof value === 'string' ? value : undefined;
    case 'i':
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    case 'b':
      return typeof value === 'boolean' ? value : undefined;
    case 'g':
      return typeof value === 'string' && /^-?\d+$/.test(value) ? BigInt(value) : undefined;
    case 'd': {
      if (typeof value !== 'string') return undefined;
      const date = new Date(value);
      return Number.isNaN(date.getTime()) ? undefined : date;
    }
    case 'j':
      return typeof value === 'string' ? { json: value } : undefined;
    default:
      return undefined;
  }
}

/** Turns whatever the driver returned for the sort key column into a `SortKeyValue`. */
export function toSortKeyValue(value: unknown): SortKeyValue {
  if (value === null || value === undefined) return null;
  if (
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    typeof value === 'bigint' ||
    value instanceof Date
  ) {
    return value;
  }
  return { json: JSON.stringify(value) };
}

function attrKey(path: ResolvedAttr): string {
  return `${path.schema}:${path.top.name}${path.sub ? `.${path.sub.name}` : ''}`;
}

function filterKey(filter: Filter): unknown {
  switch (filter.kind) {
    case 'compare':
      return [filter.op, attrKey(filter.path), filter.value];
    case 'present':
      return ['pr', attrKey(filter.path)];
    case 'and':
    case 'or':
      return [filter.kind, filterKey(filter.left), filterKey(filter.right)];
    case 'not':
      return ['not', filterKey(filter.filter)];
    case 'valuePath':
      return ['vp', attrKey(filter.path), filterKey(filter.filter)];
  }
}
