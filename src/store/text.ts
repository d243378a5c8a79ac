import { AppError } from '../core/errors.js';
import type { Filter } from '../core/filter.js';

/**
 * Text neither backend can hold: U+0000 (PostgreSQL refuses it in `text` and in `jsonb`) and an
 * unpaired surrogate (not Unicode at all; `jsonb` refuses its `\ud800` escape). The store refuses
 * both on every backend, so data valid in SQLite stays valid in PostgreSQL, and a lookup for such a
 * value is answered "not found" without asking a database that would fail the statement (and, in
 * PostgreSQL, the whole transaction).
 */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The same, as `JSON.stringify` writes it: `\u0000`, and lone surrogates as `\udXXX` escapes (a
 * paired surrogate is written as itself). The lookbehind skips an escaped backslash (`\\u0000`).
 */
const UNSTORABLE_IN_JSON = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/** Whether a key (an id, a name, a hash) can exist in the store at all. */
export function storableKey(value: string): boolean {
  return !value.includes('\u0000');
}

/** Throws `invalid_value`, naming the attribute, when the JSON text of `doc` holds unstorable text. */
export function assertStorableJson(json: string, doc: unknown): void {
  if (!UNSTORABLE_IN_JSON.test(json)) return;
  const path = findUnstorable(doc, '') ?? 'value';
  throw new AppError('invalid_value', `attribute \`${path}\` holds U+0000 or an unpaired surrogate, which cannot be stored`);
}

/** Throws `invalid_filter` when a filter compares with a value holding U+0000 (see `UNSTORABLE`). */
export function assertStorableFilter(filter: Filter): void {
  switch (filter.kind) {
    case 'compare':
      if (typeof filter.value === 'string' && !storableKey(filter.value)) {
        throw new AppError('invalid_filter', 'filter values cannot hold U+0000');
      }
      return;
    case 'present':
      return;
    case 'and':
    case 'or':
      assertStorableFilter(filter.left);
      assertStorableFilter(filter.right);
      return;
    case 'not':
    case 'valuePath':
      assertStorableFilter(filter.filter);
      return;
  }
}

function findUnstorable(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = findUnstorable(item, path);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, member] of Object.entries(value)) {
      const here = path === '' ? key : `${path}.${key}`;
      if (UNSTORABLE.test(key)) return here;
      const found = findUnstorable(member, here);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
