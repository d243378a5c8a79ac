import { toInstant } from '../../core/date-time.js';
import type { AttributeDef, AttributeType, ResourceTypeDef } from '../../core/attribute.js';
import type { Result } from '../../core/errors.js';
import {
  leafOf,
  type AttrPath,
  type CompareOp,
  type Filter,
  type FilterValue,
  type ResolvedAttr,
} from '../../core/filter.js';
import { findSubAttribute, findTopAttribute } from '../schema/lookup.js';
import { attempt, Rejection } from './failure.js';
import { namesWholeSchema } from './path.js';
import { printAttrPath, printValue } from './print.js';

/**
 * Checks a parsed filter against a resource type and returns it with canonical attribute definitions,
 * so the evaluator and the SQL compiler never see user spelling or an ill-typed comparison.
 *
 * Besides name resolution (case-insensitive, RFC 7643 §2.1) it normalises, so consumers have one form each:
 * - `members eq "id"` (and `manager eq "id"`) on a complex attribute compares its `value` sub-attribute;
 * - inside `emails[…]` every path becomes `{ top: emails, sub }`;
 * - `x eq null` becomes `not (x pr)` and `x ne null` becomes `x pr`: no `null` value is left;
 * - booleans accept `"true"`/`"false"` in any case (Entra) and become booleans;
 * - dateTimes must be xsd:dateTime with a time zone and become `Date#toISOString()` strings.
 *
 * Rejected (`invalid_filter`): unknown attributes, `returned: never` attributes (`password`),
 * comparing a complex attribute itself (`name eq "x"`), a value of the wrong type, `gt/ge/lt/le` on
 * booleans, `co/sw/ew` on anything but strings, a value path on a non-complex attribute, nested value paths.
 */
export function resolveFilter(filter: Filter<AttrPath>, rt: ResourceTypeDef): Result<Filter<ResolvedAttr>> {
  return attempt('invalid_filter', () => resolveNode(filter, rt, undefined));
}

/**
 * Resolves a path of `sortBy=`, `attributes=` or a PATCH operation; failures are `invalid_path`.
 * A whole-schema path (see `namesWholeSchema`) is refused: it names no attribute.
 */
export function resolveAttrPath(path: AttrPath, rt: ResourceTypeDef): Result<ResolvedAttr> {
  return attempt('invalid_path', () => lookup(path, rt));
}

const STRING_TYPES: ReadonlySet<AttributeType> = new Set(['string', 'reference', 'binary']);
const SUBSTRING_OPS: ReadonlySet<CompareOp> = new Set(['co', 'sw', 'ew']);
const ORDERING_OPS: ReadonlySet<CompareOp> = new Set(['gt', 'ge', 'lt', 'le']);

/** `scope` is the attribute of the enclosing `[…]`, whose sub-attributes the inner paths name. */
function resolveNode(
  filter: Filter<AttrPath>,
  rt: ResourceTypeDef,
  scope: ResolvedAttr | undefined,
): Filter<ResolvedAttr> {
  switch (filter.kind) {
    case 'and':
    case 'or': {
      const left = resolveNode(filter.left, rt, scope);
      return { kind: filter.kind, left, right: resolveNode(filter.right, rt, scope) };
    }
    case 'not':
      return { kind: 'not', filter: resolveNode(filter.filter, rt, scope) };
    case 'present':
      return { kind: 'present', path: filterable(filter.path, rt, scope) };
    case 'compare':
      return resolveCompare(filter.path, filter.op, filter.value, rt, scope);
    case 'valuePath':
      return resolveValuePath(filter.path, filter.filter, rt, scope);
  }
}

function resolveCompare(
  written: AttrPath,
  op: CompareOp,
  value: FilterValue,
  rt: ResourceTypeDef,
  scope: ResolvedAttr | undefined,
): Filter<ResolvedAttr> {
  const path = filterable(written, rt, scope);
  if (value === null) return nullTest(op, path);
  const target = impliedValue(path);
  const leaf = leafOf(target);
  if (!operatorApplies(op, leaf.type)) {
    throw new Rejection(`\`${op}\` does not apply to ${leaf.type} attribute \`${shown(target)}\``);
  }
  return { kind: 'compare', path: target, op, value: coerce(value, leaf, shown(target)) };
}

function resolveValuePath(
  written: AttrPath,
  inner: Filter<AttrPath>,
  rt: ResourceTypeDef,
  scope: ResolvedAttr | undefined,
): Filter<ResolvedAttr> {
  if (scope !== undefined) throw new Rejection('a value path cannot contain another value path');
  const path = filterable(written, rt, undefined);
  if (path.sub !== undefined || path.top.type !== 'complex') {
    throw new Rejection(`\`${shown(path)}\` is not a complex attribute, so it cannot take \`[…]\``);
  }
  return { kind: 'valuePath', path, filter: resolveNode(inner, rt, path) };
}

/** Resolves a path used in a filter; `password` and the like must not be probed through filters. */
function filterable(written: AttrPath, rt: ResourceTypeDef, scope: ResolvedAttr | undefined): ResolvedAttr {
  const path = scope === undefined ? lookup(written, rt) : lookupInScope(written, scope);
  if (path.top.returned === 'never' || leafOf(path).returned === 'never') {
    throw new Rejection(`\`${shown(path)}\` cannot be used in a filter`);
  }
  return path;
}

function lookup(written: AttrPath, rt: ResourceTypeDef): ResolvedAttr {
  if (namesWholeSchema(written)) throw new Rejection(`\`${written.uri}\` names a schema, not an attribute`);
  const top = findTopAttribute(rt, written.uri, written.attr);
  if (top === undefined) {
    throw new Rejection(`unknown attribute \`${printAttrPath(written)}\` for resource type \`${rt.name}\``);
  }
  if (written.sub === undefined) return { schema: top.schema, top: top.def };
  return { schema: top.schema, top: top.def, sub: subAttribute(top.def, written.sub, printAttrPath(written)) };
}

function lookupInScope(written: AttrPath, scope: ResolvedAttr): ResolvedAttr {
  if (written.uri !== undefined || written.sub !== undefined) {
    throw new Rejection(`\`${printAttrPath(written)}\` in \`${scope.top.name}[…]\` must be a sub-attribute name`);
  }
  return { ...scope, sub: subAttribute(scope.top, written.attr, `${scope.top.name}.${written.attr}`) };
}

function subAttribute(parent: AttributeDef, name: string, written: string): AttributeDef {
  const def = findSubAttribute(parent, name);
  if (def === undefined) throw new Rejection(`unknown attribute \`${written}\``);
  return def;
}

/**
 * RFC 7644 §3.4.2.2: `emails co "x"` means `emails.value co "x"`. Entra reads a user's manager with
 * `manager eq "id"`, so a singular complex attribute with a `value` (a reference) reads the same way.
 */
function impliedValue(path: ResolvedAttr): ResolvedAttr {
  if (path.sub !== undefined || path.top.type !== 'complex') return path;
  const value = findSubAttribute(path.top, 'value');
  return value === undefined ? path : { ...path, sub: value };
}

function nullTest(op: CompareOp, path: ResolvedAttr): Filter<ResolvedAttr> {
  const present: Filter<ResolvedAttr> = { kind: 'present', path };
  if (op === 'eq') return { kind: 'not', filter: present };
  if (op === 'ne') return present;
  throw new Rejection(`\`${op}\` cannot compare with \`null\``);
}

/** Checks `value` against the leaf type and returns it in the one form consumers expect. */
function coerce(value: string | number | boolean, leaf: AttributeDef, name: string): FilterValue {
  switch (leaf.type) {
    case 'string':
    case 'reference':
    case 'binary':
      if (typeof value === 'string') return value;
      throw mismatch(name, 'a string', value);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      // Entra writes booleans as `"True"`/`"False"` (IDP-BEHAVIOUR rule 1).
      if (typeof value === 'string' && /^(?:true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      throw mismatch(name, '`true` or `false`', value);
    case 'integer':
      if (Number.isInteger(value)) return value;
      throw mismatch(name, 'an integer', value);
    case 'decimal':
      if (typeof value === 'number') return value;
      throw mismatch(name, 'a number', value);
    case 'dateTime': {
      const instant = typeof value === 'string' ? toInstant(value) : undefined;
      if (instant !== undefined) return instant;
      throw mismatch(name, 'a date-time with a time zone, such as `"2026-01-01T00:00:00Z"`', value);
    }
    case 'complex':
      throw new Rejection(`\`${name}\` is complex; compare one of its sub-attributes instead`);
  }
}

function operatorApplies(op: CompareOp, type: AttributeType): boolean {
  if (SUBSTRING_OPS.has(op)) return STRING_TYPES.has(type);
  if (ORDERING_OPS.has(op)) return type !== 'boolean';
  return true;
}

function mismatch(name: string, expected: string, value: FilterValue): Rejection {
  return new Rejection(`\`${name}\` expects ${expected}, not \`${printValue(value)}\``);
}

function shown(path: ResolvedAttr): string {
  return path.sub === undefined ? path.top.name : `${path.top.name}.${path.sub.name}`;
}
