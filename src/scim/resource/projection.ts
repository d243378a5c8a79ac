import type { AttributeDef, ResourceTypeDef } from '../../core/attribute.js';
import { AppError } from '../../core/errors.js';
import { namesWholeSchema, parseAttrPath } from '../filter/index.js';
import { findExtension, findSubAttribute, findTopAttribute } from '../schema/lookup.js';

/**
 * Which attributes a response carries: RFC 7644 §3.4.2.5 `attributes` / `excludedAttributes` combined
 * with each attribute's RFC 7643 §7 `returned` characteristic.
 *
 * - `always` (`id`) is returned whatever the parameters say; `never` (`password`) never is.
 * - `default` is returned unless `attributes` is given without naming it, or `excludedAttributes` names it.
 * - `request` is returned only when `attributes` names it.
 * - `schemas` is not an attribute of any schema; it is always returned (RFC 7643 §3 makes it REQUIRED).
 *   `meta` is an ordinary `default` attribute, so `attributes=userName` leaves it out.
 *
 * Sub-attributes follow the same rules one level down: `name.givenName` returns `name` holding only
 * `givenName`; `excludedAttributes=name.middleName` returns `name` without it.
 *
 * The read flags are pushed into the store query, so `excludedAttributes=members` never touches the
 * membership table (IDP-BEHAVIOUR rule 8) and a user's group walk runs only when `groups` is returned.
 */
export interface Projection {
  /** Groups: whether the response carries `members`, so the store must read them. */
  readonly readsMembers: boolean;
  /** Users: whether the response carries `groups`, so the store must walk the memberships. */
  readonly readsGroups: boolean;
  /** Whether top-level attribute `def` (found through `schema/lookup.ts`) is in the response. */
  returns(def: AttributeDef): boolean;
  /** Whether sub-attribute `sub` of `parent` is in the response, given `parent` is. */
  returnsSub(parent: AttributeDef, sub: AttributeDef): boolean;
}

/** A top-level attribute picked whole, or only some of its sub-attributes. */
type Selection = Map<AttributeDef, 'all' | Set<AttributeDef>>;

/**
 * Parses the two parameters into a `Projection` for `rt`. Each parameter is a comma-separated list,
 * or a list of such lists (a repeated query parameter, or a SearchRequest array). Names are
 * case-insensitive and may be URN-qualified (`urn:…:enterprise:2.0:User:manager.value`); a bare
 * extension URN selects that whole extension.
 *
 * Decisions where RFC 7644 is silent:
 * - An unknown name in `attributes` is `invalid_value`: the client asked for something this server
 *   cannot return, and answering with only `id` would hide the typo.
 * - An unknown name in `excludedAttributes` is ignored: excluding what does not exist is already
 *   satisfied, and a client written for another server (e.g. `excludedAttributes=members` on Users)
 *   must not fail for it.
 * - A name that is not an attribute path at all (`emails[type eq "work"]`) is `invalid_value` in both.
 * - Both parameters together: `attributes` picks, then `excludedAttributes` removes from that pick
 *   (`attributes=name&excludedAttributes=name.middleName`). `always` attributes stay either way.
 *
 * @example parseProjection(userResourceType, 'userName,emails.value').readsGroups // false
 */
export function parseProjection(
  rt: ResourceTypeDef,
  attributes?: string | readonly string[],
  excludedAttributes?: string | readonly string[],
): Projection {
  const requested = names(attributes);
  const include = requested.length > 0 ? select(rt, requested, 'attributes') : undefined;
  const exclude = select(rt, names(excludedAttributes), 'excludedAttributes');

  const returns = (def: AttributeDef): boolean => {
    if (def.returned === 'never') return false;
    if (def.returned === 'always') return true;
    if (include !== undefined) {
      if (!include.has(def)) return false;
    } else if (def.returned === 'request') {
      return false;
    }
    return exclude.get(def) !== 'all';
  };

  const returnsSub = (parent: AttributeDef, sub: AttributeDef): boolean => {
    if (sub.returned === 'never') return false;
    if (sub.returned === 'always') return true;
    const picked = include?.get(parent);
    if (picked instanceof Set) {
      if (!picked.has(sub)) return false;
    } else if (sub.returned === 'request') {
      return false;
    }
    const excluded = exclude.get(parent);
    return !(excluded instanceof Set && excluded.has(sub));
  };

  const core = (name: string): AttributeDef | undefined => findTopAttribute(rt, rt.schema.id, name)?.def;
  const members = rt.name === 'Group' ? core('members') : undefined;
  const groups = rt.name === 'User' ? core('groups') : undefined;
  return {
    readsMembers: members !== undefined && returns(members),
    readsGroups: groups !== undefined && returns(groups),
    returns,
    returnsSub,
  };
}

/** Flattens `a,b` / `['a,b', 'c']` into trimmed, non-empty names (`members,` has a trailing comma). */
function names(input: string | readonly string[] | undefined): string[] {
  if (input === undefined) return [];
  const lists = typeof input === 'string' ? [input] : input;
  return lists.flatMap((list) => list.split(',')).map((name) => name.trim()).filter((name) => name !== '');
}

function select(rt: ResourceTypeDef, list: readonly string[], parameter: 'attributes' | 'excludedAttributes'): Selection {
  const selection: Selection = new Map();
  for (const name of list) {
    // `schemas` is always returned and belongs to no schema: naming it either way changes nothing.
    if (name.toLowerCase() === 'schemas') continue;
    const parsed = parseAttrPath(name);
    if (!parsed.ok) {
      throw new AppError('invalid_value', `\`${parameter}\`: ${parsed.error.detail}`, { cause: parsed.error });
    }
    const path = parsed.value;
    const picks = namesWholeSchema(path) ? wholeExtension(rt, path.uri ?? '') : attributePick(rt, path.uri, path.attr, path.sub);
    if (picks === undefined) {
      if (parameter === 'attributes') {
        throw new AppError('invalid_value', `unknown attribute \`${name}\` in \`attributes\` for resource type \`${rt.name}\``);
      }
      continue;
    }
    for (const [top, sub] of picks) add(selection, top, sub);
  }
  return selection;
}

function wholeExtension(rt: ResourceTypeDef, uri: string): [AttributeDef, undefined][] | undefined {
  return findExtension(rt, uri)?.schema.attributes.map((def): [AttributeDef, undefined] => [def, undefined]);
}

function attributePick(
  rt: ResourceTypeDef,
  uri: string | undefined,
  attr: string,
  sub: string | undefined,
): [AttributeDef, AttributeDef | undefined][] | undefined {
  const top = findTopAttribute(rt, uri, attr);
  if (top === undefined) return undefined;
  if (sub === undefined) return [[top.def, undefined]];
  const subDef = findSubAttribute(top.def, sub);
  return subDef === undefined ? undefined : [[top.def, subDef]];
}

function add(selection: Selection, top: AttributeDef, sub: AttributeDef | undefined): void {
  const current = selection.get(top);
  if (current === 'all') return;
  if (sub === undefined) {
    selection.set(top, 'all');
  } else if (current === undefined) {
    selection.set(top, new Set([sub]));
  } else {
    current.add(sub);
  }
}
