import { toInstant } from '../core/date-time.js';
import { isPlainObject } from '../core/json.js';
import { compileCondition } from './cel.js';
import {
  parseResourceRef,
  parseScope,
  policyKey,
  POLICY_KINDS,
  type AttributeRuleDef,
  type BindingDef,
  type GroupMappingDef,
  type GroupMatch,
  type PolicyKind,
  type PolicyObjects,
  type PolicySet,
  type ResourceDef,
  type ResourceTypeDef,
  type RoleDef,
  type SubjectSelector,
  type TemporaryGrantDef,
} from './model.js';
import { compileRuleFilter } from './rule-filter.js';

/**
 * Static checks of the permission model, apart from evaluation (as Cedar keeps its validator apart
 * from its authorizer): `parsePolicyObject` checks one object's shape, `validatePolicySet` every
 * cross-reference of a whole set. A write runs both on the set as it would be afterwards, so the
 * index can trust whatever it loads.
 */

/** One thing wrong with a set: the object (kind and `policyKey`) and what is wrong with it. */
export interface PolicyProblem {
  readonly kind: PolicyKind;
  readonly id: string;
  readonly message: string;
}

export type ParsedPolicyObject<K extends PolicyKind> =
  | { readonly ok: true; readonly value: PolicyObjects[K] }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * The shape of one object as received (an API body or a policy-file entry): the typed object with
 * fields in one canonical order and `expiresAt` as `Date#toISOString()`, or every problem found.
 * Unknown fields are refused rather than dropped, so a misspelt `rol` is an error and not a role-less binding.
 *
 * @example parsePolicyObject('role', { name: 'viewer', permissions: ['project:read'] })
 */
export function parsePolicyObject<K extends PolicyKind>(kind: K, input: unknown): ParsedPolicyObject<K> {
  const problems: string[] = [];
  const value = SHAPES[kind](input, problems) as PolicyObjects[K] | undefined;
  if (problems.length > 0 || value === undefined) return { ok: false, problems };
  return { ok: true, value };
}

/**
 * Every cross-reference and semantic rule of a whole set; empty when valid. Run it on the set as it
 * would be after a proposed change: a delete that leaves a dangling reference shows up here too.
 * Each object's shape is checked again, because a set may come from storage rather than from `parsePolicyObject`.
 */
export function validatePolicySet(set: PolicySet): PolicyProblem[] {
  return new SetValidator(set).run();
}

// ---------------------------------------------------------------------------------------------
// Shapes

/** Resource type, action and role names: no `:` (it separates type and action) and no `*` (the wildcard). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@/-]*$/;
/** Ids of bindings, mappings, rules and grants may hold `:` (a UUID URN, `team:eng`). */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/;
const MAX_NAME = 128;
const MAX_REF = 512;
const MAX_TEXT = 4096;
const NAME_RULE = 'letters, digits and `._@/-`, starting with a letter or digit, at most 128';
const ID_RULE = 'letters, digits and `._:@/-`, starting with a letter or digit, at most 128';

/** Pushes its problems and returns undefined when `value` is not acceptable. */
type Check<T> = (value: unknown, at: string, problems: string[]) => T | undefined;

/** Reads one object's fields, adding a problem for each missing, unknown or ill-formed one. */
class Fields {
  private constructor(
    private readonly input: Readonly<Record<string, unknown>>,
    private readonly at: string,
    private readonly problems: string[],
  ) {}

  /** `at` is the path of the object itself (`subject`), empty for the top level. */
  static of(input: unknown, known: readonly string[], at: string, problems: string[]): Fields | undefined {
    if (!isPlainObject(input)) {
      problems.push(at === '' ? `expected an object, not \`${shown(input)}\`` : `\`${at}\` must be an object`);
      return undefined;
    }
    for (const key of Object.keys(input)) {
      if (known.includes(key)) continue;
      const near = closest(key, known);
      problems.push(`unknown field \`${join(at, key)}\`${near ? ` (did you mean \`${near}\`?)` : ''}`);
    }
    return new Fields(input, at, problems);
  }

  has(key: string): boolean {
    return this.input[key] !== undefined;
  }

  /** INVARIANT: the result is only used when no problem was pushed, so `undefined` never escapes. */
  required<T>(key: string, check: Check<T>): T {
    const value = this.input[key];
    if (value === undefined) {
      this.problems.push(`\`${join(this.at, key)}\` is required`);
      return undefined as T;
    }
    return check(value, join(this.at, key), this.problems) as T;
  }

  /** `{ [key]: value }`, or `{}` when absent, to spread into the object being built. */
  optional<Key extends string, T>(key: Key, check: Check<T>): { [P in Key]?: T } {
    const value = this.input[key];
    if (value === undefined) return {};
    return { [key]: check(value, join(this.at, key), this.problems) } as { [P in Key]?: T };
  }
}

function join(at: string, key: string): string {
  return at === '' ? key : `${at}.${key}`;
}

function pattern(re: RegExp, rule: string): Check<string> {
  return (value, at, problems) => {
    if (typeof value === 'string' && value.length <= MAX_NAME && re.test(value)) return value;
    problems.push(`\`${at}\` must be a name (${rule}), not \`${shown(value)}\``);
    return undefined;
  };
}

const name = pattern(NAME, NAME_RULE);
const id = pattern(ID, ID_RULE);

function isResourceId(value: string): boolean {
  return value.length >= 1 && value.length <= MAX_REF && value !== '*' && !value.includes('\u0000');
}

const resourceId: Check<string> = (value, at, problems) => {
  if (typeof value === 'string' && isResourceId(value)) return value;
  problems.push(`\`${at}\` must be 1 to ${MAX_REF} characters without U+0000, and not \`*\`, not \`${shown(value)}\``);
  return undefined;
};

/** What names a user or a group: any text an IdP may send, short of a control character that no store keeps. */
const identifier: Check<string> = (value, at, problems) => {
  if (typeof value === 'string' && value.length >= 1 && value.length <= MAX_REF && !value.includes('\u0000')) return value;
  problems.push(`\`${at}\` must be 1 to ${MAX_REF} characters without U+0000, not \`${shown(value)}\``);
  return undefined;
};

function text(nonEmpty: boolean): Check<string> {
  return (value, at, problems) => {
    if (typeof value === 'string' && value.length <= MAX_TEXT && (!nonEmpty || value.trim() !== '')) return value;
    problems.push(`\`${at}\` must be ${nonEmpty ? 'a non-empty' : 'a'} string of at most ${MAX_TEXT} characters`);
    return undefined;
  };
}

const description = text(false);
/** Conditions, filters and reasons: an empty one is a mistake, never a way to say "none". */
const nonEmpty = text(true);

/** A list of distinct values; `nonEmpty` says so in the message, as `actions` must be a non-empty list of names. */
function list<T>(item: Check<T>, what: string, nonEmpty: boolean): Check<T[]> {
  return (value, at, problems) => {
    if (!Array.isArray(value) || (nonEmpty && value.length === 0)) {
      problems.push(`\`${at}\` must be a ${nonEmpty ? 'non-empty ' : ''}list of ${what}`);
      return undefined;
    }
    const before = problems.length;
    const items = value.map((v, i) => item(v, `${at}[${i}]`, problems));
    const seen = new Set<unknown>();
    for (const v of value) {
      if (seen.has(v)) problems.push(`\`${at}\` lists \`${shown(v)}\` more than once`);
      seen.add(v);
    }
    return problems.length === before ? (items as T[]) : undefined;
  };
}

/** `type:action` or `type:*`. */
const permission: Check<string> = (value, at, problems) => {
  const ref = typeof value === 'string' ? parseResourceRef(value) : undefined;
  if (ref && isName(ref.type) && (ref.id === '*' || isName(ref.id))) return value as string;
  problems.push(`\`${at}\` must be \`type:action\` or \`type:*\`, not \`${shown(value)}\``);
  return undefined;
};

function isName(value: string): boolean {
  return value.length <= MAX_NAME && NAME.test(value);
}

/** `*`, `type:*` or `type:id`. Whether the type is declared is a set rule. */
const scope: Check<string> = (value, at, problems) => {
  const parsed = typeof value === 'string' ? parseScope(value) : undefined;
  if (parsed && (parsed.kind === 'tenant' || (isName(parsed.type) && (parsed.kind === 'type' || isResourceId(parsed.id))))) {
    return value as string;
  }
  problems.push(`\`${at}\` must be \`*\`, \`type:*\` or \`type:id\`, not \`${shown(value)}\``);
  return undefined;
};

/** `type:id` of one resource (never `type:*`). */
const resourceRef: Check<string> = (value, at, problems) => {
  const ref = typeof value === 'string' ? parseResourceRef(value) : undefined;
  if (ref && isName(ref.type) && isResourceId(ref.id)) return value as string;
  problems.push(`\`${at}\` must be \`type:id\` of a resource, not \`${shown(value)}\``);
  return undefined;
};

/** Normalised to `Date#toISOString()`, whose text order is time order. */
const instant: Check<string> = (value, at, problems) => {
  const normal = typeof value === 'string' ? toInstant(value) : undefined;
  if (normal !== undefined) return normal;
  problems.push(`\`${at}\` must be an ISO 8601 instant with a time zone, such as \`2026-01-01T00:00:00Z\`, not \`${shown(value)}\``);
  return undefined;
};

const effect: Check<'allow' | 'deny'> = (value, at, problems) => {
  if (value === 'allow' || value === 'deny') return value;
  problems.push(`\`${at}\` must be \`allow\` or \`deny\`, not \`${shown(value)}\``);
  return undefined;
};

/** Plain JSON, so that what a condition sees is what storage gives back. */
const attributes: Check<Record<string, unknown>> = (value, at, problems) => {
  if (!isPlainObject(value)) {
    problems.push(`\`${at}\` must be an object`);
    return undefined;
  }
  const bad = nonJson(value, at);
  if (bad === undefined) return value;
  problems.push(`\`${bad}\` must be a string, a finite number, a boolean, null, a list or an object`);
  return undefined;
};

/** The path of the first value that JSON cannot hold, if any. */
function nonJson(value: unknown, at: string): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : at;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const bad = nonJson(v, `${at}[${i}]`);
      if (bad !== undefined) return bad;
    }
    return undefined;
  }
  if (!isPlainObject(value) || Object.getPrototypeOf(value) !== Object.prototype) return at;
  for (const [k, v] of Object.entries(value)) {
    const bad = nonJson(v, `${at}.${k}`);
    if (bad !== undefined) return bad;
  }
  return undefined;
}

const SUBJECT_KEYS: Readonly<Record<SubjectSelector['type'], readonly string[]>> = {
  user: ['id', 'userName', 'externalId'],
  group: ['id', 'externalId', 'displayName'],
  rule: ['id'],
  everyone: [],
};

function subjectOf(allowed: readonly SubjectSelector['type'][]): Check<SubjectSelector> {
  return (value, at, problems) => {
    if (!isPlainObject(value)) {
      problems.push(`\`${at}\` must be an object such as \`{ type: ${allowed[0]}, id: … }\`, not \`${shown(value)}\``);
      return undefined;
    }
    const { type } = value;
    if (!allowed.includes(type as SubjectSelector['type'])) {
      const types = allowed.map((t) => `\`${t}\``).join(allowed.length === 1 ? '' : ', ');
      problems.push(`\`${at}.type\` must be ${allowed.length === 1 ? '' : 'one of '}${types}, not \`${shown(type)}\``);
      return undefined;
    }
    const keys = SUBJECT_KEYS[type as SubjectSelector['type']];
    const fields = Fields.of(value, ['type', ...keys], at, problems);
    if (!fields) return undefined;
    if (keys.length === 0) return { type: 'everyone' };
    const given = keys.filter((k) => fields.has(k));
    if (given.length !== 1) {
      problems.push(`\`${at}\` of type \`${String(type)}\` must have exactly one of ${keys.map((k) => `\`${k}\``).join(', ')}`);
      return undefined;
    }
    const key = given[0]!;
    const check = type === 'rule' ? id : identifier;
    return { type, [key]: fields.required(key, check) } as SubjectSelector;
  };
}

const GROUP_KEYS = ['id', 'externalId', 'displayName', 'displayNamePattern'] as const;

const groupMatch: Check<GroupMatch> = (value, at, problems) => {
  const fields = Fields.of(value, GROUP_KEYS, at, problems);
  if (!fields) return undefined;
  const given = GROUP_KEYS.filter((k) => fields.has(k));
  if (given.length !== 1) {
    problems.push(`\`${at}\` must have exactly one of ${GROUP_KEYS.map((k) => `\`${k}\``).join(', ')}`);
    return undefined;
  }
  const key = given[0]!;
  return { [key]: fields.required(key, identifier) } as GroupMatch;
};

type Shape = (input: unknown, problems: string[]) => PolicyObjects[PolicyKind] | undefined;

/** The terms every grant-like object shares, in canonical order after its subject. */
function terms(f: Fields) {
  return {
    role: f.required('role', name),
    scope: f.required('scope', scope),
    ...f.optional('condition', nonEmpty),
    ...f.optional('expiresAt', instant),
  };
}

const TERMS = ['role', 'scope', 'condition', 'expiresAt'];

const SHAPES: Readonly<Record<PolicyKind, Shape>> = {
  resourceType(input, problems): ResourceTypeDef | undefined {
    const f = Fields.of(input, ['name', 'actions', 'description'], '', problems);
    if (!f) return undefined;
    return {
      name: f.required('name', name),
      actions: f.required('actions', list(name, 'names', true)),
      ...f.optional('description', description),
    };
  },
  resource(input, problems): ResourceDef | undefined {
    const f = Fields.of(input, ['type', 'id', 'parent', 'attributes'], '', problems);
    if (!f) return undefined;
    return {
      type: f.required('type', name),
      id: f.required('id', resourceId),
      ...f.optional('parent', resourceRef),
      ...f.optional('attributes', attributes),
    };
  },
  role(input, problems): RoleDef | undefined {
    const f = Fields.of(input, ['name', 'description', 'permissions', 'includes'], '', problems);
    if (!f) return undefined;
    const role: RoleDef = {
      name: f.required('name', name),
      ...f.optional('description', description),
      permissions: f.required('permissions', list(permission, '`type:action` or `type:*`', false)),
      ...f.optional('includes', list(name, 'role names', false)),
    };
    if (role.permissions?.length === 0 && (role.includes ?? []).length === 0) {
      problems.push('`permissions` may be empty only when `includes` names a role');
    }
    return role;
  },
  binding(input, problems): BindingDef | undefined {
    const f = Fields.of(input, ['id', 'subject', ...TERMS, 'effect', 'description'], '', problems);
    if (!f) return undefined;
    return {
      id: f.required('id', id),
      subject: f.required('subject', subjectOf(['user', 'group', 'rule', 'everyone'])),
      ...terms(f),
      ...f.optional('effect', effect),
      ...f.optional('description', description),
    };
  },
  groupMapping(input, problems): GroupMappingDef | undefined {
    const f = Fields.of(input, ['id', 'group', ...TERMS, 'description'], '', problems);
    if (!f) return undefined;
    return {
      id: f.required('id', id),
      group: f.required('group', groupMatch),
      ...terms(f),
      ...f.optional('description', description),
    };
  },
  attributeRule(input, problems): AttributeRuleDef | undefined {
    const f = Fields.of(input, ['id', 'filter', ...TERMS, 'description'], '', problems);
    if (!f) return undefined;
    return {
      id: f.required('id', id),
      filter: f.required('filter', nonEmpty),
      ...terms(f),
      ...f.optional('description', description),
    };
  },
  grant(input, problems): TemporaryGrantDef | undefined {
    const f = Fields.of(input, ['id', 'subject', ...TERMS, 'reason'], '', problems);
    if (!f) return undefined;
    return {
      id: f.required('id', id),
      subject: f.required('subject', subjectOf(['user'])) as TemporaryGrantDef['subject'],
      role: f.required('role', name),
      scope: f.required('scope', scope),
      ...f.optional('condition', nonEmpty),
      // A temporary grant always ends: that is what makes it temporary.
      expiresAt: f.required('expiresAt', instant),
      reason: f.required('reason', nonEmpty),
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Set rules

type Terms = { readonly role: string; readonly scope: string; readonly condition?: string; readonly expiresAt?: string };

class SetValidator {
  private readonly problems: PolicyProblem[] = [];
  /** Objects whose shape is wrong: their own set rules are skipped, as they would only repeat it. */
  private readonly broken = new Set<string>();

  constructor(private readonly set: PolicySet) {}

  run(): PolicyProblem[] {
    for (const kind of POLICY_KINDS) this.shapes(kind);
    this.roles();
    this.resources();
    for (const rule of this.valid('attributeRule')) {
      this.terms('attributeRule', rule.id, rule);
      const filter = compiledFilter(rule.filter);
      if (filter !== undefined) this.add('attributeRule', rule.id, `\`filter\` is not valid: ${filter}`);
    }
    for (const mapping of this.valid('groupMapping')) {
      this.terms('groupMapping', mapping.id, mapping);
      if ('displayNamePattern' in mapping.group) this.pattern(mapping.id, mapping.group.displayNamePattern);
    }
    for (const binding of this.valid('binding')) {
      this.terms('binding', binding.id, binding);
      const { subject } = binding;
      if (subject.type === 'rule' && !this.set.attributeRule.has(subject.id)) {
        this.add('binding', binding.id, `\`subject\` names attribute rule \`${subject.id}\`, which does not exist`);
      }
    }
    for (const grant of this.valid('grant')) this.terms('grant', grant.id, grant);
    return this.problems;
  }

  private add(kind: PolicyKind, id: string, message: string): void {
    this.problems.push({ kind, id, message });
  }

  private shapes<K extends PolicyKind>(kind: K): void {
    for (const [key, object] of this.set[kind] as ReadonlyMap<string, unknown>) {
      const parsed = parsePolicyObject(kind, object);
      if (!parsed.ok) {
        this.broken.add(`${kind}\u0000${key}`);
        for (const message of parsed.problems) this.add(kind, key, message);
      } else if (policyKey(kind, parsed.value) !== key) {
        this.broken.add(`${kind}\u0000${key}`);
        this.add(kind, key, `is stored under \`${key}\` but its key is \`${policyKey(kind, parsed.value)}\``);
      }
    }
  }

  private *valid<K extends PolicyKind>(kind: K): Iterable<PolicyObjects[K]> {
    for (const [key, object] of this.set[kind] as ReadonlyMap<string, PolicyObjects[K]>) {
      if (!this.broken.has(`${kind}\u0000${key}`)) yield object;
    }
  }

  private roles(): void {
    for (const role of this.valid('role')) {
      for (const text of role.permissions) {
        const ref = parseResourceRef(text)!;
        const type = this.set.resourceType.get(ref.type);
        if (!type) this.add('role', role.name, `permission \`${text}\` names resource type \`${ref.type}\`, which is not declared`);
        else if (ref.id !== '*' && !type.actions.includes(ref.id)) {
          this.add('role', role.name, `permission \`${text}\`: resource type \`${ref.type}\` has no action \`${ref.id}\``);
        }
      }
      for (const included of role.includes ?? []) {
        if (!this.set.role.has(included)) this.add('role', role.name, `includes role \`${included}\`, which does not exist`);
      }
    }
    for (const cycle of cycles(this.set.role, (role) => role.includes ?? [])) {
      this.add('role', cycle[0]!, `includes itself: \`${cycle.join(' → ')}\``);
    }
  }

  private resources(): void {
    for (const resource of this.valid('resource')) {
      const key = policyKey('resource', resource);
      if (!this.set.resourceType.has(resource.type)) {
        this.add('resource', key, `resource type \`${resource.type}\` is not declared`);
      }
      if (resource.parent !== undefined && !this.set.resource.has(resource.parent)) {
        this.add('resource', key, `parent \`${resource.parent}\` is not a registered resource`);
      }
    }
    for (const cycle of cycles(this.set.resource, (r) => (r.parent === undefined ? [] : [r.parent]))) {
      this.add('resource', cycle[0]!, `is its own ancestor: \`${cycle.join(' → ')}\``);
    }
  }

  /** The rules of role, scope, condition and expiry that bindings, mappings, rules and grants share. */
  private terms(kind: PolicyKind, id: string, terms: Terms): void {
    if (!this.set.role.has(terms.role)) this.add(kind, id, `role \`${terms.role}\` does not exist`);
    const parsed = parseScope(terms.scope);
    // A `type:id` scope need not be registered (checks may describe resources inline); its type must be declared.
    if (parsed && parsed.kind !== 'tenant' && !this.set.resourceType.has(parsed.type)) {
      this.add(kind, id, `scope \`${terms.scope}\` names resource type \`${parsed.type}\`, which is not declared`);
    }
    if (terms.condition !== undefined) {
      const error = compiledCondition(terms.condition);
      if (error !== undefined) this.add(kind, id, `\`condition\` does not compile: ${error}`);
    }
  }

  /** Group names may hold `?` or `[`; a pattern that does is most likely written for another glob dialect. */
  private pattern(id: string, glob: string): void {
    const other = /[?[\]]/.exec(glob);
    if (other) {
      this.add('groupMapping', id, `\`displayNamePattern\` \`${glob}\`: \`*\` is the only wildcard; \`${other[0]}\` is not one`);
    } else if (!glob.includes('*')) {
      this.add('groupMapping', id, `\`displayNamePattern\` \`${glob}\` has no \`*\`; use \`displayName\` to match one group`);
    }
  }
}

/**
 * Each cycle of the graph `next` draws over `nodes`, as the path `a → b → a`, once. Edges to keys
 * that are not in `nodes` are someone else's problem (a dangling reference), not a cycle.
 */
function cycles<T>(nodes: ReadonlyMap<string, T>, next: (node: T) => readonly string[]): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  function visit(key: string): void {
    state.set(key, 'open');
    stack.push(key);
    const node = nodes.get(key);
    for (const to of node === undefined ? [] : safeNext(next, node)) {
      if (!nodes.has(to)) continue;
      const seen = state.get(to);
      if (seen === 'open') found.push([...stack.slice(stack.indexOf(to)), to]);
      else if (seen === undefined) visit(to);
    }
    stack.pop();
    state.set(key, 'done');
  }
  for (const key of nodes.keys()) if (!state.has(key)) visit(key);
  return found;
}

/** Broken objects are still nodes of the graph; one whose edges cannot be read has none. */
function safeNext<T>(next: (node: T) => readonly string[], node: T): readonly string[] {
  try {
    const edges = next(node);
    return Array.isArray(edges) ? edges.filter((e): e is string => typeof e === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Every write validates the whole set, so the same few conditions and filters are checked again and
 * again; remembering the verdicts keeps a write from recompiling every CEL expression of the tenant.
 * Bounded: cleared when full, as the verdicts are cheap to rebuild.
 */
const MAX_MEMO = 2048;
const conditionVerdicts = new Map<string, string | undefined>();
const filterVerdicts = new Map<string, string | undefined>();

function memo(cache: Map<string, string | undefined>, source: string, compile: () => string | undefined): string | undefined {
  if (cache.has(source)) return cache.get(source);
  if (cache.size >= MAX_MEMO) cache.clear();
  const verdict = compile();
  cache.set(source, verdict);
  return verdict;
}

/** The compile error of a CEL condition, or undefined when it compiles. */
function compiledCondition(source: string): string | undefined {
  return memo(conditionVerdicts, source, () => {
    const result = compileCondition(source);
    return result.ok ? undefined : result.error;
  });
}

function compiledFilter(source: string): string | undefined {
  return memo(filterVerdicts, source, () => {
    const result = compileRuleFilter(source);
    return result.ok ? undefined : result.error.detail;
  });
}

// ---------------------------------------------------------------------------------------------
// Messages

/** A value as it appears in a message: strings as they are, the rest as JSON, both cut short. */
function shown(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value === undefined) text = 'undefined';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** The known name a misspelt one most likely meant (edit distance at most 2), for `did you mean`. */
function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
