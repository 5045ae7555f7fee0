// A clip's public URLs and what a stream may hold: a clip id opens that
// clip's chunks only (SPEC 6: the clip id is the secret of the clip, not of
// its stream); MAX_CLIPS_PER_STREAM bounds the clips of a stream; a clip
// scheduled before its stream's first chunk gets every rendition, even when
// a player asks for it while the first rendition is still alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { fixtureChunkBytes, ladder, livePlaylist, startHarness, waitFor, type Harness } from '../helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { MAX_CLIPS_PER_STREAM: '3', FINALIZE_GRACE_SECONDS: '20' } });
});
afterAll(async () => {
  await h?.close();
});

interface ClipJson { id: string; status: string; renditions: string[]; hls_master: string }
const clipsUrl = (stream: StreamView) => `/streaming/streams/${stream.id}/clip_recording`;
const chunkLines = (text: string) => text.split('\n').filter((l) => l.endsWith('.ts'));
const mediaUrl = (clip: ClipJson, rendition = 'media_1_240') => clip.hls_master.replace('master', rendition);

async function cut(stream: StreamView, body: Record<string, unknown>): Promise<ClipJson> {
  const res = await h.api('PUT', clipsUrl(stream), body);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** The chunk ids a clip's media playlist lists. */
async function chunkIds(clip: ClipJson, rendition = 'media_1_240'): Promise<string[]> {
  return chunkLines((await h.get(mediaUrl(clip, rendition))).body).map((uri) => /^rec_[a-z0-9]+_([0-9a-z]+)\.ts$/.exec(uri)![1]);
}

const chunkUrl = (clip: ClipJson, chunkId: string) => clip.hls_master.replace('master.m3u8', `${chunkId}.ts`);

describe('a clip chunk URL', () => {
  it('serves the chunks of that clip, in each of its renditions, and no other chunk of the stream', async () => {
    const stream = await h.createStream({ name: 'Bound chunks' });
    const pushed = await h.pushLadder(stream, { from: 0, to: 7, startAt: h.clock.alignToSecond() });
    const t0 = pushed.start / 1000;
    const early = await cut(stream, { start: t0 + 1, duration: 2 });
    const late = await cut(stream, { start: t0 + 5, duration: 2 });
    for (const rendition of early.renditions) {
      const own = await chunkIds(early, rendition);
      expect(own).toHaveLength(2);
      for (const id of own) expect((await h.get(chunkUrl(early, id))).statusCode).toBe(200);
      // The other clip's chunks, through this clip's id: refused.
      for (const id of await chunkIds(late, rendition)) {
        expect((await h.get(chunkUrl(early, id))).statusCode).toBe(404);
        expect((await h.get(chunkUrl(late, id))).statusCode).toBe(200);
      }
    }
    // A chunk in no clip at all (the DVR's last one) is not served through a clip id either.
    const live = (await h.api('GET', `/streaming/streams/${stream.id}`)).json().hls_url.replace('master', 'media_1_240');
    const last = chunkLines((await h.get(live)).body).at(-1)!.replace('.ts', '');
    expect((await h.get(chunkUrl(early, last))).statusCode).toBe(404);
  });
});

describe('clips per stream', () => {
  it('answers 422 naming MAX_CLIPS_PER_STREAM past the cap, and takes clips again once one is deleted', async () => {
    const stream = await h.createStream({ name: 'Capped' });
    const pushed = await h.pushLadder(stream, { from: 0, to: 3, startAt: h.clock.alignToSecond() });
    const t0 = pushed.start / 1000;
    const made = [await cut(stream, { start: t0, duration: 1 }), await cut(stream, { start: t0 + 1, duration: 1 }), await cut(stream, { start: t0 + 2, duration: 1 })];
    const refused = await h.api('PUT', clipsUrl(stream), { start: t0, duration: 2 });
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ statusCode: 422, message: expect.stringMatching(/3 unexpired clips \(MAX_CLIPS_PER_STREAM\)/) });
    expect((await h.api('GET', clipsUrl(stream))).json()).toHaveLength(3);
    expect((await h.api('DELETE', `${clipsUrl(stream)}/${made[0].id}`)).statusCode).toBe(204);
    await cut(stream, { start: t0, duration: 2 });
  });
});

describe('a clip scheduled before its stream\'s first chunk', () => {
  it('keeps every rendition when a player asks for it while only the first rendition has a chunk', async () => {
    const stream = await h.createStream({ name: 'First chunk race' });
    const startAt = h.clock.alignToSecond();
    const clip = await cut(stream, { start: startAt / 1000 + 2, duration: 3 });
    expect(clip.renditions).toEqual([]);
    // The first rendition's first chunk lands, alone (no master playlist yet)...
    h.clock.set(startAt + ladder()[0][0].durationMs);
    for (const [file, body] of [[ladder()[0][0].file, fixtureChunkBytes(0, 0)], ['stream_0.m3u8', livePlaylist(0, 0)]] as const) {
      expect((await h.push(stream, file, body)).statusCode).toBeLessThan(300);
    }
    // ...and a player asks for the clip right then.
    const master = await h.get(clip.hls_master);
    expect(master.statusCode).toBe(200);
    expect((await h.api('GET', `${clipsUrl(stream)}/${clip.id}`)).json().renditions.length).toBeLessThanOrEqual(1);
    // The other renditions follow.
    for (const v of [1, 2]) {
      expect((await h.push(stream, ladder()[v][0].file, fixtureChunkBytes(v, 0))).statusCode).toBeLessThan(300);
      expect((await h.push(stream, `stream_${v}.m3u8`, livePlaylist(v, 0))).statusCode).toBeLessThan(300);
    }
    await h.pushLadder(stream, { from: 1, to: 6 });
    const ready = await waitFor(async () => {
      const now = (await h.api('GET', `${clipsUrl(stream)}/${clip.id}`)).json() as ClipJson;
      return now.status === 'ready' && now;
    }, 'the clip to be ready', 10_000, 100);
    expect(ready.renditions).toEqual(['media_1_240', 'media_2_480', 'media_3_720']);
    for (const rendition of ready.renditions) expect(await chunkIds(ready, rendition)).toHaveLength(3);
    const text = (await h.get(ready.hls_master)).body;
    for (const rendition of ready.renditions) expect(text).toContain(`rec_${clip.id}_${rendition}.m3u8`);
  });
});
