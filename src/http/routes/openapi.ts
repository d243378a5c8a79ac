import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { Config } from '../../config/config.js';
import { AppError } from '../../core/errors.js';
import { isPlainObject } from '../../core/json.js';

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
 * The document is read and parsed when the server is built, so a missing or broken file fails the
 * start instead of the first request that asks for it.
 */
export function registerOpenApiRoutes(app: FastifyInstance, config: Config): void {
  const texts = renderOpenApi(config.baseUrl);
  app.get('/openapi.json', (_request, reply) => reply.code(200).type('application/json; charset=utf-8').send(texts.json));
  app.get('/openapi.yaml', (_request, reply) => reply.code(200).type('application/yaml; charset=utf-8').send(texts.yaml));
}

interface Source {
  readonly path: string;
  readonly text: string;
  readonly doc: Readonly<Record<string, unknown>>;
}

// Parsed once per process: at ~140 KB the parse takes a few hundred milliseconds, and tests and
// embedders build many servers from the same unchanging file.
let source: Source | undefined;

/**
 * The document as JSON and YAML. With a base URL, `servers` names it, so tools that fetch the
 * document through one host and call another (a gateway, a generated client) use the public URL;
 * without one the document has no `servers`, which OpenAPI reads as "relative to where it was
 * fetched". The YAML is the file's own text, comments included.
 */
export function renderOpenApi(baseUrl: string | undefined): OpenApiTexts {
  source ??= loadOpenApiSource();
  if (baseUrl === undefined) return { json: JSON.stringify(source.doc), yaml: source.text };
  const servers = [{ url: baseUrl.replace(/\/+$/, ''), description: 'the public base URL (SCIMITAR_BASE_URL)' }];
  const doc = withServers(source.doc, servers);
  return { json: JSON.stringify(doc), yaml: 'servers' in source.doc ? stringifyYaml(doc) : insertServers(source.text, servers) };
}

function loadOpenApiSource(): Source {
  const path = openApiPath();
  const text = readFileSync(path, 'utf8');
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new AppError('internal', `\`${path}\` is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  if (!isPlainObject(doc) || typeof doc.openapi !== 'string') {
    throw new AppError('internal', `\`${path}\` is not an OpenAPI document: it has no \`openapi\` version`);
  }
  return { path, text, doc };
}

/** A copy with `servers` right after `info`, where a reader looks for it. */
function withServers(doc: Readonly<Record<string, unknown>>, servers: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'servers') continue;
    out[key] = value;
    if (key === 'info') out.servers = servers;
  }
  if (!('servers' in out)) out.servers = servers;
  return out;
}

/**
 * `servers` spliced into the file's text before the first top-level key after `info`, so the
 * comments stay and the file is not re-serialised. Values are written as JSON strings, which YAML
 * reads as the same strings. Only used when the file has no `servers` of its own.
 */
function insertServers(text: string, servers: readonly { url: string; description: string }[]): string {
  const block =
    'servers:\n' +
    servers.map((s) => `  - url: ${JSON.stringify(s.url)}\n    description: ${JSON.stringify(s.description)}\n`).join('');
  const info = /^info:.*\n/m.exec(text);
  const from = info ? info.index + info[0].length : -1;
  const next = info ? /^[^\s#]/m.exec(text.slice(from)) : null;
  if (!next) return `${text.replace(/\n*$/, '\n')}${block}`;
  const at = from + next.index;
  return `${text.slice(0, at)}${block}${text.slice(at)}`;
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
