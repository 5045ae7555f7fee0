// Webhook endpoints (SPEC 13) and what a real receiver on 127.0.0.1 gets:
// every message signed with the endpoint's secret, the lifecycle of a clip
// and of a VOD in order and once each, the stream going live and offline.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { ladderStream, vodClip, waitVideo } from '../helpers/vod.js';

let h: Harness;
let rx: Receiver;

beforeAll(async () => {
  h = await startHarness({
    env: {
      WEBHOOK_ALLOW_PRIVATE: '1', WEBHOOK_SWEEP_MS: '200', WEBHOOK_BACKOFF_MS: '50', CLEANER_INTERVAL_MS: '200',
      FINALIZE_GRACE_SECONDS: '20',
    },
  });
  rx = await startReceiver();
}, 90_000);
afterAll(async () => {
  await rx?.close();
  await h?.close();
});

async function endpoint(body: Record<string, unknown>, apiKey?: string) {
  const res = await h.api('POST', '/streaming/webhooks', body, apiKey);
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; url: string; events: string[]; secret: string; enabled: boolean };
}

const of = (object: string) => rx.delivered().filter((r) => `${r.type.split('.')[0]}.${String(r.data.id)}` === object);

describe('webhook endpoints', () => {
  it('are made with a secret shown once, listed, read, patched, rotated and deleted', async () => {
    const made = await endpoint({ url: 'http://127.0.0.1:9/a', events: ['clip.ready', 'clip.ready'] });
    expect(made).toMatchObject({ url: 'http://127.0.0.1:9/a', events: ['clip.ready'], enabled: true });
    expect(made.id).toMatch(/^ep_[a-z0-9]{20}$/);
    expect(made.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const one = (await h.api('GET', `/streaming/webhooks/${made.id}`)).json();
    expect(one).toMatchObject({ id: made.id, disabled_reason: null });
    expect(one.secret).toBeUndefined();
    expect((await h.api('GET', '/streaming/webhooks')).json().map((e: { id: string }) => e.id)).toContain(made.id);

    const rotated = (await h.api('POST', `/streaming/webhooks/${made.id}/rotate_secret`)).json();
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(made.secret);
    const patched = await h.api('PATCH', `/streaming/webhooks/${made.id}`, { events: ['video.ready'], enabled: false });
    expect(patched.json()).toMatchObject({ events: ['video.ready'], enabled: false, disabled_reason: 'disabled by request' });
    expect((await h.api('PATCH', `/streaming/webhooks/${made.id}`, { enabled: true })).json()).toMatchObject({ enabled: true, disabled_reason: null });

    expect((await h.api('DELETE', `/streaming/webhooks/${made.id}`)).statusCode).toBe(204);
    expect((await h.api('GET', `/streaming/webhooks/${made.id}`)).statusCode).toBe(404);
    expect(await h.keys(`{w:${made.id}}*`)).toEqual([]);
  });

  it('refuse bad input with a 400 naming the problem, and write nothing', async () => {
    const before = (await h.api('GET', '/streaming/webhooks')).json().length;
    const cases: Array<[unknown, RegExp]> = [
      [{ url: 'not a url' }, /not a URL/],
      [{ url: 'ftp://example.com/x' }, /http or https/],
      [{ url: `http://example.com/${'a'.repeat(2100)}` }, /longer than 2048/],
      [{ url: 'http://user:pw@127.0.0.1/' }, /user name or password/],
      [{ url: 'http://127.0.0.1/', events: ['clip.made'] }, /unknown event "clip.made"/],
      [{ url: 'http://127.0.0.1/', events: [] }, /at least one event/],
      [{ events: ['clip.ready'] }, /url/],
      [{ url: 'http://127.0.0.1/', secret: 'mine' }, /secret|additional propert/],
    ];
    for (const [body, message] of cases) {
      const res = await h.api('POST', '/streaming/webhooks', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(res.json().message).toMatch(message);
    }
    expect((await h.api('GET', '/streaming/webhooks')).json().length).toBe(before);
    expect((await h.api('GET', '/streaming/webhooks/ep_nope')).statusCode).toBe(400);
  });

  it("are invisible to another company: every call on one answers 404", async () => {
    const mine = await endpoint({ url: 'http://127.0.0.1:9/mine' });
    const other = await h.newCompany('Webhook neighbour');
    for (const [method, suffix] of [['GET', ''], ['DELETE', ''], ['POST', '/test'], ['POST', '/rotate_secret'], ['GET', '/deliveries']] as const) {
      const res = await h.api(method, `/streaming/webhooks/${mine.id}${suffix}`, undefined, other.api_key);
      expect(res.statusCode, `${method} ${suffix}`).toBe(404);
    }
    expect((await h.api('PATCH', `/streaming/webhooks/${mine.id}`, { enabled: false }, other.api_key)).statusCode).toBe(404);
    expect((await h.api('GET', '/streaming/webhooks', undefined, other.api_key)).json()).toEqual([]);
    expect((await h.api('GET', `/streaming/webhooks/${mine.id}`)).json().enabled).toBe(true);
    await h.api('DELETE', `/streaming/webhooks/${mine.id}`);
  });
});

describe('deliveries to a real receiver', () => {
  beforeEach(async () => {
    // Each test subscribes what it needs; one that failed must not leave its endpoint to the next.
    for (const ep of (await h.api('GET', '/streaming/webhooks')).json()) await h.api('DELETE', `/streaming/webhooks/${ep.id}`);
  });

  it('sends a signed test event, logged with its answer', async () => {
    const ep = await endpoint({ url: rx.url, events: ['video.error'] });
    rx.secret = ep.secret;
    const sent = await h.api('POST', `/streaming/webhooks/${ep.id}/test`);
    expect(sent.statusCode).toBe(202);
    const { event_id } = sent.json();
    const got = await waitFor(() => rx.delivered().find((r) => r.id === event_id), 'the test event');
    expect(got).toMatchObject({ type: 'webhook.test', verified: true, data: { endpoint_id: ep.id } });
    expect(Math.abs(got.timestamp - Date.now() / 1000)).toBeLessThan(30);
    const log = await waitFor(async () => {
      const rows = (await h.api('GET', `/streaming/webhooks/${ep.id}/deliveries`)).json();
      return rows.length > 0 && rows;
    }, 'the delivery log');
    expect(log[0]).toMatchObject({ event_id, event: 'webhook.test', attempt: 1, outcome: 'delivered', status_code: 204, error: null });
    expect(log[0].latency_ms).toBeGreaterThanOrEqual(0);
    await h.api('DELETE', `/streaming/webhooks/${ep.id}`);
  });

  it('a clip from now: created, ready, expired, in order, once each; the stream live then offline', async () => {
    const ep = await endpoint({ url: rx.url });
    rx.secret = ep.secret;
    const stream = await h.createStream({ name: 'Webhook stream' });
    await h.pushLadder(stream, { from: 0, to: 2, startAt: h.clock.alignToSecond() });
    const cut = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { duration: 2 });
    expect(cut.statusCode, cut.body).toBe(200);
    const clip = cut.json();
    expect(clip.status).toBe('recording');
    await h.pushLadder(stream, { from: 3, to: 5 });
    await waitFor(() => of(`clip.${clip.id}`).some((r) => r.type === 'clip.ready'), 'clip.ready', 15_000);

    // Its expiration comes (and the stream has long been silent): the cleaner notices both.
    h.clock.set(clip.expiration * 1000 + 1000);
    await waitFor(() => of(`clip.${clip.id}`).some((r) => r.type === 'clip.expired'), 'clip.expired', 10_000);
    await waitFor(() => of(`stream.${stream.id}`).some((r) => r.type === 'stream.offline'), 'stream.offline', 10_000);
    await new Promise((r) => setTimeout(r, 1000)); // room for a duplicate to show up

    const clipEvents = of(`clip.${clip.id}`);
    expect(clipEvents.map((r) => r.type)).toEqual(['clip.created', 'clip.ready', 'clip.expired']);
    expect(new Set(clipEvents.map((r) => r.id)).size).toBe(3);
    expect(clipEvents[0].data).toMatchObject({ id: clip.id, stream_id: stream.id, status: 'recording', hls_master: clip.hls_master });
    expect(clipEvents[1].data).toMatchObject({ id: clip.id, status: 'ready', renditions: ['media_1_240', 'media_2_480', 'media_3_720'] });
    expect(clipEvents[2].data).toMatchObject({ id: clip.id, status: 'ready', expiration: clip.expiration });
    const streamEvents = of(`stream.${stream.id}`);
    expect(streamEvents.map((r) => r.type)).toEqual(['stream.live', 'stream.offline']);
    expect(streamEvents[0].data).toMatchObject({ id: stream.id, name: 'Webhook stream', live: true });
    expect(streamEvents[1].data).toMatchObject({ id: stream.id, live: false });
    expect(rx.requests.filter((r) => r.data.id === clip.id || r.data.id === stream.id).every((r) => r.verified)).toBe(true);
    await h.api('DELETE', `/streaming/webhooks/${ep.id}`);
  }, 60_000);

  it('a VOD: clip.created and clip.ready, then video.ready with the video as the API shows it', async () => {
    const ep = await endpoint({ url: rx.url, events: ['clip.created', 'clip.ready', 'video.ready', 'video.error'] });
    rx.secret = ep.secret;
    const { stream, start } = await ladderStream(h, 'Webhook VOD');
    const videoId = await vodClip(h, stream.id, Math.floor(start / 1000) + 1, 4);
    await waitVideo(h, videoId);
    const got = await waitFor(() => rx.delivered().find((r) => r.type === 'video.ready' && r.data.id === videoId), 'video.ready', 20_000);
    const api = (await h.api('GET', `/streaming/videos/${videoId}`)).json();
    expect(got.data).toEqual(api);
    expect(got.verified).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(rx.delivered().filter((r) => r.data.id === videoId && r.type.startsWith('video.')).map((r) => r.type)).toEqual(['video.ready']);
    const clipId = api.clip_id;
    expect(of(`clip.${clipId}`).map((r) => r.type)).toEqual(['clip.created', 'clip.ready']);
    expect(of(`clip.${clipId}`)[0].data).toMatchObject({ vod_required: true, video_id: videoId });
    await h.api('DELETE', `/streaming/webhooks/${ep.id}`);
  }, 90_000);

  it('a scheduled VOD clip that gets no media: clip.failed, then video.error', async () => {
    const ep = await endpoint({ url: rx.url, events: ['clip.failed', 'video.error', 'video.ready'] });
    rx.secret = ep.secret;
    const stream = await h.createStream({ name: 'Nothing comes' });
    await h.pushLadder(stream, { from: 0, to: 1, startAt: h.clock.alignToSecond() });
    const start = Math.floor(h.clock.now() / 1000) + 2; // ahead, and the encoder stops now
    const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start, duration: 2, vod_required: true });
    expect(res.statusCode, res.body).toBe(200);
    const clip = res.json();
    h.clock.set((start + 2) * 1000 + h.ctx.config.finalizeGraceSeconds * 1000 + 5000); // past the grace period
    const failed = await waitFor(() => rx.delivered().find((r) => r.type === 'clip.failed' && r.data.id === clip.id), 'clip.failed', 30_000);
    expect(failed.data).toMatchObject({ id: clip.id, status: 'failed', video_id: clip.video_id });
    const error = await waitFor(() => rx.delivered().find((r) => r.type === 'video.error' && r.data.id === clip.video_id), 'video.error', 10_000);
    expect(error.data).toMatchObject({ id: clip.video_id, status: 'error', clip_id: clip.id, error: expect.stringMatching(/no media/) });
    expect(rx.delivered().filter((r) => r.data.id === clip.video_id).map((r) => r.type)).toEqual(['video.error']);
  }, 60_000);

  it('a burst of 30 clips made at once: each clip.created delivered once; the stream\'s outbox read by one relay at a time', async () => {
    const ep = await endpoint({ url: rx.url, events: ['clip.created'] });
    rx.secret = ep.secret;
    const stream: StreamView = await h.createStream({ name: 'Burst' });
    const { start } = await h.pushLadder(stream, { from: 0, to: 5, startAt: h.clock.alignToSecond() });
    const outbox = `{s${stream.id}}`;
    const redis = h.ctx.redis;
    const xrange = redis.xrange.bind(redis);
    let reads = 0;
    redis.xrange = ((...args: Parameters<typeof xrange>) => {
      if (String(args[0]).includes(outbox)) reads++;
      return xrange(...args);
    }) as typeof redis.xrange;
    let clips: string[];
    try {
      const made = await Promise.all(Array.from({ length: 30 }, () =>
        h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: start / 1000 + 1, duration: 2 })));
      clips = made.map((res) => res.json().id);
      // Without sharing, each of the 30 creations would read the outbox at least once.
      expect(reads).toBeLessThan(30);
    } finally {
      redis.xrange = xrange;
    }
    await waitFor(() => clips.every((id) => of(`clip.${id}`).length >= 1), 'clip.created of every clip', 30_000);
    await new Promise((r) => setTimeout(r, 800));
    for (const id of clips) expect(of(`clip.${id}`).map((r) => r.type)).toEqual(['clip.created']);
    await h.api('DELETE', `/streaming/webhooks/${ep.id}`);
  }, 90_000);

  it('only what an endpoint subscribed to, and nothing for another company', async () => {
    const other = await h.newCompany('Other receiver');
    const rx2 = await startReceiver();
    try {
      const theirs = await endpoint({ url: rx2.url }, other.api_key);
      rx2.secret = theirs.secret;
      const ep = await endpoint({ url: rx.url, events: ['clip.ready'] });
      rx.secret = ep.secret;
      const stream: StreamView = await h.createStream({ name: 'Subscribed' });
      const { start } = await h.pushLadder(stream, { from: 0, to: 5, startAt: h.clock.alignToSecond() });
      const clip = (await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: start / 1000 + 1, duration: 2 })).json();
      await waitFor(() => of(`clip.${clip.id}`).length === 1, 'clip.ready');
      await new Promise((r) => setTimeout(r, 800));
      expect(of(`clip.${clip.id}`).map((r) => r.type)).toEqual(['clip.ready']);
      expect(of(`stream.${stream.id}`)).toEqual([]);
      expect(rx2.requests).toEqual([]);
      await h.api('DELETE', `/streaming/webhooks/${ep.id}`);
    } finally {
      await rx2.close();
    }
  }, 90_000);
});
