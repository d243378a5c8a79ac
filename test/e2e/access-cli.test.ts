import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicyFile } from '../../src/authz/policy-file.js';
import { systemClock } from '../../src/core/clock.js';
import { ENTERPRISE_USER_SCHEMA, USER_SCHEMA } from '../../src/scim/schema/urns.js';
import { createPolicyAdmin } from '../../src/service/policy-admin.js';
import { createScimService } from '../../src/service/scim-service.js';
import { ensureDefaultTenant } from '../../src/service/tenants.js';
import { openStore } from '../../src/store/open-store.js';

/** `scimitar check | explain | who-can` as a person or a script runs them, over the built CLI and a real SQLite file. */
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'scimitar.js');

const POLICY = `
resourceTypes:
  database: [read, write]
resources:
  - { type: database, id: orders, attributes: { env: prod } }
roles:
  reader: { permissions: ["database:read"] }
attributeRules:
  - { id: managers, filter: 'title co "Manager"', role: reader, scope: "*" }
bindings:
  - { id: reads-with-mfa, subject: { type: everyone }, role: reader, scope: "*", condition: "context.mfa == true" }
`;

describe('scimitar check / explain / who-can', () => {
  let dir: string;
  let database: string;
  const cli = (...args: string[]) => {
    const result = spawnSync(process.execPath, [BIN, ...args, '--database', database], {
      encoding: 'utf8',
      env: { ...process.env, SCIMITAR_LOG_LEVEL: 'silent' },
      timeout: 30_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scimitar-access-cli-'));
    database = `sqlite:${join(dir, 'scimitar.db')}`;
    const store = await openStore(database);
    try {
      const tenantId = (await ensureDefaultTenant(store)).tenant.id;
      const actor = { tokenId: null, kind: 'system' } as const;
      const parsed = parsePolicyFile(POLICY);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      await createPolicyAdmin({ store, clock: systemClock, committed: async () => undefined }).apply(tenantId, actor, parsed.set);
      const scim = createScimService({ store, clock: systemClock });
      const user = (userName: string, title: string) => ({ schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], userName, title });
      await scim.create(tenantId, actor, 'User', user('alice', 'Engineering Manager'), {});
      await scim.create(tenantId, actor, 'User', user('bob', 'Engineer'), {});
    } finally {
      await store.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 on allow and 2 on deny', () => {
    expect(cli('check', 'alice', 'read', 'database:orders')).toMatchObject({ status: 0, stdout: 'allow\n' });
    expect(cli('check', 'bob', 'read', 'database:orders')).toMatchObject({ status: 2, stdout: 'deny\n' });
  });

  it('passes the context to conditions', () => {
    expect(cli('check', 'bob', 'read', 'database:orders', '--context', '{"mfa":true}')).toMatchObject({ status: 0 });
    expect(JSON.parse(cli('check', 'bob', 'read', 'database:orders', '--json').stdout)).toMatchObject({ allowed: false });
  });

  it('explains the chain and what is missing', () => {
    const allowed = cli('explain', 'alice', 'read', 'database:orders');
    expect(allowed.status).toBe(0);
    expect(allowed.stdout).toMatch(/^ALLOW {2}alice/);
    expect(allowed.stdout).toContain('via rule managers (title co "Manager") → attributeRule managers → role reader');
    const denied = JSON.parse(cli('explain', 'bob', 'read', 'database:orders', '--json').stdout);
    expect(denied.allowed).toBe(false);
    expect(denied.considered).toEqual([expect.objectContaining({ id: 'reads-with-mfa', outcome: 'condition_error' })]);
  });

  it('lists who can', () => {
    expect(cli('who-can', 'read', 'database:orders').stdout.trim().split('\n').map((l) => l.split('\t')[0])).toEqual(['alice']);
  });

  it('reports unknown users, actions and malformed resources on stderr with exit 1', () => {
    expect(cli('check', 'nobody', 'read', 'database:orders')).toMatchObject({ status: 1, stderr: 'error: user `nobody` not found\n' });
    expect(cli('check', 'alice', 'drop', 'database:orders')).toMatchObject({ status: 1 });
    expect(cli('check', 'alice', 'read', 'orders').stderr).toContain('`orders` is not `type:id`');
  });
});
