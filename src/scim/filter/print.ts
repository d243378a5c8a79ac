import type { AttrPath, Filter, FilterValue } from '../../core/filter.js';

/** Binding strength: a child that binds more loosely than its position needs gets parentheses. */
const LOOSEST = 0;
const OR = 1;
const AND = 2;

/**
 * Prints a filter so that `parseFilter(printFilter(f))` gives `f` back: canonical spelling
 * (lowercase keywords, JSON strings), parentheses only where precedence or left-associativity
 * needs them. Also the form to use when logging a filter.
 *
 * @example printFilter({ kind: 'present', path: { attr: 'name', sub: 'givenName' } }) // 'name.givenName pr'
 */
export function printFilter(filter: Filter<AttrPath>): string {
  return print(filter, LOOSEST);
}

/** `urn:…:User:manager.value`; a whole-schema path (`attr: ''`) prints as its URN alone. */
export function printAttrPath(path: AttrPath): string {
  const name = path.sub === undefined ? path.attr : `${path.attr}.${path.sub}`;
  if (path.uri === undefined) return name;
  return name === '' ? path.uri : `${path.uri}:${name}`;
}

/** A filter value as it is written in a filter. */
export function printValue(value: FilterValue): string {
  // `-0` survives a round trip only when written with its sign; `String(-0)` drops it.
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  return JSON.stringify(value);
}

function print(filter: Filter<AttrPath>, context: number): string {
  switch (filter.kind) {
    case 'compare':
      return `${printAttrPath(filter.path)} ${filter.op} ${printValue(filter.value)}`;
    case 'present':
      return `${printAttrPath(filter.path)} pr`;
    case 'not':
      return `not (${print(filter.filter, LOOSEST)})`;
    case 'valuePath':
      return `${printAttrPath(filter.path)}[${print(filter.filter, LOOSEST)}]`;
    case 'and':
    case 'or': {
      const strength = filter.kind === 'and' ? AND : OR;
      // Left-associative: a right child of the same strength needs parentheses, a left one does not.
      const text = `${print(filter.left, strength)} ${filter.kind} ${print(filter.right, strength + 1)}`;
      return strength < context ? `(${text})` : text;
    }
  }
}
