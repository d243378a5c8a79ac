import type { AttributeDef, ResourceTypeDef, SchemaDef } from '../../core/attribute.js';
import { AppError, type Result } from '../../core/errors.js';
import type { Filter, FilterValue, ResolvedAttr } from '../../core/filter.js';
import { evaluateFilter, namesWholeSchema, parsePatchPath, resolveAttrPath, resolveFilter } from '../filter/index.js';
import { findExtension, findSubAttribute, type TopAttribute } from '../schema/lookup.js';

type Element = Readonly<Record<string, unknown>>;

/**
 * What a PATCH `path` names, resolved against the schemas. Every operation goes through one shape:
 * a top-level attribute, optionally narrowed to the elements `select` accepts (a value filter), and
 * optionally to one sub-attribute of them.
 *
 * - `title`, `emails`, `urn:…:User:department` → `{ top }`
 * - `name.givenName` → `{ top: name, sub: givenName }`
 * - `emails[type eq "work"]` → `{ top: emails, select }`, `…].value` adds `sub: value`
 */
export interface AttributeTarget {
  readonly kind: 'attribute';
  readonly top: TopAttribute;
  readonly sub?: AttributeDef;
  readonly select?: (element: Element) => boolean;
  /**
   * The element to create when `select` matches nothing: the `eq` terms of the filter
   * (`emails[type eq "work"]` → `{ type: 'work' }`), or undefined when the filter says no such thing.
   */
  readonly template?: Readonly<Record<string, FilterValue>>;
}

/** `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` alone: every attribute of that extension. */
export interface SchemaTarget {
  readonly kind: 'schema';
  readonly schema: SchemaDef;
}

export type Target = AttributeTarget | SchemaTarget;

/**
 * Parses and resolves a PATCH path. Throws `invalid_path` (bad syntax, unknown attribute),
 * `invalid_filter` (a bad value filter) or `mutability` (a readOnly attribute such as `id`, `meta`,
 * `groups`, `members[…].display`).
 */
export function resolveTarget(text: string, rt: ResourceTypeDef): Target {
  const parsed = unwrap(parsePatchPath(text));
  if (namesWholeSchema(parsed.attr)) {
    const extension = parsed.attr.uri === undefined ? undefined : findExtension(rt, parsed.attr.uri);
    if (extension === undefined) throw new AppError('invalid_path', `\`${text}\` is not a schema of resource type \`${rt.name}\``);
    return { kind: 'schema', schema: extension.schema };
  }
  const resolved = unwrap(resolveAttrPath(parsed.attr, rt));
  const top: TopAttribute = { schema: resolved.schema, def: resolved.top, extension: resolved.schema !== rt.schema.id };
  const target: AttributeTarget =
    parsed.filter === undefined
      ? { kind: 'attribute', top, sub: resolved.sub }
      : {
          kind: 'attribute',
          top,
          sub: subAfterFilter(resolved.top, parsed.subAfterFilter, text),
          ...selection(unwrap(resolveFilter({ kind: 'valuePath', path: parsed.attr, filter: parsed.filter }, rt)), rt),
        };
  const readOnly = [target.top.def, target.sub].find((def) => def?.mutability === 'readOnly');
  if (readOnly !== undefined) throw new AppError('mutability', `attribute \`${text}\` is readOnly`);
  return target;
}

function subAfterFilter(top: AttributeDef, name: string | undefined, text: string): AttributeDef | undefined {
  if (name === undefined) return undefined;
  const sub = findSubAttribute(top, name);
  if (sub === undefined) throw new AppError('invalid_path', `unknown attribute \`${top.name}.${name}\` in \`${text}\``);
  return sub;
}

/**
 * The resolved value path as an element test. The evaluator reads resources, so each element is
 * wrapped as a resource holding just that element; RFC 7644 §3.4.2.2 semantics stay in one place.
 */
function selection(resolved: Filter<ResolvedAttr>, rt: ResourceTypeDef): Pick<AttributeTarget, 'select' | 'template'> {
  // INVARIANT: resolving a `valuePath` node yields a `valuePath` node.
  const valuePath = resolved as Extract<Filter<ResolvedAttr>, { kind: 'valuePath' }>;
  const { schema, top } = valuePath.path;
  const core = schema === rt.schema.id;
  const select = (element: Element): boolean =>
    evaluateFilter(valuePath, core ? { [top.name]: element } : { [schema]: { [top.name]: element } });
  const template = templateOf(valuePath.filter);
  return template === undefined ? { select } : { select, template };
}

/**
 * The element a filter describes, if it pins sub-attributes with `eq` (joined by `and`). Entra
 * expects `emails[type eq "work"].value` to create the work email (IDP-BEHAVIOUR rule 3), where
 * RFC 7644 §3.5.2 says noTarget; anything looser (`or`, `co`, `pr`) still gets noTarget.
 */
function templateOf(filter: Filter<ResolvedAttr>): Record<string, FilterValue> | undefined {
  if (filter.kind === 'compare') {
    const sub = filter.path.sub;
    return filter.op === 'eq' && sub !== undefined && sub.type !== 'complex' ? { [sub.name]: filter.value } : undefined;
  }
  if (filter.kind !== 'and') return undefined;
  const left = templateOf(filter.left);
  const right = templateOf(filter.right);
  if (left === undefined || right === undefined) return undefined;
  const clash = Object.keys(right).some((k) => k in left && left[k] !== right[k]);
  return clash ? undefined : { ...left, ...right };
}

function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw result.error;
  return result.value;
}
