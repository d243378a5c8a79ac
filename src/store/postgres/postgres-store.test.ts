import { describe, expect, it } from 'vitest';
import { createTestDatabase, hasPostgres, warnPostgresSkipped } from '../../../test/setup/pg.js';
import { runAuditStoreContract } from '../audit-store.contract.js';
import { runStoreContract } from '../store.contract.js';
import { openPostgresStore } from './open-postgres-store.js';

if (!hasPostgres()) warnPostgresSkipped('PostgreSQL store contract');

describe.runIf(hasPostgres())('postgres', () => {
  runStoreContract('postgres', async () => openPostgresStore(await createTestDatabase(), { poolSize: 4 }));
  runAuditStoreContract('postgres', async () => openPostgresStore(await createTestDatabase(), { poolSize: 4 }));

  describe('openPostgresStore', () => {
    it('migrates once even when several nodes start together, and keeps data across reopen', async () => {
      const url = await createTestDatabase();
      const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore(url, { poolSize: 2 })));
      const tenant = await stores[0]!.tenants.create('acme');
      for (const store of stores) await store.close();
      const again = await openPostgresStore(url, { poolSize: 1 });
      expect(await again.tenants.findByName('acme')).toEqual(tenant);
      await again.close();
    });

    it('returns BIGINT columns as numbers', async () => {
      const store = await openPostgresStore(await createTestDatabase(), { poolSize: 2 });
      const tenant = await store.tenants.create('t');
      const revision = await store.write(tenant.id, (tx) => tx.nextRevision());
      expect(revision).toBe(1);
      expect((await store.tenants.findById(tenant.id))?.revision).toBe(1);
      await store.close();
    });
  });
});
