import { AppError } from '../../core/errors.js';
import { isMembers, normalizeValue, toMemberValues } from '../resource/normalize.js';
import { groupResourceType } from '../schema/resource-types.js';
import { readPatchMessage, type PatchOperation } from './message.js';
import { resolveTarget } from './target.js';

export interface MemberDelta {
  readonly add: string[];
  readonly remove: string[];
}

/**
 * The membership change of a group PATCH that does nothing else, so the service can apply it
 * without reading the group's members (adding 10,000 members stays one batched insert). Recognised
 * operations: `add` on `members` with a value list, `remove` on `members` with a value list (Entra),
 * `remove` on `members[value eq "id"]` (Okta, Entra with `aadOptscim062020`). Anything else, an
 * invalid message included, gives `undefined`: the service then calls `applyPatch`, which applies
 * (or rejects) it in full. For one id, the later operation wins, as it would in `applyPatch`.
 */
export function memberDelta(body: unknown): MemberDelta | undefined {
  const operations = quietly(() => readPatchMessage(body));
  if (operations === undefined) return undefined;
  const last = new Map<string, 'add' | 'remove'>();
  for (const operation of operations) {
    const change = quietly(() => memberChange(operation));
    if (change === undefined) return undefined;
    for (const id of change.ids) {
      last.delete(id);
      last.set(id, change.op);
    }
  }
  const ids = (op: 'add' | 'remove'): string[] => [...last].filter(([, o]) => o === op).map(([id]) => id);
  return { add: ids('add'), remove: ids('remove') };
}

function memberChange(operation: PatchOperation): { op: 'add' | 'remove'; ids: string[] } | undefined {
  const { op, path, value } = operation;
  if (op === 'replace' || path === undefined) return undefined;
  const target = resolveTarget(path, groupResourceType);
  if (target.kind !== 'attribute' || !isMembers(target.top) || target.sub !== undefined) return undefined;
  if (target.select === undefined) {
    // Without a value, `remove` clears the group: that needs the current members.
    if (value === undefined || value === null) return undefined;
    const members = toMemberValues(normalizeValue(target.top.def, value, 'members'));
    // A claimed `type` must be checked against the store, which `applyPatch` and `setMembers` do.
    if (op === 'add' && members.some((m) => m.type !== undefined)) return undefined;
    return { op, ids: members.map((m) => m.value) };
  }
  // A filter pinning exactly `value` (see `templateOf`) is `members[value eq "id"]`.
  const template = target.template ?? {};
  const keys = Object.keys(template);
  if (op !== 'remove' || keys.length !== 1 || keys[0] !== 'value' || typeof template.value !== 'string') return undefined;
  return { op, ids: [template.value] };
}

/** Runs `fn`; a rejection (`AppError`) means "not a fast-path message", not a failure. */
function quietly<T>(fn: () => T | undefined): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof AppError) return undefined;
    throw err;
  }
}
