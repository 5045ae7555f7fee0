// Clips that must not be lost to what encoders and operators do: a rung of
// the ladder that dies, a DVR window raised after the chunks arrived, a
// clip scheduled before the stream's first chunk.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { FINALIZE_GRACE_SECONDS: '20' } });
});
afterAll(async () => {
  await h?.close();
});

interface ClipJson { id: string; status: string; renditions: string[]; hls_master: string; expiration: number }
const clipsUrl = (stream: StreamView) => `/streaming/streams/${stream.id}/clip_recording`;
const chunkLines = (text: string) => text.split('\n').filter((l) => l.endsWith('.ts'));
const mediaUrl = (clip: ClipJson, rendition: string) => clip.hls_master.replace('master', rendition);

async function cut(stream: StreamView, body: Record<string, unknown>): Promise<ClipJson> {
  const res = await h.api('PUT', clipsUrl(stream), body);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function statusOf(stream: StreamView, clip: ClipJson): Promise<ClipJson> {
  return (await h.api('GET', `${clipsUrl(stream)}/${clip.id}`)).json();
}

const waitReady = (stream: StreamView, clip: ClipJson) =>
  waitFor(async () => {
    const now = await statusOf(stream, clip);
    return now.status === 'ready' && now;
  }, `clip ${clip.id} to be ready`, 8000, 100);

describe('clips that outlive trouble', () => {
  it('a rendition that stops does not keep a clip recording once the grace period has passed', async () => {
    const stream = await h.createStream({ name: 'Dying rung' });
    const pushed = await h.pushLadder(stream, { from: 0, to: 3, startAt: h.clock.alignToSecond() });
    const clip = await cut(stream, { start: pushed.start / 1000 + 2, duration: 4 });
    expect(clip.status).toBe('recording');
    // The 720p rung dies; the others go on, so the stream stays live.
    await h.pushLadder(stream, { from: 4, to: 7, renditions: [0, 1] });
    h.clock.advance(19_000);
    await h.pushLadder(stream, { from: 8, to: 9, renditions: [0, 1] });
    const ready = await waitReady(stream, clip);
    expect(ready.renditions).toEqual(['media_1_240', 'media_2_480', 'media_3_720']);
    const lengths = await Promise.all(ready.renditions.map(async (r) => chunkLines((await h.get(mediaUrl(ready, r))).body).length));
    // [2, 6) s: four chunks where the rung lived on, the two it delivered where it died.
    expect(lengths).toEqual([4, 4, 2]);
  });

  it('every chunk of a clip outlives the clip, also when the DVR window was raised after the chunks came', async () => {
    const stream = await h.createStream({ name: 'Raised window', dvr_duration: 30 });
    const pushed = await h.pushLadder(stream, { from: 0, to: 5, startAt: Date.now() - 6000 });
    expect((await h.api('PATCH', `/streaming/streams/${stream.id}`, { dvr_duration: 3600 })).statusCode).toBe(200);
    const end = Math.floor(pushed.end / 1000);
    const clip = await cut(stream, { start: end - 4, duration: 4, expiration: end + 4 * 3600 });
    expect(clip.status).toBe('ready');
    for (const rendition of clip.renditions) {
      for (const uri of chunkLines((await h.get(mediaUrl(clip, rendition))).body)) {
        const id = /^rec_[a-z0-9]+_([0-9a-z]+)\.ts$/.exec(uri)![1];
        const ttl = await h.ctx.redis.pttl(`${h.prefix}:{s${stream.id}}:c:${id}`);
        expect(ttl).toBeGreaterThanOrEqual(clip.expiration * 1000 - Date.now());
      }
    }
  });

  it('a clip scheduled before the stream sends anything takes the renditions that arrive', async () => {
    const stream = await h.createStream({ name: 'Not yet on air' });
    const startAt = h.clock.alignToSecond();
    const clip = await cut(stream, { start: startAt / 1000 + 2, duration: 3 });
    expect(clip).toMatchObject({ status: 'recording', renditions: [] });
    await h.pushLadder(stream, { from: 0, to: 6, startAt });
    const ready = await waitReady(stream, clip);
    expect(ready.renditions).toEqual(['media_1_240', 'media_2_480', 'media_3_720']);
    const media = (await h.get(mediaUrl(ready, 'media_2_480'))).body;
    expect(media).toContain('#EXT-X-ENDLIST');
    expect(chunkLines(media)).toHaveLength(3);
  });
});
