import type { Result } from '../../core/errors.js';
import type { AttrPath, Filter } from '../../core/filter.js';
import { RESOURCE_TYPES } from '../schema/resource-types.js';
import { attempt } from './failure.js';
import { DEFAULT_FILTER_LIMITS, Parser } from './parser.js';

/**
 * An RFC 7644 §3.5.2 PATCH path: `attrPath / valuePath [subAttr]`.
 *
 * - `name.givenName` → `{ attr: { attr: 'name', sub: 'givenName' } }`
 * - `emails[type eq "work"].value` → `{ attr: { attr: 'emails' }, filter, subAfterFilter: 'value' }`
 * - `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` → `{ attr: { uri: thatUrn, attr: '' } }`:
 *   the whole extension (test it with `namesWholeSchema`), e.g. to remove all enterprise data at once.
 *
 * Paths inside `filter` are relative to `attr` (`{ attr: 'type' }`).
 */
export interface PatchPath {
  readonly attr: AttrPath;
  readonly filter?: Filter<AttrPath>;
  readonly subAfterFilter?: string;
}

/**
 * The extension schemas a bare URN may name. Only the schemas can tell `urn:…:2.0:User` (a schema)
 * from `urn:…:2.0:userName` (an attribute of schema `urn:…:2.0`): the grammar reads both alike.
 */
const EXTENSION_URNS: ReadonlyMap<string, string> = new Map(
  Object.values(RESOURCE_TYPES).flatMap((rt) =>
    rt.extensions.map((e) => [e.schema.id.toLowerCase(), e.schema.id] as const),
  ),
);

/**
 * Whether a path from `parsePatchPath` or `parseAttrPath` names a whole extension schema rather than
 * an attribute. INVARIANT: then `uri` is the schema's canonical URN and `attr` is `''`.
 */
export function namesWholeSchema(path: AttrPath): boolean {
  return path.attr === '';
}

/** Parses a PATCH `path`; failures are `invalid_path` with a position. */
export function parsePatchPath(text: string): Result<PatchPath> {
  return attempt('invalid_path', () => {
    const parser = new Parser(text, DEFAULT_FILTER_LIMITS);
    const attr = head(parser);
    if (namesWholeSchema(attr) || parser.peek().kind !== '[') {
      parser.expectEnd('the end of the path');
      return { attr };
    }
    const { filter, sub } = parser.valueFilter(attr);
    parser.expectEnd(sub === undefined ? '`.` and a sub-attribute, or the end of the path' : 'the end of the path');
    return sub === undefined ? { attr, filter } : { attr, filter, subAfterFilter: sub };
  });
}

/**
 * Parses one attribute path of an `attributes=`, `excludedAttributes=` or `sortBy=` parameter (the caller
 * splits the list at commas). A bare extension URN is accepted, as in `parsePatchPath`.
 */
export function parseAttrPath(text: string): Result<AttrPath> {
  return attempt('invalid_path', () => {
    const parser = new Parser(text, DEFAULT_FILTER_LIMITS);
    const path = head(parser);
    parser.expectEnd('the end of the attribute path');
    return path;
  });
}

function head(parser: Parser): AttrPath {
  const token = parser.peek();
  const schema = token.kind === 'word' ? EXTENSION_URNS.get(token.text.toLowerCase()) : undefined;
  if (schema === undefined) return parser.attrPath('an attribute path');
  parser.next();
  return { uri: schema, attr: '' };
}
