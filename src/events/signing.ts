import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures as the Standard Webhooks specification (https://www.standardwebhooks.com)
 * defines them, so receivers can use its libraries in any language or the ten lines of
 * `verifyWebhook`:
 *
 *   webhook-id:        the event id (`"42"`, `"42.1"`), the same on every retry
 *   webhook-timestamp: unix seconds of the attempt
 *   webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
 *
 * where the secret is `whsec_<base64 key>` and the key is its decoded bytes.
 */

const PREFIX = 'whsec_';

/** A new signing secret: 32 random bytes, `whsec_`-prefixed base64. */
export function generateSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

function sign(secret: string, id: string, timestamp: number, body: string): string {
  return createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
}

/** The three headers of one delivery attempt; `timestamp` is unix seconds. */
export function signatureHeaders(secret: string, id: string, timestamp: number, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${sign(secret, id, timestamp, body)}`,
  };
}

export type WebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyOptions {
  /** How far the timestamp may be from `now`, either way; older deliveries are refused as replays. */
  readonly toleranceSeconds?: number;
  /** Unix seconds; the system clock when not given. */
  readonly now?: number;
}

export type Verification =
  | { readonly ok: true; readonly id: string; readonly timestamp: number }
  | { readonly ok: false; readonly reason: string };

/**
 * For receivers: checks a delivery's signature against the raw body (the exact bytes received,
 * before any JSON parsing) and refuses timestamps more than `toleranceSeconds` (default 300) in the
 * past or future, so a captured delivery cannot be replayed later. A receiver should also
 * remember the ids it processed: retries and redeliveries carry the same `webhook-id`.
 *
 * @example
 *   const result = verifyWebhook(process.env.WEBHOOK_SECRET, req.headers, rawBody);
 *   if (!result.ok) return res.writeHead(401).end();
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, body: string, options: VerifyOptions = {}): Verification {
  const id = header(headers, 'webhook-id');
  const timestampText = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestampText || !signatures) return { ok: false, reason: 'missing webhook headers' };
  if (!/^\d{1,15}$/.test(timestampText)) return { ok: false, reason: 'invalid timestamp' };
  const timestamp = Number(timestampText);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return { ok: false, reason: 'timestamp outside the tolerance' };
  const expected = Buffer.from(sign(secret, id, timestamp, body), 'base64');
  // The header may carry several signatures (space-separated), e.g. during a secret rotation.
  for (const candidate of signatures.split(' ')) {
    const [version, value] = candidate.split(',', 2);
    if (version !== 'v1' || value === undefined) continue;
    const given = Buffer.from(value, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true, id, timestamp };
  }
  return { ok: false, reason: 'no matching signature' };
}

/** Case-insensitive: Node lowercases header names, a framework or a test may not. */
function header(headers: WebhookHeaders, name: string): string | undefined {
  const value = headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value[0] : (value as string | undefined);
}
