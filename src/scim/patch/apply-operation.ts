import { isDeepStrictEqual } from 'node:util';
import type { AttributeDef } from '../../core/attribute.js';
import { AppError } from '../../core/errors.js';
import type { ScimDoc } from '../../store/store.js';
import { isPlainObject } from '../../core/json.js';
import { normalizeValue, qualifiedName, readAttribute, writeAttribute } from '../resource/normalize.js';
import { findSubAttribute } from '../schema/lookup.js';
import type { PatchOpName } from './message.js';
import type { AttributeTarget } from './target.js';

type Element = Record<string, unknown>;

/**
 * Applies one operation to the one attribute `target` names, in `doc` (RFC 7644 §3.5.2 with the
 * IDP-BEHAVIOUR §1.3 rules). Every value written goes through `normalizeValue`, and so does the
 * attribute as a whole afterwards: that drops what an edit emptied and enforces one `primary`.
 *
 * Add and replace differ only on a whole multi-valued attribute (append or set the list); everywhere
 * else they are the same (RFC 7644 §3.5.2.1 and the draft-zollner interop profile), and a complex
 * value merges into what is there, keeping the sub-attributes it omits (§3.5.2.3).
 *
 * INVARIANT: values already in `doc` are replaced, never mutated, so callers may share them.
 */
export function applyOperation(doc: ScimDoc, op: PatchOpName, target: AttributeTarget, value: unknown, path: string): void {
  const { top } = target;
  // writeOnly is `password` (Okta's password sync): accepted, never stored, as in `normalizeResource`.
  if (top.def.mutability === 'writeOnly') return;
  const where = qualifiedName(top);
  const before = readAttribute(doc, top);
  const edited =
    target.sub === undefined && target.select === undefined
      ? editWhole(op, top.def, before, value, where)
      : editElements(op, target, before, value, path);
  const after = normalizeValue(top.def, edited, where);
  if (top.def.mutability === 'immutable' && before !== undefined && !isDeepStrictEqual(before, after)) {
    throw new AppError('mutability', `attribute \`${where}\` is immutable`);
  }
  writeAttribute(doc, top, after);
}

function editWhole(op: PatchOpName, def: AttributeDef, before: unknown, value: unknown, where: string): unknown {
  if (op === 'remove') {
    if (value === undefined || value === null || def.type !== 'complex') return undefined;
    // IDP-BEHAVIOUR rules 2 and 4: a remove with a value removes only what it lists (Entra's member
    // removal, `manager`), never the whole attribute.
    const kept = withoutListed(listOf(before), listOf(normalizeValue(def, value, where)));
    return def.multiValued ? kept : kept[0];
  }
  const incoming = normalizeValue(def, value, where);
  if (def.multiValued) return op === 'add' ? append(listOf(before), listOf(incoming)) : incoming;
  if (def.type === 'complex' && incoming !== undefined) return merge(def, before as Element | undefined, incoming as Element, where);
  return incoming;
}

/**
 * Sub-attribute and value-filter paths: edits the selected elements (a singular complex attribute
 * is a list of at most one). When none is selected, a write creates one (see `creationBase`).
 */
function editElements(op: PatchOpName, target: AttributeTarget, before: unknown, value: unknown, path: string): unknown {
  const { def } = target.top;
  const where = qualifiedName(target.top);
  const elements = listOf(before) as Element[];
  const selected = new Set(elements.filter((e) => target.select?.(e) ?? true));
  const change = elementChange(op, target, value, where);
  if (change === undefined) {
    const kept = elements.filter((e) => !selected.has(e));
    return def.multiValued ? kept : kept[0];
  }
  const written = new Set<Element>();
  const edit = (element: Element): Element => {
    const merged = merge(def, element, change, where);
    written.add(merged);
    return merged;
  };
  let result = elements.map((e) => (selected.has(e) ? edit(e) : e));
  // Only a change that writes something creates an element; unsetting on nothing is a no-op.
  if (selected.size === 0 && Object.values(change).some((v) => v !== undefined)) {
    const created = edit(creationBase(target, path));
    result = def.multiValued ? [...result, created] : [created];
  }
  return def.multiValued ? withOnePrimary(result, written) : result[0];
}

/** The sub-attributes to set on each selected element (`undefined` unsets); `undefined` drops the elements. */
function elementChange(op: PatchOpName, target: AttributeTarget, value: unknown, where: string): Element | undefined {
  const { top, sub } = target;
  if (sub !== undefined) {
    return { [sub.name]: op === 'remove' ? undefined : normalizeValue(sub, value, `${where}.${sub.name}`) };
  }
  if (op === 'remove') return undefined;
  // The value is one element: the attribute's definition, taken as singular.
  return normalizeValue({ ...top.def, multiValued: false }, value, where) as Element | undefined;
}

/**
 * What add/replace writes into when nothing is selected: an empty `name` for `name.givenName`, or
 * the element a value filter pins (`emails[type eq "work"]` → `{ type: 'work' }`, IDP-BEHAVIOUR rule 3).
 */
function creationBase(target: AttributeTarget, path: string): Element {
  if (target.select === undefined && !target.top.def.multiValued) return {};
  if (target.template !== undefined) return { ...target.template };
  throw new AppError('no_target', `no value matches \`${path}\``);
}

/** Sets (or, for `undefined`, unsets) sub-attributes; an immutable one that is set may not change. */
function merge(def: AttributeDef, current: Element | undefined, change: Element, where: string): Element {
  const out: Element = { ...current };
  for (const [name, value] of Object.entries(change)) {
    if (findSubAttribute(def, name)?.mutability === 'immutable' && out[name] !== undefined && !isDeepStrictEqual(out[name], value)) {
      throw new AppError('mutability', `attribute \`${where}.${name}\` is immutable`);
    }
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  // `$ref` is the URI of `value`: after Entra's `manager` replace sends only a new id, the old
  // `$ref` would point at the previous manager.
  if ('value' in change && !('$ref' in change) && !isDeepStrictEqual(current?.value, out.value)) delete out.$ref;
  return out;
}

/**
 * RFC 7644 §3.5.2.1: add appends, skipping values identical to one already there. (Members, whose
 * `type` may or may not ride along, are deduplicated by id afterwards, in `toMemberValues`.)
 */
function append(list: unknown[], incoming: unknown[]): unknown[] {
  const out = [...list];
  const seen = new Set(list.map(keyOf));
  const written = new Set<unknown>();
  for (const item of incoming) {
    const key = keyOf(item);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(item);
    written.add(item);
  }
  return withOnePrimary(out, written);
}

/**
 * RFC 7643 §2.4 allows one `primary: true` per attribute. A write that sets it moves it: Entra adds a
 * new primary email without clearing the old one. Two primaries in one write stay an error.
 */
function withOnePrimary(list: unknown[], written: ReadonlySet<unknown>): unknown[] {
  const moved = [...written].some((e) => isPlainObject(e) && e.primary === true);
  if (!moved) return list;
  return list.map((e) => (!written.has(e) && isPlainObject(e) && e.primary === true ? { ...e, primary: false } : e));
}

/**
 * The elements a remove's value list does not name. An item names elements by `value` when it has
 * one (a member by id, whatever `$ref` or `type` ride along; an email by address), otherwise by all
 * the sub-attributes it gives. Indexed, so removing many members from a large group stays linear.
 */
function withoutListed(list: unknown[], listed: unknown[]): unknown[] {
  const byValue = new Set(listed.filter(hasValue).map((item) => keyOf(item.value)));
  const others = listed.filter((item) => !hasValue(item));
  return list.filter((element) => {
    if (hasValue(element) && byValue.has(keyOf(element.value))) return false;
    return !others.some((item) => subsetOf(item, element));
  });
}

function hasValue(item: unknown): item is Element & { value: unknown } {
  return isPlainObject(item) && item.value !== undefined;
}

function subsetOf(item: unknown, element: unknown): boolean {
  if (!isPlainObject(item) || !isPlainObject(element)) return isDeepStrictEqual(item, element);
  return Object.entries(item).every(([name, value]) => isDeepStrictEqual(element[name], value));
}

/**
 * A key equal for deep-equal values: normalized values are JSON, at most an object of scalars (SCIM
 * has no deeper nesting), so sorting an object's keys is enough.
 */
function keyOf(value: unknown): string {
  return JSON.stringify(isPlainObject(value) ? Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)) : value);
}

function listOf(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
