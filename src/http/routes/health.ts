import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/store.js';

export function registerHealthRoutes(app: FastifyInstance, store: Store): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Ready means the database answers, not merely that the process is up.
  app.get('/readyz', async (_request, reply) => {
    await store.tenants.list();
    return reply.send({ status: 'ready' });
  });
}
