import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { GROUP_SCHEMA, USER_SCHEMA, type ScimClient, type ScimResponse } from './harness.js';

/**
 * Shared assertions and fixtures of the e2e suites. Every helper asserts what a real client would
 * see (status, media type, RFC 7644 message shapes), so a suite reads as the IdP's test plan.
 */
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const SEARCH_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
export const BULK_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
/** Entra lists this on groups (IDP-BEHAVIOUR rule 5). */
export const ADSCIM_GROUP_SCHEMA = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';

/** A name no other test of the run uses, so suites sharing one server never collide. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** `?filter=` value, URL-encoded the way IdPs send it. */
export function filterParam(filter: string): string {
  return `filter=${encodeURIComponent(filter)}`;
}

/** Every SCIM response, errors included, is `application/scim+json` (RFC 7644 §3.1; Entra insists). */
export function expectScimJson(res: ScimResponse): void {
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/scim\+json/i);
}

/**
 * RFC 7644 §3.12: `schemas` is the Error URN, `status` the HTTP status as a string, `detail` a
 * human-readable text, and `scimType` present exactly when Table 9 defines one for the situation.
 * `scimType` may be a list when the RFC leaves the choice between two Table 9 values.
 */
export function expectScimError(res: ScimResponse, status: number, scimType?: string | readonly string[]): void {
  expect(res.status, `expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`).toBe(status);
  expectScimJson(res);
  expect(res.body?.schemas).toEqual([ERROR_SCHEMA]);
  expect(res.body?.status).toBe(String(status));
  expect(typeof res.body?.detail).toBe('string');
  expect(res.body.detail.length).toBeGreaterThan(0);
  if (scimType === undefined) return;
  if (typeof scimType === 'string') expect(res.body.scimType).toBe(scimType);
  else expect(scimType).toContain(res.body.scimType);
}

/** A 200 ListResponse whose counts are integers (Okta rejects anything else). */
export function expectListResponse(res: ScimResponse): any {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expectScimJson(res);
  expect(res.body.schemas).toEqual([LIST_RESPONSE_SCHEMA]);
  expect(Number.isInteger(res.body.totalResults)).toBe(true);
  expect(Number.isInteger(res.body.itemsPerPage)).toBe(true);
  if (res.body.startIndex !== undefined) expect(Number.isInteger(res.body.startIndex)).toBe(true);
  const resources = res.body.Resources ?? [];
  expect(Array.isArray(resources)).toBe(true);
  expect(res.body.itemsPerPage).toBe(resources.length);
  return res.body;
}

/** The resources of a list response; RFC 7644 lets an empty page omit `Resources`. */
export function resourcesOf(res: ScimResponse): any[] {
  return expectListResponse(res).Resources ?? [];
}

export async function createUser(client: ScimClient, attributes: Record<string, unknown> = {}): Promise<any> {
  const body = { schemas: [USER_SCHEMA], userName: `${unique('user')}@example.com`, ...attributes };
  const res = await client.post('/Users', body);
  expect(res.status, `POST /Users: ${JSON.stringify(res.body)}`).toBe(201);
  return res.body;
}

export async function createGroup(
  client: ScimClient,
  attributes: Record<string, unknown> = {},
): Promise<any> {
  const body = { schemas: [GROUP_SCHEMA], displayName: unique('group'), ...attributes };
  const res = await client.post('/Groups', body);
  expect(res.status, `POST /Groups: ${JSON.stringify(res.body)}`).toBe(201);
  return res.body;
}

/** The member ids of a group as `GET /Groups/{id}` shows them, sorted. */
export async function memberIds(client: ScimClient, groupId: string): Promise<string[]> {
  const res = await client.get(`/Groups/${groupId}`);
  expect(res.status, `GET /Groups/${groupId}: ${JSON.stringify(res.body)}`).toBe(200);
  return ((res.body.members ?? []) as { value: string }[]).map((m) => m.value).sort();
}

export function sorted(ids: readonly string[]): string[] {
  return [...ids].sort();
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
