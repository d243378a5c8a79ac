import { AppError } from '../../core/errors.js';
import { isPlainObject } from '../../core/json.js';
import { getProperty } from '../resource/normalize.js';
import { PATCH_OP } from '../schema/urns.js';

export type PatchOpName = 'add' | 'replace' | 'remove';

/** One entry of `Operations`, checked for shape only; `path` is still text. */
export interface PatchOperation {
  readonly op: PatchOpName;
  /** Absent (or `""`) means the resource itself. */
  readonly path?: string;
  /** Present (possibly `null`) for `add` and `replace`; for `remove`, `undefined` unless the client sent one. */
  readonly value?: unknown;
}

const OPS: readonly PatchOpName[] = ['add', 'replace', 'remove'];

/**
 * Reads an RFC 7644 §3.5.2 PatchOp message. `op` and the member names are matched case-insensitively,
 * because Entra writes `"op":"Replace"` (IDP-BEHAVIOUR rule 1). Shape errors are `invalid_syntax`.
 */
export function readPatchMessage(body: unknown): PatchOperation[] {
  if (!isPlainObject(body)) throw syntax('the request body must be a json object');
  const schemas = getProperty(body, 'schemas');
  const lowerUrn = PATCH_OP.toLowerCase();
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === lowerUrn)) {
    throw syntax(`\`schemas\` must include \`${PATCH_OP}\``);
  }
  const operations = getProperty(body, 'Operations');
  if (!Array.isArray(operations) || operations.length === 0) throw syntax('`Operations` must be a non-empty list');
  return operations.map(readOperation);
}

function readOperation(raw: unknown, index: number): PatchOperation {
  const at = `operation ${index + 1}`;
  if (!isPlainObject(raw)) throw syntax(`${at} must be an object`);
  const name = getProperty(raw, 'op');
  const op = typeof name === 'string' ? OPS.find((o) => o === name.toLowerCase()) : undefined;
  if (op === undefined) throw syntax(`${at}: \`op\` must be \`add\`, \`replace\` or \`remove\``);
  const path = getProperty(raw, 'path');
  if (path !== undefined && path !== null && typeof path !== 'string') {
    throw new AppError('invalid_path', `${at}: \`path\` must be a string`);
  }
  const hasValue = Object.keys(raw).some((k) => k.toLowerCase() === 'value');
  if (op !== 'remove' && !hasValue) throw syntax(`${at}: \`${op}\` needs a \`value\``);
  const value = getProperty(raw, 'value');
  return typeof path === 'string' && path !== '' ? { op, path, value } : { op, value };
}

function syntax(detail: string): AppError {
  return new AppError('invalid_syntax', detail);
}
