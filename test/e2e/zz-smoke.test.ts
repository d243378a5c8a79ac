import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startServer, scimClient, USER_SCHEMA, type RunningServer } from './harness.js';
describe.each(backends())('smoke %s', (backend) => {
  let server: RunningServer;
  beforeAll(async () => { server = await startServer(backend); });
  afterAll(async () => { await server?.close(); });
  it('works', async () => {
    const c = scimClient(server);
    const r = await c.post('/Users', { schemas: [USER_SCHEMA], userName: 'a@b.c' });
    console.log(r.status, JSON.stringify(r.body));
    const l = await c.get('/Users?filter=' + encodeURIComponent('userName eq "A@B.C"'));
    console.log(l.status, JSON.stringify(l.body));
    expect(r.status).toBe(201);
  });
});
