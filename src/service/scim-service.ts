import type { ResourceTypeName } from '../core/attribute.js';
import type { Actor } from '../core/change.js';
import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import type { ListPage, ListQuery, ReadOptions, ScimWriter, Store, StoredGroup, StoredUser } from '../store/store.js';
import {
  createResource,
  deleteResource,
  patchResource,
  replaceResource,
  type Precondition,
  type WriteContext,
  type WriteOutcome,
} from './scim-writes.js';

export type StoredScimResource = StoredUser | StoredGroup;

export interface ScimService {
  get(tenantId: string, type: ResourceTypeName, id: string, read: ReadOptions): Promise<StoredScimResource>;
  list(tenantId: string, type: ResourceTypeName, query: ListQuery): Promise<ListPage<StoredScimResource>>;
  create(tenantId: string, actor: Actor, type: ResourceTypeName, body: unknown, read: ReadOptions): Promise<WriteOutcome>;
  replace(
    tenantId: string,
    actor: Actor,
    type: ResourceTypeName,
    id: string,
    body: unknown,
    precondition: Precondition,
    read: ReadOptions,
  ): Promise<WriteOutcome>;
  patch(
    tenantId: string,
    actor: Actor,
    type: ResourceTypeName,
    id: string,
    body: unknown,
    precondition: Precondition,
    read: ReadOptions,
  ): Promise<WriteOutcome>;
  remove(tenantId: string, actor: Actor, type: ResourceTypeName, id: string, precondition: Precondition): Promise<number>;
  /** Runs several writes in one transaction (Bulk). */
  transaction<T>(tenantId: string, actor: Actor, fn: (tx: ScimWriter, ctx: WriteContext) => Promise<T>): Promise<T>;
}

export interface ScimServiceDeps {
  readonly store: Store;
  readonly clock: Clock;
  /**
   * Called after each commit and awaited before the write answers: the permission index applies
   * the change there, so a check after a SCIM response sees it (read-your-writes).
   */
  readonly committed?: (tenantId: string) => Promise<void>;
}

export function createScimService(deps: ScimServiceDeps): ScimService {
  const { store, clock, committed } = deps;

  async function transaction<T>(tenantId: string, actor: Actor, fn: (tx: ScimWriter, ctx: WriteContext) => Promise<T>) {
    const ctx: WriteContext = { actor, at: clock.now().toISOString() };
    const result = await store.write(tenantId, (tx) => fn(tx, ctx));
    await committed?.(tenantId);
    return result;
  }

  /**
   * Write responses carry the same representation a GET would. Members and groups are read back
   * only when the response needs them (and a new user has no groups yet).
   */
  async function present(
    tenantId: string,
    type: ResourceTypeName,
    outcome: WriteOutcome,
    read: ReadOptions,
    created: boolean,
  ): Promise<WriteOutcome> {
    const needsRead = type === 'Group' ? read.members === true : read.groups === true && !created;
    if (!needsRead) return type === 'User' && created ? { ...outcome, resource: { ...outcome.resource, groups: [] } } : outcome;
    const fresh = await store.reader(tenantId).get(type, outcome.resource.id, read);
    return fresh ? { ...outcome, resource: fresh } : outcome;
  }

  return {
    async get(tenantId, type, id, read) {
      const resource = await store.reader(tenantId).get(type, id, read);
      if (!resource) throw new AppError('not_found', `${type.toLowerCase()} \`${id}\` not found`);
      return resource;
    },
    list: (tenantId, type, query) => store.reader(tenantId).list(type, query),
    async create(tenantId, actor, type, body, read) {
      const outcome = await transaction(tenantId, actor, (tx, ctx) => createResource(tx, ctx, type, body));
      return present(tenantId, type, outcome, read, true);
    },
    async replace(tenantId, actor, type, id, body, precondition, read) {
      const outcome = await transaction(tenantId, actor, (tx, ctx) => replaceResource(tx, ctx, type, id, body, precondition));
      return present(tenantId, type, outcome, read, false);
    },
    async patch(tenantId, actor, type, id, body, precondition, read) {
      const outcome = await transaction(tenantId, actor, (tx, ctx) => patchResource(tx, ctx, type, id, body, precondition));
      return present(tenantId, type, outcome, read, false);
    },
    remove: (tenantId, actor, type, id, precondition) =>
      transaction(tenantId, actor, (tx, ctx) => deleteResource(tx, ctx, type, id, precondition)),
    transaction,
  };
}
