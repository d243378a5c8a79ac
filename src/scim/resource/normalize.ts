import { isDeepStrictEqual } from 'node:util';
import type { AttributeDef, ResourceTypeDef, ResourceTypeName } from '../../core/attribute.js';
import { toInstant } from '../../core/date-time.js';
import { AppError } from '../../core/errors.js';
import { isPlainObject } from '../../core/json.js';
import type { ScimDoc } from '../../store/store.js';
import { findExtension, findSubAttribute, findTopAttribute, type TopAttribute } from '../schema/lookup.js';
import { MS_ADSCIM_GROUP_SCHEMA } from '../schema/urns.js';

/** A group member as a write asks for it: `type` only when the client said, checked later against the store. */
export interface MemberValue {
  readonly value: string;
  readonly type?: ResourceTypeName;
}

export interface NormalizedResource {
  readonly doc: ScimDoc;
  /** Groups only; undefined when the body has no `members` key. */
  readonly members?: MemberValue[];
}

/**
 * Coerces and checks one attribute value against its definition; returns `undefined` for an
 * unassigned value (`null`, `""`, `[]`, `{}`), which RFC 7643 §2.5 makes equivalent to absence.
 * The result has canonical sub-attribute names and fresh objects, so callers may mutate it.
 *
 * Lenient where IdPs need it: `"True"`/`"False"` (any case) are booleans (Entra, IDP-BEHAVIOUR rule 1);
 * a lone value for a multi-valued attribute is a one-element list; a reference-like complex attribute
 * (one with a `value` sub-attribute, i.e. `manager`) may come as its bare value or as a one-element list
 * (Entra, rule 4). readOnly sub-attributes (`members[].display`, `manager.displayName`) are dropped:
 * clients echo them back and RFC 7644 §3.5.1 says to ignore them.
 *
 * @example normalizeValue(emailsDef, { Value: 'a@b', primary: 'True' }, 'emails') // [{ value: 'a@b', primary: true }]
 */
export function normalizeValue(def: AttributeDef, raw: unknown, where: string): unknown {
  if (isUnassigned(raw)) return undefined;
  if (!def.multiValued) return normalizeSingle(def, raw, where);
  const list = Array.isArray(raw) ? raw : [raw];
  const items = list.map((item, i) => normalizeSingle(def, item, `${where}[${i}]`)).filter((v) => v !== undefined);
  if (items.length === 0) return undefined;
  // RFC 7643 §2.4: "The primary attribute value `true` MUST appear no more than once."
  if (items.filter((item) => isPlainObject(item) && item.primary === true).length > 1) {
    throw invalid(`attribute \`${where}\` has more than one primary value`);
  }
  return items;
}

/**
 * Validates a POST or PUT body into the stored document (canonical names, extension attributes under
 * their URN, nothing unassigned) plus, for groups, the requested members.
 *
 * PUT replaces (RFC 7644 §3.5.1, IDP-BEHAVIOUR rule 7): what the body omits is gone, except `active`,
 * which defaults to `true` in both modes, and immutable attributes already set on `existing`, which
 * cannot be cleared and so are kept.
 */
export function normalizeResource(
  body: unknown,
  rt: ResourceTypeDef,
  mode: 'create' | 'replace',
  existing?: ScimDoc,
): NormalizedResource {
  if (!isPlainObject(body)) throw new AppError('invalid_syntax', 'the request body must be a json object');
  checkSchemas(getProperty(body, 'schemas'), rt);
  const doc: ScimDoc = {};
  const unknown: string[] = [];
  let members: MemberValue[] | undefined;
  const take = (key: string, raw: unknown): void => {
    const top = resolveKey(rt, key);
    if (top === undefined) {
      unknown.push(key);
    } else if (isMembers(top)) {
      members = toMemberValues(normalizeValue(top.def, raw, 'members'));
    } else if (top.def.mutability === 'readWrite' || top.def.mutability === 'immutable') {
      put(doc, top, normalizeValue(top.def, raw, qualifiedName(top)));
    }
    // Otherwise readOnly (`id`, `meta`, `groups`): RFC 7644 §3.5.1 says to ignore it. Or writeOnly, i.e.
    // `password` (Okta sends one): Scimitar authenticates nobody, and a stored cleartext password would
    // sit in the database and the change log, so it is dropped unread, never validated, never echoed.
  };
  for (const [key, raw] of Object.entries(body)) {
    if (key.toLowerCase() === 'schemas') continue;
    const extension = findExtension(rt, key);
    if (extension === undefined) {
      take(key, raw);
    } else if (isPlainObject(raw)) {
      for (const [name, value] of Object.entries(raw)) take(`${extension.schema.id}:${name}`, value);
    } else if (!isUnassigned(raw)) {
      throw invalid(`\`${key}\` must be an object of extension attributes`);
    }
  }
  if (unknown.length > 0) throw invalid(`unknown attribute${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `\`${k}\``).join(', ')}`);
  applyDefaults(doc, rt);
  if (mode === 'replace' && existing !== undefined) keepImmutable(doc, existing, rt);
  assertRequired(doc, rt);
  return rt.name === 'Group' && members !== undefined ? { doc, members } : { doc };
}

/**
 * `active` is true unless said otherwise, after a POST, a PUT that omits it (IDP-BEHAVIOUR rule 7) and
 * a PATCH that removes it. INVARIANT: every stored user has a boolean `active`, which the store's
 * `active` column and the SQL filter compiler rely on to agree with the in-memory evaluator.
 */
export function applyDefaults(doc: ScimDoc, rt: ResourceTypeDef): void {
  const active = rt.schema.attributes.find((a) => a.name === 'active');
  if (active !== undefined && doc.active === undefined) doc.active = true;
}

/** The value of `top` in a stored document (extension attributes live under `doc[schemaUrn]`). */
export function readAttribute(doc: ScimDoc, top: TopAttribute): unknown {
  const container = top.extension ? doc[top.schema] : doc;
  return isPlainObject(container) ? container[top.def.name] : undefined;
}

/** Sets or (with `undefined`) deletes `top` in `doc`; an extension left empty is deleted too. */
export function writeAttribute(doc: ScimDoc, top: TopAttribute, value: unknown): void {
  if (!top.extension) {
    if (value === undefined) delete doc[top.def.name];
    else doc[top.def.name] = value;
    return;
  }
  const container = isPlainObject(doc[top.schema]) ? { ...(doc[top.schema] as Record<string, unknown>) } : {};
  if (value === undefined) delete container[top.def.name];
  else container[top.def.name] = value;
  if (Object.keys(container).length === 0) delete doc[top.schema];
  else doc[top.schema] = container;
}

/** Throws `invalid_value` when a required attribute (`userName`, a group's `displayName`) is unassigned. */
export function assertRequired(doc: ScimDoc, rt: ResourceTypeDef): void {
  for (const top of topAttributes(rt)) {
    // An extension's required attributes bind only resources that use the extension.
    const applies = !top.extension || doc[top.schema] !== undefined;
    if (top.def.required && applies && readAttribute(doc, top) === undefined) {
      throw invalid(`attribute \`${qualifiedName(top)}\` is required`);
    }
  }
}

/**
 * A normalized `members` value as the membership rows want it: one entry per id, `type` spelled
 * canonically. Member ids are opaque, so `value` is compared exactly.
 */
export function toMemberValues(normalized: unknown): MemberValue[] {
  const byId = new Map<string, MemberValue>();
  for (const [i, member] of ((normalized ?? []) as Record<string, unknown>[]).entries()) {
    const { value, type } = member;
    if (typeof value !== 'string') throw invalid(`attribute \`members[${i}].value\` is required`);
    if (byId.has(value)) continue;
    if (type === undefined) {
      byId.set(value, { value });
      continue;
    }
    const canonical = (['User', 'Group'] as const).find((t) => t.toLowerCase() === String(type).toLowerCase());
    if (canonical === undefined) throw invalid(`attribute \`members[${i}].type\` must be \`User\` or \`Group\``);
    byId.set(value, { value, type: canonical });
  }
  return [...byId.values()];
}

/** A group's `members`: kept out of the document, since the store keeps memberships as rows. */
export function isMembers(top: TopAttribute): boolean {
  return top.def.name === 'members' && !top.extension;
}

/** `urn:…:enterprise:2.0:User:department` for extension attributes, the bare name otherwise. */
export function qualifiedName(top: TopAttribute): string {
  return top.extension ? `${top.schema}:${top.def.name}` : top.def.name;
}

/** The value of `name` in `obj`, matching the key case-insensitively (RFC 7643 §2.1). */
export function getProperty(obj: Readonly<Record<string, unknown>>, name: string): unknown {
  const lower = name.toLowerCase();
  const key = Object.keys(obj).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : obj[key];
}

function isUnassigned(raw: unknown): boolean {
  return raw === undefined || raw === null || raw === '' || (Array.isArray(raw) && raw.length === 0);
}

function normalizeSingle(def: AttributeDef, raw: unknown, where: string): unknown {
  if (isUnassigned(raw)) return undefined;
  switch (def.type) {
    case 'string':
    case 'reference':
    case 'binary':
      if (typeof raw === 'string') return raw;
      throw invalid(`attribute \`${where}\` must be a string`);
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' && /^(?:true|false)$/i.test(raw)) return raw.toLowerCase() === 'true';
      throw invalid(`attribute \`${where}\` must be a boolean`);
    case 'integer':
      if (Number.isInteger(raw)) return raw;
      throw invalid(`attribute \`${where}\` must be an integer`);
    case 'decimal':
      if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
      throw invalid(`attribute \`${where}\` must be a number`);
    case 'dateTime':
      if (typeof raw === 'string' && toInstant(raw) !== undefined) return raw;
      throw invalid(`attribute \`${where}\` must be a date-time with a time zone, such as \`2026-01-01T00:00:00Z\``);
    case 'complex':
      return normalizeComplex(def, raw, where);
  }
}

function normalizeComplex(def: AttributeDef, raw: unknown, where: string): unknown {
  let value = raw;
  if (!def.multiValued && findSubAttribute(def, 'value') !== undefined) {
    if (Array.isArray(value) && value.length === 1) value = value[0];
    if (!isPlainObject(value) && !Array.isArray(value)) value = { value };
  }
  if (!isPlainObject(value)) throw invalid(`attribute \`${where}\` must be an object`);
  const out: Record<string, unknown> = {};
  for (const [key, subRaw] of Object.entries(value)) {
    const sub = findSubAttribute(def, key);
    if (sub === undefined) throw invalid(`unknown attribute \`${where}.${key}\``);
    if (sub.mutability === 'readOnly') continue;
    if (sub.name in out) throw invalid(`attribute \`${where}.${sub.name}\` is given more than once`);
    const normalized = normalizeValue(sub, subRaw, `${where}.${sub.name}`);
    if (normalized !== undefined) out[sub.name] = normalized;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function checkSchemas(raw: unknown, rt: ResourceTypeDef): void {
  if (!Array.isArray(raw) || !raw.every((s) => typeof s === 'string')) {
    throw invalid(`\`schemas\` must be a list of schema urns including \`${rt.schema.id}\``);
  }
  // Entra lists its ADSCIM group schema on groups; it defines nothing we store (IDP-BEHAVIOUR rule 5).
  const known = [rt.schema.id, ...rt.extensions.map((e) => e.schema.id), ...(rt.name === 'Group' ? [MS_ADSCIM_GROUP_SCHEMA] : [])];
  const lowerKnown = new Set(known.map((urn) => urn.toLowerCase()));
  const strange = (raw as string[]).find((urn) => !lowerKnown.has(urn.toLowerCase()));
  if (strange !== undefined) throw invalid(`unknown schema \`${strange}\` for resource type \`${rt.name}\``);
  if (!(raw as string[]).some((urn) => urn.toLowerCase() === rt.schema.id.toLowerCase())) {
    throw invalid(`\`schemas\` must include \`${rt.schema.id}\``);
  }
}

/** A top-level body key: `title`, or URN-qualified `urn:…:enterprise:2.0:User:department`. */
function resolveKey(rt: ResourceTypeDef, key: string): TopAttribute | undefined {
  const lower = key.toLowerCase();
  for (const schema of [rt.schema, ...rt.extensions.map((e) => e.schema)]) {
    const prefix = `${schema.id.toLowerCase()}:`;
    if (lower.startsWith(prefix)) return findTopAttribute(rt, schema.id, key.slice(prefix.length));
  }
  return findTopAttribute(rt, undefined, key);
}

function put(doc: ScimDoc, top: TopAttribute, value: unknown): void {
  if (value === undefined) return;
  if (readAttribute(doc, top) !== undefined) throw invalid(`attribute \`${qualifiedName(top)}\` is given more than once`);
  writeAttribute(doc, top, value);
}

/** RFC 7644 §3.5.1: an immutable value, once set, must match; omitted, it is kept (it cannot be cleared). */
function keepImmutable(doc: ScimDoc, existing: ScimDoc, rt: ResourceTypeDef): void {
  for (const top of topAttributes(rt)) {
    if (top.def.mutability !== 'immutable') continue;
    const before = readAttribute(existing, top);
    const after = readAttribute(doc, top);
    if (before === undefined) continue;
    if (after === undefined) writeAttribute(doc, top, before);
    else if (!isDeepStrictEqual(before, after)) throw new AppError('mutability', `attribute \`${qualifiedName(top)}\` is immutable`);
  }
}

function topAttributes(rt: ResourceTypeDef): TopAttribute[] {
  return [
    ...rt.schema.attributes.map((def) => ({ schema: rt.schema.id, def, extension: false })),
    ...rt.extensions.flatMap((e) => e.schema.attributes.map((def) => ({ schema: e.schema.id, def, extension: true }))),
  ];
}

function invalid(detail: string): AppError {
  return new AppError('invalid_value', detail);
}
