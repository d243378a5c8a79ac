import type { ResourceTypeDef, SchemaDef } from '../../core/attribute.js';
import { AppError } from '../../core/errors.js';
import { isPlainObject } from '../../core/json.js';
import type { PatchOpName, PatchOperation } from './message.js';
import { resolveTarget, type AttributeTarget } from './target.js';

/** One operation on one attribute: what `applyOperation` takes. */
export interface Step {
  readonly op: PatchOpName;
  readonly target: AttributeTarget;
  readonly value: unknown;
  /** As the client wrote it (or as derived from a value key), for error messages. */
  readonly path: string;
}

/**
 * Turns one PATCH operation into attribute steps. A pathless add/replace (RFC 7644 §3.5.2.1) and a
 * path naming a whole extension carry an object of attributes; each key is read as a path, so
 * Entra's `aadOptscim062020` keys work unchanged: `name.givenName`,
 * `urn:…:enterprise:2.0:User:employeeNumber`, `emails[type eq "work"].value`, nested extension objects.
 *
 * `id` is the resource's id when the caller knows it: a pathless value may carry it unchanged
 * (Okta's rename sends `{id, displayName}`), but not change it.
 */
export function expandOperation(operation: PatchOperation, rt: ResourceTypeDef, id: string | undefined): Step[] {
  const { op, path, value } = operation;
  if (path === undefined) {
    // RFC 7644 §3.5.2.2: "If 'path' is unspecified, the operation fails with … noTarget".
    if (op === 'remove') throw new AppError('no_target', '`remove` needs a `path`');
    return pathless(op, value, rt, id);
  }
  const target = resolveTarget(path, rt);
  if (target.kind === 'attribute') return [{ op, target, value, path }];
  return wholeSchema(op, target.schema, value, rt, id);
}

function pathless(op: PatchOpName, value: unknown, rt: ResourceTypeDef, id: string | undefined): Step[] {
  if (!isPlainObject(value)) throw new AppError('invalid_value', 'a `value` without `path` must be an object of attributes');
  return Object.entries(value).flatMap(([key, item]) => {
    const lower = key.toLowerCase();
    // Clients echo the resource back: metadata that does not change the resource is not a change.
    if (lower === 'schemas' || lower === 'meta') return [];
    if (lower === 'id') {
      if (id !== undefined && item !== id) throw new AppError('mutability', 'attribute `id` is readOnly');
      return [];
    }
    return asValueKey(() => expandOperation({ op, path: key, value: item }, rt, id));
  });
}

function wholeSchema(op: PatchOpName, schema: SchemaDef, value: unknown, rt: ResourceTypeDef, id: string | undefined): Step[] {
  if (op === 'remove') {
    const writable = schema.attributes.filter((a) => a.mutability !== 'readOnly');
    return writable.flatMap((a) => expandOperation({ op, path: `${schema.id}:${a.name}` }, rt, id));
  }
  if (!isPlainObject(value)) throw new AppError('invalid_value', `the value for \`${schema.id}\` must be an object of its attributes`);
  return Object.entries(value).flatMap(([key, item]) => expandOperation({ op, path: `${schema.id}:${key}`, value: item }, rt, id));
}

/** Without a `path` in the request, an unknown key is a bad value, not a bad path. */
function asValueKey(expand: () => Step[]): Step[] {
  try {
    return expand();
  } catch (err) {
    if (err instanceof AppError && err.code === 'invalid_path') throw new AppError('invalid_value', err.detail, { cause: err });
    throw err;
  }
}
