import type { ResourceTypeName } from '../core/attribute.js';
import { AppError } from '../core/errors.js';
import type { MemberRef, ScimWriter } from '../store/store.js';

export interface RequestedMember {
  readonly value: string;
  readonly type?: string;
}

/**
 * Looks up every requested member in one batched query and checks it exists in this tenant as
 * the type the client claims. An id of another tenant is reported like any unknown id, so a
 * client learns nothing about other tenants.
 */
export async function resolveMembers(
  tx: ScimWriter,
  groupId: string,
  requested: readonly RequestedMember[],
): Promise<MemberRef[]> {
  const ids = [...new Set(requested.map((m) => m.value))];
  const kinds = await tx.kindsOf(ids);
  const claimed = new Map(requested.map((m) => [m.value, m.type]));
  return ids.map((id) => {
    if (id === groupId) throw new AppError('invalid_value', `group \`${id}\` cannot be a member of itself`);
    const kind = kinds.get(id);
    if (!kind) throw new AppError('invalid_value', `member \`${id}\` does not exist`);
    const type = claimed.get(id);
    if (type !== undefined && type !== null && type.toLowerCase() !== kind.toLowerCase()) {
      throw new AppError('invalid_value', `member \`${id}\` is a ${kind}, not a ${type}`);
    }
    return { value: id, type: kind as ResourceTypeName };
  });
}

export interface MembershipDelta {
  readonly added: string[];
  readonly removed: string[];
}

/** Brings a group's members to exactly `target`, touching only the rows that differ. */
export async function setMembers(
  tx: ScimWriter,
  groupId: string,
  target: readonly RequestedMember[],
): Promise<MembershipDelta> {
  const wanted = await resolveMembers(tx, groupId, target);
  const current = new Set((await tx.memberIds(groupId)).map((m) => m.value));
  const wantedIds = new Set(wanted.map((m) => m.value));
  const removed = await tx.removeMembers(
    groupId,
    [...current].filter((id) => !wantedIds.has(id)),
  );
  const added = await tx.addMembers(
    groupId,
    wanted.filter((m) => !current.has(m.value)),
  );
  return { added, removed };
}

/** Applies an add/remove delta (the PATCH fast path that never reads the current members). */
export async function applyMemberDelta(
  tx: ScimWriter,
  groupId: string,
  delta: { readonly add: readonly string[]; readonly remove: readonly string[] },
): Promise<MembershipDelta> {
  const removed = delta.remove.length > 0 ? await tx.removeMembers(groupId, delta.remove) : [];
  const toAdd = await resolveMembers(tx, groupId, delta.add.map((value) => ({ value })));
  const added = toAdd.length > 0 ? await tx.addMembers(groupId, toAdd) : [];
  return { added, removed };
}
