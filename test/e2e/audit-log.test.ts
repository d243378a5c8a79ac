import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy } from './authzen-helpers.js';
import { backends, GROUP_SCHEMA, patchOps, scimClient, startServer, USER_SCHEMA, type RunningServer, type ScimClient } from './harness.js';

const POLICY = `
resourceTypes:
  env: [deploy]
roles:
  deployer: { permissions: ["env:deploy"] }
attributeRules:
  - { id: sre-title, filter: 'title eq "SRE"', role: deployer, scope: "env:*" }
`;

/**
 * What one audit entry holds, as an IdP's writes produce it over real HTTP: who (the token), from
 * where (the request id and User-Agent the IdP sent), what changed (before and after), what that
 * did to access, and never a secret or a member's whole document.
 */
describe.each(backends())('audit log entries (%s)', (backend) => {
  let server: RunningServer;
  let idp: ScimClient;

  beforeAll(async () => {
    server = await startServer(backend);
    idp = scimClient(server);
    await applyPolicy(server, await server.token('admin'), POLICY);
  });
  afterAll(() => server?.close());

  const entriesAbout = (ref: string) => server.store.audit.entries(server.tenantId, { ref, limit: 1000 });

  it('records the actor, the IdP request id and User-Agent, and the attribute before and after', async () => {
    const created = await idp.post('/Users', { schemas: [USER_SCHEMA], userName: 'dana@example.com', title: 'Engineer' });
    const headers = { 'x-request-id': 'entra-7f3a', 'user-agent': 'Azure-AD-SCIM-Provisioning/1.0' };
    const patched = await idp.patch(`/Users/${created.body.id}`, patchOps({ op: 'replace', path: 'title', value: 'SRE' }), headers);
    expect(patched.status).toBe(200);
    const [, patch] = await entriesAbout(created.body.id);
    expect(patch!.actor).toMatchObject({ kind: 'scim', requestId: 'entra-7f3a', userAgent: 'Azure-AD-SCIM-Provisioning/1.0' });
    expect(patch!.actor.tokenId).toEqual(expect.any(String));
    expect(patch!.change).toMatchObject({
      resourceType: 'User',
      resourceId: created.body.id,
      operation: 'patch',
      attributes: [{ path: 'title', before: 'Engineer', after: 'SRE' }],
    });
    expect(String(patch!.revision)).toBe(/W\/"(\d+)"/.exec(patched.body.meta.version)![1]);
  });

  it('never stores a password, whether created with the user or patched later', async () => {
    const secret = 'Sup3r-Secret-Pa55word!';
    const created = await idp.post('/Users', { schemas: [USER_SCHEMA], userName: 'erin@example.com', password: secret });
    expect(created.status).toBe(201);
    await idp.patch(`/Users/${created.body.id}`, patchOps({ op: 'replace', path: 'password', value: `${secret}2` }));
    const entries = await entriesAbout(created.body.id);
    expect(entries.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(entries)).not.toContain('Sup3r');
  });

  it('stores a large member add as ids, not documents', async () => {
    const members = [];
    for (let i = 0; i < 50; i++) {
      const user = await idp.post('/Users', { schemas: [USER_SCHEMA], userName: `m${i}@example.com`, title: 'Long title '.repeat(20) });
      members.push({ value: user.body.id });
    }
    const group = await idp.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Everyone', members });
    const [entry] = await entriesAbout(group.body.id);
    expect(entry!.change).toMatchObject({ operation: 'create', membersAdded: members.map((m) => m.value) });
    expect(JSON.stringify(entry!.change)).not.toContain('Long title');
    // And each member's own story now includes that entry.
    expect((await entriesAbout(members[7]!.value)).map((e) => e.revision)).toContain(entry!.revision);
  });
});
