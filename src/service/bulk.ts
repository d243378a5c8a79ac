import type { ResourceTypeName } from '../core/attribute.js';
import type { Actor } from '../core/change.js';
import { AppError, isAppError } from '../core/errors.js';
import { BULK_REQUEST } from '../scim/schema/urns.js';
import type { ScimWriter } from '../store/store.js';
import type { ScimService } from './scim-service.js';
import { createResource, deleteResource, patchResource, replaceResource, type WriteContext } from './scim-writes.js';

export type BulkMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface BulkOperation {
  readonly index: number;
  readonly method: BulkMethod;
  readonly bulkId?: string;
  readonly path: string;
  readonly version?: string;
  readonly data?: unknown;
}

export interface BulkResult {
  readonly method: BulkMethod;
  readonly bulkId?: string;
  readonly type?: ResourceTypeName;
  readonly id?: string;
  readonly version?: number;
  readonly status: number;
  readonly error?: AppError;
}

const BULK_ID_PREFIX = 'bulkId:';
const METHODS: readonly BulkMethod[] = ['POST', 'PUT', 'PATCH', 'DELETE'];
const ENDPOINTS: Readonly<Record<string, ResourceTypeName>> = { users: 'User', groups: 'Group' };

/**
 * RFC 7644 §3.7. All operations run in ONE transaction, each inside its own savepoint: an
 * operation that fails is undone alone and reported, the others commit together, and a crash
 * leaves none of them. Operations that reference a `bulkId:` not yet created wait until the POST
 * that defines it has run, whatever their order in the request.
 */
export async function runBulk(
  scim: ScimService,
  tenantId: string,
  actor: Actor,
  body: unknown,
  maxOperations: number,
): Promise<BulkResult[]> {
  const { operations, failOnErrors } = parseBulkRequest(body, maxOperations);
  return scim.transaction(tenantId, actor, async (tx, ctx) => {
    const created = new Map<string, string>();
    const results = new Map<number, BulkResult>();
    let pending = operations;
    let errors = 0;
    while (pending.length > 0 && errors < failOnErrors) {
      const waiting: BulkOperation[] = [];
      for (const op of pending) {
        if (errors >= failOnErrors) break;
        if (waitsForAnother(op, created, pending)) {
          waiting.push(op);
          continue;
        }
        const result = await runOne(tx, ctx, op, created);
        if (result.error) errors += 1;
        results.set(op.index, result);
      }
      if (waiting.length === pending.length) {
        // Nothing could run: the remaining operations reference each other in a cycle.
        for (const op of waiting) {
          errors += 1;
          results.set(op.index, failed(op, new AppError('invalid_value', 'circular `bulkId` references cannot be resolved')));
        }
        break;
      }
      pending = waiting;
    }
    return [...results.entries()].sort(([a], [b]) => a - b).map(([, result]) => result);
  });
}

async function runOne(
  tx: ScimWriter,
  ctx: WriteContext,
  op: BulkOperation,
  created: Map<string, string>,
): Promise<BulkResult> {
  try {
    const path = substitute(op.path, created) as string;
    const data = substitute(op.data, created);
    const { type, id } = parsePath(path, op.method);
    const precondition = op.version === undefined ? {} : { ifMatch: op.version };
    return await tx.attempt(async () => {
      switch (op.method) {
        case 'POST': {
          const outcome = await createResource(tx, ctx, type, data);
          created.set(op.bulkId!, outcome.resource.id);
          return done(op, type, outcome.resource.id, outcome.revision, 201);
        }
        case 'PUT': {
          const outcome = await replaceResource(tx, ctx, type, id!, data, precondition);
          return done(op, type, id!, outcome.revision, 200);
        }
        case 'PATCH': {
          const outcome = await patchResource(tx, ctx, type, id!, data, precondition);
          return done(op, type, id!, outcome.revision, 200);
        }
        case 'DELETE':
          await deleteResource(tx, ctx, type, id!, precondition);
          return { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), type, id: id!, status: 204 };
      }
    });
  } catch (err) {
    if (!isAppError(err) || err.code === 'internal') throw err;
    return failed(op, err);
  }
}

function done(op: BulkOperation, type: ResourceTypeName, id: string, version: number, status: number): BulkResult {
  return { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), type, id, version, status };
}

function failed(op: BulkOperation, error: AppError): BulkResult {
  return { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), status: error.status, error };
}

/** True when `op` names a bulkId that a POST still pending in this request will define. */
function waitsForAnother(op: BulkOperation, created: Map<string, string>, pending: readonly BulkOperation[]): boolean {
  const refs = referencedBulkIds([op.path, op.data]);
  return refs.some((ref) => !created.has(ref) && pending.some((p) => p !== op && p.bulkId === ref));
}

function referencedBulkIds(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    const at = value.indexOf(BULK_ID_PREFIX);
    if (at !== -1) out.push(value.slice(at + BULK_ID_PREFIX.length));
  } else if (Array.isArray(value)) {
    for (const v of value) referencedBulkIds(v, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) referencedBulkIds(v, out);
  }
  return out;
}

/** Replaces every `bulkId:x` (a whole value, or the last segment of a path) by the id POST x created. */
function substitute(value: unknown, created: Map<string, string>): unknown {
  if (typeof value === 'string') {
    const at = value.indexOf(BULK_ID_PREFIX);
    if (at === -1) return value;
    const ref = value.slice(at + BULK_ID_PREFIX.length);
    const id = created.get(ref);
    if (id === undefined) throw new AppError('invalid_value', `\`bulkId:${ref}\` does not name a resource created in this request`);
    return value.slice(0, at) + id;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, created));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, created)]));
  }
  return value;
}

function parsePath(path: string, method: BulkMethod): { type: ResourceTypeName; id?: string } {
  const [endpoint, id, ...rest] = path.replace(/^\/+/, '').split('/');
  const type = ENDPOINTS[(endpoint ?? '').toLowerCase()];
  if (!type || rest.length > 0) throw new AppError('invalid_path', `bulk path \`${path}\` is not \`/Users\`, \`/Groups\` or one of their resources`);
  if (method === 'POST' && id !== undefined) throw new AppError('invalid_path', `a bulk POST goes to \`/${endpoint}\`, not \`${path}\``);
  if (method !== 'POST' && !id) throw new AppError('invalid_path', `a bulk ${method} needs a resource path such as \`/${endpoint}/{id}\``);
  return id ? { type, id: decodeURIComponent(id) } : { type };
}

function parseBulkRequest(body: unknown, maxOperations: number): { operations: BulkOperation[]; failOnErrors: number } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('invalid_syntax', 'a BulkRequest must be a JSON object');
  }
  const request = body as Record<string, unknown>;
  const schemas = request.schemas;
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === BULK_REQUEST.toLowerCase())) {
    throw new AppError('invalid_syntax', `\`schemas\` must contain \`${BULK_REQUEST}\``);
  }
  const raw = request.Operations ?? request.operations;
  if (!Array.isArray(raw)) throw new AppError('invalid_syntax', '`Operations` must be an array');
  if (raw.length > maxOperations) {
    throw new AppError('payload_too_large', `a bulk request may hold at most ${maxOperations} operations; this one has ${raw.length}`);
  }
  const failOnErrors = request.failOnErrors;
  if (failOnErrors !== undefined && (typeof failOnErrors !== 'number' || !Number.isInteger(failOnErrors) || failOnErrors < 1)) {
    throw new AppError('invalid_value', '`failOnErrors` must be a positive integer');
  }
  const operations = raw.map((op, index) => parseOperation(op, index));
  const seen = new Set<string>();
  for (const op of operations) {
    if (op.bulkId === undefined) continue;
    if (seen.has(op.bulkId)) throw new AppError('invalid_value', `\`bulkId\` \`${op.bulkId}\` is used twice`);
    seen.add(op.bulkId);
  }
  return { operations, failOnErrors: (failOnErrors as number | undefined) ?? Number.POSITIVE_INFINITY };
}

function parseOperation(raw: unknown, index: number): BulkOperation {
  const where = `Operations[${index}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new AppError('invalid_syntax', `\`${where}\` must be an object`);
  }
  const op = raw as Record<string, unknown>;
  const method = typeof op.method === 'string' ? (op.method.toUpperCase() as BulkMethod) : undefined;
  if (!method || !METHODS.includes(method)) {
    throw new AppError('invalid_value', `\`${where}.method\` must be one of ${METHODS.join(', ')}`);
  }
  if (typeof op.path !== 'string' || op.path === '') throw new AppError('invalid_value', `\`${where}.path\` is required`);
  if (op.bulkId !== undefined && (typeof op.bulkId !== 'string' || op.bulkId === '')) {
    throw new AppError('invalid_value', `\`${where}.bulkId\` must be a non-empty string`);
  }
  if (method === 'POST' && op.bulkId === undefined) throw new AppError('invalid_value', `\`${where}.bulkId\` is required for POST`);
  if (method !== 'DELETE' && op.data === undefined) throw new AppError('invalid_value', `\`${where}.data\` is required for ${method}`);
  if (op.version !== undefined && typeof op.version !== 'string') {
    throw new AppError('invalid_value', `\`${where}.version\` must be a string`);
  }
  return {
    index,
    method,
    path: op.path,
    ...(typeof op.bulkId === 'string' ? { bulkId: op.bulkId } : {}),
    ...(typeof op.version === 'string' ? { version: op.version } : {}),
    ...(op.data !== undefined ? { data: op.data } : {}),
  };
}
