import { randomUUID } from 'node:crypto';
import type { ResourceTypeName } from '../core/attribute.js';
import type { Actor, AttributeChange, ChangeOperation } from '../core/change.js';
import { AppError } from '../core/errors.js';
import { memberDelta, applyPatch } from '../scim/patch/index.js';
import { diffDocs } from '../scim/resource/diff.js';
import { normalizeResource } from '../scim/resource/normalize.js';
import { matchesIfMatch } from '../scim/etag.js';
import { RESOURCE_TYPES } from '../scim/schema/resource-types.js';
import type { ScimWriter, StoredGroup, StoredResource, StoredUser } from '../store/store.js';
import { applyMemberDelta, resolveMembers, setMembers, type MembershipDelta } from './memberships.js';

/**
 * The SCIM write use-cases, each running inside a transaction it is given, so a single request
 * and every operation of a Bulk request share one code path. A write that changes nothing
 * allocates no revision and writes no log row: IdPs re-send unchanged state all the time.
 */
export interface WriteContext {
  readonly actor: Actor;
  /** ISO time of the write; one request, one instant. */
  readonly at: string;
}

export interface Precondition {
  /** The `If-Match` header (or a Bulk operation's `version`). */
  readonly ifMatch?: string;
}

export interface WriteOutcome {
  readonly resource: StoredUser | StoredGroup;
  /** The revision of this write, or the resource's unchanged version when nothing changed. */
  readonly revision: number;
  readonly changed: boolean;
}

const NO_MEMBERSHIP_CHANGE: MembershipDelta = { added: [], removed: [] };

export async function createResource(
  tx: ScimWriter,
  ctx: WriteContext,
  type: ResourceTypeName,
  body: unknown,
): Promise<WriteOutcome> {
  const { doc, members } = normalizeResource(body, RESOURCE_TYPES[type], 'create');
  const id = randomUUID();
  const requested = type === 'Group' ? await resolveMembers(tx, id, members ?? []) : [];
  const revision = await tx.nextRevision();
  const resource: StoredResource = { id, doc, created: ctx.at, lastModified: ctx.at, version: revision };
  await tx.insert(type, resource);
  const added = requested.length > 0 ? await tx.addMembers(id, requested) : [];
  if (added.length > 0) await tx.stampMembers(added, { revision, at: ctx.at });
  await record(tx, ctx, revision, type, id, 'create', diffDocs({}, doc), { added, removed: [] });
  const stored: StoredGroup | StoredUser = type === 'Group' ? { ...resource, members: requested } : resource;
  return { resource: stored, revision, changed: true };
}

export async function replaceResource(
  tx: ScimWriter,
  ctx: WriteContext,
  type: ResourceTypeName,
  id: string,
  body: unknown,
  precondition: Precondition,
): Promise<WriteOutcome> {
  const existing = await current(tx, type, id, precondition);
  const { doc, members } = normalizeResource(body, RESOURCE_TYPES[type], 'replace', existing.doc);
  // PUT replaces the whole resource (RFC 7644 §3.5.1): a group PUT without `members` empties it.
  const delta = type === 'Group' ? await setMembers(tx, id, members ?? []) : NO_MEMBERSHIP_CHANGE;
  return commitUpdate(tx, ctx, type, existing, doc, diffDocs(existing.doc, doc), delta, 'replace');
}

export async function patchResource(
  tx: ScimWriter,
  ctx: WriteContext,
  type: ResourceTypeName,
  id: string,
  body: unknown,
  precondition: Precondition,
): Promise<WriteOutcome> {
  const fastPath = type === 'Group' ? memberDelta(body) : undefined;
  if (fastPath) {
    // Member-only PATCH (the common Entra/Okta shape): never read the group's current members.
    const existing = await current(tx, type, id, precondition);
    const delta = await applyMemberDelta(tx, id, fastPath);
    return commitUpdate(tx, ctx, type, existing, existing.doc, [], delta, 'patch');
  }
  const existing = await current(tx, type, id, precondition, type === 'Group');
  // `id` goes in so a pathless replace that repeats it unchanged (Okta's rename) passes, and a different one fails.
  const members = type === 'Group' ? ((existing as StoredGroup).members ?? []).map((m) => ({ value: m.value, type: m.type })) : undefined;
  const result = applyPatch({ ...existing.doc, id: existing.id, ...(members ? { members } : {}) }, body, RESOURCE_TYPES[type]);
  const delta = result.members !== undefined ? await setMembers(tx, id, result.members) : NO_MEMBERSHIP_CHANGE;
  return commitUpdate(tx, ctx, type, existing, result.doc, result.changes, delta, 'patch');
}

export async function deleteResource(
  tx: ScimWriter,
  ctx: WriteContext,
  type: ResourceTypeName,
  id: string,
  precondition: Precondition,
): Promise<number> {
  const existing = await current(tx, type, id, precondition);
  const members = type === 'Group' ? (await tx.memberIds(id)).map((m) => m.value) : [];
  const revision = await tx.nextRevision();
  await tx.remove(type, id, revision, ctx.at);
  await record(tx, ctx, revision, type, id, 'delete', diffDocs(existing.doc, {}), { added: [], removed: members });
  return revision;
}

async function current(
  tx: ScimWriter,
  type: ResourceTypeName,
  id: string,
  precondition: Precondition,
  withMembers = false,
): Promise<StoredUser | StoredGroup> {
  const existing = await tx.get(type, id, { members: withMembers });
  if (!existing) throw new AppError('not_found', `${type.toLowerCase()} \`${id}\` not found`);
  if (precondition.ifMatch !== undefined && !matchesIfMatch(precondition.ifMatch, existing.version)) {
    throw new AppError('precondition_failed', `${type.toLowerCase()} \`${id}\` has changed: version is W/"${existing.version}"`);
  }
  return existing;
}

async function commitUpdate(
  tx: ScimWriter,
  ctx: WriteContext,
  type: ResourceTypeName,
  existing: StoredResource,
  doc: StoredResource['doc'],
  changes: AttributeChange[],
  delta: MembershipDelta,
  operation: ChangeOperation,
): Promise<WriteOutcome> {
  if (changes.length === 0 && delta.added.length === 0 && delta.removed.length === 0) {
    return { resource: existing, revision: existing.version, changed: false };
  }
  const revision = await tx.nextRevision();
  const resource: StoredResource = { ...existing, doc, lastModified: ctx.at, version: revision };
  await tx.update(type, resource);
  const touched = [...delta.added, ...delta.removed];
  if (touched.length > 0) await tx.stampMembers(touched, { revision, at: ctx.at });
  await record(tx, ctx, revision, type, existing.id, operation, changes, delta);
  return { resource, revision, changed: true };
}

async function record(
  tx: ScimWriter,
  ctx: WriteContext,
  revision: number,
  resourceType: ResourceTypeName,
  resourceId: string,
  operation: ChangeOperation,
  attributes: AttributeChange[],
  delta: MembershipDelta,
): Promise<void> {
  await tx.appendChange({
    revision,
    at: ctx.at,
    actor: ctx.actor,
    change: {
      resourceType,
      resourceId,
      operation,
      attributes,
      membersAdded: delta.added,
      membersRemoved: delta.removed,
    },
  });
}
