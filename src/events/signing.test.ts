import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSecret, signatureHeaders, verifyWebhook } from './signing.js';

// The Standard Webhooks specification's published test vector: matching it means any of that
// specification's libraries verifies our deliveries.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('signatureHeaders', () => {
  it('reproduces the Standard Webhooks test vector', () => {
    expect(signatureHeaders(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toEqual({
      'webhook-id': VECTOR.id,
      'webhook-timestamp': '1614265330',
      'webhook-signature': VECTOR.signature,
    });
  });

  it('signs with the decoded key of a generated secret, as an independent HMAC computes it', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    const body = JSON.stringify({ id: '42.1', type: 'access.granted' });
    const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
      .update(`42.1.1700000000.${body}`)
      .digest('base64');
    expect(signatureHeaders(secret, '42.1', 1_700_000_000, body)['webhook-signature']).toBe(`v1,${expected}`);
    expect(generateSecret()).not.toBe(secret);
  });
});

describe('verifyWebhook', () => {
  const headers = (overrides: Record<string, string> = {}) => ({
    'webhook-id': VECTOR.id,
    'webhook-timestamp': String(VECTOR.timestamp),
    'webhook-signature': VECTOR.signature,
    ...overrides,
  });
  const at = (offset: number) => ({ now: VECTOR.timestamp + offset });

  it('accepts the vector within the tolerance, either way', () => {
    for (const offset of [0, 300, -300]) {
      expect(verifyWebhook(VECTOR.secret, headers(), VECTOR.body, at(offset))).toEqual({ ok: true, id: VECTOR.id, timestamp: VECTOR.timestamp });
    }
  });

  it('refuses stale and future timestamps (replays), with a configurable tolerance', () => {
    expect(verifyWebhook(VECTOR.secret, headers(), VECTOR.body, at(301))).toMatchObject({ ok: false, reason: expect.stringMatching(/tolerance/) });
    expect(verifyWebhook(VECTOR.secret, headers(), VECTOR.body, at(-301)).ok).toBe(false);
    expect(verifyWebhook(VECTOR.secret, headers(), VECTOR.body, { ...at(3600), toleranceSeconds: 7200 }).ok).toBe(true);
  });

  it('refuses a changed body, id, timestamp, secret or signature', () => {
    const ok = (h: Record<string, string>, body = VECTOR.body, secret = VECTOR.secret) => verifyWebhook(secret, h, body, at(0)).ok;
    expect(ok(headers(), '{"test": 2432232315}')).toBe(false);
    expect(ok(headers({ 'webhook-id': 'msg_other' }))).toBe(false);
    expect(ok(headers({ 'webhook-timestamp': String(VECTOR.timestamp + 1) }))).toBe(false);
    expect(ok(headers(), VECTOR.body, generateSecret())).toBe(false);
    expect(ok(headers({ 'webhook-signature': 'v1,AAAA' }))).toBe(false);
    expect(ok(headers({ 'webhook-signature': VECTOR.signature.replace('v1,', 'v2,') }))).toBe(false);
    expect(ok(headers({ 'webhook-timestamp': '1614265330.5' }))).toBe(false);
  });

  it('accepts any one matching signature of several (rotation), and header names in any case', () => {
    const several = { 'Webhook-Id': VECTOR.id, 'Webhook-Timestamp': String(VECTOR.timestamp), 'Webhook-Signature': `v1,bm9wZQ== ${VECTOR.signature}` };
    expect(verifyWebhook(VECTOR.secret, several, VECTOR.body, at(0)).ok).toBe(true);
  });

  it('refuses a delivery without its headers', () => {
    const { 'webhook-signature': _, ...unsigned } = headers();
    expect(verifyWebhook(VECTOR.secret, unsigned, VECTOR.body, at(0))).toEqual({ ok: false, reason: 'missing webhook headers' });
  });
});
