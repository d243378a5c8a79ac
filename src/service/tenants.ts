import { AppError } from '../core/errors.js';
import type { Store, Tenant } from '../store/store.js';

export const DEFAULT_TENANT = 'default';

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export async function createTenant(store: Store, name: string): Promise<Tenant> {
  if (!NAME.test(name)) {
    throw new AppError(
      'invalid_value',
      `tenant name \`${name}\` must be 1-63 lowercase letters, digits, \`-\` or \`_\`, starting with a letter or digit`,
    );
  }
  if (await store.tenants.findByName(name)) throw new AppError('uniqueness', `tenant \`${name}\` already exists`);
  return store.tenants.create(name);
}

export async function requireTenant(store: Store, name: string): Promise<Tenant> {
  const tenant = await store.tenants.findByName(name);
  if (!tenant) throw new AppError('not_found', `tenant \`${name}\` does not exist`);
  return tenant;
}

/** Every command initialises the database it is given: the `default` tenant always exists. */
export async function ensureDefaultTenant(store: Store): Promise<{ tenant: Tenant; created: boolean }> {
  const existing = await store.tenants.findByName(DEFAULT_TENANT);
  if (existing) return { tenant: existing, created: false };
  return { tenant: await store.tenants.create(DEFAULT_TENANT), created: true };
}
