import { isDeepStrictEqual } from 'node:util';
import { isPlainObject } from '../../core/json.js';
import type { AttributeChange } from '../../core/change.js';
import type { ScimDoc } from '../../store/store.js';

/**
 * The attribute-level difference between two documents of the same resource, in the canonical
 * paths of `ChangeSet`: simple and multi-valued attributes whole (`title`, `emails`), singular
 * complex ones per sub-attribute (`name.givenName`), extension attributes URN-qualified
 * (`urn:…:enterprise:2.0:User:department`). Later layers (attribute rules, audit) match on these paths.
 */
export function diffDocs(before: ScimDoc, after: ScimDoc): AttributeChange[] {
  const changes: AttributeChange[] = [];
  diffLevel(flatten(before), flatten(after), changes);
  return changes;
}

function diffLevel(before: Map<string, unknown>, after: Map<string, unknown>, out: AttributeChange[]): void {
  const paths = new Set([...before.keys(), ...after.keys()]);
  for (const path of [...paths].sort()) {
    const b = before.get(path);
    const a = after.get(path);
    if (!isDeepStrictEqual(b, a)) out.push({ path, before: b ?? null, after: a ?? null });
  }
}

function flatten(doc: ScimDoc): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, value] of Object.entries(doc)) {
    if (key.startsWith('urn:') && isPlainObject(value)) {
      for (const [sub, subValue] of Object.entries(value)) addAttribute(out, `${key}:${sub}`, subValue);
    } else {
      addAttribute(out, key, value);
    }
  }
  return out;
}

function addAttribute(out: Map<string, unknown>, path: string, value: unknown): void {
  if (isPlainObject(value)) {
    for (const [sub, subValue] of Object.entries(value)) out.set(`${path}.${sub}`, subValue);
  } else {
    out.set(path, value);
  }
}
