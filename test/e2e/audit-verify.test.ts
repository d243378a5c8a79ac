import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { seal } from '../../src/service/audit-admin.js';
import { createHistory } from '../../src/service/history.js';
import { openStore } from '../../src/store/open-store.js';
import { createTestDatabase } from '../setup/pg.js';
import { cli, lastLine, serve, type Served } from './cli-process.js';
import { backends, GROUP_SCHEMA, patchOps, USER_SCHEMA, type Backend } from './harness.js';

/**
 * The tamper-evident audit trail as an operator meets it: a real server process takes ~30 SCIM and
 * admin writes over HTTP; `/audit/v1` answers queries; then, with the server stopped, the built CLI
 * verifies the chain while the test tampers with the `changes` table through a connection of its
 * own (edit, delete, insert, reorder), and exports and seals it.
 */

interface Raw {
  run(sql: string, ...params: unknown[]): Promise<void>;
  rows(sql: string, ...params: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** A raw connection to the database the server uses, with `?` placeholders on both backends. */
async function openRaw(backend: Backend, database: string): Promise<Raw> {
  if (backend === 'sqlite') {
    const db = new BetterSqlite3(database.slice('sqlite:'.length));
    return {
      run: async (sql, ...params) => void db.prepare(sql).run(...params),
      rows: async (sql, ...params) => db.prepare(sql).all(...params) as Record<string, unknown>[],
      close: async () => void db.close(),
    };
  }
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  const numbered = (sql: string) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  return {
    run: async (sql, ...params) => void (await client.query(numbered(sql), params)),
    rows: async (sql, ...params) => (await client.query(numbered(sql), params)).rows,
    close: () => client.end(),
  };
}

const COLUMNS = ['tenant_id', 'revision', 'at', 'actor', 'change', 'hash', 'kind', 'subject_id', 'actor_token'] as const;
/** JSON columns come back as text from SQLite and parsed from PostgreSQL; written back as text, both take it. */
const asText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

async function call(url: string, token: string | undefined, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  const json = response.headers.get('content-type')?.includes('json') && !response.headers.get('content-type')?.includes('ndjson');
  return { status: response.status, headers: response.headers, text, body: json && text ? JSON.parse(text) : undefined };
}

type Entry = {
  revision: number;
  at: string;
  actor: { tokenId: string | null };
  change: { resourceId?: string; resourceType?: string; objectKind?: string; membersAdded?: string[]; membersRemoved?: string[] };
  hash: string;
  access: { userId: string; permission: string; change: string }[];
};

const kindOf = (e: Entry) => e.change.resourceType ?? e.change.objectKind;
const revisionsOf = (entries: readonly Entry[]) => entries.map((e) => e.revision);
const lines = (text: string) => text.split('\n').filter((l) => l !== '');

describe.each(backends())('audit trail: verify, tamper, query, export, seal (%s)', (backend) => {
  let dir: string;
  let database: string;
  let keyFile: string;
  let env: Record<string, string>;
  let served: Served | undefined;
  let admin: string;
  let otherAdmin: string;
  let all: Entry[];
  const ids: Record<string, string> = {};

  const audit = (path: string, token = admin) => call(served!.url, token, 'GET', `/audit/v1${path}`);
  const entries = async (query: string, token = admin): Promise<Entry[]> => {
    const res = await audit(`/entries?limit=1000&${query}`, token);
    expect(res.status, res.text).toBe(200);
    return res.body.items;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scimitar-audit-'));
    database = backend === 'sqlite' ? `sqlite:${join(dir, 'audit.db')}` : await createTestDatabase();
    keyFile = join(dir, 'audit-key.pem');
    env = { SCIMITAR_AUDIT_KEY_FILE: keyFile, SCIMITAR_AUTHZ_POLL_MS: '100' };
    served = await serve(database, env);
    const scim = /SCIM token .*?:\s+(\S+)/.exec(served.stdout)![1]!;
    admin = /admin token .*?:\s+(\S+)/.exec(served.stdout)![1]!;
    const { url } = served;
    const write = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await call(url, token, method, path, body);
      expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(300);
      return res.body;
    };

    await write(admin, 'POST', '/admin/v1/resource-types', { name: 'env', actions: ['deploy'] });
    await write(admin, 'POST', '/admin/v1/roles', { name: 'deployer', permissions: ['env:deploy'] });
    await write(admin, 'POST', '/admin/v1/group-mappings', { id: 'eng', group: { displayName: 'Engineering' }, role: 'deployer', scope: 'env:*' });
    const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
    for (const name of names) ids[name] = (await write(scim, 'POST', '/scim/v2/Users', { schemas: [USER_SCHEMA], userName: name })).id;
    ids.eng = (await write(scim, 'POST', '/scim/v2/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Engineering' })).id;
    ids.sales = (await write(scim, 'POST', '/scim/v2/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Sales' })).id;
    await write(scim, 'PATCH', `/scim/v2/Groups/${ids.eng}`, patchOps({ op: 'add', path: 'members', value: [{ value: ids.alice }, { value: ids.bob }] }));
    await write(scim, 'PATCH', `/scim/v2/Groups/${ids.sales}`, patchOps({ op: 'add', path: 'members', value: [{ value: ids.carol }] }));
    for (const name of names) await write(scim, 'PATCH', `/scim/v2/Users/${ids[name]}`, patchOps({ op: 'replace', path: 'title', value: `${name} title` }));
    await write(scim, 'PATCH', `/scim/v2/Groups/${ids.eng}`, patchOps({ op: 'remove', path: `members[value eq "${ids.bob}"]` }));
    await write(scim, 'PATCH', `/scim/v2/Groups/${ids.sales}`, patchOps({ op: 'replace', path: 'displayName', value: 'Sales EMEA' }));
    await write(scim, 'DELETE', `/scim/v2/Users/${ids.dave}`);

    // A second tenant, with writes of its own, that no query of the first may show.
    expect(cli(['tenant', 'create', 'other', '--database', database], env).status).toBe(0);
    const otherScim = lastLine(cli(['token', 'create', '--tenant', 'other', '--scope', 'scim', '--database', database], env).stdout);
    otherAdmin = lastLine(cli(['token', 'create', '--tenant', 'other', '--scope', 'admin', '--database', database], env).stdout);
    ids.otherUser = (await write(otherScim, 'POST', '/scim/v2/Users', { schemas: [USER_SCHEMA], userName: 'alice' })).id;
    await write(otherScim, 'PATCH', `/scim/v2/Users/${ids.otherUser}`, patchOps({ op: 'replace', path: 'title', value: 'other' }));

    all = await entries('');
  }, 120_000);

  afterAll(async () => {
    await served?.stop('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('over HTTP', () => {
    it('lists every entry, oldest first, each with the access changes it caused', () => {
      expect(revisionsOf(all)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      const added = all.find((e) => e.change.membersAdded?.includes(ids.alice!))!;
      expect(added.access).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ userId: ids.alice, permission: 'env:deploy', change: 'gained' }),
          expect.objectContaining({ userId: ids.bob, permission: 'env:deploy', change: 'gained' }),
        ]),
      );
      const removed = all.find((e) => e.change.membersRemoved?.includes(ids.bob!))!;
      expect(removed.access).toEqual([expect.objectContaining({ userId: ids.bob, change: 'lost' })]);
    });

    it('filters by user, group and resource: every entry that touches it', async () => {
      const touches = (e: Entry, id: string) =>
        e.change.resourceId === id || e.change.membersAdded?.includes(id) || e.change.membersRemoved?.includes(id) || e.access.some((a) => a.userId === id);
      const aboutBob = await entries(`user=${ids.bob}`);
      expect(revisionsOf(aboutBob)).toEqual(revisionsOf(all.filter((e) => touches(e, ids.bob!))));
      expect(aboutBob.length).toBe(4);
      expect(revisionsOf(await entries(`group=${ids.eng}`))).toEqual(revisionsOf(all.filter((e) => e.change.resourceId === ids.eng)));
      expect(revisionsOf(await entries('resource=deployer'))).toEqual(revisionsOf(all.filter((e) => e.change.objectKind === 'role' || e.change.objectKind === 'groupMapping')));
    });

    it('filters by actor (token id) and kind', async () => {
      const adminToken = all[0]!.actor.tokenId!;
      const scimToken = all.at(-1)!.actor.tokenId!;
      expect(revisionsOf(await entries(`actor=${adminToken}`))).toEqual([1, 2, 3]);
      expect((await entries(`actor=${scimToken}`)).length).toBe(27);
      const groupsAndRoles = revisionsOf(all.filter((e) => kindOf(e) === 'Group' || kindOf(e) === 'role'));
      expect(revisionsOf(await entries('kind=group,role'))).toEqual(groupsAndRoles);
      expect(revisionsOf(await entries('kind=Group&kind=role'))).toEqual(groupsAndRoles);
    });

    it('filters by time: since inclusive, until exclusive', async () => {
      const since = all[9]!.at;
      const until = all[24]!.at;
      const expected = revisionsOf(all.filter((e) => e.at >= since && e.at < until));
      expect(expected.length).toBeGreaterThan(5);
      expect(revisionsOf(await entries(`since=${since}&until=${until}`))).toEqual(expected);
    });

    it('pages with `next`, in both orders', async () => {
      for (const order of ['asc', 'desc'] as const) {
        const seen: number[] = [];
        let after: number | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const res = await audit(`/entries?limit=7&order=${order}${after !== undefined ? `&after=${after}` : ''}`);
          seen.push(...revisionsOf(res.body.items));
          after = res.body.next;
          if (after === undefined) break;
          expect(after).toBe(seen.at(-1));
        }
        const revisions = revisionsOf(all);
        expect(seen).toEqual(order === 'asc' ? revisions : revisions.reverse());
      }
    });

    it("never shows another tenant's entries", async () => {
      const theirs = await entries('', otherAdmin);
      expect(theirs.map((e) => e.change.resourceId)).toEqual([ids.otherUser, ids.otherUser]);
      expect(await entries(`user=${ids.alice}`, otherAdmin)).toEqual([]);
      expect(await entries(`user=${ids.otherUser}`)).toEqual([]);
      expect(lines((await audit('/export', otherAdmin)).text)).toHaveLength(2);
      expect((await audit('/verify', otherAdmin)).body).toMatchObject({ ok: true, entries: 2 });
    });

    it('exports the same entries as JSON lines, filtered alike', async () => {
      const res = await audit('/export');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      expect(lines(res.text).map((l) => JSON.parse(l))).toEqual(all);
      const filtered = await audit(`/export?user=${ids.bob}`);
      expect(revisionsOf(lines(filtered.text).map((l) => JSON.parse(l)))).toEqual(revisionsOf(await entries(`user=${ids.bob}`)));
    });

    it('verifies the chain and lists the checkpoints', async () => {
      expect((await audit('/verify')).body).toEqual({ ok: true, entries: 30, checkpoints: 0, lastRevision: 30 });
      expect((await audit('/checkpoints')).body).toEqual({ items: [] });
    });

    it('answers bad parameters 400 with a SCIM error body, and needs an admin token', async () => {
      for (const query of ['since=yesterday', 'until=2026-01-01', 'kind=bogus', 'limit=0', 'limit=5000', 'order=sideways', 'after=-1', 'after=x', `user=a&group=b`, 'usr=alice']) {
        const res = await audit(`/entries?${query}`);
        expect(res.status, query).toBe(400);
        expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
        expect(['invalidValue', 'invalidSyntax'], query).toContain(res.body.scimType);
      }
      expect((await audit('/export?kind=nope')).status).toBe(400);
      expect((await call(served!.url, undefined, 'GET', '/audit/v1/verify')).status).toBe(401);
      const scimToken = /SCIM token .*?:\s+(\S+)/.exec(served!.stdout)![1]!;
      expect((await audit('/checkpoints', scimToken)).status).toBe(403);
    });
  });

  describe('from the CLI', () => {
    let raw: Raw;
    let tenantId: string;
    const verify = (...args: string[]) => cli(['audit', 'verify', '--database', database, ...args], env);

    beforeAll(async () => {
      await served?.stop('SIGTERM');
      served = undefined;
      raw = await openRaw(backend, database);
      tenantId = String((await raw.rows("select id from tenants where name = 'default'"))[0]!.id);
    });
    afterAll(() => raw?.close());

    const row = async (revision: number) => (await raw.rows('select * from changes where tenant_id = ? and revision = ?', tenantId, revision))[0]!;
    const insert = (r: Record<string, unknown>) =>
      raw.run(
        `insert into changes (${COLUMNS.join(', ')}) values (${COLUMNS.map(() => '?').join(', ')})`,
        ...COLUMNS.map((c) => (c === 'actor' || c === 'change' ? asText(r[c]) : c === 'revision' ? Number(r[c]) : r[c])),
      );
    /** Moves every revision from `from` on by `by`, through negative numbers so no two rows collide on the key. */
    const shift = async (from: number, by: number) => {
      await raw.run('update changes set revision = -(revision + ?) where tenant_id = ? and revision >= ?', by, tenantId, from);
      await raw.run('update changes set revision = -revision where tenant_id = ? and revision < 0', tenantId);
    };
    const expectFailureAt = (revision: number, problem: string) => {
      const result = verify();
      expect(result.status, result.stdout + result.stderr).toBe(1);
      expect(result.stdout).toMatch(new RegExp(`^FAIL default: revision ${revision} \\(${problem}\\)`, 'm'));
      expect(result.stdout).toMatch(/^ok {3}other: 2 entries/m);
    };
    const expectClean = () => {
      const result = verify();
      expect(result.status, result.stdout + result.stderr).toBe(0);
    };

    it('verify checks every tenant and prints a line for each', () => {
      const result = verify();
      expect(result.status, result.stderr).toBe(0);
      expect(lines(result.stdout)).toEqual([
        'ok   default: 30 entries, 0 checkpoints, up to revision 30',
        'ok   other: 2 entries, 0 checkpoints, up to revision 2',
      ]);
    });

    it('checkpoint signs the head once; verify checks it, against a trusted public key too', () => {
      const signed = cli(['audit', 'checkpoint', '--tenant', 'default', '--database', database], env);
      expect(signed.stdout).toBe('default: signed checkpoint at revision 30\n');
      expect(cli(['audit', 'checkpoint', '--tenant', 'default', '--database', database], env).stdout).toBe('default: already covered by a checkpoint\n');
      const json = JSON.parse(verify('--tenant', 'default', '--json').stdout);
      expect(json).toEqual([{ tenant: 'default', ok: true, entries: 30, checkpoints: 1, lastRevision: 30 }]);

      const trusted = join(dir, 'trusted.pem');
      writeFileSync(trusted, createPublicKey(readFileSync(keyFile, 'utf8')).export({ type: 'spki', format: 'pem' }));
      expect(verify('--tenant', 'default', '--public-key', trusted).status).toBe(0);
      const stranger = join(dir, 'stranger.pem');
      writeFileSync(stranger, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
      const untrusted = verify('--tenant', 'default', '--public-key', stranger);
      expect(untrusted.status).toBe(1);
      expect(untrusted.stdout).toMatch(/^FAIL default: revision 30 \(checkpoint_untrusted\)/);
    });

    it('names an edited entry', async () => {
      const original = await row(12);
      const change = JSON.parse(asText(original.change));
      await raw.run('update changes set change = ? where tenant_id = ? and revision = ?', JSON.stringify({ ...change, operation: 'delete' }), tenantId, 12);
      expectFailureAt(12, 'hash_mismatch');
      await raw.run('update changes set change = ? where tenant_id = ? and revision = ?', asText(original.change), tenantId, 12);
      expectClean();
    });

    it('names a deleted entry, and a deleted tail', async () => {
      for (const revision of [14, 30]) {
        const original = await row(revision);
        await raw.run('delete from changes where tenant_id = ? and revision = ?', tenantId, revision);
        expectFailureAt(revision, 'missing');
        await insert(original);
      }
      expectClean();
    });

    it('names an inserted entry', async () => {
      const template = await row(9);
      await shift(9, 1);
      await insert({ ...template, actor: { tokenId: null, kind: 'admin' }, hash: 'f'.repeat(64) });
      expectFailureAt(9, 'hash_mismatch');
      await raw.run('delete from changes where tenant_id = ? and revision = ?', tenantId, 9);
      await shift(10, -1);
      expectClean();
    });

    it('names the first of two swapped entries', async () => {
      const swap = async () => {
        await raw.run('update changes set revision = -1 where tenant_id = ? and revision = 20', tenantId);
        await raw.run('update changes set revision = 20 where tenant_id = ? and revision = 21', tenantId);
        await raw.run('update changes set revision = 21 where tenant_id = ? and revision = -1', tenantId);
      };
      await swap();
      expectFailureAt(20, 'hash_mismatch');
      await swap();
      expectClean();
    });

    it('export writes one line per entry, and honours --since and --until', () => {
      const exported = cli(['audit', 'export', '--database', database], env);
      expect(exported.status, exported.stderr).toBe(0);
      expect(lines(exported.stdout).map((l) => JSON.parse(l))).toEqual(all);
      const since = all[5]!.at;
      const until = all[20]!.at;
      const ranged = cli(['audit', 'export', '--database', database, '--since', since, '--until', until], env);
      expect(revisionsOf(lines(ranged.stdout).map((l) => JSON.parse(l)))).toEqual(revisionsOf(all.filter((e) => e.at >= since && e.at < until)));
      expect(cli(['audit', 'export', '--database', database, '--since', 'last week'], env).status).not.toBe(0);
    });

    it('refuses to seal entries whose access changes are not derived yet', async () => {
      const store = await openStore(database, { auditKeyFile: keyFile });
      try {
        await store.write(tenantId, async (tx) => {
          const revision = await tx.nextRevision();
          const change = { resourceType: 'User' as const, resourceId: 'late', operation: 'create' as const, attributes: [{ path: 'userName', before: null, after: 'late' }], membersAdded: [], membersRemoved: [] };
          await tx.appendChange({ revision, at: new Date().toISOString(), actor: { tokenId: null, kind: 'system' }, change });
        });
        await expect(seal(store, createHistory({ store }), tenantId, new Date(Date.now() + 1000), systemClock)).rejects.toMatchObject({ code: 'precondition_failed' });
        expect((await store.audit.entries(tenantId, { limit: 100 })).length).toBe(31);
      } finally {
        await store.close();
      }
    });

    it('seal shows its plan, then removes the old entries behind a seal the chain still verifies from', async () => {
      const before = all[15]!.at;
      const upTo = Math.max(...revisionsOf(all.filter((e) => e.at < before)));
      const args = ['audit', 'seal', '--tenant', 'default', '--database', database, '--before', before];
      const plan = cli(args, env);
      expect(plan.status, plan.stderr).toBe(0);
      expect(plan.stdout).toContain(`default: would seal up to revision ${upTo} (${upTo} entries)`);
      expect((await raw.rows('select revision from changes where tenant_id = ?', tenantId)).length).toBe(31);

      const sealed = cli([...args, '--yes'], env);
      expect(sealed.status, sealed.stderr).toBe(0);
      expect(sealed.stdout).toBe(`default: sealed up to revision ${upTo} (${upTo} entries)\n`);
      const left = (await raw.rows('select revision from changes where tenant_id = ? order by revision', tenantId)).map((r) => Number(r.revision));
      expect(left).toEqual(Array.from({ length: 31 - upTo }, (_, i) => upTo + 1 + i));

      const verified = verify('--tenant', 'default');
      expect(verified.status, verified.stdout).toBe(0);
      expect(verified.stdout).toMatch(new RegExp(`^ok {3}default: ${31 - upTo} entries, 2 checkpoints, up to revision 31, after the seal at revision ${upTo} of `));
      const exported = lines(cli(['audit', 'export', '--database', database], env).stdout).map((l) => JSON.parse(l) as Entry);
      expect(revisionsOf(exported)).toEqual(left);
      expect(cli([...args, '--yes'], env).stdout).toMatch(/^default: nothing written before .* is left$/m);
    });
  });
}, 300_000);
