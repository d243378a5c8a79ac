import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryState } from '../../src/audit/replay.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store, TenantSnapshot } from '../../src/store/store.js';
import { cli, serve, type Served } from './cli-process.js';
import { ENTERPRISE, USER_SCHEMA } from './harness.js';

/**
 * Crash safety as a user would see it: the real server as a child process, killed with SIGKILL
 * (no shutdown hook runs) in the middle of work, then started again on the same database file.
 * Afterwards the state, the audit log, the derived access changes and the webhook deliveries
 * must agree, `audit verify` must pass, and every event must reach the receiver at least once.
 */

const FAST = {
  SCIMITAR_AUTHZ_POLL_MS: '100',
  SCIMITAR_WEBHOOK_POLL_MS: '50',
  // The receiver listens on 127.0.0.1.
  SCIMITAR_WEBHOOK_ALLOW_PRIVATE: 'true',
  SCIMITAR_WEBHOOK_RETRY_BASE_MS: '100',
  SCIMITAR_WEBHOOK_MAX_ATTEMPTS: '20',
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scimitar-crash-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Tokens {
  readonly scim: string;
  readonly admin: string;
}

function tokensOf(served: Served): Tokens {
  const scim = /SCIM token .*?:\s+(\S+)/.exec(served.stdout)?.[1];
  const admin = /admin token .*?:\s+(\S+)/.exec(served.stdout)?.[1];
  if (!scim || !admin) throw new Error(`serve printed no tokens: ${served.stdout}`);
  return { scim, admin };
}

async function call(url: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Polls `probe` until it returns true, for at most `ms`. */
async function until(probe: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The permission model the writes are measured against: department `eng` gives `deploy` on every env. */
async function seedPolicy(url: string, admin: string): Promise<void> {
  const put = async (path: string, body: unknown) => {
    const { status, body: reply } = await call(url, admin, 'POST', `/admin/v1/${path}`, body);
    expect(status, JSON.stringify(reply)).toBe(201);
  };
  await put('resource-types', { name: 'env', actions: ['deploy', 'read'] });
  await put('roles', { name: 'deployer', permissions: ['env:deploy', 'env:read'] });
  await put('attribute-rules', { id: 'eng', filter: `${ENTERPRISE}:department eq "eng"`, role: 'deployer', scope: 'env:*' });
}

function userBody(name: string) {
  return { schemas: [USER_SCHEMA, ENTERPRISE], userName: name, active: true, [ENTERPRISE]: { department: 'eng' } };
}

/** Users, groups, memberships and policy, without the stamps a replay only approximates. */
function comparable(s: TenantSnapshot) {
  return {
    revision: s.revision,
    users: s.users.map((u) => ({ id: u.id, doc: u.doc })).sort((a, b) => a.id.localeCompare(b.id)),
    groups: s.groups.map((g) => ({ id: g.id, doc: g.doc })).sort((a, b) => a.id.localeCompare(b.id)),
    memberships: s.memberships.map((m) => `${m.groupId}>${m.memberId}:${m.memberType}`).sort(),
    policy: s.policy.map((p) => ({ kind: p.kind, id: p.id, doc: p.doc })),
  };
}

/** The state tables, the log replayed, and the derive cursor must tell the same story. */
async function expectConsistent(database: string): Promise<{ store: Store; tenantId: string }> {
  const store = await openStore(database);
  const tenant = (await store.tenants.findByName('default'))!;
  const replayed = HistoryState.empty();
  for (let after = 0; ; ) {
    const page = await store.changes(tenant.id, after, 5000);
    for (const record of page) replayed.apply(record);
    if (page.length < 5000) break;
    after = page[page.length - 1]!.revision;
  }
  expect(comparable(replayed.toSnapshot())).toEqual(comparable(await store.snapshot(tenant.id)));
  return { store, tenantId: tenant.id };
}

describe('crash safety (SIGKILL)', () => {
  it('a 1,000-operation Bulk killed part-way is all or nothing, and state, log and derived access agree', async () => {
    const database = `sqlite:${join(dir, 'bulk.db')}`;
    let served = await serve(database, FAST);
    const tokens = tokensOf(served);
    await seedPolicy(served.url, tokens.admin);

    const outcomes: number[] = [];
    // Different delays put the kill before, during and after the transaction on different machines.
    for (const [round, delayMs] of [25, 150, 400, 900].entries()) {
      const operations = Array.from({ length: 1000 }, (_, i) => ({
        method: 'POST',
        path: '/Users',
        bulkId: `b${i}`,
        data: userBody(`crash-${round}-${i}@example.com`),
      }));
      const sent = call(served.url, tokens.scim, 'POST', '/scim/v2/Bulk', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: operations,
      }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, delayMs));
      await served.stop('SIGKILL');
      await sent;
      served = await serve(database, FAST);
      const found = await call(served.url, tokens.scim, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName sw "crash-${round}-"`)}&count=0`);
      expect(found.status).toBe(200);
      outcomes.push(found.body.totalResults);
    }
    console.log(`bulk outcomes by kill delay: ${outcomes.join(", ")}`);
    // One transaction per Bulk: a kill leaves none or all of its users, never a part.
    for (const n of outcomes) expect([0, 1000]).toContain(n);

    // After the restart the deriver catches up on what the killed process had not derived.
    const { store, tenantId } = await expectConsistent(database);
    try {
      await until(
        async () => Number((await store.audit.cursor(tenantId, 'derive')) ?? 0) === (await store.audit.head(tenantId)).revision,
        30_000,
        'the deriver to reach the head',
      );
      const created = outcomes.reduce((a, b) => a + b, 0);
      const gained = (await store.audit.accessChanges(tenantId, { limit: 100_000 })).filter(
        (r) => r.change === 'gained' && r.permission === 'env:deploy',
      );
      // Each created user gained deploy through the rule exactly once: none lost, none derived twice.
      expect(gained.length).toBe(created);
      expect(new Set(gained.map((r) => r.userId)).size).toBe(created);
    } finally {
      await store.close();
      await served.stop('SIGTERM');
    }
    const verified = cli(['audit', 'verify', '--database', database]);
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
  }, 180_000);

  it('a webhook burst killed mid-delivery delivers every event at least once after restart', async () => {
    const received = new Map<string, number>();
    let slow = true;
    const receiver: Server = createServer((request, response) => {
      const id = String(request.headers['webhook-id']);
      request.resume();
      request.on('end', () => {
        received.set(id, (received.get(id) ?? 0) + 1);
        // Slow answers at first keep deliveries in flight when the kill comes.
        setTimeout(() => response.writeHead(204).end(), slow ? 20 : 0);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    const hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;

    const database = `sqlite:${join(dir, 'hooks.db')}`;
    let served = await serve(database, FAST);
    const tokens = tokensOf(served);
    try {
      await seedPolicy(served.url, tokens.admin);
      const created = await call(served.url, tokens.admin, 'POST', '/admin/v1/webhooks', { url: hookUrl, events: ['*'] });
      expect(created.status, JSON.stringify(created.body)).toBe(201);

      const writes = Array.from({ length: 150 }, (_, i) =>
        call(served.url, tokens.scim, 'POST', '/scim/v2/Users', userBody(`hook-${i}@example.com`)),
      );
      const statuses = await Promise.all(writes);
      for (const s of statuses) expect(s.status).toBe(201);
      // Some deliveries are out, most are not: kill now.
      await until(async () => received.size > 0, 20_000, 'the first delivery');
      await served.stop('SIGKILL');
      slow = false;
      served = await serve(database, FAST);

      const { store, tenantId } = await expectConsistent(database);
      try {
        const head = (await store.audit.head(tenantId)).revision;
        const firstHooked = head - 150 + 1;
        // Every user creation (one change event each) and every access change it caused arrives.
        await until(
          async () => {
            for (let r = firstHooked; r <= head; r++) if (!received.has(String(r))) return false;
            return true;
          },
          60_000,
          'every change event to be delivered',
        );
        const accessEvents = await store.audit.accessChanges(tenantId, { after: { revision: firstHooked - 1, seq: 0 }, limit: 100_000 });
        await until(
          async () => accessEvents.every((r) => received.has(`${r.revision}.${r.seq}`)),
          60_000,
          'every access event to be delivered',
        );
        expect(accessEvents.length).toBeGreaterThanOrEqual(150);
      } finally {
        await store.close();
      }
    } finally {
      await served.stop('SIGTERM');
      await new Promise((resolve) => receiver.close(resolve));
    }
    const verified = cli(['audit', 'verify', '--database', database]);
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
  }, 180_000);
});
