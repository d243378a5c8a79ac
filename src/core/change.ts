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

export interface ChangeSet {
  readonly resourceType: ResourceTypeName;
  readonly resourceId: string;
  readonly operation: ChangeOperation;
  readonly attributes: readonly AttributeChange[];
  readonly membersAdded: readonly string[];
  readonly membersRemoved: readonly string[];
}

/** Who caused a change and through which request; stored with the change log row. */
export interface Actor {
  readonly tokenId: string | null;
  readonly kind: 'scim' | 'admin' | 'system';
  readonly requestId?: string;
  readonly userAgent?: string;
}
