/**
 * The in-memory meaning of a resolved filter (RFC 7644 §3.4.2.2). The SQL compiler must give the same
 * answers; a property test checks that both agree, so this comment is the specification.
 *
 * Resource: as rendered, with canonical names. Core and common attributes (`id`, `meta`, …) are top-level
 * members; an extension's attributes are members of `resource[schemaUrn]`.
 *
 * Values of a path: the values of `top` are its member, as a list: an array gives its elements, anything
 * else gives itself, and `undefined`/`null` (as the member or as an element) give nothing. The values of
 * `top.sub` are the `sub` members of those elements that are objects, gathered the same way. Inside
 * `top[…]`, a path reads the element under test only. Missing, `null` and `[]` are all "no values".
 *
 * - `compare` (not `ne`): true iff at least one value matches; no values → false.
 * - `ne`: exactly `not eq`. True iff no value equals: a missing attribute is `ne` anything, and
 *   `emails.type ne "work"` means "no email has type work", the complement of `emails.type eq "work"`.
 * - Matching goes by the leaf attribute's type; a value of another JS type never matches, nor does `null`:
 *   - string, reference, binary: strings; when `caseExact` is false both sides go through
 *     `String#toLowerCase()` first. `co`/`sw`/`ew` are substring, prefix, suffix (`""` matches any string);
 *     `gt`/`ge`/`lt`/`le` compare by Unicode code point (= UTF-8 byte order: SQLite BINARY, PostgreSQL "C").
 *   - boolean: `eq` only; every other operator is false.
 *   - integer, decimal: numeric `eq`/`gt`/`ge`/`lt`/`le`; `co`/`sw`/`ew` false.
 *   - dateTime: both sides as instants (`Date.parse`, milliseconds); `eq`/`gt`/`ge`/`lt`/`le`;
 *     an unparsable value matches nothing; `co`/`sw`/`ew` false.
 *   - complex: nothing matches.
 * - `pr`: true iff at least one value is present: not `""`, and for an array or object, at least one
 *   element or member present (recursively). `false` and `0` are present.
 * - `valuePath`: true iff some element of `top` that is an object satisfies the inner filter read against
 *   that element alone; `not`, `ne` and `pr` inside apply to the element.
 * - `and`, `or`, `not`: Boolean logic. Outside `[…]`, `emails.type eq "work" and emails.value co "@x"`
 *   may be satisfied by two different emails.
 *
 * The resolver already rules out what makes no sense (`co` on a number, `null` values, compares on a
 * complex attribute); the rules above still give every AST an answer, so evaluation never throws.
 */
import type { AttributeDef } from '../../core/attribute.js';
import { leafOf, type CompareOp, type Filter, type FilterValue, type ResolvedAttr } from '../../core/filter.js';
import { RESOURCE_TYPES } from '../schema/resource-types.js';

type Element = Readonly<Record<string, unknown>>;
type Test = Exclude<CompareOp, 'ne'>;

/** Schemas whose attributes sit at the top of a rendered resource; every other schema is an extension. */
const CORE_SCHEMAS: ReadonlySet<string> = new Set(Object.values(RESOURCE_TYPES).map((rt) => rt.schema.id));

/**
 * Whether `resource` satisfies `filter`; used for attribute rules and anywhere a filter runs without SQL.
 *
 * @example evaluateFilter(resolved('userName eq "BJensen"'), { userName: 'bjensen' }) // true: caseExact false
 */
export function evaluateFilter(filter: Filter<ResolvedAttr>, resource: Record<string, unknown>): boolean {
  return evaluate(filter, resource, undefined);
}

/** `element` is the element of the enclosing `[…]` under test. */
function evaluate(filter: Filter<ResolvedAttr>, resource: Element, element: Element | undefined): boolean {
  switch (filter.kind) {
    case 'and':
      return evaluate(filter.left, resource, element) && evaluate(filter.right, resource, element);
    case 'or':
      return evaluate(filter.left, resource, element) || evaluate(filter.right, resource, element);
    case 'not':
      return !evaluate(filter.filter, resource, element);
    case 'present':
      return valuesOf(filter.path, resource, element).some(isPresent);
    case 'compare': {
      const { path, op, value } = filter;
      const values = valuesOf(path, resource, element);
      if (op === 'ne') return !values.some((actual) => matches(actual, 'eq', value, leafOf(path)));
      return values.some((actual) => matches(actual, op, value, leafOf(path)));
    }
    case 'valuePath':
      return valuesOf(filter.path, resource, undefined)
        .filter(isObject)
        .some((candidate) => evaluate(filter.filter, resource, candidate));
  }
}

function valuesOf(path: ResolvedAttr, resource: Element, element: Element | undefined): unknown[] {
  // INVARIANT (core/filter.ts): inside `[…]` every path is `{ top: the bracketed attribute, sub }`.
  if (element !== undefined) return path.sub === undefined ? [element] : listOf(element[path.sub.name]);
  const tops = listOf(containerOf(path.schema, resource)[path.top.name]);
  const sub = path.sub?.name;
  return sub === undefined ? tops : tops.filter(isObject).flatMap((top) => listOf(top[sub]));
}

function containerOf(schema: string, resource: Element): Element {
  if (CORE_SCHEMAS.has(schema)) return resource;
  const extension = resource[schema];
  return isObject(extension) ? extension : {};
}

function listOf(value: unknown): unknown[] {
  return (Array.isArray(value) ? value : [value]).filter((v) => v !== undefined && v !== null);
}

function isObject(value: unknown): value is Element {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPresent(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (Array.isArray(value)) return value.some(isPresent);
  if (isObject(value)) return Object.values(value).some(isPresent);
  return true;
}

function matches(actual: unknown, op: Test, expected: FilterValue, leaf: AttributeDef): boolean {
  switch (leaf.type) {
    case 'string':
    case 'reference':
    case 'binary':
      if (typeof actual !== 'string' || typeof expected !== 'string') return false;
      if (leaf.caseExact) return matchesString(op, actual, expected);
      return matchesString(op, actual.toLowerCase(), expected.toLowerCase());
    case 'boolean':
      return op === 'eq' && typeof actual === 'boolean' && actual === expected;
    case 'integer':
    case 'decimal':
      if (typeof actual !== 'number' || typeof expected !== 'number') return false;
      return ordered(op, compareNumbers(actual, expected));
    case 'dateTime':
      if (typeof actual !== 'string' || typeof expected !== 'string') return false;
      return ordered(op, compareNumbers(Date.parse(actual), Date.parse(expected)));
    case 'complex':
      return false;
  }
}

function matchesString(op: Test, actual: string, expected: string): boolean {
  if (op === 'co') return actual.includes(expected);
  if (op === 'sw') return actual.startsWith(expected);
  if (op === 'ew') return actual.endsWith(expected);
  return ordered(op, compareCodePoints(actual, expected));
}

/** Whether a three-way comparison result satisfies `op`; NaN (an unparsable side) satisfies nothing. */
function ordered(op: Test, comparison: number): boolean {
  switch (op) {
    case 'eq':
      return comparison === 0;
    case 'gt':
      return comparison > 0;
    case 'ge':
      return comparison >= 0;
    case 'lt':
      return comparison < 0;
    case 'le':
      return comparison <= 0;
    case 'co':
    case 'sw':
    case 'ew':
      return false;
  }
}

function compareNumbers(a: number, b: number): number {
  return a === b ? 0 : a - b;
}

/**
 * JavaScript's `<` compares UTF-16 code units, which puts U+E000–U+FFFF after astral characters;
 * code point order is what a UTF-8 byte comparison in SQL gives.
 */
function compareCodePoints(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}
