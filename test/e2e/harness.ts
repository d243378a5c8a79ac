import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { Clock } from '../../src/core/clock.js';
import { systemClock } from '../../src/core/clock.js';
import { buildServer } from '../../src/http/server.js';
import { ensureDefaultTenant } from '../../src/service/tenants.js';
import { issueToken } from '../../src/service/tokens.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase } from '../setup/pg.js';

export type Backend = 'sqlite' | 'postgres';

/** The backends an e2e suite runs against: SQLite always, PostgreSQL when the test run has a server. */
export function backends(): Backend[] {
  return inject('pgUrl') ? ['sqlite', 'postgres'] : ['sqlite'];
}

export interface RunningServer {
  readonly url: string;
  readonly scimUrl: string;
  readonly store: Store;
  readonly tenantId: string;
  readonly scimToken: string;
  /** Issues another token of the default tenant. */
  token(scope: 'scim' | 'admin' | 'authz'): Promise<string>;
  /** A token of a second tenant, to prove isolation. */
  otherTenantToken(): Promise<string>;
  close(): Promise<void>;
}

/** A real server on a real listening socket over a real database file (or PostgreSQL database). */
export async function startServer(
  backend: Backend,
  options: { config?: Partial<Config>; clock?: Clock } = {},
): Promise<RunningServer> {
  let dir: string | undefined;
  let database: string;
  if (backend === 'sqlite') {
    dir = mkdtempSync(join(tmpdir(), 'scimitar-e2e-'));
    database = `sqlite:${join(dir, 'scimitar.db')}`;
  } else {
    database = await createTestDatabase();
  }
  const config = loadConfig({}, { ...options.config, database, port: 0, logLevel: 'silent' });
  const store = await openStore(database);
  const clock = options.clock ?? systemClock;
  const { tenant } = await ensureDefaultTenant(store);
  const app = await buildServer({ config, store, clock, logger: pino({ level: 'silent' }) });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const token = async (scope: 'scim' | 'admin' | 'authz') =>
    (await issueToken(store, clock, tenant.id, scope, `${scope} test token`)).token;
  return {
    url,
    scimUrl: `${url}/scim/v2`,
    store,
    tenantId: tenant.id,
    scimToken: await token('scim'),
    token,
    async otherTenantToken() {
      const other = (await store.tenants.findByName('other')) ?? (await store.tenants.create('other'));
      return (await issueToken(store, clock, other.id, 'scim', 'other tenant')).token;
    },
    async close() {
      await app.close();
      await store.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ScimResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

/** A small SCIM client: JSON in, JSON out, the bearer token of the test's tenant. */
export function scimClient(server: RunningServer, token = server.scimToken) {
  async function request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ScimResponse> {
    const response = await fetch(`${server.scimUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}),
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
    put: (path: string, body: unknown, headers?: Record<string, string>) => request('PUT', path, body, headers),
    patch: (path: string, body: unknown, headers?: Record<string, string>) => request('PATCH', path, body, headers),
    delete: (path: string, headers?: Record<string, string>) => request('DELETE', path, undefined, headers),
  };
}

export type ScimClient = ReturnType<typeof scimClient>;

export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export function patchOps(...operations: unknown[]) {
  return { schemas: [PATCH_SCHEMA], Operations: operations };
}
