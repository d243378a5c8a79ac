import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { systemClock } from '../../src/core/clock.js';
import { buildServer } from '../../src/http/server.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { startServer } from './harness.js';

/**
 * The OpenAPI document (`docs/openapi.yaml`, served at `/openapi.json` and `/openapi.yaml`) against
 * the server that serves it: a route the server registers and the document lacks, or a path the
 * document promises and the server does not answer, fails here. Real HTTP on SQLite; the document
 * does not depend on the backend.
 */

/** The operation fields of an OpenAPI 3.1 path item. */
const OPERATION_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type Json = Record<string, any>;

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly spec: Json;
  /** Path and operation parameters together, `$ref`s resolved. */
  readonly parameters: readonly Json[];
}

function operationsOf(doc: Json): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries<Json>(doc.paths)) {
    for (const method of OPERATION_METHODS) {
      const spec = item[method];
      if (!spec) continue;
      const parameters = [...(item.parameters ?? []), ...(spec.parameters ?? [])].map((p: Json) => resolve(doc, p));
      out.push({ method: method.toUpperCase(), path, spec, parameters });
    }
  }
  return out;
}

/** A local `$ref` (`#/components/…`) to what it points at; anything else as it is. */
function resolve(doc: Json, node: Json): Json {
  if (typeof node?.$ref !== 'string') return node;
  const target = pointer(doc, node.$ref);
  if (target === undefined) throw new Error(`unresolved $ref ${node.$ref}`);
  return resolve(doc, target);
}

function pointer(doc: Json, ref: string): any {
  if (!ref.startsWith('#/')) return undefined;
  let at: any = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    at = at?.[key];
  }
  return at;
}

/** Every `$ref` string anywhere in the document, with where it is. */
function refsOf(node: unknown, at = '#'): { at: string; ref: string }[] {
  if (Array.isArray(node)) return node.flatMap((v, i) => refsOf(v, `${at}/${i}`));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) =>
    k === '$ref' && typeof v === 'string' ? [{ at, ref: v }] : refsOf(v, `${at}/${k}`),
  );
}

/**
 * `METHOD path` with parameters reduced to `{}` and the path lower-cased: the router matches paths
 * without regard to case and names parameters as it likes (`:id` in the server, `{id}` here).
 */
function routeKey(method: string, path: string): string {
  const shape = path
    .toLowerCase()
    .replace(/\/:[^/]+/g, '/{}')
    .replace(/\{[^}]+\}/g, '{}');
  return `${method.toUpperCase()} ${shape}`;
}

/**
 * Every `METHOD path` the server registered, from Fastify's route tree
 * (`printRoutes({ commonPrefix: false })`): each line is a path segment appended to its parent's,
 * one level per four columns of tree drawing, with the methods in parentheses.
 */
function registeredRoutes(app: FastifyInstance): Set<string> {
  const routes = new Set<string>();
  const prefixes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (.+?)(?: \(([^)]*)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const path = (prefixes[depth - 1] ?? '') + match[2]!;
    prefixes[depth] = path;
    prefixes.length = depth + 1;
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean)) {
      routes.add(routeKey(method, path));
    }
  }
  return routes;
}

/**
 * Fastify adds a HEAD route for every GET, and `all()` (used for `/Me`) registers methods such as
 * QUERY that an OpenAPI 3.1 path item has no field for; neither is expected in the document.
 */
function documentable(key: string): boolean {
  const method = key.slice(0, key.indexOf(' ')).toLowerCase();
  return method !== 'head' && (OPERATION_METHODS as readonly string[]).includes(method);
}

/** Real HTTP with any method, TRACE included (which `fetch` refuses to send). */
function send(url: string, method: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A documented path with each parameter replaced by its documented example (or a placeholder). */
function concretePath(operation: Operation): string {
  return operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const parameter = operation.parameters.find((p) => p.in === 'path' && p.name === name);
    return encodeURIComponent(String(parameter?.example ?? 'x'));
  });
}

describe('OpenAPI document', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  let url: string;
  let doc: Json;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scimitar-openapi-'));
    const database = `sqlite:${join(dir, 'scimitar.db')}`;
    const config = loadConfig({}, { database, port: 0, logLevel: 'silent' });
    store = await openStore(database);
    app = await buildServer({ config, store, clock: systemClock, logger: pino({ level: 'silent' }) });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${url}/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Json;
  });

  afterAll(async () => {
    await app?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('served', () => {
    it('GET /openapi.json needs no token and returns an OpenAPI 3.1 document', async () => {
      const res = await fetch(`${url}/openapi.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as Json;
      expect(body.openapi).toMatch(/^3\.1\.\d+$/);
      expect(body.info.title).toBe('Scimitar');
      expect(typeof body.info.version).toBe('string');
      expect(Object.keys(body.paths).length).toBeGreaterThan(0);
    });

    it('GET /openapi.yaml returns the same document as YAML', async () => {
      const res = await fetch(`${url}/openapi.yaml`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/yaml/);
      expect(parseYaml(await res.text())).toEqual(doc);
    });

    it('names no server unless a base URL is configured, so its paths are relative to where it was fetched', () => {
      expect(doc.servers).toBeUndefined();
    });

    it('names the configured base URL as its server, in JSON and in YAML', async () => {
      const server = await startServer('sqlite', { config: { baseUrl: 'https://scimitar.example.com/' } });
      try {
        const json = (await (await fetch(`${server.url}/openapi.json`)).json()) as Json;
        expect(json.servers).toEqual([{ url: 'https://scimitar.example.com', description: expect.any(String) }]);
        const yaml = parseYaml(await (await fetch(`${server.url}/openapi.yaml`)).text());
        expect(yaml).toEqual(json);
        expect(Object.keys(yaml).indexOf('servers')).toBe(Object.keys(yaml).indexOf('info') + 1);
      } finally {
        await server.close();
      }
    });

    it('resolves every $ref it contains', () => {
      const dangling = refsOf(doc).filter(({ ref }) => pointer(doc, ref) === undefined);
      expect(dangling).toEqual([]);
    });
  });

  describe('routes', () => {
    it('documents every route the server registers, with its method', () => {
      const documented = new Set(operationsOf(doc).map((op) => routeKey(op.method, op.path)));
      const registered = [...registeredRoutes(app)].filter(documentable);
      // Guards the route-tree reading itself: an empty or partial read would make this test pass vacuously.
      expect(registered).toContain(routeKey('GET', '/scim/v2/Users/:id'));
      expect(registered).toContain(routeKey('POST', '/access/v1/evaluations'));
      expect(registered).toContain(routeKey('GET', '/admin/v1/attribute-rules/:key/matches'));
      expect(registered.filter((key) => !documented.has(key))).toEqual([]);
    });

    it('documents only routes the server registers', () => {
      const registered = registeredRoutes(app);
      const missing = operationsOf(doc)
        .map((op) => routeKey(op.method, op.path))
        .filter((key) => !registered.has(key));
      expect(missing).toEqual([]);
    });

    it('answers every documented operation over HTTP (without a token: 401, never 404)', async () => {
      const notFound: string[] = [];
      for (const operation of operationsOf(doc)) {
        const res = await send(`${url}${concretePath(operation)}`, operation.method);
        if (res.status === 404) notFound.push(`${operation.method} ${operation.path}: ${res.body}`);
        const secured = (operation.spec.security ?? doc.security ?? []).length > 0;
        if (secured) expect(res.status, `${operation.method} ${operation.path}`).toBe(401);
      }
      expect(notFound).toEqual([]);
    });

    it('declares the status each operation answers without a token', () => {
      for (const operation of operationsOf(doc)) {
        const secured = (operation.spec.security ?? doc.security ?? []).length > 0;
        if (secured) expect(Object.keys(operation.spec.responses), `${operation.method} ${operation.path}`).toContain('401');
      }
    });
  });

  describe('operations', () => {
    it('each has an operationId, and no two share one', () => {
      const ids = operationsOf(doc).map((op) => op.spec.operationId);
      expect(ids.filter((id) => typeof id !== 'string' || id === '')).toEqual([]);
      expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    });

    it('each names a security scheme the document defines (or none, for public routes)', () => {
      const schemes = Object.keys(doc.components.securitySchemes);
      expect(schemes.sort()).toEqual(['adminToken', 'authzToken', 'scimToken']);
      for (const operation of operationsOf(doc)) {
        expect(operation.spec.security, `${operation.method} ${operation.path}`).toBeDefined();
        for (const requirement of operation.spec.security) {
          for (const name of Object.keys(requirement)) expect(schemes).toContain(name);
        }
      }
    });

    it('describes every error response with the one SCIM error body', () => {
      const errorSchema = { $ref: '#/components/schemas/ScimError' };
      for (const operation of operationsOf(doc)) {
        for (const [status, response] of Object.entries<Json>(operation.spec.responses)) {
          if (Number(status) < 400) continue;
          const content = resolve(doc, response).content;
          expect(content?.['application/scim+json']?.schema, `${operation.method} ${operation.path} ${status}`).toEqual(errorSchema);
        }
      }
    });
  });
});
