import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import { decide, isAllowed, type Decision, type ResourceInput } from '../authz/evaluate.js';
import { actionsOn, permissionsOf, resourcesFor, whoCan, type EffectivePermission, type Page, type PageRequest } from '../authz/queries.js';
import type { IndexedUser, TenantIndex } from '../authz/tenant-index.js';
import type { AuthzIndexes } from './authz-service.js';

/** A subject as AuthZEN names it: a SCIM user, by id, userName or externalId (tried in that order). */
export interface SubjectInput {
  readonly type: string;
  readonly id: string;
}

export interface AccessRequest {
  readonly subject: SubjectInput;
  readonly action: string;
  readonly resource: ResourceInput;
  readonly context?: Readonly<Record<string, unknown>>;
}

export interface Consistency {
  /** Answer only once this node's index has applied this revision (a write's `meta.version`). */
  readonly atLeastRevision?: number;
  /**
   * Answer as of this past instant (time travel): memberships, attributes, policy and expiries as
   * they were then, from the audit log. Excludes `atLeastRevision`.
   */
  readonly at?: Date;
}

/** The tenant's index as it was at a past revision, rebuilt from the audit log (`service/history.ts`). */
export interface PastIndexes {
  revisionAt(tenantId: string, time: Date): Promise<number>;
  indexAt(tenantId: string, revision: number): Promise<TenantIndex>;
}

export interface UserSummary {
  readonly id: string;
  readonly userName: string;
  readonly externalId?: string;
  readonly active: boolean;
}

export interface Explanation extends Decision {
  readonly subject: UserSummary;
  readonly revision: number;
}

/**
 * Decisions and questions about access, over the tenant's index: what the AuthZEN routes, the native
 * routes, the CLI and the library entry point all call, so they share one meaning.
 */
export interface AccessService {
  check(tenantId: string, request: AccessRequest, consistency?: Consistency): Promise<{ allowed: boolean; revision: number }>;
  /** Many checks against one state of the index; a failing item is reported in its place, never aborting the rest. */
  checkMany(
    tenantId: string,
    requests: readonly AccessRequest[],
    consistency?: Consistency,
  ): Promise<{ results: readonly ({ allowed: boolean } | { error: AppError })[]; revision: number }>;
  explain(tenantId: string, request: AccessRequest, consistency?: Consistency): Promise<Explanation>;
  whoCan(
    tenantId: string,
    query: { action: string; resource: ResourceInput; context?: Readonly<Record<string, unknown>> },
    page: PageRequest,
    consistency?: Consistency,
  ): Promise<Page<UserSummary> & { revision: number }>;
  resources(
    tenantId: string,
    query: { subject: SubjectInput; action: string; type: string; context?: Readonly<Record<string, unknown>> },
    page: PageRequest,
    consistency?: Consistency,
  ): Promise<Page<ResourceInput> & { revision: number }>;
  actions(
    tenantId: string,
    query: { subject: SubjectInput; resource: ResourceInput; context?: Readonly<Record<string, unknown>> },
    consistency?: Consistency,
  ): Promise<{ actions: string[]; revision: number }>;
  permissions(tenantId: string, subject: SubjectInput, consistency?: Consistency): Promise<{ subject: UserSummary; permissions: EffectivePermission[]; revision: number }>;
}

export function createAccessService(deps: {
  readonly indexes: AuthzIndexes;
  readonly clock: Clock;
  readonly history?: PastIndexes;
}): AccessService {
  const { indexes, clock, history } = deps;
  /** Runs one question against the index at one instant and tags the answer with the revision it saw. */
  async function on<T extends object>(tenantId: string, consistency: Consistency | undefined, ask: (index: TenantIndex, now: Date) => T) {
    const at = consistency?.at;
    if (at === undefined) {
      const index = await indexes.index(tenantId, consistency?.atLeastRevision);
      return { ...ask(index, clock.now()), revision: index.revision };
    }
    if (!history) throw new AppError('invalid_value', '`at` needs the audit history, which this service was built without');
    if (at.getTime() > clock.now().getTime()) throw new AppError('invalid_value', `\`at\` (${at.toISOString()}) is in the future`);
    const index = await history.indexAt(tenantId, await history.revisionAt(tenantId, at));
    return { ...ask(index, at), revision: index.revision };
  }

  return {
    check: (tenantId, request, consistency) => on(tenantId, consistency, (index, now) => ({ allowed: checkAccess(index, request, now) })),
    checkMany: (tenantId, requests, consistency) =>
      on(tenantId, consistency, (index, now) => ({
        results: requests.map((request) => {
          try {
            return { allowed: checkAccess(index, request, now) };
          } catch (err) {
            if (err instanceof AppError) return { error: err };
            throw err;
          }
        }),
      })),
    explain: (tenantId, request, consistency) => on(tenantId, consistency, (index, now) => explainAccess(index, request, now)),
    whoCan: (tenantId, query, page, consistency) =>
      on(tenantId, consistency, (index, now) => {
        const found = whoCan(index, query.action, query.resource, { ...query, now }, page);
        return { ...found, items: found.items.map(summary) };
      }),
    resources: (tenantId, query, page, consistency) =>
      on(tenantId, consistency, (index, now) =>
        resourcesFor(index, findSubject(index, query.subject), query.action, query.type, { ...query, now }, page),
      ),
    actions: (tenantId, query, consistency) =>
      on(tenantId, consistency, (index, now) => ({
        actions: actionsOn(index, findSubject(index, query.subject), query.resource, { ...query, now }),
      })),
    permissions: (tenantId, subject, consistency) =>
      on(tenantId, consistency, (index, now) => {
        const user = findSubject(index, subject);
        return { subject: summary(user), permissions: permissionsOf(index, user, now) };
      }),
  };
}

/** One check, synchronously, on an index as it stands: the in-process entry point and the routes share it. */
export function checkAccess(index: TenantIndex, request: AccessRequest, now: Date): boolean {
  const user = findSubject(index, request.subject);
  return isAllowed(index, { user, action: request.action, resource: request.resource, now, ...(request.context ? { context: request.context } : {}) });
}

export function explainAccess(index: TenantIndex, request: AccessRequest, now: Date): Omit<Explanation, 'revision'> {
  const user = findSubject(index, request.subject);
  const decision = decide(index, { ...request, user, now });
  return { ...decision, subject: summary(user) };
}

/** The user a subject names; 404 when none, 400 for a subject type other than `user`. */
export function findSubject(index: TenantIndex, subject: SubjectInput): IndexedUser {
  if (subject.type !== 'user') {
    throw new AppError('invalid_value', `subject type \`${subject.type}\` is not supported: subjects are SCIM users (type \`user\`)`);
  }
  const user = index.findUser('id', subject.id) ?? index.findUser('userName', subject.id) ?? index.findUser('externalId', subject.id);
  if (!user) throw new AppError('not_found', `user \`${subject.id}\` not found`);
  return user;
}

export function summary(user: IndexedUser): UserSummary {
  return {
    id: user.id,
    userName: user.userName,
    ...(user.externalId !== undefined ? { externalId: user.externalId } : {}),
    active: user.active,
  };
}
