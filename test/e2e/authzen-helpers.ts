import { expect } from 'vitest';
import type { RunningServer, ScimResponse } from './harness.js';

/**
 * A small AuthZEN client for the e2e suites: JSON in, JSON out, a bearer token (of scope `authz`
 * unless a test says otherwise), over the server's real socket.
 */
export function authzenClient(server: RunningServer, token: string | undefined) {
  async function request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ScimResponse> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  }
  return {
    request,
    get: (path: string, headers?: Record<string, string>) => request('GET', path, undefined, headers),
    post: (path: string, body: unknown, headers?: Record<string, string>) => request('POST', path, body, headers),
    /** `POST /access/v1/evaluation` for a user, an action and a `type:id` resource; asserts a 200 and returns the decision. */
    async decide(user: string, action: string, resource: string, query = ''): Promise<boolean> {
      const res = await request('POST', `/access/v1/evaluation${query}`, evaluation(user, action, resource));
      expect(res.status, `${user} ${action} ${resource}: ${JSON.stringify(res.body)}`).toBe(200);
      expect(typeof res.body.decision).toBe('boolean');
      return res.body.decision;
    },
  };
}

export type AuthzenClient = ReturnType<typeof authzenClient>;

/** An AuthZEN evaluation body: `resource` is `type:id`. */
export function evaluation(user: string, action: string, resource: string, context?: Record<string, unknown>) {
  const colon = resource.indexOf(':');
  return {
    subject: { type: 'user', id: user },
    action: { name: action },
    resource: { type: resource.slice(0, colon), id: resource.slice(colon + 1) },
    ...(context ? { context } : {}),
  };
}

/** The revision a response was answered at, from `x-scimitar-revision`; asserts it is there. */
export function revisionOf(res: ScimResponse): number {
  const header = res.headers.get('x-scimitar-revision');
  expect(header, 'x-scimitar-revision header').toMatch(/^\d+$/);
  return Number(header);
}

/** `W/"12"` → 12: the revision a SCIM write reports as `meta.version` or `ETag`. */
export function versionNumber(tag: string): number {
  const match = /^W\/"(\d+)"$/.exec(tag);
  expect(match, `a weak version tag, got ${tag}`).not.toBeNull();
  return Number(match![1]);
}

/**
 * Replaces the tenant's whole model with a policy file, the way an operator does
 * (`PUT /admin/v1/policy`, YAML), and returns the revision of the change.
 */
export async function applyPolicy(server: RunningServer, adminToken: string, yaml: string): Promise<number> {
  const response = await fetch(`${server.url}/admin/v1/policy`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/yaml' },
    body: yaml,
  });
  const text = await response.text();
  expect(response.status, `PUT /admin/v1/policy: ${text}`).toBe(200);
  return Number(response.headers.get('x-scimitar-revision') ?? JSON.parse(text).revision);
}
