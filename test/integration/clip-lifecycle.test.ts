// A clip's life (SPEC 5): recording while its window is still ahead,
// finalized by the worker, kept alive past the DVR window, and gone with
// all its memory at expiration. Redis TTLs and BullMQ delays run on real
// time, so these tests wait a few real seconds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  // A cleaner pass every 200 ms, so the window slides without new chunks.
  h = await startHarness({ env: { CLEANER_INTERVAL_MS: '200', FINALIZE_GRACE_SECONDS: '20' } });
});
afterAll(async () => {
  await h?.close();
});

interface ClipJson { id: string; status: string; renditions: string[]; hls_master: string; expiration: number }

const clipsUrl = (stream: StreamView) => `/streaming/streams/${stream.id}/clip_recording`;
const chunkLines = (text: string) => text.split('\n').filter((l) => l.endsWith('.ts'));
const getClip = async (stream: StreamView, id: string) => h.api('GET', `${clipsUrl(stream)}/${id}`);
const mediaUrl = (clip: ClipJson, rendition = 'media_1_240') => clip.hls_master.replace('master', rendition);

async function cut(stream: StreamView, body: Record<string, unknown>): Promise<ClipJson> {
  const res = await h.api('PUT', clipsUrl(stream), body);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function waitForStatus(stream: StreamView, clip: ClipJson, status: string, timeoutMs = 6000): Promise<ClipJson> {
  return waitFor(async () => {
    const now = (await getClip(stream, clip.id)).json();
    return now.status === status && now;
  }, `clip ${clip.id} to be ${status}`, timeoutMs, 100);
}

/** The chunk keys a clip's playlists point at, in every rendition. */
async function chunkKeysOf(stream: StreamView, clip: ClipJson): Promise<string[]> {
  const keys: string[] = [];
  for (const rendition of clip.renditions) {
    for (const uri of chunkLines((await h.get(mediaUrl(clip, rendition))).body)) {
      const id = /^rec_[a-z0-9]+_([0-9a-z]+)\.ts$/.exec(uri)![1];
      keys.push(`${h.prefix}:{s${stream.id}}:c:${id}`);
    }
  }
  return keys;
}

async function existing(keys: string[]): Promise<string[]> {
  const found: string[] = [];
  // EXISTS, unlike SCAN, never reports a key whose TTL has passed.
  for (const key of keys) if ((await h.ctx.redis.exists(key)) === 1) found.push(key);
  return found;
}

describe('a clip from now', () => {
  it('records as an EVENT playlist that grows, then the worker makes it VOD and ready', async () => {
    const stream = await h.createStream({ name: 'Recording' });
    const pushed = await h.pushLadder(stream, { from: 0, to: 2, startAt: h.clock.alignToSecond() });
    const clip = await cut(stream, { duration: 2 });
    expect(clip).toMatchObject({ status: 'recording', start: pushed.end / 1000, duration: 2 });

    const empty = await h.get(mediaUrl(clip));
    expect(empty.statusCode).toBe(200);
    expect(empty.headers['cache-control']).toBe('public, max-age=1');
    expect(empty.body).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(empty.body).not.toContain('#EXT-X-ENDLIST');
    expect(chunkLines(empty.body)).toEqual([]);

    await h.pushLadder(stream, { from: 3, to: 3 });
    const growing = (await h.get(mediaUrl(clip, 'media_3_720'))).body;
    expect(growing).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(chunkLines(growing)).toHaveLength(1);
    expect(growing).toContain(`#EXT-X-PROGRAM-DATE-TIME:${new Date(pushed.end).toISOString()}`);
    expect((await getClip(stream, clip.id)).json().status).toBe('recording');

    await h.pushLadder(stream, { from: 4, to: 5 }); // the last chunk of the window, and one after it
    const target = (text: string) => text.split('\n').find((l) => l.startsWith('#EXT-X-TARGETDURATION:'));
    const ready = await waitForStatus(stream, clip, 'ready');
    expect(ready).toEqual({ ...clip, status: 'ready' });
    for (const rendition of clip.renditions) {
      const res = await h.get(mediaUrl(clip, rendition));
      expect(res.headers['cache-control']).toMatch(/max-age=(\d{4,})/);
      expect(res.body).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
      expect(res.body.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
      expect(chunkLines(res.body)).toHaveLength(2);
      // The target duration never changes, recording or ready.
      expect(target(res.body)).toBe(target(growing));
    }
    // The same chunks are still there once the clip no longer changes.
    expect(chunkLines((await h.get(mediaUrl(clip, 'media_3_720'))).body)[0]).toBe(chunkLines(growing)[0]);
  });

  it('keeps the chunks it took while recording when the DVR is emptied', async () => {
    const stream = await h.createStream({ name: 'Cleaned while recording' });
    const pushed = await h.pushLadder(stream, { from: 0, to: 1, startAt: h.clock.alignToSecond() });
    const clip = await cut(stream, { duration: 2 });
    await h.pushLadder(stream, { from: 2, to: 2 });
    expect((await h.api('PUT', `/streaming/streams/${stream.id}/dvr_cleanup`)).statusCode).toBe(204);
    expect((await h.api('GET', `/streaming/streams/${stream.id}`)).json().dvr_range).toBeNull();

    const taken = chunkLines((await h.get(mediaUrl(clip))).body);
    expect(taken).toHaveLength(1);
    expect((await h.get(new URL(taken[0], clip.hls_master).href)).statusCode).toBe(200);
    // The encoder goes on; the clip completes with the chunk from before the clean-up.
    await h.pushLadder(stream, { from: 3, to: 3 });
    await waitForStatus(stream, clip, 'ready');
    const media = (await h.get(mediaUrl(clip))).body;
    expect(chunkLines(media)).toHaveLength(2);
    expect(chunkLines(media)[0]).toBe(taken[0]);
    expect(media).toContain(`#EXT-X-PROGRAM-DATE-TIME:${new Date(pushed.end).toISOString()}`);
    for (const uri of chunkLines(media)) expect((await h.get(new URL(uri, clip.hls_master).href)).statusCode).toBe(200);
  });

  it('is finalized with what it has once the stream stopped for the grace period', async () => {
    const stream = await h.createStream({ name: 'Stopped' });
    const pushed = await h.pushLadder(stream, { from: 0, to: 5, startAt: h.clock.alignToSecond() });
    h.clock.advance(10_000); // silent, but less than the 20 s grace
    // [4, 8) s: the DVR ends at 6 s.
    const clip = await cut(stream, { start: pushed.start / 1000 + 4, duration: 4 });
    expect(clip.status).toBe('recording');
    await new Promise((r) => setTimeout(r, 1200)); // the worker looks at least once
    expect((await getClip(stream, clip.id)).json().status).toBe('recording');
    h.clock.advance(15_000);
    await waitForStatus(stream, clip, 'ready');
    const media = (await h.get(mediaUrl(clip))).body;
    expect(chunkLines(media)).toHaveLength(2);
    expect(media).toContain('#EXT-X-ENDLIST');
  });
});

describe('memory', () => {
  it('releases chunks that left the window unless a clip holds them, and a deleted clip releases its own', async () => {
    const stream = await h.createStream({ name: 'Short window', dvr_duration: 30 });
    h.clock.set(Math.ceil(Date.now() / 1000) * 1000);
    const pushed = await h.pushLadder(stream, { from: 0, to: 5 });
    const t0 = pushed.start / 1000;
    const kept = await cut(stream, { start: t0 + 1, duration: 2 });
    const dropped = await cut(stream, { start: t0 + 3, duration: 1 });
    const all = await h.keys(`{s${stream.id}}:c:*`);
    expect(all).toHaveLength(18);
    const keptKeys = await chunkKeysOf(stream, kept);
    const droppedKeys = await chunkKeysOf(stream, dropped);
    expect(keptKeys).toHaveLength(6);
    expect(droppedKeys).toHaveLength(3);

    // A minute later the whole DVR is outside the 30 s window.
    h.clock.advance(60_000);
    await waitFor(async () => (await h.keys(`{s${stream.id}}:c:*`)).length === 9, 'the cleaner to release unheld chunks');
    expect((await h.keys(`{s${stream.id}}:c:*`)).sort()).toEqual([...keptKeys, ...droppedKeys].sort());
    expect((await h.api('GET', `/streaming/streams/${stream.id}`)).json().dvr_range).toBeNull();
    expect((await h.get(kept.hls_master)).statusCode).toBe(200);

    expect((await h.api('DELETE', `${clipsUrl(stream)}/${dropped.id}`)).statusCode).toBe(204);
    expect(await existing(droppedKeys)).toEqual([]);
    expect((await existing(keptKeys)).sort()).toEqual([...keptKeys].sort());
    for (const uri of chunkLines((await h.get(mediaUrl(kept))).body)) {
      expect((await h.get(new URL(uri, kept.hls_master).href)).statusCode).toBe(200);
    }
  });

  it('at expiration a clip leaves the list, its URLs answer 404, and what only it held is released', async () => {
    const stream = await h.createStream({ name: 'Expiring', dvr_duration: 30 });
    const realNow = Math.ceil(Date.now() / 1000);
    // Chunks from 70 s ago; Redis expires keys on real time, so the clip that
    // expires soonest (now + 4 s) ends 56 s before that.
    const pushed = await h.pushLadder(stream, { from: 0, to: 5, startAt: (realNow - 70) * 1000 });
    const t0 = pushed.start / 1000;
    // Redis expires the record on real time: 4 s from now, however long the push took on a busy machine.
    const expiresAt = Math.max(realNow, Math.ceil(Date.now() / 1000)) + 4;
    const expiring = await cut(stream, { start: t0 + 1, duration: 2, expiration: expiresAt });
    const staying = await cut(stream, { start: t0 + 3, duration: 2 });
    const expiringKeys = await chunkKeysOf(stream, expiring);
    const stayingKeys = await chunkKeysOf(stream, staying);
    const chunkUrl = new URL(chunkLines((await h.get(mediaUrl(expiring))).body)[0], expiring.hls_master).href;
    expect((await h.get(chunkUrl)).statusCode).toBe(200);

    h.clock.set(realNow * 1000);
    // The window has passed every chunk: only the clips hold theirs.
    await waitFor(async () => (await h.keys(`{s${stream.id}}:c:*`)).length === 12, 'the cleaner to release unheld chunks');
    const list = (await h.api('GET', clipsUrl(stream))).json().map((c: ClipJson) => c.id);
    expect(list.sort()).toEqual([staying.id, expiring.id].sort());

    await new Promise((r) => setTimeout(r, expiresAt * 1000 - Date.now() + 100));
    h.clock.set(Date.now());
    expect((await getClip(stream, expiring.id)).statusCode).toBe(404);
    expect((await h.api('GET', clipsUrl(stream))).json().map((c: ClipJson) => c.id)).toEqual([staying.id]);
    for (const url of [expiring.hls_master, mediaUrl(expiring), chunkUrl]) expect((await h.get(url)).statusCode, url).toBe(404);
    expect((await h.api('DELETE', `${clipsUrl(stream)}/${expiring.id}`)).statusCode).toBe(404);
    expect(await h.keys(`{s${stream.id}}:k:${expiring.id}*`)).toEqual([]);
    // The cleaner's next pass (every 200 ms here) lets go of what only the expired clip held.
    await waitFor(async () => (await existing(expiringKeys)).length === 0, 'the expired clip\'s chunks to be released', 3000, 50);
    expect((await existing(stayingKeys)).sort()).toEqual([...stayingKeys].sort());
    expect((await h.get(staying.hls_master)).statusCode).toBe(200);
  });

  it('a clip whose expiration Redis already sees past answers as created, then 404, with no error', async () => {
    const stream = await h.createStream({ name: 'Clocks apart', dvr_duration: 300 });
    const realNow = Math.floor(Date.now() / 1000);
    // The service clock runs 200 s behind Redis': an expiration it takes for
    // the future is past for Redis, which drops the record as it is written.
    const pushed = await h.pushLadder(stream, { from: 0, to: 5, startAt: (realNow - 200) * 1000 });
    const t0 = pushed.start / 1000;
    const res = await h.api('PUT', clipsUrl(stream), { start: t0 + 1, duration: 2, expiration: t0 + 3 + 60 });
    expect(res.statusCode, res.body).toBe(200);
    const clip = res.json();
    expect(clip).toMatchObject({ start: t0 + 1, duration: 2, expiration: t0 + 63, status: 'ready' });
    expect((await getClip(stream, clip.id)).statusCode).toBe(404);
    expect((await h.get(clip.hls_master)).statusCode).toBe(404);
    h.clock.set(Date.now());
  });
});
