import { existsSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runAuditStoreContract } from '../audit-store.contract.js';
import { runStoreContract } from '../store.contract.js';
import { openSqliteStore } from './open-sqlite-store.js';

runStoreContract('sqlite (:memory:)', () => openSqliteStore(':memory:'));
runAuditStoreContract('sqlite (:memory:)', () => openSqliteStore(':memory:'));

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

  it('moves committed pages into the database file in the background, and leaves no WAL behind on close', async () => {
    const path = join(await tempDir(), 'wal.db');
    const store = await openSqliteStore(path, { backgroundCheckpoints: true });
    const tenant = await store.tenants.create('t');
    const empty = statSync(path).size;
    // About 500 pages: far below the write connection's own checkpoint limit, so only the worker moves them.
    const padding = 'x'.repeat(2_000_000);
    await store.write(tenant.id, async (tx) => {
      const version = await tx.nextRevision();
      await tx.insert('User', { id: 'u', doc: { userName: 'u', nickName: padding }, created: 'c', lastModified: 'c', version });
    });
    for (let i = 0; i < 100 && statSync(path).size < empty + padding.length; i++) await sleep(50);
    expect(statSync(path).size).toBeGreaterThanOrEqual(empty + padding.length);
    await store.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    const reopened = await openSqliteStore(path);
    expect((await reopened.reader(tenant.id).get('User', 'u'))?.doc).toMatchObject({ nickName: padding });
    await reopened.close();
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

  it('hashes change log rows written before the audit migration when it opens, and keeps its key beside the file', async () => {
    const path = join(await tempDir(), 'legacy.db');
    const first = await openSqliteStore(path);
    const tenant = await first.tenants.create('t');
    for (const title of ['a', 'b', 'c']) {
      await first.write(tenant.id, async (tx) => {
        const revision = await tx.nextRevision();
        await tx.appendChange({
          revision,
          at: new Date(revision * 1000).toISOString(),
          actor: { tokenId: null, kind: 'system' },
          change: {
            resourceType: 'User',
            resourceId: 'u1',
            operation: 'patch',
            attributes: [{ path: 'title', before: null, after: title }],
            membersAdded: [],
            membersRemoved: [],
          },
        });
      });
    }
    const hashed = await first.audit.entries(tenant.id, { limit: 10 });
    await first.close();
    // What a database migrated from 002 looks like: the audit columns empty, no refs.
    const raw = new BetterSqlite3(path);
    raw.exec('UPDATE changes SET hash = NULL, kind = NULL, subject_id = NULL, actor_token = NULL; DELETE FROM change_refs');
    raw.close();
    expect(existsSync(`${path}.audit-key.pem`)).toBe(true);

    const second = await openSqliteStore(path);
    expect(await second.audit.entries(tenant.id, { limit: 10 })).toEqual(hashed);
    expect((await second.audit.entries(tenant.id, { ref: 'u1', limit: 10 })).map((e) => e.revision)).toEqual([1, 2, 3]);
    await second.close();
  });
});
