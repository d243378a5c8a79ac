import { sql, type Expression, type SqlBool } from 'kysely';
import type { Filter, ResolvedAttr } from '../core/filter.js';

// TEMPORARY stand-in for `sql/compile-filter.ts` and `sql/dialect.ts` (being written in parallel),
// with their announced API, so the store builds and its non-filter tests run meanwhile.
export const FILTER_STAND_IN = true;

export type FilterDialect = { readonly name: 'sqlite' | 'postgres' };
export const sqliteDialect: FilterDialect = { name: 'sqlite' };
export const postgresDialect: FilterDialect = { name: 'postgres' };

export interface FilterTarget {
  readonly type: 'User' | 'Group';
  readonly dialect: FilterDialect;
  readonly table: string;
}

export function compileFilter(_filter: Filter<ResolvedAttr>, _target: FilterTarget): Expression<SqlBool> {
  throw new Error('filter compiler not available yet');
}

export function compileSortKey(path: ResolvedAttr, target: FilterTarget): Expression<unknown> {
  const name = path.sub ? `${path.top.name}.${path.sub.name}` : path.top.name;
  const column: Record<string, string> = {
    userName: 'user_name_lc',
    displayName: target.type === 'User' ? 'display_name' : 'display_name_lc',
    externalId: 'external_id',
    'meta.created': 'created',
    'meta.lastModified': 'last_modified',
  };
  const col = column[name];
  if (!col) throw new Error(`stand-in sort key: \`${name}\` unsupported`);
  return sql.ref(`${target.table}.${col}`);
}
