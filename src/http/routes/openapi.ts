import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { isMap, isScalar, parseDocument, type Document } from 'yaml';
import type { Config } from '../../config/config.js';
import { AppError } from '../../core/errors.js';

/** The two renderings of the document one server serves. */
export interface OpenApiTexts {
  readonly json: string;
  readonly yaml: string;
}

/**
 * `GET /openapi.json` and `GET /openapi.yaml`: the OpenAPI 3.1 description of the whole HTTP API,
 * hand-written in `docs/openapi.yaml`. Public, like the SCIM and AuthZEN discovery documents, so a
 * client generator or an API gateway can read it before it holds a token.
 *
 * The file is read and parsed once, when the server is built: a missing or broken document fails
 * the start instead of the first request that asks for it.
 */
export function registerOpenApiRoutes(app: FastifyInstance, config: Config): void {
  const texts = renderOpenApi(config.baseUrl);
  app.get('/openapi.json', (_request, reply) => reply.code(200).type('application/json; charset=utf-8').send(texts.json));
  app.get('/openapi.yaml', (_request, reply) => reply.code(200).type('application/yaml; charset=utf-8').send(texts.yaml));
}

let parsed: Document | undefined;

/**
 * The document as JSON and YAML. With a base URL, `servers` names it, so tools that fetch the
 * document through one host and call another (a gateway, a generated client) use the public URL;
 * without one the document has no `servers`, which OpenAPI reads as "relative to where it was
 * fetched". The YAML keeps the file's comments.
 */
export function renderOpenApi(baseUrl: string | undefined): OpenApiTexts {
  // Parsed once per process: tests and embedders build many servers, and the document never changes.
  parsed ??= loadOpenApiDocument();
  const doc = parsed.clone();
  if (baseUrl !== undefined) setServers(doc, baseUrl.replace(/\/+$/, ''));
  return { json: JSON.stringify(doc.toJS()), yaml: doc.toString() };
}

function loadOpenApiDocument(): Document {
  const path = openApiPath();
  const doc = parseDocument(readFileSync(path, 'utf8'));
  const error = doc.errors[0];
  if (error) throw new AppError('internal', `\`${path}\` is not valid YAML: ${error.message}`);
  if (!isMap(doc.contents)) throw new AppError('internal', `\`${path}\` is not an OpenAPI document: its top level is not a map`);
  return doc;
}

/** `servers` goes right after `info`, where a reader of the YAML looks for it. */
function setServers(doc: Document, url: string): void {
  doc.delete('servers');
  const items = isMap(doc.contents) ? doc.contents.items : [];
  const info = items.findIndex((pair) => isScalar(pair.key) && pair.key.value === 'info');
  items.splice(info + 1, 0, doc.createPair('servers', [{ url, description: 'the public base URL (SCIMITAR_BASE_URL)' }]));
}

/**
 * The document ships in `docs/` (package.json `files`), while the code runs either from
 * `src/http/routes/*.ts` (vitest, tsx) or from the build in `dist/http/routes/*.js`: both are three
 * levels below the package root.
 */
export function openApiPath(): string {
  const path = fileURLToPath(new URL('../../../docs/openapi.yaml', import.meta.url));
  if (existsSync(path)) return path;
  throw new AppError('internal', `OpenAPI document not found: expected \`${path}\` next to \`${fileURLToPath(import.meta.url)}\``);
}
