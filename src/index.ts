import { systemClock, type Clock } from './core/clock.js';
import { AppError } from './core/errors.js';
import type { ResourceInput } from './authz/evaluate.js';
import { permissionsOf, whoCan, type EffectivePermission, type Page, type PageRequest } from './authz/queries.js';
import type { TenantIndex } from './authz/tenant-index.js';
import {
  checkAccess,
  explainAccess,
  findSubject,
  summary,
  type AccessRequest,
  type Explanation,
  type SubjectInput,
  type UserSummary,
} from './service/access.js';
import { createAuthzIndexes } from './service/authz-service.js';
import { DEFAULT_TENANT, requireTenant } from './service/tenants.js';
import { openStore } from './store/open-store.js';

/**
 * The library entry point: checks in-process, in microseconds, with the same meaning as the HTTP
 * API, over the same database a Scimitar server writes. The index is built once here and follows the
 * change log by polling (`pollMs`), or at once through `sync()` (e.g. after a write elsewhere whose
 * revision you were told).
 *
 * @example
 *   const scimitar = await createScimitar({ database: 'sqlite:./data/scimitar.db' });
 *   scimitar.check({ subject: { type: 'user', id: 'alice@example.com' }, action: 'read', resource: { type: 'database', id: 'orders' } });
 */
export interface ScimitarOptions {
  /** `sqlite:PATH` or a `postgres://` URL, as `SCIMITAR_DATABASE`. */
  readonly database: string;
  /** Tenant name; `default` unless given. */
  readonly tenant?: string;
  /** How often to pick up changes others wrote; default 1000 ms, 0 for never (call `sync`). */
  readonly pollMs?: number;
  readonly clock?: Clock;
  /** The audit key file, as `SCIMITAR_AUDIT_KEY_FILE`; needed only when this process writes to a PostgreSQL database. */
  readonly auditKeyFile?: string;
}

export interface Scimitar {
  readonly tenantId: string;
  /** The last change-log revision the index has applied. */
  readonly revision: number;
  /** Throws `AppError` (`not_found` for an unknown user, `invalid_value` for an unknown type or action). */
  check(request: AccessRequest): boolean;
  explain(request: AccessRequest): Explanation;
  whoCan(action: string, resource: ResourceInput, page?: PageRequest): Page<UserSummary>;
  permissions(subject: SubjectInput): EffectivePermission[];
  /** Applies every change written so far (by any process); resolves when the index has them. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export async function createScimitar(options: ScimitarOptions): Promise<Scimitar> {
  const store = await openStore(options.database, options.auditKeyFile ? { auditKeyFile: options.auditKeyFile } : {});
  try {
    const clock = options.clock ?? systemClock;
    const tenant = await requireTenant(store, options.tenant ?? DEFAULT_TENANT);
    const indexes = createAuthzIndexes({ store, pollMs: options.pollMs ?? 1000 });
    // INVARIANT: an index is built once and then mutated in place, so this reference stays current.
    const index: TenantIndex = await indexes.index(tenant.id);
    return {
      tenantId: tenant.id,
      get revision() {
        return index.revision;
      },
      check: (request) => checkAccess(index, request, clock.now()),
      explain: (request) => ({ ...explainAccess(index, request, clock.now()), revision: index.revision }),
      whoCan(action, resource, page = { limit: 100 }) {
        const found = whoCan(index, action, resource, { now: clock.now() }, page);
        return { ...found, items: found.items.map(summary) };
      },
      permissions: (subject) => permissionsOf(index, findSubject(index, subject), clock.now()),
      sync: () => indexes.sync(tenant.id),
      async close() {
        indexes.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

export { AppError };
/** For webhook receivers: checks a delivery's Standard Webhooks signature and timestamp. */
export { verifyWebhook } from './events/signing.js';
export type { AccessRequest, EffectivePermission, Explanation, Page, PageRequest, ResourceInput, SubjectInput, UserSummary };
