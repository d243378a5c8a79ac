import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createTestDatabase } from '../setup/pg.js';
import { cli, lastLine, serve } from './cli-process.js';

async function scimGet(url: string, token: string) {
  const response = await fetch(`${url}/scim/v2/Users?count=1`, { headers: { authorization: `Bearer ${token}` } });
  return response.status;
}

describe('scimitar CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'scimitar-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('C1 token create prints the token alone on the last line, and it authenticates', async () => {
    const database = `sqlite:${join(dir, 'c1.db')}`;
    const created = cli(['token', 'create', '--tenant', 'default', '--scope', 'scim', '--database', database]);
    expect(created.status).toBe(0);
    const token = lastLine(created.stdout);
    expect(token).toMatch(/^scimitar_scim_[A-Za-z0-9_-]{40,}$/);

    const listed = cli(['token', 'list', '--tenant', 'default', '--database', database]);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain('scim');
    expect(listed.stdout).not.toContain(token);

    const served = await serve(database);
    try {
      expect(await scimGet(served.url, token)).toBe(200);
      expect(await scimGet(served.url, `${token}x`)).toBe(401);
    } finally {
      await served.stop('SIGTERM');
    }
  });

  it('C2 serve prints a SCIM and an admin token once, on an empty database only, and stops cleanly on SIGTERM', async () => {
    const database = `sqlite:${join(dir, 'c2.db')}`;
    const first = await serve(database);
    const scimToken = /SCIM token .*?:\s+(\S+)/.exec(first.stdout)?.[1];
    const adminToken = /admin token .*?:\s+(\S+)/.exec(first.stdout)?.[1];
    expect(scimToken).toMatch(/^scimitar_scim_/);
    expect(adminToken).toMatch(/^scimitar_admin_/);
    expect(await scimGet(first.url, scimToken!)).toBe(200);
    // An admin token is not a SCIM token.
    expect(await scimGet(first.url, adminToken!)).toBe(403);
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await serve(database);
    expect(second.stdout).not.toMatch(/token/i);
    expect(await scimGet(second.url, scimToken!)).toBe(200);
    expect(await second.stop('SIGINT')).toBe(0);
  });

  it('C3 tenant create, token for it, revoke', async () => {
    const database = `sqlite:${join(dir, 'c3.db')}`;
    expect(cli(['tenant', 'create', 'acme', '--database', database]).status).toBe(0);
    const again = cli(['tenant', 'create', 'acme', '--database', database]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('already exists');
    expect(cli(['tenant', 'create', 'Bad Name', '--database', database]).status).toBe(1);
    expect(cli(['tenant', 'list', '--database', database]).stdout).toMatch(/^acme\t/m);

    const token = lastLine(cli(['token', 'create', '--tenant', 'acme', '--scope', 'scim', '--database', database]).stdout);
    const id = lastLine(cli(['token', 'list', '--tenant', 'acme', '--database', database]).stdout).split('\t')[0]!;
    const served = await serve(database);
    try {
      expect(await scimGet(served.url, token)).toBe(200);
      expect(cli(['token', 'revoke', id, '--tenant', 'acme', '--database', database]).status).toBe(0);
      // Token lookups are cached for at most a second per node.
      await new Promise((r) => setTimeout(r, 1100));
      expect(await scimGet(served.url, token)).toBe(401);
    } finally {
      await served.stop('SIGTERM');
    }
    expect(cli(['token', 'revoke', id, '--tenant', 'acme', '--database', database]).status).toBe(1);
    expect(cli(['token', 'create', '--tenant', 'nope', '--scope', 'scim', '--database', database]).status).toBe(1);
  });

  it.runIf(inject('pgUrl'))('C4 works the same on PostgreSQL', async () => {
    const database = await createTestDatabase();
    const created = cli(['token', 'create', '--scope', 'scim', '--database', database]);
    expect(created.status).toBe(0);
    const served = await serve(database);
    try {
      expect(await scimGet(served.url, lastLine(created.stdout))).toBe(200);
    } finally {
      expect(await served.stop('SIGTERM')).toBe(0);
    }
  });
});
