import type { AttributeDef, ResourceTypeDef, SchemaDef } from '../core/attribute.js';
import { listResponse, type ListResponse } from './list-response.js';
import { RESOURCE_TYPES } from './schema/resource-types.js';
import { RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA } from './schema/urns.js';

export interface DiscoveryOptions {
  /** The SCIM base URL without a trailing slash; `meta.location` starts with it. */
  readonly baseUrl: string;
  /** The most resources one list response holds (`count` is clamped to it). */
  readonly maxResults: number;
  readonly bulk: { readonly maxOperations: number; readonly maxPayloadSize: number };
  /** Resources per page when a request gives no `count`. */
  readonly defaultPageSize: number;
  /**
   * RFC 9865 `cursorTimeout`, in seconds. Scimitar's cursors are keyset positions with no server
   * state, so they do not expire; leave this out and the document says nothing, which RFC 9865
   * allows. Set it only to promise clients a bound.
   */
  readonly cursorTimeout?: number;
}

/** Documents are plain JSON objects; the HTTP layer serialises them as they are. */
export type DiscoveryDocument = Record<string, unknown>;

export interface Discovery {
  serviceProviderConfig(): DiscoveryDocument;
  resourceTypes(): ListResponse<DiscoveryDocument>;
  /** By resource type name (`User`), case-insensitively; undefined when there is none. */
  resourceType(name: string): DiscoveryDocument | undefined;
  schemas(): ListResponse<DiscoveryDocument>;
  /** By schema URN, case-insensitively; undefined when there is none. */
  schema(id: string): DiscoveryDocument | undefined;
}

/**
 * The RFC 7643 §5-§7 discovery documents, generated from `scim/schema/` so they cannot drift from
 * what validation, filtering and rendering use. Every claim is about this server as built:
 *
 * - `patch`, `bulk`, `filter`, `sort` and `etag` are supported (`/Bulk`, the filter compiler,
 *   `sortBy`, `If-Match` / `If-None-Match` with `meta.version`); `changePassword` is not: a
 *   `password` is dropped unread on write.
 * - Authentication is a bearer token issued by `scimitar token create` (RFC 6750).
 * - RFC 9865 `pagination`: index and cursor both work; index stays the default, because the IdPs
 *   that page at all (Entra, Okta) page by `startIndex`.
 *
 * `/Schemas` lists the schemas of the resource types, not the discovery schemas themselves, and
 * leaves out the RFC 7643 §3.1 common attributes (`id`, `externalId`, `meta`), which belong to no schema.
 *
 * @example createDiscovery({ baseUrl, maxResults: 1000, defaultPageSize: 100, bulk }).schema(USER_SCHEMA)
 */
export function createDiscovery(options: DiscoveryOptions): Discovery {
  const { baseUrl } = options;
  const resourceTypes = Object.values(RESOURCE_TYPES);
  const schemaDefs = uniqueSchemas(resourceTypes);

  const resourceTypeDoc = (rt: ResourceTypeDef): DiscoveryDocument => ({
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: rt.name,
    name: rt.name,
    endpoint: rt.endpoint,
    description: rt.description,
    schema: rt.schema.id,
    // RFC 7643 §8.6 leaves the key out when there are no extensions (its Group example).
    ...(rt.extensions.length > 0
      ? { schemaExtensions: rt.extensions.map((e) => ({ schema: e.schema.id, required: e.required })) }
      : {}),
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${rt.name}` },
  });

  const schemaDoc = (schema: SchemaDef): DiscoveryDocument => ({
    schemas: [SCHEMA_SCHEMA],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes.map(describeAttribute),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${schema.id}` },
  });

  const pageSize = Math.min(options.defaultPageSize, options.maxResults);
  return {
    serviceProviderConfig: () => ({
      schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
      patch: { supported: true },
      bulk: { supported: true, maxOperations: options.bulk.maxOperations, maxPayloadSize: options.bulk.maxPayloadSize },
      filter: { supported: true, maxResults: options.maxResults },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
      authenticationSchemes: [
        {
          type: 'oauthbearertoken',
          name: 'OAuth Bearer Token',
          description: 'authentication with a bearer token issued by `scimitar token create`',
          specUri: 'https://www.rfc-editor.org/info/rfc6750',
          primary: true,
        },
      ],
      pagination: {
        cursor: true,
        index: true,
        defaultPaginationMethod: 'index',
        defaultPageSize: pageSize,
        maxPageSize: options.maxResults,
        ...(options.cursorTimeout !== undefined ? { cursorTimeout: options.cursorTimeout } : {}),
      },
      meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
    }),
    resourceTypes: () => fullList(resourceTypes.map(resourceTypeDoc)),
    resourceType: (name) => {
      const rt = resourceTypes.find((r) => r.name.toLowerCase() === name.toLowerCase());
      return rt === undefined ? undefined : resourceTypeDoc(rt);
    },
    schemas: () => fullList(schemaDefs.map(schemaDoc)),
    schema: (id) => {
      const found = schemaDefs.find((s) => s.id.toLowerCase() === id.toLowerCase());
      return found === undefined ? undefined : schemaDoc(found);
    },
  };
}

/** Every core and extension schema the resource types use, once, in resource type order. */
function uniqueSchemas(resourceTypes: readonly ResourceTypeDef[]): SchemaDef[] {
  const byId = new Map<string, SchemaDef>();
  for (const rt of resourceTypes) {
    for (const schema of [rt.schema, ...rt.extensions.map((e) => e.schema)]) {
      if (!byId.has(schema.id)) byId.set(schema.id, schema);
    }
  }
  return [...byId.values()];
}

/**
 * An RFC 7643 §7 attribute definition with every characteristic spelled out, defaults included,
 * so clients (Entra's schema discovery) never guess. `referenceTypes` is given for every reference
 * attribute; a definition without one points outside SCIM (`external`), e.g. `photos.value`.
 */
function describeAttribute(def: AttributeDef): DiscoveryDocument {
  return {
    name: def.name,
    type: def.type,
    multiValued: def.multiValued,
    description: def.description,
    required: def.required,
    caseExact: def.caseExact,
    mutability: def.mutability,
    returned: def.returned,
    uniqueness: def.uniqueness,
    ...(def.canonicalValues !== undefined && def.canonicalValues.length > 0
      ? { canonicalValues: [...def.canonicalValues] }
      : {}),
    ...(def.referenceTypes !== undefined ? { referenceTypes: [...def.referenceTypes] } : {}),
    ...(def.subAttributes !== undefined ? { subAttributes: def.subAttributes.map(describeAttribute) } : {}),
  };
}

/** Discovery lists are never paged: every item, `startIndex` 1. */
function fullList(items: DiscoveryDocument[]): ListResponse<DiscoveryDocument> {
  return listResponse(items, { totalResults: items.length, startIndex: 1 });
}
