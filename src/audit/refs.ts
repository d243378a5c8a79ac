import { isPlainObject } from '../core/json.js';
import { isPolicyChange, type Change } from '../core/change.js';

/** The fields of a policy object whose values name something a reader may search the log for. */
const POLICY_REF_FIELDS = ['scope', 'parent', 'role'] as const;

/**
 * Every id a change touches, for "everything about X" queries of the log: the resource or policy
 * object itself, the members a group write added or removed, and what a policy object points at
 * (its scope, parent resource, role, and the ids or names in its subject or group selector).
 * Kept beside the log as rows (`change_refs`), so such a query is an index lookup, not a scan.
 */
export function refsOf(change: Change): string[] {
  const refs = new Set<string>();
  if (isPolicyChange(change)) {
    refs.add(change.objectId);
    for (const doc of [change.before, change.after]) {
      if (!isPlainObject(doc)) continue;
      for (const field of POLICY_REF_FIELDS) {
        const value = doc[field];
        if (typeof value === 'string' && value !== '*') refs.add(value);
      }
      for (const selector of [doc['subject'], doc['group']]) {
        if (!isPlainObject(selector)) continue;
        for (const [key, value] of Object.entries(selector)) if (key !== 'type' && typeof value === 'string') refs.add(value);
      }
    }
  } else {
    refs.add(change.resourceId);
    for (const id of change.membersAdded) refs.add(id);
    for (const id of change.membersRemoved) refs.add(id);
  }
  return [...refs];
}

/** The log's `kind` column: the SCIM resource type, or the policy object kind. */
export function kindOf(change: Change): string {
  return isPolicyChange(change) ? change.objectKind : change.resourceType;
}

export function subjectOf(change: Change): string {
  return isPolicyChange(change) ? change.objectId : change.resourceId;
}
