// Deliveries when receivers misbehave (SPEC 13): answers 500, hangs,
// redirects, huge bodies; retried with backoff in order per object, given
// up after the retry period; an endpoint failing too long is disabled and
// resumes when re-enabled. Private addresses are refused unless allowed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../../src/events/send.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

const FAST = { WEBHOOK_ALLOW_PRIVATE: '1', WEBHOOK_BACKOFF_MS: '50', WEBHOOK_BACKOFF_MAX_MS: '200', WEBHOOK_SWEEP_MS: '200', WEBHOOK_TIMEOUT_MS: '700' };

async function endpoint(h: Harness, rx: Receiver, events?: string[]) {
  const res = await h.api('POST', '/streaming/webhooks', { url: rx.url, ...(events ? { events } : {}) });
  expect(res.statusCode, res.body).toBe(201);
  rx.secret = res.json().secret;
  return res.json() as { id: string };
}

async function testEvent(h: Harness, id: string): Promise<string> {
  const res = await h.api('POST', `/streaming/webhooks/${id}/test`);
  expect(res.statusCode).toBe(202);
  return res.json().event_id;
}

async function deliveries(h: Harness, id: string) {
  return (await h.api('GET', `/streaming/webhooks/${id}/deliveries`)).json() as Array<Record<string, unknown>>;
}

/** A ready clip of a stream that has chunks: clip.created and clip.ready are recorded together. */
async function pastClip(h: Harness): Promise<string> {
  const stream = await h.createStream({ name: 'Retries' });
  const { start } = await h.pushLadder(stream, { from: 0, to: 4, startAt: h.clock.alignToSecond() });
  const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: start / 1000 + 1, duration: 2 });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().id;
}

describe('a receiver that misbehaves', () => {
  let h: Harness;
  let rx: Receiver;
  beforeAll(async () => {
    h = await startHarness({ env: FAST });
  }, 90_000);
  afterAll(async () => {
    await h?.close();
  });
  afterEach(async () => {
    for (const ep of (await h.api('GET', '/streaming/webhooks')).json()) await h.api('DELETE', `/streaming/webhooks/${ep.id}`);
    await rx?.close();
  });

  it('failing the first three attempts gets the event on the fourth, and the next event of that clip only after it', async () => {
    rx = await startReceiver();
    rx.answer = (r) => ({ status: r.n < 3 ? 500 : 200, body: r.n < 3 ? 'broken' : 'ok' });
    const ep = await endpoint(h, rx, ['clip.created', 'clip.ready']);
    const clipId = await pastClip(h);
    await waitFor(() => rx.delivered().length === 2, 'both events delivered', 15_000);
    expect(rx.requests.map((r) => r.type)).toEqual(['clip.created', 'clip.created', 'clip.created', 'clip.created', 'clip.ready']);
    expect(new Set(rx.requests.slice(0, 4).map((r) => r.id)).size).toBe(1); // the same message, retried
    expect(rx.requests.every((r) => r.verified && r.data.id === clipId)).toBe(true);
    const log = await deliveries(h, ep.id);
    expect(log.map((a) => [a.event, a.attempt, a.outcome, a.status_code])).toEqual([
      ['clip.ready', 1, 'delivered', 200],
      ['clip.created', 4, 'delivered', 200],
      ['clip.created', 3, 'failed', 500],
      ['clip.created', 2, 'failed', 500],
      ['clip.created', 1, 'failed', 500],
    ]);
    expect(log[2]).toMatchObject({ error: 'answered 500', response: 'broken' });
    // Backoff: the gaps between attempts grow from about WEBHOOK_BACKOFF_MS.
    const gaps = rx.requests.slice(1, 4).map((r, i) => r.at - rx.requests[i].at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(20);
  }, 90_000);

  it('a receiver that never answers times out, and the retry is delivered', async () => {
    rx = await startReceiver();
    rx.answer = (r) => (r.n === 0 ? { hang: true } : { status: 202 });
    const ep = await endpoint(h, rx);
    const id = await testEvent(h, ep.id);
    await waitFor(() => rx.delivered().some((r) => r.id === id), 'the retry', 15_000);
    const log = await deliveries(h, ep.id);
    expect(log.map((a) => [a.attempt, a.outcome, a.status_code])).toEqual([[2, 'delivered', 202], [1, 'failed', null]]);
    expect(log[1].error).toMatch(/timed out after 700 ms/);
    expect(Number(log[1].latency_ms)).toBeGreaterThanOrEqual(650);
  }, 90_000);

  it('a redirect (to a private address) is not followed and counts as a failure', async () => {
    const inside = await startReceiver();
    try {
      rx = await startReceiver();
      rx.answer = (r) => (r.n < 2 ? { status: 302, headers: { location: `http://169.254.169.254/latest/meta-data` } } : { status: 200 });
      const ep = await endpoint(h, rx);
      const id = await testEvent(h, ep.id);
      await waitFor(() => rx.delivered().some((r) => r.id === id), 'delivery after the redirects', 15_000);
      const log = await deliveries(h, ep.id);
      expect(log.map((a) => [a.attempt, a.outcome, a.status_code])).toEqual([[3, 'delivered', 200], [2, 'failed', 302], [1, 'failed', 302]]);
      expect(log[1].error).toMatch(/redirect \(302 to http:\/\/169\.254\.169\.254\/latest\/meta-data\) not followed/);
      expect(inside.requests).toEqual([]);
    } finally {
      await inside.close();
    }
  }, 90_000);

  it('a huge answer is read only up to its bound', async () => {
    rx = await startReceiver();
    const huge = Buffer.alloc(64 * 1024 * 1024, 'x');
    rx.answer = () => ({ status: 200, body: huge });
    const ep = await endpoint(h, rx);
    const id = await testEvent(h, ep.id);
    const log = await waitFor(async () => {
      const rows = await deliveries(h, ep.id);
      return rows.length > 0 && rows;
    }, 'the attempt', 15_000);
    expect(log[0]).toMatchObject({ event_id: id, outcome: 'delivered', status_code: 200 });
    expect(String(log[0].response).length).toBeLessThanOrEqual(500);
    expect(Number(log[0].latency_ms)).toBeLessThan(10_000);
  }, 90_000);
});

describe('an endpoint failing for too long', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { ...FAST, WEBHOOK_DISABLE_AFTER_SECONDS: '1' } });
  }, 90_000);
  afterAll(async () => {
    await h?.close();
  });

  it('is disabled and says why; re-enabled, it gets the events it missed, in order', async () => {
    const rx = await startReceiver();
    try {
      let healthy = false;
      rx.answer = () => ({ status: healthy ? 200 : 503 });
      const ep = await endpoint(h, rx, ['clip.created', 'clip.ready']);
      const clipId = await pastClip(h);
      const disabled = await waitFor(async () => {
        const view = (await h.api('GET', `/streaming/webhooks/${ep.id}`)).json();
        return !view.enabled && view;
      }, 'the endpoint to be disabled', 15_000);
      expect(disabled.disabled_reason).toMatch(/^disabled automatically: every delivery failed since .*answered 503/);
      expect(disabled.failing_since).not.toBeNull();
      const tried = rx.requests.length;
      await new Promise((r) => setTimeout(r, 800));
      expect(rx.requests.length).toBe(tried); // paused: nothing more is sent
      const paused = (await h.get('/metrics')).body;
      expect(Number(/^dvr_webhook_oldest_undelivered_seconds (\S+)$/m.exec(paused)?.[1])).toBeGreaterThan(0.5);
      expect(paused).toMatch(/^dvr_webhook_deliveries_total\{outcome="failed"\} [1-9]/m);
      expect(paused).toMatch(/^dvr_webhook_queue_depth \d+$/m);

      healthy = true;
      const enabled = await h.api('PATCH', `/streaming/webhooks/${ep.id}`, { enabled: true });
      expect(enabled.json()).toMatchObject({ enabled: true, disabled_reason: null, failing_since: null });
      await waitFor(() => rx.delivered().length === 2, 'the missed events', 15_000);
      expect(rx.delivered().map((r) => [r.type, r.data.id])).toEqual([['clip.created', clipId], ['clip.ready', clipId]]);
      const after = (await h.get('/metrics')).body;
      expect(after).toMatch(/^dvr_webhook_oldest_undelivered_seconds 0$/m);
      expect(after).toMatch(/^dvr_webhook_deliveries_total\{outcome="delivered"\} [1-9]/m);
    } finally {
      await rx.close();
    }
  }, 40_000);
});

describe('an event failing for the whole retry period', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { ...FAST, WEBHOOK_RETRY_SECONDS: '2' } });
  }, 90_000);
  afterAll(async () => {
    await h?.close();
  });

  it('is given up, and the next event of the same object goes on', async () => {
    const rx = await startReceiver();
    try {
      rx.answer = (r) => ({ status: r.type === 'clip.created' ? 500 : 200 });
      const ep = await endpoint(h, rx, ['clip.created', 'clip.ready']);
      await pastClip(h);
      await waitFor(() => rx.delivered().some((r) => r.type === 'clip.ready'), 'clip.ready after clip.created was given up', 20_000);
      const log = await deliveries(h, ep.id);
      expect(log[0]).toMatchObject({ event: 'clip.ready', outcome: 'delivered' });
      expect(log[1]).toMatchObject({ event: 'clip.created', outcome: 'given_up', status_code: 500 });
      expect(log.slice(2).every((a) => a.event === 'clip.created' && a.outcome === 'failed')).toBe(true);
    } finally {
      await rx.close();
    }
  }, 40_000);
});

describe('private addresses', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { WEBHOOK_ALLOW_PRIVATE: '0' } });
  }, 90_000);
  afterAll(async () => {
    await h?.close();
  });

  it('are refused for an endpoint unless WEBHOOK_ALLOW_PRIVATE=1', async () => {
    for (const url of [
      'http://127.0.0.1:8080/x', 'http://localhost/x', 'http://[::1]/x', 'http://169.254.169.254/latest', 'http://10.1.2.3/',
      'https://192.168.0.10/', 'http://[::ffff:127.0.0.1]/', 'http://[fd00::1]/', 'http://0.0.0.0/',
    ]) {
      const res = await h.api('POST', '/streaming/webhooks', { url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().message, url).toMatch(/private, loopback or link-local/);
    }
    expect((await h.api('GET', '/streaming/webhooks')).json()).toEqual([]);
  });

  it('are refused at delivery time too, after DNS, and nothing reaches them', async () => {
    const rx = await startReceiver();
    try {
      const opts = { timeoutMs: 2000, maxResponseBytes: 1024, allowPrivate: false };
      const byName = await send(`http://localhost:${rx.port}/hooks`, {}, '{}', opts);
      expect(byName).toMatchObject({ ok: false, statusCode: null });
      expect(byName.error).toMatch(/refused: localhost resolves to a private address/);
      const byAddress = await send(rx.url, {}, '{}', opts);
      expect(byAddress.error).toMatch(/refused: 127\.0\.0\.1 is a private address/);
      expect(rx.requests).toEqual([]);
      expect((await send(rx.url, {}, '{}', { ...opts, allowPrivate: true })).ok).toBe(true);
    } finally {
      await rx.close();
    }
  });
});
