import type { AttributeDef } from './attribute.js';

/**
 * The SCIM filter AST (RFC 7644 §3.4.2.2). The parser produces `Filter<AttrPath>` (names as
 * written); `resolveFilter` turns it into `Filter<ResolvedAttr>` against a resource type's schemas.
 * Two consumers read the resolved form: the in-memory evaluator and the per-dialect SQL compiler.
 */
export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

export type FilterValue = string | number | boolean | null;

/** An attribute path as written: `urn:…:User:name.givenName` → { uri, attr: 'name', sub: 'givenName' }. */
export interface AttrPath {
  readonly uri?: string;
  readonly attr: string;
  readonly sub?: string;
}

/**
 * A path resolved against the schemas: canonical definitions, never user spelling.
 * `top` is the top-level attribute; `sub` a sub-attribute of a complex `top`.
 * INVARIANT: inside a `valuePath` node, every path has the valuePath's `top` and a `sub`.
 * A compare on a multi-valued complex attribute without a sub-attribute (`emails co "x"`,
 * `members eq "id"`) resolves to its `value` sub-attribute, as RFC 7644 §3.4.2.2 implies.
 */
export interface ResolvedAttr {
  readonly schema: string;
  readonly top: AttributeDef;
  readonly sub?: AttributeDef;
}

export type Filter<P = ResolvedAttr> =
  | { readonly kind: 'compare'; readonly path: P; readonly op: CompareOp; readonly value: FilterValue }
  | { readonly kind: 'present'; readonly path: P }
  | { readonly kind: 'and'; readonly left: Filter<P>; readonly right: Filter<P> }
  | { readonly kind: 'or'; readonly left: Filter<P>; readonly right: Filter<P> }
  | { readonly kind: 'not'; readonly filter: Filter<P> }
  /** `emails[type eq "work"]`: some element of `path` satisfies `filter`. */
  | { readonly kind: 'valuePath'; readonly path: P; readonly filter: Filter<P> };

/** The leaf definition a resolved path points at. */
export function leafOf(path: ResolvedAttr): AttributeDef {
  return path.sub ?? path.top;
}
