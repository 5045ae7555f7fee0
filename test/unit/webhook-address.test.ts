// Where webhooks may go: http(s) URLs of public addresses only (unless
// allowed), in every spelling of a private address.
import { describe, expect, it } from 'vitest';
import { isPrivateAddress, parseWebhookUrl, WebhookUrlError } from '../../src/events/address.js';
import { webhookBackoff } from '../../src/events/deliver.js';
import { loadConfig } from '../../src/config.js';

describe('private addresses', () => {
  it('are recognised in IPv4, IPv6, mapped and NAT64 forms', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1',
      '255.255.255.255', '::1', '::', 'fe80::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::a00:1']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('are refused in endpoint URLs unless allowed', () => {
    expect(() => parseWebhookUrl('http://[::ffff:10.0.0.1]:8080/', false)).toThrow(/private/);
    expect(parseWebhookUrl('http://127.0.0.1:8080/hook', true).href).toBe('http://127.0.0.1:8080/hook');
    expect(parseWebhookUrl('https://hooks.example.com/x?y=1', false).host).toBe('hooks.example.com');
    for (const bad of ['nope', 'javascript:alert(1)', 'file:///etc/passwd', `https://a.com/${'x'.repeat(2048)}`]) {
      expect(() => parseWebhookUrl(bad, true), bad).toThrow(WebhookUrlError);
    }
  });
});

describe('retry backoff', () => {
  it('doubles from WEBHOOK_BACKOFF_MS with jitter, up to WEBHOOK_BACKOFF_MAX_MS', () => {
    const backoff = webhookBackoff(loadConfig({ WEBHOOK_BACKOFF_MS: '1000', WEBHOOK_BACKOFF_MAX_MS: '60000' }));
    for (let i = 0; i < 50; i++) {
      expect(backoff(1)).toBeGreaterThanOrEqual(500);
      expect(backoff(1)).toBeLessThanOrEqual(1000);
      expect(backoff(4)).toBeGreaterThanOrEqual(4000);
      expect(backoff(4)).toBeLessThanOrEqual(8000);
      expect(backoff(30)).toBeLessThanOrEqual(60000);
      expect(backoff(30)).toBeGreaterThanOrEqual(30000);
    }
    const spread = new Set(Array.from({ length: 20 }, () => backoff(3)));
    expect(spread.size).toBeGreaterThan(1);
  });

  it('with the defaults, retries last about a day before an event is given up', () => {
    const config = loadConfig({});
    expect(config.webhookRetrySeconds).toBe(86400);
    expect(config.webhookDisableAfterSeconds).toBe(86400);
    expect(config.webhookAllowPrivate).toBe(false);
    // The largest step is an hour: about 30 attempts in a day.
    expect(config.webhookBackoffMaxMs).toBe(3_600_000);
  });
});
