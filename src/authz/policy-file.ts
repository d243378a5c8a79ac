import { Document, isMap, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import { isPlainObject } from '../core/json.js';
import {
  emptyPolicySet,
  policyKey,
  type PolicyKind,
  type PolicyObject,
  type PolicyObjects,
  type PolicySet,
} from './model.js';
import { parsePolicyObject, validatePolicySet, type PolicyProblem } from './validate.js';

/**
 * The policy file: a tenant's whole permission model (temporary grants aside) as YAML, for review
 * and version control. `parsePolicyFile` and `printPolicyFile` round-trip; `planPolicy` says what
 * applying a file would change. Short forms keep files small:
 *
 * ```yaml
 * resourceTypes:
 *   database: [connect, read, write]          # or { actions: [...], description: ... }
 * roles:
 *   db-reader: { permissions: ["database:connect", "database:read"] }
 * groupMappings:
 *   - { id: eng-readers, group: { externalId: aad-eng }, role: db-reader, scope: "database:*" }
 * ```
 */

export type ParsedPolicyFile =
  | { readonly ok: true; readonly set: PolicySet }
  | { readonly ok: false; readonly problems: readonly PolicyProblem[] | readonly string[] };

/** Sections keyed by name (the key is the object's name) and sections that are lists. */
const MAP_SECTIONS = { resourceTypes: 'resourceType', roles: 'role' } as const;
const LIST_SECTIONS = {
  resources: 'resource',
  attributeRules: 'attributeRule',
  groupMappings: 'groupMapping',
  bindings: 'binding',
} as const;
type Section = keyof typeof MAP_SECTIONS | keyof typeof LIST_SECTIONS;
/** Dependency order: what an object names is written above it. */
const SECTIONS: readonly Section[] = ['resourceTypes', 'resources', 'roles', 'attributeRules', 'groupMappings', 'bindings'];

/**
 * Reads a policy file (YAML; JSON is YAML too) into a validated set. Problems come as plain strings
 * when the file itself is wrong (YAML syntax with its line, an unknown section), otherwise as
 * `PolicyProblem`s naming the object. An empty file is an empty set.
 */
export function parsePolicyFile(text: string): ParsedPolicyFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        const message = e.code === 'MULTIPLE_DOCS' ? 'a policy file holds one YAML document, not several' : sentence(e.message);
        return `line ${line}, column ${col}: ${message}`;
      }),
    };
  }
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // yaml throws (rather than reporting) when aliases would expand the file beyond reason.
    return { ok: false, problems: [sentence(err instanceof Error ? err.message : String(err))] };
  }
  if (root === null || root === undefined) return { ok: true, set: emptyPolicySet() };
  if (!isPlainObject(root)) return { ok: false, problems: [`the policy file must be a mapping of ${sectionList()}`] };

  const fileProblems: string[] = [];
  for (const key of Object.keys(root)) {
    if (key === 'grants') {
      fileProblems.push('`grants` cannot be in a policy file: temporary grants are given at runtime and expire on their own');
    } else if (!(SECTIONS as readonly string[]).includes(key)) {
      fileProblems.push(`unknown top-level key \`${key}\`; expected ${sectionList()}`);
    }
  }
  for (const section of SECTIONS) {
    const value = root[section];
    if (value === undefined || value === null) continue;
    if (section in MAP_SECTIONS ? !isPlainObject(value) : !Array.isArray(value)) {
      fileProblems.push(`\`${section}\` must be ${section in MAP_SECTIONS ? 'a mapping of names to definitions' : 'a list'}`);
    }
  }
  if (fileProblems.length > 0) return { ok: false, problems: fileProblems };

  const set = emptyPolicySet();
  const problems: PolicyProblem[] = [];
  for (const section of SECTIONS) {
    for (const entry of entriesOf(section, root[section])) {
      const parsed = parsePolicyObject(entry.kind, entry.input);
      const messages = [...(entry.problem ? [entry.problem] : []), ...(parsed.ok ? [] : parsed.problems)];
      if (!parsed.ok || messages.length > 0) {
        for (const message of messages) problems.push({ kind: entry.kind, id: entry.id, message });
        continue;
      }
      const map = set[entry.kind] as Map<string, PolicyObject>;
      const key = policyKey(entry.kind, parsed.value as never);
      if (map.has(key)) problems.push({ kind: entry.kind, id: key, message: `\`${key}\` is defined more than once in \`${section}\`` });
      else map.set(key, parsed.value);
    }
  }
  // Cross-references are checked only on a set whose every object parsed: a missing one would look dangling.
  if (problems.length > 0) return { ok: false, problems };
  const invalid = validatePolicySet(set);
  return invalid.length > 0 ? { ok: false, problems: invalid } : { ok: true, set };
}

interface Entry {
  readonly kind: PolicyKind;
  /** For problems: the object's key when it can be read, else where the entry is (`bindings[2]`). */
  readonly id: string;
  readonly input: unknown;
  /** Wrong with the entry as written, beyond its object's shape. */
  readonly problem?: string;
}

function entriesOf(section: Section, value: unknown): Entry[] {
  if (value === undefined || value === null) return [];
  if (section === 'resourceTypes' || section === 'roles') {
    const kind = MAP_SECTIONS[section];
    return Object.entries(value as Record<string, unknown>).map(([name, def]) => named(kind, name, def));
  }
  const kind = LIST_SECTIONS[section];
  return (value as unknown[]).map((input, i) => ({ kind, id: entryId(kind, input) ?? `${section}[${i}]`, input }));
}

/**
 * A map entry as the object it stands for: the key is the name. A resource type may be just its
 * list of actions. A `name` inside the entry is refused: it could only repeat the key or contradict it.
 */
function named(kind: 'resourceType' | 'role', name: string, def: unknown): Entry {
  if (kind === 'resourceType' && Array.isArray(def)) return { kind, id: name, input: { name, actions: def } };
  if (!isPlainObject(def)) return { kind, id: name, input: def };
  const { name: inner, ...rest } = def;
  const problem = inner === undefined ? undefined : `\`name\` is not a field here: the key \`${name}\` is the name`;
  return { kind, id: name, input: { name, ...rest }, ...(problem ? { problem } : {}) };
}

function entryId(kind: PolicyKind, input: unknown): string | undefined {
  if (!isPlainObject(input)) return undefined;
  if (kind === 'resource') {
    return typeof input.type === 'string' && typeof input.id === 'string' ? `${input.type}:${input.id}` : undefined;
  }
  return typeof input.id === 'string' ? input.id : undefined;
}

function sectionList(): string {
  return SECTIONS.map((s) => `\`${s}\``).join(', ');
}

/** yaml's messages are sentences; ours are lowercase without a trailing period. */
function sentence(message: string): string {
  const first = message.split('\n')[0]!.replace(/\.$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}

// ---------------------------------------------------------------------------------------------
// Printing

/** Field order per kind, so that the same set always prints the same bytes, whatever order storage kept. */
const FIELD_ORDER: Readonly<Record<PolicyKind, readonly string[]>> = {
  resourceType: ['name', 'description', 'actions'],
  resource: ['type', 'id', 'parent', 'attributes'],
  role: ['name', 'description', 'permissions', 'includes'],
  binding: ['id', 'description', 'subject', 'role', 'scope', 'effect', 'condition', 'expiresAt'],
  groupMapping: ['id', 'description', 'group', 'role', 'scope', 'condition', 'expiresAt'],
  attributeRule: ['id', 'description', 'filter', 'role', 'scope', 'condition', 'expiresAt'],
  grant: ['id', 'subject', 'role', 'scope', 'condition', 'expiresAt', 'reason'],
};
const SUBJECT_ORDER = ['type', 'id', 'userName', 'externalId', 'displayName', 'displayNamePattern'];

/**
 * The set as a policy file that `parsePolicyFile` reads back to the same set. Deterministic: sections
 * in dependency order, objects sorted by key, fields in a fixed order, so an export diffs cleanly.
 * Temporary grants are left out: they are not part of a file.
 */
export function printPolicyFile(set: PolicySet): string {
  const out: Record<string, unknown> = {};
  for (const section of SECTIONS) {
    if (section === 'resourceTypes' || section === 'roles') {
      const kind = MAP_SECTIONS[section];
      const entries = sortedValues(set[kind] as ReadonlyMap<string, PolicyObject>).map((object) => {
        const { name, ...rest } = ordered(object, FIELD_ORDER[kind]) as { name: string } & Record<string, unknown>;
        // The short form `database: [read, write]` when a type has nothing but actions.
        return [name, kind === 'resourceType' && Object.keys(rest).length === 1 ? rest.actions : rest] as const;
      });
      if (entries.length > 0) out[section] = Object.fromEntries(entries);
    } else {
      const kind = LIST_SECTIONS[section];
      const entries = sortedValues(set[kind] as ReadonlyMap<string, PolicyObject>).map((o) => ordered(o, FIELD_ORDER[kind]));
      if (entries.length > 0) out[section] = entries;
    }
  }
  const doc = new Document(out);
  // Lists of names and subjects read best on one line; everything else in block style.
  visit(doc, {
    Seq: (_, node) => {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
    Pair: (_, pair) => {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if ((key === 'subject' || key === 'group') && isMap(pair.value)) pair.value.flow = true;
      if (key === 'attributes' && (isMap(pair.value) || isSeq(pair.value))) return visit.SKIP;
      return undefined;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

function sortedValues<T>(map: ReadonlyMap<string, T>): T[] {
  return [...map.keys()].sort(compareText).map((key) => map.get(key)!);
}

/** Code-unit order: the same everywhere, unlike `localeCompare`. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A copy with `order`'s keys first, in that order, then any others sorted; nested objects sorted too. */
function ordered(value: object, order: readonly string[]): Record<string, unknown> {
  const record = value as Record<string, unknown>;
  const keys = [...order.filter((k) => record[k] !== undefined), ...Object.keys(record).filter((k) => !order.includes(k)).sort(compareText)];
  return Object.fromEntries(
    keys.map((k) => [k, k === 'subject' || k === 'group' ? ordered(record[k] as object, SUBJECT_ORDER) : canonical(record[k])]),
  );
}

/** Objects with sorted keys, recursively: the one form used to print and to compare. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort(compareText)
      .filter((k) => value[k] !== undefined)
      .map((k) => [k, canonical(value[k])]),
  );
}

// ---------------------------------------------------------------------------------------------
// Planning

export interface PolicyPlanEntry {
  readonly kind: PolicyKind;
  readonly id: string;
  readonly before?: PolicyObject;
  readonly after?: PolicyObject;
}

export interface PolicyPlan {
  readonly create: readonly PolicyPlanEntry[];
  readonly replace: readonly PolicyPlanEntry[];
  readonly delete: readonly PolicyPlanEntry[];
}

/** The kinds a file manages, in dependency order: what an object names is created before it. */
const PLANNED: readonly Exclude<PolicyKind, 'grant'>[] = [
  'resourceType',
  'resource',
  'role',
  'attributeRule',
  'groupMapping',
  'binding',
];

/**
 * What applying `desired` to `current` would do: create what is new, replace what differs, delete
 * what the file no longer has. Temporary grants (kind `grant`) are runtime objects: never planned,
 * never deleted by a file. Creates and replaces come in dependency order (resource types, resources
 * with parents first, roles with included roles first, attribute rules, group mappings, bindings),
 * deletes in the reverse, so that each step, taken alone, leaves nothing dangling.
 */
export function planPolicy(current: PolicySet, desired: PolicySet): PolicyPlan {
  const create: PolicyPlanEntry[] = [];
  const replace: PolicyPlanEntry[] = [];
  // Collected in dependency order, then reversed as a whole: bindings go first, resource types last.
  const remove: PolicyPlanEntry[] = [];
  for (const kind of PLANNED) {
    const before = current[kind] as ReadonlyMap<string, PolicyObject>;
    const after = desired[kind] as ReadonlyMap<string, PolicyObject>;
    for (const id of dependencyOrder(kind, after)) {
      const old = before.get(id);
      const next = after.get(id)!;
      if (old === undefined) create.push({ kind, id, after: next });
      else if (!sameObject(old, next)) replace.push({ kind, id, before: old, after: next });
    }
    for (const id of dependencyOrder(kind, before)) {
      if (!after.has(id)) remove.push({ kind, id, before: before.get(id)! });
    }
  }
  return { create, replace, delete: remove.reverse() };
}

export function isEmptyPlan(plan: PolicyPlan): boolean {
  return plan.create.length === 0 && plan.replace.length === 0 && plan.delete.length === 0;
}

/**
 * Keys sorted, except that a resource comes after its parent and a role after the roles it
 * includes, when those are in the same map.
 */
function dependencyOrder(kind: PolicyKind, objects: ReadonlyMap<string, PolicyObject>): string[] {
  const keys = [...objects.keys()].sort(compareText);
  if (kind !== 'resource' && kind !== 'role') return keys;
  const dependsOn = (key: string): readonly string[] => {
    const object = objects.get(key) as PolicyObjects['resource'] & PolicyObjects['role'];
    if (kind === 'resource') return object.parent === undefined ? [] : [object.parent];
    return [...(object.includes ?? [])].sort(compareText);
  };
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (key: string): void => {
    // INVARIANT: validation rejects cycles; `seen` is marked first so a corrupt set still terminates.
    if (seen.has(key) || !objects.has(key)) return;
    seen.add(key);
    for (const dependency of dependsOn(key)) visit(dependency);
    out.push(key);
  };
  for (const key of keys) visit(key);
  return out;
}

/** Equal as JSON, whatever order the keys were stored in. */
function sameObject(a: PolicyObject, b: PolicyObject): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}
