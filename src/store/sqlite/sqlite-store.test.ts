import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runStoreContract } from '../store.contract.js';
import { openSqliteStore } from './open-sqlite-store.js';

runStoreContract('sqlite (:memory:)', () => openSqliteStore(':memory:'));

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'scimitar-sqlite-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

// A file database takes the two-connection path (a reader beside the writer).
runStoreContract('sqlite (file)', async () => openSqliteStore(join(await tempDir(), 'contract.db')));

describe('openSqliteStore', () => {
  it('creates the parent folder, migrates once, and keeps data across reopen', async () => {
    const path = join(await tempDir(), 'nested', 'deeper', 'scimitar.db');
    const first = await openSqliteStore(path);
    const tenant = await first.tenants.create('acme');
    await first.close();
    const second = await openSqliteStore(path);
    expect(await second.tenants.findByName('acme')).toEqual(tenant);
    await second.close();
  });

  it('sees committed writes from the reader connection at once', async () => {
    const store = await openSqliteStore(join(await tempDir(), 'ryw.db'));
    const tenant = await store.tenants.create('t');
    await store.write(tenant.id, async (tx) => {
      const version = await tx.nextRevision();
      await tx.insert('User', { id: 'u', doc: { userName: 'u' }, created: 'c', lastModified: 'c', version });
    });
    expect(await store.reader(tenant.id).get('User', 'u')).toMatchObject({ id: 'u', version: 1 });
    await store.close();
  });

  it('adds 10,000 members in a handful of statements and reads a page without N+1 queries', async () => {
    const statements: string[] = [];
    const store = await openSqliteStore(':memory:', { onQuery: (sql) => statements.push(sql) });
    const tenant = await store.tenants.create('t');
    const ids = Array.from({ length: 10_000 }, (_, i) => `m${i}`);
    await store.write(tenant.id, async (tx) => {
      const version = await tx.nextRevision();
      await tx.insert('Group', { id: 'g', doc: { displayName: 'g' }, created: 'c', lastModified: 'c', version });
      for (let i = 0; i < 20; i++) {
        await tx.insert('Group', { id: `g${i}`, doc: { displayName: `g${i}` }, created: 'c', lastModified: 'c', version });
      }
      statements.length = 0;
      expect(await tx.addMembers('g', ids.map((value) => ({ value, type: 'User' as const })))).toHaveLength(10_000);
      expect(statements.length).toBeLessThanOrEqual(2);
      statements.length = 0;
      expect(await tx.removeMembers('g', ids)).toHaveLength(10_000);
      expect(statements.length).toBeLessThanOrEqual(2);
    });
    statements.length = 0;
    const page = await store.reader(tenant.id).list('Group', { startIndex: 1, count: 100, members: true });
    expect(page.resources).toHaveLength(21);
    // The page, then the members of all its groups; the short page makes a COUNT unnecessary.
    expect(statements).toHaveLength(2);
    statements.length = 0;
    await store.reader(tenant.id).list('Group', { startIndex: 1, count: 100 });
    expect(statements.some((sql) => sql.includes('group_members'))).toBe(false);
    await store.close();
  });
});
