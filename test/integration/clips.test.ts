// Instant clips (SPEC 5): creating from the DVR, the cutting rule, the
// validation of a request, listing, reading and deleting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { BASE_URL, fixtureChunkBytes, ladder, startHarness, type Harness, type PushResult } from '../helpers/harness.js';

let h: Harness;
/** Chunks on whole seconds: T0 + i … T0 + i + 1. */
let onGrid: StreamView;
let grid: PushResult;
/** Chunks half a second off the grid: T1 + 0.5 + i … */
let offGrid: StreamView;
let off: PushResult;

beforeAll(async () => {
  h = await startHarness();
  onGrid = await h.createStream({ name: 'On the grid', dvr_duration: 300 });
  grid = await h.pushLadder(onGrid, { from: 0, to: 11, startAt: h.clock.alignToSecond() });
  offGrid = await h.createStream({ name: 'Off the grid', dvr_duration: 300 });
  off = await h.pushLadder(offGrid, { from: 0, to: 11, startAt: h.clock.now() + 500 });
});
afterAll(async () => {
  await h?.close();
});

const T0 = () => grid.start / 1000;
const clipsUrl = (stream: StreamView) => `/streaming/streams/${stream.id}/clip_recording`;
const cut = (stream: StreamView, body: unknown, method = 'PUT') => h.api(method, clipsUrl(stream), body);
const chunkLines = (text: string) => text.split('\n').filter((l) => l.endsWith('.ts'));

interface ClipJson { id: string; renditions: string[]; hls_master: string; [field: string]: unknown }

/** For each rendition of a clip: which fixture chunks (by index) it plays, checked byte for byte. */
async function clipChunks(clip: ClipJson): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [v, rendition] of clip.renditions.entries()) {
    const media = await h.get(clip.hls_master.replace('master', rendition));
    expect(media.statusCode).toBe(200);
    out[rendition] = [];
    for (const uri of chunkLines(media.body)) {
      const bytes = (await h.get(new URL(uri, clip.hls_master).href)).rawPayload;
      out[rendition].push(ladder()[v].findIndex((_, i) => fixtureChunkBytes(v, i).equals(bytes)));
    }
  }
  return out;
}

const same = (indexes: number[]) => ({ media_1_240: indexes, media_2_480: indexes, media_3_720: indexes });

describe('creating a clip from the DVR', () => {
  it('200 with every field of a clip, ready at once', async () => {
    const res = await cut(onGrid, { start: T0() + 2, duration: 3 });
    expect(res.statusCode).toBe(200);
    const clip = res.json();
    expect(Object.keys(clip).sort()).toEqual([
      'accuracy', 'created_at', 'cut_end', 'cut_start', 'duration', 'expiration', 'hls_master', 'id', 'mp4_master',
      'precise', 'precise_error', 'real_duration', 'renditions', 'start', 'status', 'stream_id', 'video_id', 'vod_required',
    ]);
    expect(clip.id).toMatch(/^[a-z0-9]{12,}$/);
    const owner = `${h.company.client_id}_${onGrid.id}`;
    expect(clip).toEqual({
      id: clip.id,
      stream_id: onGrid.id,
      duration: 3,
      start: T0() + 2,
      expiration: T0() + 2 + 3 + 3600,
      created_at: new Date(h.clock.now()).toISOString(),
      vod_required: false,
      video_id: null,
      renditions: ['media_1_240', 'media_2_480', 'media_3_720'],
      hls_master: `${BASE_URL}/rec/${owner}/rec_${clip.id}_master.m3u8`,
      mp4_master: `${BASE_URL}/rec/${owner}/rec_${clip.id}_master.mp4`,
      status: 'ready',
      precise: false,
      accuracy: 'keyframe',
      cut_start: null,
      cut_end: null,
      real_duration: null,
      precise_error: null,
    });
    expect(await clipChunks(clip)).toEqual(same([2, 3, 4]));
  });

  it('gives every clip its own random id', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await cut(onGrid, { start: T0(), duration: 1 })).json().id);
    expect(ids.size).toBe(5);
  });

  it('assigns a video id at creation when vod_required', async () => {
    // Its own harness: the VOD promotions these clips start write in the background.
    const vod = await startHarness();
    try {
      const stream = await vod.createStream();
      const pushed = await vod.pushLadder(stream, { from: 0, to: 1 });
      const body = { start: Math.ceil(pushed.start / 1000), duration: 1, vod_required: true };
      const a = (await vod.api('PUT', clipsUrl(stream), body)).json();
      const b = (await vod.api('PUT', clipsUrl(stream), body)).json();
      expect(a.vod_required).toBe(true);
      expect(Number.isInteger(a.video_id)).toBe(true);
      expect(Number.isInteger(b.video_id)).toBe(true);
      expect(b.video_id).not.toBe(a.video_id);
    } finally {
      await vod.close();
    }
  });

  it('takes POST like PUT, and an explicit expiration', async () => {
    // Redis expires the record on real time: an expiration counted from the
    // fake clock's start may already be past when the file runs long.
    const expiration = Math.max(T0() + 2 + 60, Math.ceil(Date.now() / 1000) + 600);
    const res = await cut(onGrid, { start: T0() + 1, duration: 1, expiration }, 'POST');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ start: T0() + 1, duration: 1, expiration, status: 'ready' });
    expect((await h.api('GET', `${clipsUrl(onGrid)}/${res.json().id}`)).json()).toMatchObject({ expiration });
  });
});

describe('the cutting rule', () => {
  it('a start on a chunk boundary adds no chunk on the left, an end on one none on the right', async () => {
    const clip = (await cut(onGrid, { start: T0() + 3, duration: 2 })).json();
    expect(await clipChunks(clip)).toEqual(same([3, 4]));
    const media = (await h.get(clip.hls_master.replace('master', 'media_2_480'))).body;
    expect(media).toContain(`#EXT-X-PROGRAM-DATE-TIME:${new Date((T0() + 3) * 1000).toISOString()}`);
  });

  it('a start or an end inside a chunk takes that whole chunk: the edges snap outward', async () => {
    // Chunk i covers [T1 + 0.5 + i, T1 + 1.5 + i): [T1 + 3, T1 + 5) overlaps chunks 2, 3 and 4.
    const t1 = (off.start - 500) / 1000;
    const clip = (await cut(offGrid, { start: t1 + 3, duration: 2 })).json();
    expect(await clipChunks(clip)).toEqual(same([2, 3, 4]));
    const media = (await h.get(clip.hls_master.replace('master', 'media_1_240'))).body;
    // It starts on the keyframe that opens chunk 2, before the asked start.
    expect(media).toContain(`#EXT-X-PROGRAM-DATE-TIME:${new Date(off.start + 2000).toISOString()}`);
    // Less than two chunks longer than asked.
    const total = media.split('\n').filter((l) => l.startsWith('#EXTINF:')).reduce((s, l) => s + Number(l.slice(8, -1)), 0);
    expect(total).toBeGreaterThanOrEqual(2);
    expect(total).toBeLessThan(2 + 2);
  });

  it('a one-second clip inside one chunk holds that chunk, or the two it straddles', async () => {
    expect(await clipChunks((await cut(onGrid, { start: T0() + 7, duration: 1 })).json())).toEqual(same([7]));
    const t1 = (off.start - 500) / 1000;
    expect(await clipChunks((await cut(offGrid, { start: t1 + 7, duration: 1 })).json())).toEqual(same([6, 7]));
  });

  it('covers the same span in every rendition', async () => {
    const clip = (await cut(offGrid, { start: (off.start - 500) / 1000 + 5, duration: 4 })).json();
    const dates = new Set<string>();
    const counts = new Set<number>();
    for (const rendition of clip.renditions) {
      const media = (await h.get(clip.hls_master.replace('master', rendition))).body;
      dates.add(media.split('\n').find((l: string) => l.startsWith('#EXT-X-PROGRAM-DATE-TIME'))!);
      counts.add(chunkLines(media).length);
    }
    expect(dates.size).toBe(1);
    expect([...counts]).toEqual([5]);
  });

  it('is shorter when the DVR holds less than asked', async () => {
    const clip = (await cut(onGrid, { start: T0() - 3, duration: 6 })).json();
    expect(clip).toMatchObject({ status: 'ready', start: T0() - 3, duration: 6 });
    expect(await clipChunks(clip)).toEqual(same([0, 1, 2]));
  });
});

describe('a bad clip request', () => {
  const refuse = async (stream: StreamView | { id: number }, body: unknown, status: number, message: RegExp) => {
    const before = await h.snapshot();
    const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, body);
    expect(res.statusCode, JSON.stringify(body)).toBe(status);
    expect(res.json()).toMatchObject({ statusCode: status, message: expect.stringMatching(message) });
    // Refused requests write nothing (not even a video id).
    expect(await h.snapshot()).toEqual(before);
  };

  it.each([
    [{}, /duration/],
    [{ duration: 0 }, /duration/],
    [{ duration: -5 }, /duration/],
    [{ duration: 1.5 }, /duration/],
    [{ duration: '30' }, /duration/],
    [{ duration: null }, /duration/],
    [{ duration: 301 }, /duration 301 .*dvr_duration 300/],
  ])('400 naming duration for %j', async (body, message) => {
    await refuse(onGrid, { start: T0(), ...body }, 400, message);
  });

  it('400 naming expiration outside start + duration + 60 … + 4 h, or already past', async () => {
    const start = T0() + 1;
    await refuse(onGrid, { start, duration: 2, expiration: start + 2 + 59 }, 400, /^expiration must lie between/);
    await refuse(onGrid, { start, duration: 2, expiration: start + 2 + 14401 }, 400, /^expiration must lie between/);
    await refuse(onGrid, { start, duration: 2, expiration: 'soon' }, 400, /expiration/);
    // An hour and more back, the default expiration (start + duration + 3600) is past.
    await refuse(onGrid, { start: Math.floor(h.clock.now() / 1000) - 3700, duration: 2 }, 400, /^expiration .*already past/);
  });

  it('400 naming start for a start further ahead than dvr_duration, or not a unix second', async () => {
    const now = Math.floor(h.clock.now() / 1000);
    await refuse(onGrid, { start: now + 301, duration: 2 }, 400, /^start is 301 s ahead/);
    await refuse(onGrid, { start: -1, duration: 2 }, 400, /start/);
    await refuse(onGrid, { start: T0() + 0.5, duration: 2 }, 400, /start/);
  });

  it('400 for unknown fields, a body that is not JSON, and a bad stream id', async () => {
    await refuse(onGrid, { duration: 2, colour: 'red' }, 400, /additional|colour/);
    await refuse(onGrid, { duration: 2, vod_required: 'yes' }, 400, /vod_required/);
    const raw = await h.app.inject({
      method: 'PUT', url: clipsUrl(onGrid), payload: 'duration=5',
      headers: { authorization: `apikey ${h.company.api_key}`, 'content-type': 'application/json' },
    });
    expect(raw.statusCode).toBe(400);
    expect((await h.api('PUT', '/streaming/streams/abc/clip_recording', { duration: 2 })).statusCode).toBe(400);
  });

  it('404 for an unknown stream', async () => {
    await refuse({ id: 424242 }, { duration: 2 }, 404, /stream 424242 not found/);
  });

  it('422 when the DVR is disabled', async () => {
    const patched = await h.api('PATCH', `/streaming/streams/${onGrid.id}`, { dvr_enabled: false });
    expect(patched.statusCode).toBe(200);
    try {
      await refuse(onGrid, { start: T0() + 1, duration: 2, vod_required: true }, 422, /DVR is disabled/);
    } finally {
      await h.api('PATCH', `/streaming/streams/${onGrid.id}`, { dvr_enabled: true });
    }
  });

  it('422 when the whole range lies before the oldest chunk the DVR holds', async () => {
    await refuse(onGrid, { start: T0() - 100, duration: 100, vod_required: true }, 422, /before the oldest chunk/);
    await refuse(onGrid, { start: T0() - 50, duration: 10 }, 422, /before the oldest chunk/);
  });

  it('422 for a stream that never delivered a chunk', async () => {
    const empty = await h.createStream({ name: 'Silent' });
    await refuse(empty, { start: T0(), duration: 2, vod_required: true }, 422, /not delivered any chunk/);
  });
});

describe('listing, reading and deleting clips', () => {
  let stream: StreamView;
  const made: ClipJson[] = [];

  beforeAll(async () => {
    stream = await h.createStream({ name: 'Clip list', dvr_duration: 300 });
    const pushed = await h.pushLadder(stream, { from: 0, to: 5 });
    for (let i = 0; i < 3; i++) {
      made.push((await cut(stream, { start: Math.ceil(pushed.start / 1000) + i, duration: 1 })).json());
      h.clock.advance(1000); // distinct creation times
    }
  });

  it('lists the stream clips, newest first', async () => {
    const res = await h.api('GET', clipsUrl(stream));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([...made].reverse());
    expect((await h.api('GET', clipsUrl(onGrid))).json().map((c: ClipJson) => c.id)).not.toContain(made[0].id);
  });

  it('gets one clip; 404 for an unknown one, 400 for a malformed id', async () => {
    const res = await h.api('GET', `${clipsUrl(stream)}/${made[1].id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(made[1]);
    expect((await h.api('GET', `${clipsUrl(stream)}/${'z'.repeat(16)}`)).statusCode).toBe(404);
    // A clip of another stream of the same company is not under this one.
    const elsewhere = (await cut(onGrid, { start: T0(), duration: 1 })).json();
    expect((await h.api('GET', `${clipsUrl(stream)}/${elsewhere.id}`)).statusCode).toBe(404);
    for (const bad of ['SHOUTING12345678', 'short', '..%2F..%2Fx', 'a'.repeat(40)]) {
      expect((await h.api('GET', `${clipsUrl(stream)}/${bad}`)).statusCode, bad).toBe(400);
    }
  });

  it('DELETE expires a clip now: 204, then 404 everywhere, its URLs included', async () => {
    const clip = made[0];
    const media = (await h.get(clip.hls_master.replace('master', 'media_1_240'))).body;
    const chunkUrl = new URL(chunkLines(media)[0], clip.hls_master).href;
    expect((await h.get(chunkUrl)).statusCode).toBe(200);

    expect((await h.api('DELETE', `${clipsUrl(stream)}/${clip.id}`)).statusCode).toBe(204);
    expect((await h.api('GET', `${clipsUrl(stream)}/${clip.id}`)).statusCode).toBe(404);
    expect((await h.api('DELETE', `${clipsUrl(stream)}/${clip.id}`)).statusCode).toBe(404);
    expect((await h.api('GET', clipsUrl(stream))).json().map((c: ClipJson) => c.id)).toEqual([made[2].id, made[1].id]);
    for (const url of [clip.hls_master, clip.hls_master.replace('master', 'media_1_240'), chunkUrl]) {
      expect((await h.get(url)).statusCode, url).toBe(404);
    }
    expect(await h.keys(`{s${stream.id}}:k:${clip.id}*`)).toEqual([]);
    // The other clips are untouched, though they share the stream and its DVR.
    expect((await h.get(made[1].hls_master)).statusCode).toBe(200);
  });
});
