/**
 * The machine's ceiling: a bare Fastify 5 server on the same Node, answering the benchmark's
 * request mix with stored bodies captured from the real server in the same run (same sizes, same
 * status codes). It parses JSON request bodies, as any server must, and does nothing else: no auth,
 * no validation, no storage. Run as its own process:
 *
 *   node --import tsx bench/scim/ceiling-server.ts <samples.json> <port>
 */
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';
import type { Samples } from './samples.js';

const [samplesPath, portArg] = process.argv.slice(2);
if (!samplesPath || !portArg) {
  process.stderr.write('usage: ceiling-server.ts <samples.json> <port>\n');
  process.exit(2);
}
const samples = JSON.parse(readFileSync(samplesPath, 'utf8')) as Samples;
const SCIM = 'application/scim+json';

// A cursor walk is emulated: page n carries `nextCursor: "p<n+1>"` until the last page, which has none,
// so the walker stops where it would against the real server.
const cursorPage = JSON.parse(samples.cursorPage) as Record<string, unknown>;
const perPage = Math.max(1, Number(cursorPage['itemsPerPage'] ?? 100));
const pages = Math.max(1, Math.ceil(Number(cursorPage['totalResults'] ?? 0) / perPage));
const MARK = '@@CURSOR@@';
const [cursorHead, cursorTail] = JSON.stringify({ ...cursorPage, nextCursor: MARK }).split(MARK) as [string, string];
const { nextCursor: _dropped, ...lastPage } = cursorPage;
const lastCursorPage = JSON.stringify(lastPage);

const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser(/json/, { parseAs: 'string' }, (_request, body, done) => {
  try {
    done(null, JSON.parse(body as string));
  } catch (err) {
    done(err as Error, undefined);
  }
});

app.get('/readyz', async () => ({ status: 'ready' }));

app.get<{ Querystring: Record<string, string | undefined> }>('/scim/v2/Users', (request, reply) => {
  const { filter, cursor } = request.query;
  reply.type(SCIM);
  if (filter !== undefined) return reply.send(filter.includes(' co ') ? samples.coFilter : samples.eqFilter);
  if (cursor !== undefined) {
    const n = cursor === '' ? 1 : Number(cursor.slice(1));
    return reply.send(n >= pages ? lastCursorPage : `${cursorHead}p${n + 1}${cursorTail}`);
  }
  return reply.send(samples.indexPage);
});

app.post('/scim/v2/Users', (_request, reply) =>
  reply.code(201).type(SCIM).header('location', samples.userLocation).send(samples.createUser),
);
app.patch('/scim/v2/Users/:id', (_request, reply) => reply.type(SCIM).send(samples.patchUser));
app.post('/scim/v2/Groups', (_request, reply) =>
  reply.code(201).type(SCIM).header('location', samples.groupLocation).send(samples.createGroup),
);
app.patch('/scim/v2/Groups/:id', (_request, reply) =>
  samples.patchGroupStatus === 204 ? reply.code(204).send() : reply.type(SCIM).send(samples.patchGroup),
);
app.post('/scim/v2/Bulk', (_request, reply) => reply.type(SCIM).send(samples.bulk));

const address = await app.listen({ port: Number(portArg), host: '127.0.0.1' });
process.stdout.write(`ceiling listening on ${address}\n`);
const stop = async () => {
  await app.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
