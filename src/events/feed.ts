import type { Actor } from '../core/change.js';
import type { AuditStore } from '../store/store.js';
import { accessEvent, afterRevision, changeEvent, comparePositions, END, eventPosition, type Position, type ScimitarEvent } from './event.js';

/**
 * A tenant's events strictly after `after`, oldest first, at most `limit`: the change log entries
 * merged with the access changes derived from them.
 *
 * INVARIANT: it never reads past the `derive` cursor, and the deriver stores a revision's access
 * changes together with the cursor move; so once an entry's event is read, every access event of
 * that revision is readable too, and a reader that moves on from it skips nothing.
 *
 * @example
 *   const events = await readEvents(store.audit, tenantId, parsePosition('41.2')!, 100); // 41.3, 41.4, 42, 42.1…
 */
export async function readEvents(
  audit: Pick<AuditStore, 'cursor' | 'entries' | 'accessChanges'>,
  tenantId: string,
  after: Position,
  limit: number,
): Promise<ScimitarEvent[]> {
  const derived = Number((await audit.cursor(tenantId, 'derive')) ?? 0);
  if (limit <= 0 || comparePositions(after, afterRevision(derived)) >= 0) return [];
  const within = after.seq !== END;
  // Within a revision, its entry is read too (one more row), only for the actor of its access events.
  const entries = await audit.entries(tenantId, {
    afterRevision: within ? after.revision - 1 : after.revision,
    untilRevision: derived,
    limit: limit + 1,
  });
  const access = await audit.accessChanges(tenantId, {
    // Access seqs start at 1, so "after (R+1, 0)" is "after all of R" without an unbounded number.
    after: within ? { revision: after.revision, seq: after.seq } : { revision: after.revision + 1, seq: 0 },
    untilRevision: derived,
    limit,
  });
  const actors = new Map<number, Actor>(entries.map((e) => [e.revision, e.actor]));
  const events = [
    ...entries.filter((e) => e.revision > after.revision).map((e) => changeEvent(tenantId, e)),
    ...access.map((r) => accessEvent(tenantId, r, actors.get(r.revision))),
  ];
  // Both lists are sorted and each holds at least the first `limit` of its kind, so the first
  // `limit` of their merge are the first `limit` events.
  return events.sort((a, b) => comparePositions(eventPosition(a), eventPosition(b))).slice(0, limit);
}

/**
 * Where a reader that wants no history starts: after the tenant's last committed revision and all
 * its access events, derived or not.
 */
export async function headPosition(audit: Pick<AuditStore, 'head'>, tenantId: string): Promise<Position> {
  return afterRevision((await audit.head(tenantId)).revision);
}
