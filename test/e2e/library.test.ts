import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, createScimitar, type Scimitar } from '../../src/index.js';
import type { Actor } from '../../src/core/change.js';
import { systemClock } from '../../src/core/clock.js';
import { ENTERPRISE_USER_SCHEMA, PATCH_OP, USER_SCHEMA } from '../../src/scim/schema/urns.js';
import { createPolicyAdmin } from '../../src/service/policy-admin.js';
import { createScimService } from '../../src/service/scim-service.js';
import { ensureDefaultTenant } from '../../src/service/tenants.js';
import { parsePolicyFile } from '../../src/authz/policy-file.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase } from '../setup/pg.js';
import { backends } from './harness.js';

/**
 * The in-process entry point over a database another process writes (a Scimitar server): it answers
 * with the same meaning as the HTTP API, and follows the other writer's changes when it syncs.
 */
const POLICY = `
resourceTypes:
  report: [read, approve]
roles:
  approver: { permissions: ["report:approve", "report:read"] }
attributeRules:
  - { id: managers, filter: 'title co "Manager"', role: approver, scope: "*" }
`;
const actor: Actor = { tokenId: null, kind: 'system' };

for (const backend of backends()) {
  describe(`createScimitar (${backend})`, () => {
    let dir: string | undefined;
    let writer: Store;
    let tenantId: string;
    let scimitar: Scimitar;
    let aliceId: string;

    beforeAll(async () => {
      let database: string;
      if (backend === 'sqlite') {
        dir = mkdtempSync(join(tmpdir(), 'scimitar-lib-'));
        database = `sqlite:${join(dir, 'scimitar.db')}`;
      } else {
        database = await createTestDatabase();
      }
      writer = await openStore(database);
      tenantId = (await ensureDefaultTenant(writer)).tenant.id;
      const scim = createScimService({ store: writer, clock: systemClock });
      const policy = createPolicyAdmin({ store: writer, clock: systemClock, committed: async () => undefined });
      const parsed = parsePolicyFile(POLICY);
      if (!parsed.ok) throw new Error('fixture policy is not valid');
      await policy.apply(tenantId, actor, parsed.set);
      const body = { schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], userName: 'alice', title: 'Engineering Manager' };
      aliceId = (await scim.create(tenantId, actor, 'User', body, {})).resource.id;
      await scim.create(tenantId, actor, 'User', { schemas: [USER_SCHEMA], userName: 'bob', title: 'Engineer' }, {});
      scimitar = await createScimitar({ database, pollMs: 0 });
    });

    afterAll(async () => {
      await scimitar?.close();
      await writer?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const approve = (user: string) => ({ subject: { type: 'user', id: user }, action: 'approve', resource: { type: 'report', id: 'q4' } });

    it('answers checks synchronously, by userName or id', () => {
      expect(scimitar.check(approve('alice'))).toBe(true);
      expect(scimitar.check(approve(aliceId))).toBe(true);
      expect(scimitar.check(approve('bob'))).toBe(false);
    });

    it("explains, lists who can, and lists a user's permissions", () => {
      const explanation = scimitar.explain(approve('alice'));
      expect(explanation.allowed).toBe(true);
      expect(explanation.reasons[0]).toMatchObject({ origin: 'attributeRule', id: 'managers', role: 'approver', via: { kind: 'rule' } });
      expect(scimitar.whoCan('approve', { type: 'report', id: 'q4' }).items.map((u) => u.userName)).toEqual(['alice']);
      expect(scimitar.permissions({ type: 'user', id: 'alice' }).map((p) => p.permission)).toEqual(['report:approve', 'report:read']);
    });

    it('refuses unknown users and unknown actions with errors, not with a deny', () => {
      expect(() => scimitar.check(approve('nobody'))).toThrow(AppError);
      expect(() => scimitar.check({ ...approve('alice'), action: 'delete' })).toThrow(/no action `delete`/);
    });

    it('follows changes another process wrote once it syncs', async () => {
      const scim = createScimService({ store: writer, clock: systemClock });
      const patch = { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Engineer' }] };
      const { revision } = await scim.patch(tenantId, actor, 'User', aliceId, patch, {}, {});
      expect(scimitar.revision).toBeLessThan(revision);
      await scimitar.sync();
      expect(scimitar.revision).toBe(revision);
      expect(scimitar.check(approve('alice'))).toBe(false);
    });
  });
}
