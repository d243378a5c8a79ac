import type { ResourceTypeName } from './attribute.js';

/**
 * What one write did to one resource, in terms later layers (authz index, audit, events)
 * consume without re-reading the resource. Paths are canonical: `title`, `name.givenName`,
 * `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`, `emails`, `active`.
 * Group membership changes are ids only, never documents, so a 10,000-member add stays small.
 */
export interface AttributeChange {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

export type ChangeOperation = 'create' | 'replace' | 'patch' | 'delete';

/** A SCIM write (it carries no `kind`: change log rows written before policy changes existed have none). */
export interface ChangeSet {
  readonly kind?: 'scim';
  readonly resourceType: ResourceTypeName;
  readonly resourceId: string;
  readonly operation: ChangeOperation;
  readonly attributes: readonly AttributeChange[];
  readonly membersAdded: readonly string[];
  readonly membersRemoved: readonly string[];
}

/**
 * A write to the permission model (a role, binding, mapping…), with the whole object before and
 * after, so a consumer (another node's index, the audit trail) never has to read it back.
 */
export interface PolicyChange {
  readonly kind: 'policy';
  /** A `PolicyKind` of `authz/model.ts`; a string here so the store and core stay free of authz. */
  readonly objectKind: string;
  readonly objectId: string;
  /**
   * `expire`: the object's `expiresAt` passed. Nothing in it changed (`before` and `after` are the
   * object), but what it granted no longer holds. The server writes it, as the `system` actor, when
   * it notices the expiry, so the audit trail and the access events say when access ended.
   */
  readonly operation: 'create' | 'replace' | 'delete' | 'expire';
  readonly before: unknown;
  readonly after: unknown;
}

export type Change = ChangeSet | PolicyChange;

export function isPolicyChange(change: Change): change is PolicyChange {
  return change.kind === 'policy';
}

/** Who caused a change and through which request; stored with the change log row. */
export interface Actor {
  readonly tokenId: string | null;
  readonly kind: 'scim' | 'admin' | 'system';
  readonly requestId?: string;
  readonly userAgent?: string;
}
