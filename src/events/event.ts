import type { Actor } from '../core/change.js';
import type { AccessChangeRecord, ChangeRecord } from '../store/store.js';

/**
 * What webhooks and the SSE stream deliver: one event per change log entry (id `"R"`, the
 * revision) and one per access change that entry caused (id `"R.s"`, `s` = 1, 2, …). Ids are
 * positions in one total order, R < R.1 < R.2 < … < R+1, so a consumer can order and deduplicate
 * what it receives by id alone.
 */
export interface ScimitarEvent {
  readonly id: string;
  readonly type: EventType;
  readonly tenant: string;
  readonly revision: number;
  /** ISO 8601: when the write happened. */
  readonly time: string;
  /** Who made the write; absent on access events whose entry was not read with them. */
  readonly actor?: EventActor;
  readonly data: unknown;
}

/** The entry's actor, field by field, so whatever a later `Actor` gains is not published by accident. */
export interface EventActor {
  readonly kind: Actor['kind'];
  readonly tokenId: string | null;
  readonly requestId?: string;
}

export const EVENT_TYPES = [
  'user.created',
  'user.updated',
  'user.deleted',
  'group.created',
  'group.updated',
  'group.deleted',
  'policy.created',
  'policy.updated',
  'policy.deleted',
  'policy.expired',
  'access.granted',
  'access.revoked',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

const VERB = { create: 'created', replace: 'updated', patch: 'updated', delete: 'deleted', expire: 'expired' } as const;

/** The event of a change log entry; `data` is the change itself (a policy change names its `objectKind`). */
export function changeEvent(tenant: string, entry: ChangeRecord): ScimitarEvent {
  const { change } = entry;
  const type: EventType =
    change.kind === 'policy' ? `policy.${VERB[change.operation]}` : `${change.resourceType === 'User' ? 'user' : 'group'}.${VERB[change.operation]}`;
  return {
    id: String(entry.revision),
    type,
    tenant,
    revision: entry.revision,
    time: entry.at,
    actor: eventActor(entry.actor),
    data: change,
  };
}

/**
 * The event of a derived access change: `access.granted` when the user can now do more (an allow
 * gained, a deny lost), `access.revoked` when less (an allow lost, a deny gained).
 */
export function accessEvent(tenant: string, record: AccessChangeRecord, actor?: Actor): ScimitarEvent {
  const more = (record.effect === 'allow') === (record.change === 'gained');
  return {
    id: formatPosition({ revision: record.revision, seq: record.seq }),
    type: more ? 'access.granted' : 'access.revoked',
    tenant,
    revision: record.revision,
    time: record.at,
    ...(actor ? { actor: eventActor(actor) } : {}),
    data: {
      user: record.userId,
      permission: record.permission,
      scope: record.scope,
      effect: record.effect,
      change: record.change,
      detail: record.detail,
    },
  };
}

function eventActor(actor: Actor): EventActor {
  return { kind: actor.kind, tokenId: actor.tokenId, ...(actor.requestId ? { requestId: actor.requestId } : {}) };
}

/**
 * A place in the event order: `seq` 0 is the entry's own event, 1, 2, … its access changes, and
 * `END` everything of the revision. Feeds and cursors read "after" a position, exclusive.
 */
export interface Position {
  readonly revision: number;
  readonly seq: number;
}

export const END = Number.POSITIVE_INFINITY;

/** After revision `revision` and all its access events. */
export function afterRevision(revision: number): Position {
  return { revision, seq: END };
}

const POSITION = /^(\d{1,15})(?:\.(\d{1,9}|\*))?$/;

/**
 * Reads an event id (`"12"`, `"12.3"`) or `"12.*"` (revision 12 and all its access events) as a
 * position; undefined for anything else.
 *
 * @example parsePosition('12.3') // { revision: 12, seq: 3 }
 */
export function parsePosition(text: string): Position | undefined {
  const match = POSITION.exec(text.trim());
  if (!match) return undefined;
  const seq = match[2] === undefined ? 0 : match[2] === '*' ? END : Number(match[2]);
  return { revision: Number(match[1]), seq };
}

/** Where an event is in the order (its id, read back). */
export function eventPosition(event: ScimitarEvent): Position {
  // INVARIANT: event ids are made by `formatPosition`, so they always parse.
  return parsePosition(event.id)!;
}

export function formatPosition(position: Position): string {
  if (position.seq === 0) return String(position.revision);
  return `${position.revision}.${position.seq === END ? '*' : position.seq}`;
}

export function comparePositions(a: Position, b: Position): number {
  return a.revision - b.revision || (a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1);
}

/** Whether an event type is matched by a subscription pattern: the type itself, `<domain>.*`, or `*`. */
export function matchesPattern(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/** Whether a pattern can ever match: `*`, a known type, or `<domain>.*` of a known domain. */
export function isKnownPattern(pattern: string): boolean {
  return EVENT_TYPES.some((type) => matchesPattern(pattern, type));
}
