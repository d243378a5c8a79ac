import type { AttributeDef, ResourceTypeDef } from '../../core/attribute.js';
import { isPlainObject } from '../../core/json.js';
import type { GroupRef, MemberRef, StoredGroup, StoredUser } from '../../store/store.js';
import { etagOf } from '../etag.js';
import { COMMON_ATTRIBUTES } from '../schema/common-attributes.js';
import { RESOURCE_TYPES } from '../schema/resource-types.js';
import { ENTERPRISE_USER_SCHEMA } from '../schema/urns.js';
import { parseProjection, type Projection } from './projection.js';

/**
 * The SCIM JSON of a stored resource, as GET, POST, PUT and PATCH return it and as a ListResponse
 * holds it. Everything is generated from the schema definitions, in their order, so the output is
 * stable: `schemas`, `id`, `externalId`, core attributes, extensions, `meta`; sub-attributes in
 * schema order too. Keys the schemas do not define are never emitted, so a stray document key can
 * not leak, and `returned: never` attributes (`password`) never appear.
 *
 * - `schemas` lists the core schema and each extension that has data in the output (RFC 7643 §3:
 *   "the schemas used to define the attributes present in the current JSON structure").
 * - A group's `members` and a user's `groups` come from the store, and appear exactly when it read
 *   them (an empty list then renders as `[]`: the group has no members, as opposed to "not read").
 * - Enterprise `manager` renders as `{value, $ref, displayName?}`; `$ref` is computed when absent,
 *   and older stored shapes (a bare id, a one-element list) are read too.
 *
 * @param baseUrl the SCIM base URL without a trailing slash, e.g. `https://idp.example/scim/v2`
 * @param projection what `attributes` / `excludedAttributes` ask for; the default representation if omitted
 */
export function renderResource(
  rt: ResourceTypeDef,
  stored: StoredUser | StoredGroup,
  baseUrl: string,
  projection: Projection = parseProjection(rt),
): Record<string, unknown> {
  const core = rt.schema.id;
  const schemas: string[] = [core];
  const out: Record<string, unknown> = { schemas };
  const emit = (def: AttributeDef, value: unknown): void => {
    if (!projection.returns(def)) return;
    const rendered = renderValue(def, value, projection);
    if (rendered !== undefined) out[def.name] = rendered;
  };

  emit(common('id'), stored.id);
  emit(common('externalId'), stored.doc.externalId);

  for (const def of rt.schema.attributes) {
    if (rt.name === 'Group' && def.name === 'members') {
      const members = (stored as StoredGroup).members;
      if (members !== undefined) emitList(out, def, members.map((m) => memberValue(m, baseUrl)), projection);
    } else if (rt.name === 'User' && def.name === 'groups') {
      const groups = (stored as StoredUser).groups;
      if (groups !== undefined) emitList(out, def, groups.map((g) => groupValue(g, baseUrl)), projection);
    } else {
      emit(def, stored.doc[def.name]);
    }
  }

  for (const { schema } of rt.extensions) {
    const data = stored.doc[schema.id];
    if (!isPlainObject(data)) continue;
    const ext: Record<string, unknown> = {};
    for (const def of schema.attributes) {
      if (!projection.returns(def)) continue;
      const raw = schema.id === ENTERPRISE_USER_SCHEMA && def.name === 'manager' ? managerValue(data[def.name], baseUrl) : data[def.name];
      const rendered = renderValue(def, raw, projection);
      if (rendered !== undefined) ext[def.name] = rendered;
    }
    if (Object.keys(ext).length > 0) {
      out[schema.id] = ext;
      schemas.push(schema.id);
    }
  }

  emit(common('meta'), {
    resourceType: rt.name,
    created: stored.created,
    lastModified: stored.lastModified,
    location: `${baseUrl}${rt.endpoint}/${stored.id}`,
    version: etagOf(stored.version),
  });
  return out;
}

function common(name: 'id' | 'externalId' | 'meta'): AttributeDef {
  const def = COMMON_ATTRIBUTES.find((a) => a.name === name);
  // INVARIANT: COMMON_ATTRIBUTES defines id, externalId and meta.
  if (def === undefined) throw new Error(`common attribute \`${name}\` is not defined`);
  return def;
}

/** Store-read lists render even when empty, unlike document values (see `renderResource`). */
function emitList(out: Record<string, unknown>, def: AttributeDef, items: readonly unknown[], projection: Projection): void {
  if (!projection.returns(def)) return;
  out[def.name] = items.map((item) => renderComplex(def, item, projection)).filter((item) => item !== undefined);
}

/** A value as the schema shapes it; `undefined` when nothing of it is left to return. */
function renderValue(def: AttributeDef, value: unknown, projection: Projection): unknown {
  if (value === undefined || value === null) return undefined;
  if (def.multiValued) {
    const items = (Array.isArray(value) ? value : [value])
      .map((item) => (def.type === 'complex' ? renderComplex(def, item, projection) : item))
      .filter((item) => item !== undefined && item !== null);
    return items.length > 0 ? items : undefined;
  }
  return def.type === 'complex' ? renderComplex(def, value, projection) : value;
}

function renderComplex(def: AttributeDef, value: unknown, projection: Projection): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) return undefined;
  const out: Record<string, unknown> = {};
  for (const sub of def.subAttributes ?? []) {
    const subValue = value[sub.name];
    if (subValue === undefined || subValue === null || !projection.returnsSub(def, sub)) continue;
    out[sub.name] = subValue;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function memberValue(member: MemberRef, baseUrl: string): Record<string, unknown> {
  return {
    value: member.value,
    $ref: `${baseUrl}${RESOURCE_TYPES[member.type].endpoint}/${member.value}`,
    ...(member.display !== undefined ? { display: member.display } : {}),
    type: member.type,
  };
}

function groupValue(group: GroupRef, baseUrl: string): Record<string, unknown> {
  return {
    value: group.value,
    $ref: `${baseUrl}${RESOURCE_TYPES.Group.endpoint}/${group.value}`,
    display: group.display,
    type: group.type,
  };
}

/**
 * `{value, $ref, displayName?}` from what the document holds. The normaliser stores `{value, $ref?}`;
 * a bare id or a one-element list (Entra's shapes, IDP-BEHAVIOUR rule 4) is read as well.
 */
function managerValue(raw: unknown, baseUrl: string): Record<string, unknown> | undefined {
  const first = Array.isArray(raw) ? raw[0] : raw;
  const manager = typeof first === 'string' ? { value: first } : first;
  if (!isPlainObject(manager)) return undefined;
  const value = typeof manager.value === 'string' && manager.value !== '' ? manager.value : undefined;
  const ref = manager.$ref ?? (value !== undefined ? `${baseUrl}${RESOURCE_TYPES.User.endpoint}/${value}` : undefined);
  return {
    ...(value !== undefined ? { value } : {}),
    ...(ref !== undefined && ref !== null ? { $ref: ref } : {}),
    ...(manager.displayName !== undefined ? { displayName: manager.displayName } : {}),
  };
}
