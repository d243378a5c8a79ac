import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../core/clock.js';
import type { Store, WebhookDelivery, WebhookSubscription } from '../store/store.js';
import { formatPosition, matchesPattern, parsePosition } from './event.js';
import { headPosition, readEvents } from './feed.js';
import { privateHostReason, publicOnlyLookup } from './egress.js';
import { signatureHeaders } from './signing.js';

export interface WebhookDispatcherOptions {
  readonly store: Store;
  readonly clock: Clock;
  /** How often to look for new events and due retries (writes of this process also wake it at once). */
  readonly pollMs: number;
  /** A delivery is `dead` after this many failed attempts. */
  readonly maxAttempts: number;
  /** The wait after the first failure; it doubles with each further one (see `retryDelayMs`). */
  readonly retryBaseMs: number;
  /** How long one attempt may take, connection to last response byte. */
  readonly timeoutMs: number;
  /** Attempts in flight at once, over all subscriptions. */
  readonly concurrency?: number;
  /** Deliveries that ended (delivered or dead) are removed this many days later, checked hourly; 0 keeps them. */
  readonly retentionDays?: number;
  /** Send to private, loopback and reserved addresses too (`egress.ts`); off by default. */
  readonly allowPrivate?: boolean;
  /** Anything that went wrong outside an attempt (a database error); the dispatcher goes on. */
  readonly onError: (err: unknown) => void;
}

export interface WebhookDispatcher {
  start(): void;
  /** Stops polling and waits for attempts in flight, at most `timeoutMs`; then aborts them. */
  stop(): Promise<void>;
  /** New events may exist (of one tenant, or of any): queue and send them now rather than at the next poll. */
  wake(tenantId?: string): void;
}

/** Events read per step of a subscription's cursor. */
const BATCH = 500;

/** How much longer than an attempt's timeout a claimed delivery stays out of other dispatchers' reach. */
const LEASE_MARGIN_MS = 30_000;
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const MAX_RETRY_DELAY_MS = 6 * HOUR_MS;

/**
 * Delivers events to webhook subscriptions, at least once, in two steps that share nothing but
 * the store, so any number of nodes can run one:
 *
 * 1. Queue: each subscription's cursor (`webhook:<id>`) walks the event feed; the events its
 *    patterns match become `pending` deliveries, written together with the cursor move.
 * 2. Send: due deliveries are POSTed, signed (see `signing.ts`); a 2xx answer delivers, anything
 *    else is retried after `retryDelayMs`, until `maxAttempts` makes it `dead`. Every attempt is
 *    logged.
 *
 * Deliveries go out oldest first, but a failing one does not hold back those after it: receivers
 * order and deduplicate by event id, which is also the `webhook-id` header.
 */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { store, clock, maxAttempts, retryBaseMs, timeoutMs, onError } = options;
  const concurrency = options.concurrency ?? 8;
  const inFlight = new Map<string, { readonly done: Promise<void>; readonly abort: AbortController }>();
  /** Tenants to queue events of at the next pass; `all` after a poll or an untargeted wake. */
  let pending: Set<string> | 'all' | undefined;
  let sendAgain = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let pruning: Promise<unknown> | undefined;
  let stopped = false;

  function prune(): void {
    const days = options.retentionDays ?? 0;
    if (days <= 0 || pruning || stopped) return;
    const before = new Date(clock.now().getTime() - days * DAY_MS).toISOString();
    pruning = store.webhooks
      .prune(before)
      .catch(onError)
      .finally(() => (pruning = undefined));
  }

  function schedule(): void {
    if (running || stopped) return;
    running = loop().finally(() => {
      running = undefined;
      // A wake that came after the loop's last check must not wait for the next poll.
      if (pending || sendAgain) schedule();
    });
  }

  async function loop(): Promise<void> {
    while ((pending || sendAgain) && !stopped) {
      const tenants = pending;
      pending = undefined;
      sendAgain = false;
      if (tenants) await guarded(() => queueEvents(tenants));
      await guarded(sendDue);
    }
  }

  async function guarded(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      onError(err);
    }
  }

  async function queueEvents(tenants: Set<string> | 'all'): Promise<void> {
    const ids = tenants === 'all' ? (await store.tenants.list()).map((t) => t.id) : [...tenants];
    for (const tenantId of ids) {
      for (const subscription of await store.webhooks.list(tenantId)) {
        if (stopped) return;
        await guarded(() => queueSubscription(subscription));
      }
    }
  }

  async function queueSubscription(subscription: WebhookSubscription): Promise<void> {
    const { tenantId, id } = subscription;
    while (!stopped) {
      // The cursor `WebhookStore#enqueue` moves (its contract names it).
      const cursor = await store.audit.cursor(tenantId, `webhook:${id}`);
      if (cursor === undefined) {
        // Creation stores the cursor; this covers a creation interrupted between its two writes.
        // False: the subscription was removed since it was listed (or another dispatcher started it).
        const head = formatPosition(await headPosition(store.audit, tenantId));
        if (!(await store.webhooks.enqueue(tenantId, id, undefined, head, []))) return;
        continue;
      }
      const after = parsePosition(cursor);
      if (!after) throw new Error(`webhook ${id} of tenant ${tenantId} has an unreadable cursor \`${cursor}\``);
      const events = await readEvents(store.audit, tenantId, after, BATCH);
      const last = events.at(-1);
      if (!last) return;
      const now = clock.now().toISOString();
      // An inactive subscription's cursor moves on too: pausing drops events rather than piling them up.
      const wanted = subscription.active ? events.filter((e) => subscription.events.some((p) => matchesPattern(p, e.type))) : [];
      const deliveries = wanted.map(
        (event): WebhookDelivery => ({
          id: timeOrderedId(),
          tenantId,
          subscriptionId: id,
          eventId: event.id,
          eventType: event.type,
          payload: JSON.stringify(event),
          status: 'pending',
          attempts: 0,
          nextAttemptAt: now,
          lastAttemptAt: null,
          lastStatus: null,
          lastError: null,
          created: now,
        }),
      );
      // False: another dispatcher moved the cursor first, and queues from where it is now.
      if (!(await store.webhooks.enqueue(tenantId, id, cursor, last.id, deliveries))) return;
      if (events.length < BATCH) return;
    }
  }

  async function sendDue(): Promise<void> {
    const free = concurrency - inFlight.size;
    if (free <= 0 || stopped) return;
    const now = clock.now();
    // The lease outlasts an attempt (its timeout, then its result's commit): a delivery is sent by
    // one dispatcher at a time, however many nodes run one.
    const leaseUntil = new Date(now.getTime() + timeoutMs + LEASE_MARGIN_MS).toISOString();
    const claimed = await store.webhooks.claim(now.toISOString(), leaseUntil, free);
    for (const delivery of claimed) {
      const abort = new AbortController();
      const done = attempt(delivery, abort.signal)
        .catch(onError)
        .finally(() => {
          inFlight.delete(delivery.id);
          sendAgain = true;
          schedule();
        });
      inFlight.set(delivery.id, { done, abort });
    }
  }

  async function attempt(delivery: WebhookDelivery, signal: AbortSignal): Promise<void> {
    const subscription = await store.webhooks.get(delivery.tenantId, delivery.subscriptionId);
    const at = clock.now();
    const started = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    if (!subscription) {
      error = 'the subscription was removed';
    } else {
      const headers = signatureHeaders(subscription.secret, delivery.eventId, Math.floor(at.getTime() / 1000), delivery.payload);
      try {
        status = await post(new URL(subscription.url), headers, delivery.payload, timeoutMs, signal, options.allowPrivate ?? false);
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
    }
    const attempts = delivery.attempts + 1;
    const delivered = status !== null && status >= 200 && status < 300;
    const finished = clock.now();
    const next = delivered
      ? { status: 'delivered' as const, nextAttemptAt: finished.toISOString() }
      : attempts >= maxAttempts || !subscription
        ? { status: 'dead' as const, nextAttemptAt: finished.toISOString() }
        : { status: 'pending' as const, nextAttemptAt: new Date(finished.getTime() + retryDelayMs(attempts, retryBaseMs)).toISOString() };
    await store.webhooks.recordAttempt(
      { deliveryId: delivery.id, attempt: attempts, at: at.toISOString(), status, error, durationMs: performance.now() - started },
      next,
    );
  }

  function wake(tenantId?: string): void {
    if (stopped) return;
    pending = tenantId === undefined || pending === 'all' ? 'all' : new Set([...(pending ?? []), tenantId]);
    sendAgain = true;
    schedule();
  }

  return {
    wake,
    start() {
      if (timer || stopped) return;
      timer = setInterval(wake, options.pollMs);
      timer.unref();
      wake();
      pruneTimer = setInterval(prune, HOUR_MS);
      pruneTimer.unref();
      prune();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      if (pruneTimer) clearInterval(pruneTimer);
      await pruning;
      const settled = () => Promise.allSettled([running, ...[...inFlight.values()].map((f) => f.done)]);
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([settled(), new Promise((resolve) => (grace = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(grace);
      // What is still in flight fails its attempt now and is retried after the restart.
      for (const { abort } of inFlight.values()) abort.abort(new Error('the server is shutting down'));
      await settled();
    },
  };
}

/**
 * The wait before the next attempt after `attempts` failures: `baseMs · 2^(attempts−1)`, ±20 %
 * jitter so receivers that failed together are not retried together, at most 6 hours.
 *
 * @example retryDelayMs(3, 10_000, 0.5) // 40_000
 */
export function retryDelayMs(attempts: number, baseMs: number, random: number = Math.random()): number {
  const exact = baseMs * 2 ** Math.max(0, attempts - 1);
  return Math.min(MAX_RETRY_DELAY_MS, Math.round(exact * (0.8 + 0.4 * random)));
}

/**
 * POSTs `body` and resolves with the response status (the body is drained, never read); rejects on
 * a network error, on `signal`, or when the whole exchange takes over `timeoutMs`. Redirects are
 * not followed: a 3xx is a failed attempt, so a delivery never lands at a URL nobody configured.
 */
function post(url: URL, headers: Record<string, string>, body: string, timeoutMs: number, signal: AbortSignal, allowPrivate: boolean): Promise<number> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const refused = allowPrivate ? undefined : privateHostReason(url);
  if (refused) return Promise.reject(new Error(`not sent: ${refused} (SCIMITAR_WEBHOOK_ALLOW_PRIVATE allows it)`));
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: 'POST',
      signal,
      ...(allowPrivate ? {} : { lookup: publicOnlyLookup }),
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': 'Scimitar-Webhooks/1',
      },
    });
    const timeout = setTimeout(() => req.destroy(new Error(`no complete response within ${timeoutMs} ms`)), timeoutMs);
    req.on('response', (res) => {
      resolve(res.statusCode ?? 0);
      res.on('close', () => clearTimeout(timeout));
      // The status is all that counts: a body cut short (by the timeout) is no failure, and an
      // 'error' without a listener would take the process down.
      res.on('error', () => undefined);
      res.resume();
    });
    req.on('error', (err) => {
      clearTimeout(timeout);
      reject(err);
    });
    req.end(body);
  });
}

let lastMs = 0;
let counter = 0;

/**
 * A UUID-shaped id whose text order is creation order (48-bit milliseconds, a 16-bit counter within
 * the millisecond, 64 random bits), so the delivery log pages by id alone, newest first.
 */
function timeOrderedId(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
  } else if (++counter > 0xffff) {
    lastMs += 1;
    counter = 0;
  }
  const hex = `${lastMs.toString(16).padStart(12, '0')}${counter.toString(16).padStart(4, '0')}${randomBytes(8).toString('hex')}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
