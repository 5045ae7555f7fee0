// Standard Webhooks signatures, checked against the specification's own
// example, and the few-line verification the README shows.
import { describe, expect, it } from 'vitest';
import { newSecret, sign, signedHeaders, verify } from '../../src/events/signing.js';
import { verifySignature } from '../helpers/webhook-receiver.js';

describe('webhook signatures', () => {
  it('match the Standard Webhooks reference example', () => {
    // From the reference libraries' tests (standard-webhooks, "sign function works").
    const sig = sign('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(sig).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('verify with the secret, and fail with another secret, another body or an old timestamp', () => {
    const secret = newSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const now = Date.now();
    const headers = signedHeaders([secret], 'msg_1', Math.floor(now / 1000), '{"a":1}');
    expect(verify(secret, { ...headers }, '{"a":1}', 300, now)).toBe(true);
    expect(verifySignature(secret, headers['webhook-id'], headers['webhook-timestamp'], '{"a":1}', headers['webhook-signature'])).toBe(true);
    expect(verify(newSecret(), { ...headers }, '{"a":1}', 300, now)).toBe(false);
    expect(verify(secret, { ...headers }, '{"a":2}', 300, now)).toBe(false);
    expect(verify(secret, { ...headers }, '{"a":1}', 300, now + 301_000)).toBe(false);
  });

  it('carry one signature per secret while a rotated one is honoured', () => {
    const [a, b] = [newSecret(), newSecret()];
    const headers = signedHeaders([a, b], 'msg_2', 1700000000, 'x');
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const s of [a, b]) expect(verify(s, { ...headers }, 'x', 300, 1700000000_000)).toBe(true);
  });
});
