import type { ResourceTypeDef } from '../../core/attribute.js';
import type { AttributeChange } from '../../core/change.js';
import { AppError } from '../../core/errors.js';
import type { ScimDoc } from '../../store/store.js';
import { diffDocs } from '../resource/diff.js';
import { applyDefaults, assertRequired, isMembers, normalizeValue, toMemberValues, type MemberValue } from '../resource/normalize.js';
import { applyOperation } from './apply-operation.js';
import { expandOperation } from './expand.js';
import { readPatchMessage } from './message.js';

/**
 * The stored document, plus for a group its current `members` (all of them: a PATCH that touches
 * members computes the new full list). `id`, when given, lets a pathless value carry it unchanged.
 */
export type PatchInput = ScimDoc & { readonly id?: string; readonly members?: readonly MemberValue[] };

export interface PatchResult {
  readonly doc: ScimDoc;
  /** The group's new full member list; only when an operation touched `members`. */
  readonly members?: MemberValue[];
  /** Attribute changes in `diffDocs` paths; `members` is never among them (see `members`). */
  readonly changes: AttributeChange[];
}

/**
 * Applies an RFC 7644 §3.5.2 PatchOp message, with the IdP compatibility rules of IDP-BEHAVIOUR §1.3.
 * All or nothing: the first failing operation throws an `AppError` (its detail starts with
 * `operation N:`) and `resource` is left as it was.
 *
 * @example
 * applyPatch({ userName: 'bjensen', active: true }, {
 *   schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
 * }, userResourceType) // { doc: { userName: 'bjensen', active: false }, changes: [{ path: 'active', … }] }
 */
export function applyPatch(resource: PatchInput, body: unknown, rt: ResourceTypeDef): PatchResult {
  const operations = readPatchMessage(body);
  const { id, members, ...stored } = resource;
  // INVARIANT (applyOperation): values are replaced, never mutated, so a shallow copy protects `resource`.
  const working: ScimDoc = { ...stored };
  let touchedMembers = false;
  operations.forEach((operation, index) => {
    try {
      for (const step of expandOperation(operation, rt, id)) {
        if (isMembers(step.target.top) && !touchedMembers) {
          if (members === undefined) throw new AppError('internal', 'the group was patched without its current members');
          working.members = normalizeValue(step.target.top.def, members, 'members');
          touchedMembers = true;
        }
        applyOperation(working, step.op, step.target, step.value, step.path);
      }
    } catch (err) {
      throw err instanceof AppError ? new AppError(err.code, `operation ${index + 1}: ${err.detail}`, { cause: err }) : err;
    }
  });
  const { members: patchedMembers, ...doc } = working;
  applyDefaults(doc, rt);
  assertRequired(doc, rt);
  const changes = diffDocs(stored, doc);
  return touchedMembers ? { doc, members: toMemberValues(patchedMembers), changes } : { doc, changes };
}
