import { describe, expect, it } from 'vitest';
import { createDiscovery } from './discovery.js';
import { ALL_SCHEMAS } from './schema/resource-types.js';
import {
  ENTERPRISE_USER_SCHEMA,
  GROUP_SCHEMA,
  LIST_RESPONSE,
  RESOURCE_TYPE_SCHEMA,
  SCHEMA_SCHEMA,
  SERVICE_PROVIDER_CONFIG_SCHEMA,
  USER_SCHEMA,
} from './schema/urns.js';

const BASE = 'https://scim.example.com/scim/v2';
const options = { baseUrl: BASE, maxResults: 500, defaultPageSize: 100, bulk: { maxOperations: 250, maxPayloadSize: 4_194_304 } };
const discovery = createDiscovery(options);

type Doc = Record<string, unknown>;

/** RFC 7643 §7: the characteristics every attribute definition carries. */
const CHARACTERISTICS = ['name', 'type', 'multiValued', 'description', 'required', 'caseExact', 'mutability', 'returned', 'uniqueness'];
const TYPES = ['string', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'complex', 'binary'];

function checkAttribute(attr: Doc, path: string, depth: number): void {
  for (const key of CHARACTERISTICS) expect(attr, `${path} lacks ${key}`).toHaveProperty(key);
  expect(TYPES, `${path}.type`).toContain(attr.type);
  expect(typeof attr.multiValued, `${path}.multiValued`).toBe('boolean');
  expect(typeof attr.required, `${path}.required`).toBe('boolean');
  expect(typeof attr.caseExact, `${path}.caseExact`).toBe('boolean');
  expect(['readOnly', 'readWrite', 'immutable', 'writeOnly'], `${path}.mutability`).toContain(attr.mutability);
  expect(['always', 'never', 'default', 'request'], `${path}.returned`).toContain(attr.returned);
  expect(['none', 'server', 'global'], `${path}.uniqueness`).toContain(attr.uniqueness);
  if (attr.type === 'reference') {
    expect(Array.isArray(attr.referenceTypes) && attr.referenceTypes.length > 0, `${path}.referenceTypes`).toBe(true);
  }
  if (attr.type === 'complex') {
    // RFC 7643 §2.3.8: a complex attribute has sub-attributes, and they are never complex themselves.
    expect(depth, `${path} nests complex attributes`).toBe(0);
    const subs = attr.subAttributes as Doc[];
    expect(Array.isArray(subs) && subs.length > 0, `${path}.subAttributes`).toBe(true);
    for (const sub of subs) checkAttribute(sub, `${path}.${String(sub.name)}`, depth + 1);
  } else {
    expect(attr, `${path} is not complex but has subAttributes`).not.toHaveProperty('subAttributes');
  }
}

function checkListResponse(list: Doc): Doc[] {
  expect(list.schemas).toEqual([LIST_RESPONSE]);
  const resources = list.Resources as Doc[];
  expect(list.totalResults).toBe(resources.length);
  expect(list.itemsPerPage).toBe(resources.length);
  expect(list.startIndex).toBe(1);
  for (const n of [list.totalResults, list.itemsPerPage, list.startIndex]) expect(Number.isInteger(n)).toBe(true);
  return resources;
}

describe('/ServiceProviderConfig', () => {
  const spc = discovery.serviceProviderConfig();

  it('has the RFC 7643 §5 shape and tells the truth about features', () => {
    expect(spc).toMatchObject({
      schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
      patch: { supported: true },
      filter: { supported: true, maxResults: 500 },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
      meta: { resourceType: 'ServiceProviderConfig', location: `${BASE}/ServiceProviderConfig` },
    });
    expect(spc).not.toHaveProperty('id');
  });

  it('states the bulk limits it was given', () => {
    expect(spc.bulk).toStrictEqual({ supported: true, maxOperations: 250, maxPayloadSize: 4_194_304 });
  });

  it('offers one primary oauthbearertoken scheme with name and description', () => {
    const schemes = spc.authenticationSchemes as Doc[];
    expect(schemes).toHaveLength(1);
    expect(schemes[0]).toMatchObject({ type: 'oauthbearertoken', primary: true });
    expect(typeof schemes[0]?.name).toBe('string');
    expect(typeof schemes[0]?.description).toBe('string');
  });

  it('advertises RFC 9865 pagination: index (default) and cursor', () => {
    expect(spc.pagination).toStrictEqual({
      cursor: true,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: 100,
      maxPageSize: 500,
    });
  });

  it('never advertises a default page larger than the maximum, and a cursor timeout only when given', () => {
    const small = createDiscovery({ ...options, maxResults: 50, cursorTimeout: 3600 }).serviceProviderConfig();
    expect(small.pagination).toMatchObject({ defaultPageSize: 50, maxPageSize: 50, cursorTimeout: 3600 });
  });
});

describe('/Schemas', () => {
  it('lists every schema of the resource types as a ListResponse', () => {
    const resources = checkListResponse(discovery.schemas() as unknown as Doc);
    expect(resources.map((s) => s.id)).toEqual([USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]);
    expect(resources.map((s) => s.id).sort()).toEqual(ALL_SCHEMAS.map((s) => s.id).sort());
  });

  it('gives every attribute, at every level, all its characteristics', () => {
    for (const schema of discovery.schemas().Resources) {
      expect(schema.schemas).toEqual([SCHEMA_SCHEMA]);
      expect(typeof schema.name).toBe('string');
      expect(schema.meta).toStrictEqual({ resourceType: 'Schema', location: `${BASE}/Schemas/${String(schema.id)}` });
      for (const attr of schema.attributes as Doc[]) checkAttribute(attr, `${String(schema.id)}:${String(attr.name)}`, 0);
    }
  });

  it('describes userName, password and members as RFC 7643 §8.7.1 does', () => {
    const attrs = (id: string) => discovery.schema(id)?.attributes as Doc[];
    expect(attrs(USER_SCHEMA).find((a) => a.name === 'userName')).toMatchObject({
      required: true,
      caseExact: false,
      uniqueness: 'server',
    });
    expect(attrs(USER_SCHEMA).find((a) => a.name === 'password')).toMatchObject({
      mutability: 'writeOnly',
      returned: 'never',
    });
    expect(attrs(GROUP_SCHEMA).find((a) => a.name === 'members')).toMatchObject({ type: 'complex', multiValued: true });
  });

  it('leaves out the common attributes, which belong to no schema', () => {
    const names = (discovery.schema(USER_SCHEMA)?.attributes as Doc[]).map((a) => a.name);
    expect(names).not.toContain('id');
    expect(names).not.toContain('meta');
  });

  it('finds a schema by id case-insensitively and answers undefined for an unknown one', () => {
    expect(discovery.schema(ENTERPRISE_USER_SCHEMA.toUpperCase())?.id).toBe(ENTERPRISE_USER_SCHEMA);
    expect(discovery.schema('urn:example:nothing')).toBeUndefined();
  });
});

describe('/ResourceTypes', () => {
  it('lists User and Group as a ListResponse', () => {
    const resources = checkListResponse(discovery.resourceTypes() as unknown as Doc);
    expect(resources).toStrictEqual([
      {
        schemas: [RESOURCE_TYPE_SCHEMA],
        id: 'User',
        name: 'User',
        endpoint: '/Users',
        description: 'User Account',
        schema: USER_SCHEMA,
        schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
        meta: { resourceType: 'ResourceType', location: `${BASE}/ResourceTypes/User` },
      },
      {
        schemas: [RESOURCE_TYPE_SCHEMA],
        id: 'Group',
        name: 'Group',
        endpoint: '/Groups',
        description: 'Group',
        schema: GROUP_SCHEMA,
        meta: { resourceType: 'ResourceType', location: `${BASE}/ResourceTypes/Group` },
      },
    ]);
  });

  it('references only schemas that /Schemas serves', () => {
    for (const rt of discovery.resourceTypes().Resources) {
      const referenced = [rt.schema, ...((rt.schemaExtensions as Doc[] | undefined) ?? []).map((e) => e.schema)];
      for (const id of referenced) expect(discovery.schema(id as string), `${String(id)}`).toBeDefined();
    }
  });

  it('finds one by name case-insensitively', () => {
    expect(discovery.resourceType('user')?.endpoint).toBe('/Users');
    expect(discovery.resourceType('Group')?.id).toBe('Group');
    expect(discovery.resourceType('Device')).toBeUndefined();
  });
});
