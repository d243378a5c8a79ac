import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../../core/errors.js';
import { formatPosition, parsePosition, type Position } from '../../events/event.js';
import { headPosition, readEvents } from '../../events/feed.js';
import type { Store } from '../../store/store.js';
import type { Authenticated, Authenticator } from '../auth.js';
import { schemaError } from './authzen-schemas.js';
import { requireAuth } from './scim/context.js';

export interface EventStreamsOptions {
  readonly store: Store;
  /** How often an open stream looks for events written by other nodes or processes. */
  readonly pollMs: number;
  /** How often a comment line keeps idle connections (and the proxies on their way) open. */
  readonly heartbeatMs?: number;
  /** A feed read failed; the stream stays open and tries again at the next poll. */
  readonly onError: (err: unknown) => void;
}

/** The open `GET /events` streams of this process. */
export interface EventStreams {
  /** New events of this tenant may be readable (its access changes were derived): send them now. */
  wake(tenantId: string): void;
  /** Ends every stream, so a shutting-down server does not wait for its clients to hang up. */
  closeAll(): void;
}

interface Stream {
  readonly tenantId: string;
  pump(): void;
  close(): void;
}

/** Events per read of the feed; a stream reads again at once while reads come back full. */
const BATCH = 500;

/**
 * `GET /events`: the tenant's events as Server-Sent Events (`id:` the event id, `event:` its type,
 * `data:` the event as JSON). `Last-Event-ID` (sent by an `EventSource` when it reconnects) or
 * `?after=` resumes right after that event, so a reconnecting client gets exactly what it missed
 * (`N.*` skips all of revision N); without either the stream starts at the head. Admin or authz
 * tokens; the tenant is the token's.
 */
export function createEventStreams(options: EventStreamsOptions): EventStreams & {
  register(app: FastifyInstance, auth: Authenticator): void;
} {
  const { store } = options;
  const streams = new Set<Stream>();

  function open(tenantId: string, start: Position, res: ServerResponse): Stream {
    let after = start;
    let pumping = false;
    let again = false;
    let closed = false;

    async function send(text: string): Promise<void> {
      if (closed) return;
      // Back-pressure: a slow client holds its own stream, never the process's memory.
      if (!res.write(text)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
    }

    async function drain(): Promise<void> {
      while (!closed) {
        const events = await readEvents(store.audit, tenantId, after, BATCH);
        for (const event of events) {
          if (closed) return;
          await send(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
          after = parsePosition(event.id) ?? after;
        }
        if (events.length < BATCH) return;
      }
    }

    const stream: Stream = {
      tenantId,
      pump() {
        if (closed) return;
        if (pumping) {
          again = true;
          return;
        }
        pumping = true;
        void (async () => {
          do {
            again = false;
            try {
              await drain();
            } catch (err) {
              options.onError(err);
            }
          } while (again && !closed);
          pumping = false;
        })();
      },
      close() {
        if (closed) return;
        closed = true;
        clearInterval(poll);
        clearInterval(heartbeat);
        streams.delete(stream);
        res.end();
      },
    };
    const poll = setInterval(() => stream.pump(), options.pollMs);
    const heartbeat = setInterval(() => void send(': heartbeat\n\n'), options.heartbeatMs ?? 15_000);
    res.on('close', () => stream.close());
    res.on('error', () => stream.close());
    streams.add(stream);
    // The client may have gone while the start position was read, before 'close' was listened to.
    if (!res.socket || res.socket.destroyed) stream.close();
    return stream;
  }

  return {
    wake(tenantId) {
      for (const stream of streams) if (stream.tenantId === tenantId) stream.pump();
    },
    closeAll() {
      for (const stream of [...streams]) stream.close();
    },
    register(app, auth) {
      app.setSchemaErrorFormatter(schemaError);
      app.addHook('onRequest', async (request) => {
        request.auth = await adminOrAuthz(auth, request);
      });
      app.get<{ Querystring: { after?: string } }>(
        '/events',
        { schema: { querystring: { type: 'object', properties: { after: { type: 'string', maxLength: 40 } } } } },
        async (request, reply) => {
          const { tenantId } = requireAuth(request);
          const lastEventId = request.headers['last-event-id'];
          const from = typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : request.query.after;
          const start = from === undefined ? await headPosition(store.audit, tenantId) : parsePosition(from);
          if (!start) throw new AppError('invalid_value', `\`${from}\` is not an event id (\`12\`, \`12.3\` or \`12.*\`)`);
          reply.hijack();
          reply.raw.writeHead(200, {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache',
            connection: 'keep-alive',
            // nginx buffers responses by default, which would hold events back.
            'x-accel-buffering': 'no',
          });
          reply.raw.write(`: resuming after ${formatPosition(start)}\n\n`);
          open(tenantId, start, reply.raw).pump();
        },
      );
    },
  };
}

/** Either scope may read the stream: admins watch their tenant, applications react to access changes. */
async function adminOrAuthz(auth: Authenticator, request: FastifyRequest): Promise<Authenticated> {
  try {
    return await auth.authenticate(request, 'admin');
  } catch (err) {
    if (!isAppError(err) || err.code !== 'forbidden') throw err;
  }
  try {
    return await auth.authenticate(request, 'authz');
  } catch (err) {
    if (isAppError(err) && err.code === 'forbidden') {
      throw new AppError('forbidden', 'this endpoint needs a token of scope `admin` or `authz`');
    }
    throw err;
  }
}
