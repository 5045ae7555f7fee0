// Speed by default, checked for what it must not break (no timing claims
// beyond generous bounds): prebuilds queued behind a burst of clip creations,
// chunks served from memory exactly as Redis holds them, live playlists built
// once per change, gzip and 304s.
import { executionAsyncId } from 'node:async_hooks';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteClip } from '../../src/clips/clips.js';
import { loadClip } from '../../src/clips/records.js';
import { chunkCacheOf } from '../../src/dvr/chunk-cache.js';
import { loadStream, type StreamView } from '../../src/dvr/streams.js';
import { buildLiveMedia } from '../../src/hls/live-hls.js';
import { backgroundOf, prebuildWhenReady } from '../../src/mp4/prebuild.js';
import { remuxesStarted, runningFfmpegCount } from '../../src/mp4/remux.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';

const chunkLines = (text: string) => text.split('\n').filter((l) => l.endsWith('.ts'));
const nowS = (h: Harness) => Math.floor(h.clock.now() / 1000);

describe('MP4 prebuilds behind a burst of ready clips', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { MP4_PREBUILD: '1', BACKGROUND_CONCURRENCY: '1' } });
  });
  afterAll(() => h.close());

  it('creation answers without waiting for them, they run one at a time after the burst, and every MP4 gets built', async () => {
    const stream = await h.createStream({ name: 'burst' });
    await h.pushLadder(stream, { from: 0, to: 11, startAt: h.clock.alignToSecond() - 12_000 });
    const start = nowS(h) - 12;
    const clips: Array<{ id: string; renditions: string[] }> = [];
    let peakDuringBurst = 0;
    const slowest = { ms: 0 };
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { duration: 4 + (i % 5), start: start + (i % 6) });
      slowest.ms = Math.max(slowest.ms, performance.now() - t0);
      expect(res.statusCode, res.body).toBe(200);
      const clip = res.json();
      expect(clip.status).toBe('ready');
      clips.push(clip);
      peakDuringBurst = Math.max(peakDuringBurst, runningFfmpegCount());
    }
    // Generous: a creation that waited for remuxes would take seconds.
    expect(slowest.ms).toBeLessThan(2000);
    expect(peakDuringBurst).toBeLessThanOrEqual(1);
    let peak = 0;
    const store = h.service.mp4.cache.store;
    await waitFor(async () => {
      peak = Math.max(peak, runningFfmpegCount());
      const built = await Promise.all(clips.map((c) => store.has(`${stream.id}/${c.id}_${c.renditions.at(-1)}`)));
      return built.every(Boolean);
    }, 'every prebuild', 150_000, 20);
    expect(peak).toBeLessThanOrEqual(1);
    // The first viewer finds the file built.
    const mp4 = await h.get(`/rec/${h.company.client_id}_${stream.id}/rec_${clips[0].id}_master.mp4`);
    expect(mp4.statusCode).toBe(200);
    expect(mp4.headers['content-type']).toBe('video/mp4');
    // Nothing the service ran (prebuilds included) turned on a promise hook,
    // which would make every promise of every request pay for async hooks:
    // with one on, each continuation gets its own async id; without, 0.
    await Promise.resolve();
    const first = executionAsyncId();
    await Promise.resolve();
    expect([first, executionAsyncId()]).toEqual([0, 0]);
  }, 200_000);
});

describe('a prebuild queued for a clip deleted before it ran', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { MP4_PREBUILD: '1' } });
  });
  afterAll(() => h.close());

  it('builds nothing', async () => {
    const stream = await h.createStream({ name: 'deleted first' });
    await h.pushLadder(stream, { from: 0, to: 5, startAt: h.clock.alignToSecond() - 6000 });
    const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { duration: 3, start: nowS(h) - 6 });
    expect(res.statusCode, res.body).toBe(200);
    const clip = res.json();
    expect(clip.status).toBe('ready');
    await backgroundOf(h.ctx).idle();
    const record = (await loadClip(h.ctx, stream.id, clip.id))!;
    expect((await h.api('DELETE', `/streaming/streams/${stream.id}/clip_recording/${clip.id}`)).statusCode).toBe(204);
    // The 404 drops the file its first prebuild made.
    expect((await h.get(new URL(clip.mp4_master).pathname)).statusCode).toBe(404);
    await waitFor(async () => !(await h.service.mp4.cache.store.has(`${stream.id}/${clip.id}_${clip.renditions.at(-1)}`)), 'the file to go');
    // A prebuild queued before the deletion (the same hook, the record as it was) runs after it.
    const remuxes = remuxesStarted();
    await prebuildWhenReady(h.ctx, h.service.queues, record);
    await backgroundOf(h.ctx).idle();
    expect(remuxesStarted()).toBe(remuxes);
    expect(await h.service.mp4.cache.store.has(`${stream.id}/${clip.id}_${clip.renditions.at(-1)}`)).toBe(false);
  });
});

describe('chunks and playlists from memory', () => {
  let h: Harness;
  let stream: StreamView;
  const CACHE_BYTES = 200_000;
  beforeAll(async () => {
    h = await startHarness({ env: { CHUNK_CACHE_BYTES: String(CACHE_BYTES) } });
    stream = await h.createStream({ name: 'cached', dvr_duration: 60 });
    await h.pushLadder(stream, { from: 0, to: 7, startAt: h.clock.alignToSecond() });
  });
  afterAll(() => h.close());

  const media = (name = 'media_2_480') => stream.hls_url.replace('master', name);
  const chunkUrl = (text: string, i: number) => new URL(chunkLines(text)[i], stream.hls_url).href;
  const chunkId = (url: string) => /([0-9a-z]+)\.ts$/.exec(url)![1];

  it('a chunk is the bytes Redis holds, read from Redis once: later requests get them from memory', async () => {
    const text = (await h.get(media())).body;
    const url = chunkUrl(text, 0);
    const stored = await h.ctx.redis.hgetBuffer(h.ctx.keys.stream.chunk(stream.id, chunkId(url)), 'b');
    const first = await h.get(url);
    expect(first.statusCode).toBe(200);
    expect(first.rawPayload.equals(stored!)).toBe(true);
    // Overwrite the bytes in Redis: what is served now can only come from memory.
    await h.ctx.redis.hset(h.ctx.keys.stream.chunk(stream.id, chunkId(url)), 'b', 'not the chunk');
    const second = await h.get(url);
    expect(second.statusCode).toBe(200);
    expect(second.rawPayload.equals(stored!)).toBe(true);
    await h.ctx.redis.hset(h.ctx.keys.stream.chunk(stream.id, chunkId(url)), 'b', stored!);
  });

  it('the cache stays within CHUNK_CACHE_BYTES however many chunks are served, and every one is right', async () => {
    const cache = chunkCacheOf(h.ctx);
    for (const name of ['media_1_240', 'media_2_480', 'media_3_720']) {
      const text = (await h.get(media(name))).body;
      for (let i = 0; i < chunkLines(text).length; i++) {
        const url = chunkUrl(text, i);
        const res = await h.get(url);
        const stored = await h.ctx.redis.hgetBuffer(h.ctx.keys.stream.chunk(stream.id, chunkId(url)), 'b');
        expect(res.rawPayload.equals(stored!)).toBe(true);
        expect(cache.bytes).toBeLessThanOrEqual(CACHE_BYTES);
      }
    }
    expect(cache.size).toBeGreaterThan(0);
  });

  it('a chunk Redis let go of is not served from memory', async () => {
    const text = (await h.get(media())).body;
    const url = chunkUrl(text, chunkLines(text).length - 1);
    expect((await h.get(url)).statusCode).toBe(200);
    const key = h.ctx.keys.stream.chunk(stream.id, chunkId(url));
    const saved = await h.ctx.redis.hgetBuffer(key, 'b');
    await h.ctx.redis.del(key);
    expect((await h.get(url)).statusCode).toBe(404);
    await h.ctx.redis.hset(key, 'b', saved!);
  });

  it('chunks carry ETag and Last-Modified, and answer 304 to If-None-Match and If-Modified-Since', async () => {
    const url = chunkUrl((await h.get(media())).body, 1);
    const res = await h.get(url);
    expect(res.headers.etag).toBe(`"${chunkId(url)}"`);
    expect(res.headers['last-modified']).toBeTruthy();
    const byTag = await h.get(url, { 'if-none-match': String(res.headers.etag) });
    expect(byTag.statusCode).toBe(304);
    expect(byTag.rawPayload.length).toBe(0);
    expect((await h.get(url, { 'if-modified-since': String(res.headers['last-modified']) })).statusCode).toBe(304);
    expect((await h.get(url, { 'if-none-match': '"other"' })).statusCode).toBe(200);
  });

  it('the live playlist served from cache is the one built fresh, and changes when a chunk arrives', async () => {
    const served = await h.get(media());
    const again = await h.get(media());
    const record = (await loadStream(h.ctx, stream.id))!;
    const fresh = await buildLiveMedia(h.ctx, record, 'media_2_480');
    expect(served.body).toBe(fresh!.text);
    expect(again.body).toBe(served.body);
    expect(again.headers.etag).toBe(served.headers.etag);
    const before = chunkLines(served.body);
    await h.pushLadder(stream, { from: 8, to: 8 });
    const after = await h.get(media());
    expect(after.headers.etag).not.toBe(served.headers.etag);
    expect(chunkLines(after.body)).toEqual([...before, chunkLines(after.body).at(-1)]);
    expect(after.body).toBe((await buildLiveMedia(h.ctx, (await loadStream(h.ctx, stream.id))!, 'media_2_480'))!.text);
    // The window slides with time alone too: the first chunk leaves it.
    h.clock.advance(56_000);
    const slid = await h.get(media());
    expect(slid.body).toBe((await buildLiveMedia(h.ctx, (await loadStream(h.ctx, stream.id))!, 'media_2_480'))!.text);
    expect(chunkLines(slid.body).length).toBeLessThan(chunkLines(after.body).length);
    h.clock.advance(-56_000);
  });

  it('viewers asking for a live playlist at the same moment share one read of the stream state', async () => {
    // A new chunk: what the viewers get is built from the state they read.
    await h.pushLadder(stream, { from: 9, to: 9 });
    const redis = h.ctx.redis;
    const pipeline = redis.pipeline.bind(redis);
    let reads = 0;
    redis.pipeline = ((...args: Parameters<typeof pipeline>) => {
      reads++;
      return pipeline(...args);
    }) as typeof redis.pipeline;
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, () => h.get(media())));
      const fresh = await buildLiveMedia(h.ctx, (await loadStream(h.ctx, stream.id))!, 'media_2_480');
      for (const res of answers) expect(res.body).toBe(fresh!.text);
      expect(reads).toBeGreaterThan(0);
      expect(reads).toBeLessThan(5);
    } finally {
      redis.pipeline = pipeline;
    }
  });

  it('a DVR cleanup empties the cached live playlist', async () => {
    const other = await h.createStream({ name: 'cleaned', dvr_duration: 60 });
    await h.pushLadder(other, { from: 0, to: 2 });
    const url = other.hls_url.replace('master', 'media_1_240');
    expect(chunkLines((await h.get(url)).body)).toHaveLength(3);
    expect((await h.api('PUT', `/streaming/streams/${other.id}/dvr_cleanup`)).statusCode).toBeLessThan(300);
    expect(chunkLines((await h.get(url)).body)).toHaveLength(0);
  });

  it('playlists come gzip-compressed to a client that takes it, and decompress to the same text', async () => {
    const clipRes = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { duration: 4, start: nowS(h) - 12 });
    expect(clipRes.statusCode, clipRes.body).toBe(200);
    const clip = clipRes.json();
    const urls = [media(), stream.hls_url, clip.hls_master, clip.hls_master.replace('master', 'media_1_240')];
    for (const url of urls) {
      const plain = await h.get(url);
      const zipped = await h.get(url, { 'accept-encoding': 'gzip, deflate, br' });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers.vary).toMatch(/accept-encoding/i);
      expect(gunzipSync(zipped.rawPayload).toString('utf8')).toBe(plain.body);
      expect(plain.body.startsWith('#EXTM3U')).toBe(true);
      const refused = await h.get(url, { 'accept-encoding': 'gzip;q=0, identity' });
      expect(refused.headers['content-encoding']).toBeUndefined();
    }
  });

  it('playlists answer 304 to their ETag; a ready clip playlist also to If-Modified-Since', async () => {
    const clip = (await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { duration: 4, start: nowS(h) - 12 })).json();
    for (const url of [media(), clip.hls_master]) {
      const res = await h.get(url);
      expect(res.headers.etag).toMatch(/^".+"$/);
      expect((await h.get(url, { 'if-none-match': String(res.headers.etag) })).statusCode).toBe(304);
      expect((await h.get(url, { 'if-none-match': `"x", ${res.headers.etag}` })).statusCode).toBe(304);
      expect((await h.get(url, { 'if-none-match': '"stale"' })).statusCode).toBe(200);
    }
    expect(clip.status).toBe('ready');
    const ready = await h.get(clip.hls_master);
    expect(ready.headers['last-modified']).toBeTruthy();
    expect((await h.get(clip.hls_master, { 'if-modified-since': String(ready.headers['last-modified']) })).statusCode).toBe(304);
    // After deletion: 404, whatever the client holds.
    expect((await h.api('DELETE', `/streaming/streams/${stream.id}/clip_recording/${clip.id}`)).statusCode).toBe(204);
    expect((await h.get(clip.hls_master, { 'if-none-match': String(ready.headers.etag) })).statusCode).toBe(404);
  });

  it('a clip deleted through another process stops playing here within a second or so', async () => {
    const clip = (await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { duration: 4, start: nowS(h) - 12 })).json();
    const mediaUrl = clip.hls_master.replace('master', 'media_1_240');
    const text = (await h.get(mediaUrl)).body;
    const chunk = new URL(chunkLines(text)[0], mediaUrl).href;
    expect((await h.get(chunk)).statusCode).toBe(200);
    expect((await h.get(chunk)).statusCode).toBe(200);
    // As another process would: straight in Redis, not through this one's route.
    await deleteClip(h.ctx, (await loadClip(h.ctx, stream.id, clip.id))!);
    for (const url of [mediaUrl, chunk]) {
      await waitFor(async () => (await h.get(url)).statusCode === 404, `${url} to answer 404`, 5000, 50);
    }
  });
});


describe('the play key grants the live window, not what clips hold', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('a chunk a clip keeps after it left the window: the clip serves it, the live URL stops once players cannot be on it', async () => {
    const stream = await h.createStream({ name: 'short window', dvr_duration: 30 });
    await h.pushLadder(stream, { from: 0, to: 3, startAt: h.clock.alignToSecond() });
    const media = stream.hls_url.replace('master', 'media_1_240');
    const first = chunkLines((await h.get(media)).body)[0];
    const liveChunk = new URL(first, stream.hls_url).href;
    const clipRes = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { duration: 3, start: nowS(h) - 4 });
    expect(clipRes.statusCode, clipRes.body).toBe(200);
    const clip = clipRes.json();
    const clipMedia = (await h.get(clip.hls_master.replace('master', 'media_1_240'))).body;
    const clipChunk = new URL(chunkLines(clipMedia)[0], clip.hls_master).href;
    expect(clipChunk).toMatch(new RegExp(`_${/([0-9a-z]+)\.ts$/.exec(first)![1]}\.ts$`));
    expect((await h.get(liveChunk)).statusCode).toBe(200);
    // Out of the window, but a player may still be on a playlist that listed it.
    h.clock.advance(40_000);
    expect(chunkLines((await h.get(media)).body)).not.toContain(first);
    expect((await h.get(liveChunk)).statusCode).toBe(200);
    // Past that grace (the window again and two target durations): the clip still holds it, the live URL no longer serves it.
    h.clock.advance(30_000);
    expect(await h.ctx.redis.exists(h.ctx.keys.stream.chunk(stream.id, /([0-9a-z]+)\.ts$/.exec(first)![1]))).toBe(1);
    expect((await h.get(clipChunk)).statusCode).toBe(200);
    expect((await h.get(liveChunk)).statusCode).toBe(404);
  });
});
