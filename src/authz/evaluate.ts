import { AppError } from '../core/errors.js';
import type { ConditionVars } from './cel.js';
import { framesOf, resourceView, type CompiledGrant, type CompiledPolicy, type Frame } from './compile-policy.js';
import type { GrantOrigin } from './model.js';
import type { IndexedUser, TenantIndex } from './tenant-index.js';
import { viaOf, type Via } from './via.js';

/** A resource as a check names it: registered ones bring their parent and attributes; `properties` add to them. */
export interface ResourceInput {
  readonly type: string;
  readonly id: string;
  /** Attributes for conditions; `parent` (`type:id`) places an unregistered resource in the hierarchy. */
  readonly properties?: Readonly<Record<string, unknown>>;
}

export interface CheckInput {
  /** Undefined when no such user exists: the answer is deny. */
  readonly user: IndexedUser | undefined;
  readonly action: string;
  readonly resource: ResourceInput;
  readonly context?: Readonly<Record<string, unknown>>;
  readonly now: Date;
}

export type GrantOutcome = 'applies' | 'expired' | 'out_of_scope' | 'condition_false' | 'condition_error';

/** Why one grant did or did not decide a check. */
export interface GrantReason {
  readonly effect: 'allow' | 'deny';
  readonly origin: GrantOrigin;
  readonly id: string;
  readonly role: string;
  /** The roles the permission comes through, the granted role first. */
  readonly rolePath: readonly string[];
  readonly permission: string;
  readonly scope: string;
  /** The resource, or the ancestor, or the type, that the scope covers. */
  readonly matched?: string;
  readonly outcome: GrantOutcome;
  readonly condition?: { readonly expression: string; readonly result: boolean | null; readonly error?: string };
  readonly expiresAt?: string;
  /** How the user holds the grant (directly, through which groups, by which rule); set by `decide`. */
  readonly via?: Via;
}

export interface Decision {
  readonly allowed: boolean;
  /** The grants that decide: applying denies when denied by one, applying allows when allowed. */
  readonly reasons: readonly GrantReason[];
  /** Every grant of the permission the user holds, whether it applied or not. */
  readonly considered: readonly GrantReason[];
  /** For a deny: what is missing, in words. */
  readonly missing?: string;
}

/**
 * The hot path: allow or deny, nothing else. Most checks end at the profile's `allowAll`: two map
 * lookups. A deny or a scoped, conditional or expiring grant walks the resource's ancestors.
 */
export function isAllowed(index: TenantIndex, input: CheckInput): boolean {
  const { user, resource } = input;
  const id = index.policy.permissionIds.get(resource.type)?.get(input.action);
  if (id === undefined) throw unknownPermission(index.policy, resource.type, input.action);
  if (!user || !user.active) return false;
  const entry = user.profile.permissions.get(id);
  if (!entry) return false;
  if (entry.denies.length === 0 && entry.allowAll) return true;
  const scope = new Evaluation(index, input);
  // A deny whose condition cannot be evaluated counts as applying: an error never opens access.
  for (const grant of entry.denies) if (denies(scope.outcome(grant))) return false;
  if (entry.allowAll) return true;
  for (const grant of entry.allows) if (scope.outcome(grant) === 'applies') return true;
  return false;
}

/** The full answer with reasons: what `explain`, AuthZEN `context.reasons` and the CLI show. */
export function decide(index: TenantIndex, input: CheckInput): Decision {
  const { user, resource, action } = input;
  assertKnownPermission(index.policy, resource.type, action);
  const permission = `${resource.type}:${action}`;
  if (!user) return { allowed: false, reasons: [], considered: [], missing: 'the subject is not a known user' };
  const scope = new Evaluation(index, input);
  const considered: GrantReason[] = [];
  for (const grant of user.profile.grants) {
    const rolePath = grant.permissions.get(permission);
    if (rolePath) considered.push({ ...scope.reason(grant, permission, rolePath), via: viaOf(index, user, grant) });
  }
  if (!user.active) {
    return { allowed: false, reasons: [], considered, missing: `user \`${user.userName}\` is not active` };
  }
  const denying = considered.filter((r) => r.effect === 'deny' && denies(r.outcome));
  if (denying.length > 0) return { allowed: false, reasons: denying, considered };
  const allows = considered.filter((r) => r.effect === 'allow' && r.outcome === 'applies');
  if (allows.length > 0) return { allowed: true, reasons: allows, considered };
  return { allowed: false, reasons: [], considered, missing: missing(index.policy, user, permission, scope.target, considered) };
}

function denies(outcome: GrantOutcome): boolean {
  return outcome === 'applies' || outcome === 'condition_error';
}

function missing(
  policy: CompiledPolicy,
  user: IndexedUser,
  permission: string,
  target: string,
  considered: readonly GrantReason[],
): string {
  const roles = [...policy.rolePermissions].filter(([, perms]) => perms.has(permission)).map(([name]) => `\`${name}\``);
  const giving = roles.length > 0 ? `; roles that give it: ${roles.join(', ')}` : '; no role gives it';
  if (considered.length === 0) {
    return `no role giving \`${permission}\` is bound to \`${user.userName}\` on \`${target}\` or a scope containing it${giving}`;
  }
  return `\`${user.userName}\` holds \`${permission}\` through ${considered.length} grant(s), but none applies to \`${target}\` now${giving}`;
}

/** Throws `invalid_value` for a resource type or action the tenant does not declare. */
export function assertKnownPermission(policy: CompiledPolicy, type: string, action: string): void {
  if (policy.permissionIds.get(type)?.get(action) === undefined) throw unknownPermission(policy, type, action);
}

function unknownPermission(policy: CompiledPolicy, type: string, action: string): AppError {
  if (!policy.actions.has(type)) return new AppError('invalid_value', `unknown resource type \`${type}\``);
  return new AppError('invalid_value', `resource type \`${type}\` has no action \`${action}\``);
}

/** One check's view of the resource (its ancestors) and of the condition variables, each built once, on demand. */
class Evaluation {
  private frames: readonly Frame[] | undefined;
  private vars: ConditionVars | undefined;
  private lastMatched: string | undefined;
  private lastCondition: GrantReason['condition'];

  constructor(
    private readonly index: TenantIndex,
    private readonly input: CheckInput,
  ) {}

  get target(): string {
    return `${this.input.resource.type}:${this.input.resource.id}`;
  }

  outcome(grant: CompiledGrant): GrantOutcome {
    this.lastMatched = undefined;
    this.lastCondition = undefined;
    return this.compute(grant);
  }

  reason(grant: CompiledGrant, permission: string, rolePath: readonly string[]): GrantReason {
    const outcome = this.outcome(grant);
    return {
      effect: grant.effect,
      origin: grant.origin,
      id: grant.sourceId,
      role: grant.role,
      rolePath,
      permission,
      scope: grant.scopeText,
      outcome,
      ...(this.lastMatched !== undefined ? { matched: this.lastMatched } : {}),
      ...(this.lastCondition !== undefined ? { condition: this.lastCondition } : {}),
      ...(grant.expiresAt !== undefined ? { expiresAt: new Date(grant.expiresAt).toISOString() } : {}),
    };
  }

  private compute(grant: CompiledGrant): GrantOutcome {
    const matched = this.match(grant);
    if (matched === undefined) return 'out_of_scope';
    this.lastMatched = matched;
    if (grant.expiresAt !== undefined && this.input.now.getTime() >= grant.expiresAt) return 'expired';
    if (!grant.condition) return 'applies';
    const result = grant.condition.evaluate(this.conditionVars());
    if (!result.ok) {
      this.lastCondition = { expression: grant.condition.source, result: null, error: result.error };
      return 'condition_error';
    }
    this.lastCondition = { expression: grant.condition.source, result: result.value };
    return result.value ? 'applies' : 'condition_false';
  }

  /** The frame of the resource or ancestor the grant's scope covers, as text. */
  private match(grant: CompiledGrant): string | undefined {
    const { scope } = grant;
    if (scope.kind === 'tenant') return '*';
    for (const frame of this.chain()) {
      if (scope.kind === 'type' ? frame.type === scope.type : frame.key === grant.scopeText) {
        return scope.kind === 'type' ? `${scope.type}:*` : frame.key;
      }
    }
    return undefined;
  }

  /** The resource, then its parent, its parent's parent…: registered parents win over a `parent` property. */
  private chain(): readonly Frame[] {
    if (this.frames) return this.frames;
    const { ancestry, resources } = this.index.policy;
    const { resource } = this.input;
    const key = `${resource.type}:${resource.id}`;
    const inline = resource.properties?.parent;
    this.frames =
      ancestry.get(key) ??
      (typeof inline === 'string' ? framesOf(key, resource.type, inline, resources) : [{ key, type: resource.type }]);
    return this.frames;
  }

  private conditionVars(): ConditionVars {
    if (this.vars) return this.vars;
    const { resource } = this.input;
    const key = `${resource.type}:${resource.id}`;
    const registered = this.index.policy.resources.get(key);
    const view =
      resource.properties === undefined && registered
        ? this.index.policy.resourceViews.get(key)!
        : resourceView(resource.type, resource.id, { ...registered?.attributes, ...resource.properties }, this.chain());
    this.vars = {
      subject: subjectView(this.index, this.input.user!),
      resource: view,
      context: this.input.context ?? {},
      request: { time: this.input.now },
    };
    return this.vars;
  }
}

/** The CEL `subject`: the SCIM user as stored, its id, and the displayNames of every group it is in. */
function subjectView(index: TenantIndex, user: IndexedUser): Record<string, unknown> {
  if (!user.subject) {
    user.subject = {
      ...user.doc,
      id: user.id,
      userName: user.userName,
      active: user.active,
      groups: index.groupsOf(user).map((g) => g.displayName),
    };
  }
  return user.subject;
}
