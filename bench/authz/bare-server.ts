/**
 * The machine's ceiling for the decision API: a bare Fastify 5 server on the same Node, in its own
 * process like the real server, with the same JSON body parsing (the raw string through
 * `JSON.parse`) and the same response bytes and headers (`{"decision":true}`, `content-type`,
 * `x-scimitar-revision`). It does nothing else: no token check, no schema validation, no index.
 * The batch route answers one constant decision per item of `evaluations`.
 *
 *   node --import tsx bench/authz/bare-server.ts <port>
 */
import Fastify from 'fastify';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: bare-server.ts <port>\n');
  process.exit(2);
}

const JSON_TYPE = 'application/json; charset=utf-8';
const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser(/json/, { parseAs: 'string' }, (_request, body, done) => {
  try {
    done(null, JSON.parse(body as string));
  } catch (err) {
    done(err as Error, undefined);
  }
});

app.get('/readyz', async () => ({ status: 'ready' }));

app.post('/access/v1/evaluation', (_request, reply) =>
  reply.code(200).header('content-type', JSON_TYPE).header('x-scimitar-revision', '1').send('{"decision":true}'),
);

app.post<{ Body: { evaluations?: unknown[] } }>('/access/v1/evaluations', (request, reply) => {
  const count = request.body.evaluations?.length ?? 0;
  let json = '{"evaluations":[';
  for (let i = 0; i < count; i++) json += i === 0 ? '{"decision":true}' : ',{"decision":true}';
  return reply.code(200).header('content-type', JSON_TYPE).header('x-scimitar-revision', '1').send(`${json}]}`);
});

const address = await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`bare fastify listening on ${address}\n`);
const stop = async () => {
  await app.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
