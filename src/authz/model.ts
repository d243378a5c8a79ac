/**
 * The permission model of one tenant, as stored and as written in a policy file. Every object is
 * validated when saved (`validate.ts`), so the index (`tenant-index.ts`) trusts what it loads.
 *
 * Textual forms keep policy files short and diffs readable:
 * - a permission is `type:action`, or `type:*` for every action the type declares;
 * - a scope is `*` (the whole tenant), `type:*` (every resource of a type, and their descendants) or
 *   `type:id` (one resource and its descendants);
 * - a resource is `type:id`.
 */

export const POLICY_KINDS = ['resourceType', 'resource', 'role', 'binding', 'groupMapping', 'attributeRule', 'grant'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

export interface ResourceTypeDef {
  readonly name: string;
  readonly actions: readonly string[];
  readonly description?: string;
}

export interface ResourceDef {
  readonly type: string;
  readonly id: string;
  /** `type:id` of the resource that contains this one. */
  readonly parent?: string;
  readonly attributes?: Readonly<Record<string, unknown>>;
}

export interface RoleDef {
  readonly name: string;
  readonly description?: string;
  readonly permissions: readonly string[];
  /** Roles whose permissions this one has too; cycles are rejected when saved. */
  readonly includes?: readonly string[];
}

/**
 * Who a binding is for. A user is named by its SCIM id, userName (case-insensitive) or externalId;
 * a group by its id, externalId or displayName (case-insensitive); a rule by its id.
 */
export type SubjectSelector =
  | { readonly type: 'user'; readonly id: string }
  | { readonly type: 'user'; readonly userName: string }
  | { readonly type: 'user'; readonly externalId: string }
  | { readonly type: 'group'; readonly id: string }
  | { readonly type: 'group'; readonly externalId: string }
  | { readonly type: 'group'; readonly displayName: string }
  | { readonly type: 'rule'; readonly id: string }
  | { readonly type: 'everyone' };

/** Which IdP groups a mapping covers: by id or externalId (rename-safe), or by displayName or a `*` pattern. */
export type GroupMatch =
  | { readonly id: string }
  | { readonly externalId: string }
  | { readonly displayName: string }
  | { readonly displayNamePattern: string };

interface GrantTerms {
  readonly role: string;
  readonly scope: string;
  /** CEL over `subject`, `resource`, `context` and `request.time`; the grant holds only when it is `true`. */
  readonly condition?: string;
  /** ISO 8601 instant after which the grant no longer holds, whether or not anything runs at that moment. */
  readonly expiresAt?: string;
}

/** A manual binding. `effect: deny` beats every allow. */
export interface BindingDef extends GrantTerms {
  readonly id: string;
  readonly subject: SubjectSelector;
  readonly effect?: 'allow' | 'deny';
  readonly description?: string;
}

/** IdP groups → a role on a scope. Members of nested groups count. */
export interface GroupMappingDef extends GrantTerms {
  readonly id: string;
  readonly group: GroupMatch;
  readonly description?: string;
}

/** Users selected by a SCIM filter over their attributes (enterprise extension included) → a role on a scope. */
export interface AttributeRuleDef extends GrantTerms {
  readonly id: string;
  readonly filter: string;
  readonly description?: string;
}

/** A temporary grant to one user: it always expires, and says why it was given. */
export interface TemporaryGrantDef extends GrantTerms {
  readonly id: string;
  readonly subject: Extract<SubjectSelector, { type: 'user' }>;
  readonly expiresAt: string;
  readonly reason: string;
}

export interface PolicyObjects {
  readonly resourceType: ResourceTypeDef;
  readonly resource: ResourceDef;
  readonly role: RoleDef;
  readonly binding: BindingDef;
  readonly groupMapping: GroupMappingDef;
  readonly attributeRule: AttributeRuleDef;
  readonly grant: TemporaryGrantDef;
}

export type PolicyObject = PolicyObjects[PolicyKind];

/** Where a grant comes from; an IdP sync only ever changes groups and users, never these objects. */
export type GrantOrigin = 'binding' | 'groupMapping' | 'attributeRule' | 'grant';

/** A stored policy object's `expiresAt`, if it has one (any kind may be read: only grants carry it). */
export function expiryOf(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const value = (doc as { expiresAt?: unknown }).expiresAt;
  return typeof value === 'string' ? value : undefined;
}

/** The stored key of an object of each kind (names for types and roles, `type:id` for resources). */
export function policyKey<K extends PolicyKind>(kind: K, object: PolicyObjects[K]): string {
  switch (kind) {
    case 'resourceType':
    case 'role':
      return (object as ResourceTypeDef | RoleDef).name;
    case 'resource': {
      const resource = object as ResourceDef;
      return `${resource.type}:${resource.id}`;
    }
    default:
      return (object as { id: string }).id;
  }
}

export type Scope =
  | { readonly kind: 'tenant' }
  | { readonly kind: 'type'; readonly type: string }
  | { readonly kind: 'resource'; readonly type: string; readonly id: string };

/** `*`, `type:*` or `type:id`; undefined for anything else. The id may itself hold colons. */
export function parseScope(text: string): Scope | undefined {
  if (text === '*') return { kind: 'tenant' };
  const ref = parseResourceRef(text);
  if (!ref) return undefined;
  return ref.id === '*' ? { kind: 'type', type: ref.type } : { kind: 'resource', ...ref };
}

export interface ResourceRef {
  readonly type: string;
  readonly id: string;
}

export function parseResourceRef(text: string): ResourceRef | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) return undefined;
  return { type: text.slice(0, colon), id: text.slice(colon + 1) };
}

/** A tenant's whole model, each kind keyed by `policyKey`. */
export type PolicySet = { readonly [K in PolicyKind]: ReadonlyMap<string, PolicyObjects[K]> };

export function emptyPolicySet(): { [K in PolicyKind]: Map<string, PolicyObjects[K]> } {
  return {
    resourceType: new Map(),
    resource: new Map(),
    role: new Map(),
    binding: new Map(),
    groupMapping: new Map(),
    attributeRule: new Map(),
    grant: new Map(),
  };
}
