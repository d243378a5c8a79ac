import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import { createWebhookDispatcher } from '../events/dispatcher.js';
import { createAccessService } from '../service/access.js';
import { createAuditPipeline } from '../service/audit-pipeline.js';
import { createAuthzIndexes } from '../service/authz-service.js';
import { createCheckpointer } from '../service/checkpointer.js';
import { createHistory } from '../service/history.js';
import { createExpirySweeper } from '../service/expiry-sweeper.js';
import { createPolicyAdmin } from '../service/policy-admin.js';
import { createScimService } from '../service/scim-service.js';
import type { Store } from '../store/store.js';
import { createAuthenticator } from './auth.js';
import { clientErrorHandler, frameworkErrorHandler } from './client-errors.js';
import { scimErrorBody, toAppError } from './error-mapper.js';
import { registerAccessHistoryRoute } from './routes/access-history.js';
import { registerAdminRoutes } from './routes/admin/index.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerAuthzRoutes } from './routes/authz.js';
import { registerAuthzenRoutes } from './routes/authzen.js';
import { createEventStreams } from './routes/events.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerOpenApiRoutes } from './routes/openapi.js';
import { registerScimRoutes } from './routes/scim/index.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { sendScim } from './scim-reply.js';

export interface ServerDeps {
  readonly config: Config;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** JSON media types a SCIM client may send; Okta documents `text/json`, Entra `application/scim+json`. */
const JSON_TYPES = /^(application\/(scim\+)?json|application\/[\w.-]+\+json|text\/json)(\s*;.*)?$/i;

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, store, clock } = deps;
  const app = Fastify({
    // Fastify's logger type is narrower than pino's; pino's Logger is what it runs on.
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    bodyLimit: config.maxBodyBytes,
    requestIdHeader: 'x-request-id',
    // Connections close promptly on shutdown instead of waiting for idle keep-alive clients.
    forceCloseConnections: 'idle',
    // Ids are UUIDs; a longer segment is answered 404 by `frameworkErrorHandler`, not Fastify's own 414.
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, caseSensitive: false, maxParamLength: 1024 },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    // Fastify logs every request at `info`; an IdP sync is thousands of requests, so they go to `debug`.
    logController: new LogController({ disableRequestLogging: true }),
  });
  if (deps.logger.isLevelEnabled('debug')) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.debug(
        { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
        'request',
      );
    });
  }

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new AppError('invalid_syntax', `request body is not valid JSON: ${(err as Error).message}`), undefined);
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const appError = toAppError(err);
    if (appError.code === 'internal') request.log.error({ err }, 'unhandled error');
    if (appError.code === 'unauthorized') reply.header('www-authenticate', 'Bearer realm="scimitar"');
    return sendScim(reply, appError.status, scimErrorBody(appError));
  });
  app.setNotFoundHandler((request, reply) =>
    sendScim(reply, 404, scimErrorBody(new AppError('not_found', `no endpoint \`${request.method} ${request.url.split('?')[0]}\``))),
  );

  const auth = createAuthenticator(store, 1000);
  const indexes = createAuthzIndexes({
    store,
    pollMs: config.authzPollMs,
    onPollError: (err) => deps.logger.warn({ err }, 'permission index catch-up failed; retrying at the next poll'),
  });
  app.addHook('onClose', async () => indexes.close());
  // Built before the first request, so no check pays for it and a broken database fails the start.
  await indexes.warm();
  const history = createHistory({ store });
  // Access changes are derived after the commit, off the write path; events and checkpoints follow them.
  const derived: ((tenantId: string, revision: number) => void)[] = [];
  const audit = createAuditPipeline({
    store,
    derive: (tenantId) => history.derive(tenantId),
    pollMs: config.authzPollMs,
    onDerived: (tenantId, revision) => {
      for (const listener of derived) listener(tenantId, revision);
    },
    onError: (err) => deps.logger.warn({ err }, 'deriving access changes failed; retrying at the next write or poll'),
  });
  app.addHook('onClose', () => audit.close());
  const committed = async (tenantId: string) => {
    await indexes.sync(tenantId);
    audit.notify(tenantId);
  };
  const scim = createScimService({ store, clock, committed });
  const access = createAccessService({ indexes, clock, history });
  // Expiries are logged as they pass, so access that ends by itself is audited and announced.
  const expiries = createExpirySweeper({
    store,
    clock,
    committed,
    onError: (err) => deps.logger.warn({ err }, 'recording grant expiries failed; retrying at the next sweep'),
  });
  app.addHook('onClose', () => expiries.stop());
  const policy = createPolicyAdmin({
    store,
    clock,
    committed: async (tenantId) => {
      await committed(tenantId);
      expiries.notify(tenantId);
    },
  });
  registerHealthRoutes(app, store);
  registerOpenApiRoutes(app, config);
  await app.register(async (scope) => registerScimRoutes(scope, { config, auth, scim }), { prefix: '/scim/v2' });
  await app.register(async (scope) => registerAuthzenRoutes(scope, { config, auth, access }));
  await app.register(async (scope) => registerAuthzRoutes(scope, { config, auth, access }), { prefix: '/authz/v1' });
  await app.register(async (scope) => registerAdminRoutes(scope, { config, auth, policy, access, store, clock }), { prefix: '/admin/v1' });
  const current = (tenantId: string) => indexes.index(tenantId);
  await app.register(
    async (scope) => registerAccessHistoryRoute(scope, { auth, store, history, current, now: () => clock.now(), settle: (t) => audit.settle(t) }),
    { prefix: '/audit/v1' },
  );
  await app.register(async (scope) => registerAuditRoutes(scope, { auth, store, settle: (t) => audit.settle(t) }), { prefix: '/audit/v1' });
  // Checkpoints sign the chain as the deriver reaches each write; retention seals behind it.
  const checkpointer = createCheckpointer({
    store,
    clock,
    history,
    everyRevisions: config.auditCheckpointEvery,
    intervalMs: config.auditCheckpointIntervalMs,
    retentionDays: config.auditRetentionDays,
    onError: (err) => deps.logger.warn({ err }, 'signing or sealing the audit log failed; retrying at the next write or tick'),
  });
  derived.push((tenantId) => checkpointer.notify(tenantId));
  app.addHook('onClose', () => checkpointer.stop());
  checkpointer.start();
  // Events are read up to the deriver's cursor, so both event consumers wake when it moves.
  const dispatcher = createWebhookDispatcher({
    store,
    clock,
    pollMs: config.webhookPollMs,
    maxAttempts: config.webhookMaxAttempts,
    retryBaseMs: config.webhookRetryBaseMs,
    timeoutMs: config.webhookTimeoutMs,
    retentionDays: config.webhookRetentionDays,
    allowPrivate: config.webhookAllowPrivate,
    onError: (err) => deps.logger.warn({ err }, 'webhook dispatch failed; retrying at the next poll'),
  });
  const streams = createEventStreams({
    store,
    pollMs: config.webhookPollMs,
    onError: (err) => deps.logger.warn({ err }, 'reading events for a stream failed; retrying at the next poll'),
  });
  derived.push((tenantId) => {
    dispatcher.wake(tenantId);
    streams.wake(tenantId);
  });
  await app.register(async (scope) => registerWebhookRoutes(scope, { config, auth, store, clock, wake: dispatcher.wake }), {
    prefix: '/admin/v1',
  });
  await app.register(async (scope) => streams.register(scope, auth));
  // Open streams are never idle, so `forceCloseConnections: 'idle'` would leave close waiting on them.
  app.addHook('preClose', async () => streams.closeAll());
  app.addHook('onClose', () => dispatcher.stop());
  dispatcher.start();
  expiries.start();
  // What was written while the server was down (or by the CLI) is derived in the background.
  audit.catchUp().catch((err: unknown) => deps.logger.warn({ err }, 'deriving access changes at start-up failed'));
  return app;
}
