// Push ingest and the DVR (SPEC 4): what an encoder sends, what the stream
// learns from it, and the live playlist of the DVR window.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import {
  fixtureChunkBytes, ladder, livePlaylist, startHarness, waitFor, type Harness,
} from '../helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const getStream = async (id: number): Promise<StreamView> => (await h.api('GET', `/streaming/streams/${id}`)).json();
const lines = (text: string) => text.split('\n');
const chunkLines = (text: string) => lines(text).filter((l) => l.endsWith('.ts'));
const tagValue = (text: string, tag: string) => lines(text).find((l) => l.startsWith(`${tag}:`))?.slice(tag.length + 1);
const liveMedia = (stream: StreamView, rendition: string) => h.get(stream.hls_url.replace('master', rendition));

/** The fixture chunk (rendition, index) that each chunk of a playlist served under `base` is. */
async function identify(base: string, playlist: string): Promise<string[]> {
  const names: string[] = [];
  for (const uri of chunkLines(playlist)) {
    const res = await h.get(new URL(uri, base).href);
    expect(res.statusCode).toBe(200);
    const match = ladder().flatMap((chunks, v) => chunks.map((_, i) => [v, i] as const))
      .find(([v, i]) => fixtureChunkBytes(v, i).equals(res.rawPayload));
    names.push(match ? `${match[0]}/${match[1]}` : '?');
  }
  return names;
}

describe('push URL', () => {
  it('404 for an unknown stream key, and nothing is stored', async () => {
    await h.createStream();
    const before = await h.snapshot();
    for (const key of ['A'.repeat(24), 'short', 'x'.repeat(65)]) {
      for (const file of ['stream_0.m3u8', 'stream_0_00000.ts']) {
        const res = await h.app.inject({
          method: 'PUT', url: `/ingest/${key}/${file}`, headers: { 'transfer-encoding': 'chunked' }, payload: fixtureChunkBytes(0, 0),
        });
        expect(res.statusCode, `${key}/${file}`).toBe(404);
      }
    }
    expect(await h.snapshot()).toEqual(before);
  });

  it('400 for a pushed playlist that is not a playlist, and nothing enters the DVR', async () => {
    const stream = await h.createStream();
    const before = await h.snapshot();
    const res = await h.push(stream, 'stream_0.m3u8', 'this is not HLS');
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/#EXTM3U/);
    const traversal = await h.push(stream, 'stream_0.m3u8', '#EXTM3U\n#EXTINF:1,\n..\n');
    expect(traversal.statusCode).toBe(400);
    expect(await h.snapshot()).toEqual(before);
  });

  it('400 for a file name that is not plain, 415 for a file that is neither playlist nor chunk', async () => {
    const stream = await h.createStream();
    expect((await h.push(stream, 'a%20b.ts', 'x')).statusCode).toBe(400);
    expect((await h.push(stream, 'notes.txt', 'x')).statusCode).toBe(415);
  });

  it('accepts POST like PUT, and answers DELETE with 2xx without deleting anything', async () => {
    const stream = await h.createStream();
    const chunks = ladder()[0];
    h.clock.advance(1000);
    expect((await h.push(stream, chunks[0].file, fixtureChunkBytes(0, 0), 'POST')).statusCode).toBe(204);
    expect((await h.push(stream, 'stream_0.m3u8', livePlaylist(0, 0), 'POST')).statusCode).toBe(204);
    const before = await h.snapshot();
    const del = await h.push(stream, chunks[0].file, '', 'DELETE');
    expect(del.statusCode).toBeGreaterThanOrEqual(200);
    expect(del.statusCode).toBeLessThan(300);
    expect(await h.snapshot()).toEqual(before);
    // Named media_1_0 until the probe has learnt its height.
    const [rendition] = (await getStream(stream.id)).renditions;
    const media = await liveMedia(stream, rendition.name);
    expect(await identify(stream.hls_url, media.body)).toEqual(['0/0']);
  });
});

describe('committing chunks', () => {
  it('a chunk enters the DVR only once both it and a playlist listing it are here, in either order', async () => {
    const stream = await h.createStream();
    h.clock.alignToSecond();
    h.clock.advance(1000);
    // Rendition 0: the playlist finishes arriving before its chunk.
    await h.push(stream, 'stream_0.m3u8', livePlaylist(0, 0));
    expect((await getStream(stream.id)).dvr_range).toBeNull();
    await h.push(stream, ladder()[0][0].file, fixtureChunkBytes(0, 0));
    // Rendition 1: the chunk first, nothing listed yet.
    await h.push(stream, ladder()[1][0].file, fixtureChunkBytes(1, 0));
    const view = await getStream(stream.id);
    expect(view.renditions).toHaveLength(1);
    expect(view.dvr_range).toEqual({ start: h.clock.now() / 1000 - 1, end: h.clock.now() / 1000 });
    await h.push(stream, 'stream_1.m3u8', livePlaylist(1, 0));
    expect((await getStream(stream.id)).renditions).toHaveLength(2);
  });

  it('takes overlapping uploads of all renditions, and places chunks by the playlist that lists them, not by their names', async () => {
    const stream = await h.createStream();
    const start = h.clock.alignToSecond();
    for (let i = 0; i < 3; i++) {
      h.clock.advance(1000);
      // Misleading names: rendition v's chunk i is uploaded as "stream_{2-v}_{i}.ts".
      const named = (v: number) => `stream_${2 - v}_${i}.ts`;
      const playlist = (v: number) => livePlaylist(v, i).replace(/stream_\d_0000(\d)\.ts/g, (_, n) => `stream_${2 - v}_${n}.ts`);
      await Promise.all([0, 1, 2].flatMap((v) => [
        h.push(stream, `stream_${v}.m3u8`, playlist(v)),
        h.push(stream, named(v), fixtureChunkBytes(v, i)),
      ]));
    }
    // Rendition names carry the probed height (media_1_0 becomes media_1_240):
    // read them once the probes, slow on a loaded machine, have told it.
    const view = await waitFor(async () => {
      const now = await getStream(stream.id);
      return now.renditions.length === 3 && now.renditions.every((r) => r.height) && now;
    }, 'the probe of every rendition', 60_000, 100);
    expect(view.dvr_range).toEqual({ start: start / 1000, end: start / 1000 + 3 });
    const playlists = await Promise.all([0, 1, 2].map(async (v) => {
      const name = view.renditions.find((r) => r.name.startsWith(`media_${v + 1}_`))!.name;
      const media = await liveMedia(stream, name);
      expect(media.statusCode, name).toBe(200);
      return media.body;
    }));
    expect(await identify(stream.hls_url, playlists[0])).toEqual(['0/0', '0/1', '0/2']);
    expect(await identify(stream.hls_url, playlists[2])).toEqual(['2/0', '2/1', '2/2']);
  });

  it('413 for a chunk over the size cap, whether its size is announced or not; nothing is stored', async () => {
    const small = await startHarness({ env: { MAX_CHUNK_BYTES: '4096' } });
    try {
      const stream = await small.createStream();
      const before = await small.snapshot();
      const chunk = fixtureChunkBytes(0, 0);
      expect(chunk.length).toBeGreaterThan(4096);
      const streamed = await small.push(stream, 'stream_0_00000.ts', chunk);
      expect(streamed.statusCode).toBe(413);
      const announced = await small.app.inject({ method: 'PUT', url: `${new URL(stream.push_url_hls).pathname}x.ts`, payload: chunk });
      expect(announced.statusCode).toBe(413);
      expect(await small.snapshot()).toEqual(before);
      // A playlist under the cap still goes through.
      expect((await small.push(stream, 'stream_0.m3u8', livePlaylist(0, 0))).statusCode).toBe(204);
    } finally {
      await small.close();
    }
  });
});

describe('what the stream learns', () => {
  it('names renditions media_{n}_{height} by bandwidth, with codecs, resolution and frame rate from the probe', async () => {
    const stream = await h.createStream();
    // No master playlist: everything but the bandwidth comes from probing chunks.
    await h.pushLadder(stream, { from: 0, to: 2, master: false });
    const view = await waitFor(async () => {
      const s = await getStream(stream.id);
      return s.renditions.length === 3 && s.renditions.every((r) => r.codecs && r.frameRate && r.height) && s;
    }, 'the probe of every rendition');
    expect(view.renditions.map(({ bandwidth: _, ...r }) => r)).toEqual([
      { name: 'media_1_240', width: 426, height: 240, frameRate: 25, codecs: 'avc1.42c015,mp4a.40.2', keyframeAligned: true },
      { name: 'media_2_480', width: 854, height: 480, frameRate: 25, codecs: 'avc1.42c01e,mp4a.40.2', keyframeAligned: true },
      { name: 'media_3_720', width: 1280, height: 720, frameRate: 25, codecs: 'avc1.42c01f,mp4a.40.2', keyframeAligned: true },
    ]);
    const [low, mid, high] = view.renditions.map((r) => r.bandwidth);
    expect(low).toBeGreaterThan(100_000);
    expect(mid).toBeGreaterThan(low);
    expect(high).toBeGreaterThan(mid);
  });

  it('is live while chunks arrive, and not after three target durations without one', async () => {
    const stream = await h.createStream();
    expect((await getStream(stream.id)).live).toBe(false);
    await h.pushLadder(stream, { from: 0, to: 1 });
    expect((await getStream(stream.id)).live).toBe(true);
    h.clock.advance(3000); // target duration 1 s
    expect((await getStream(stream.id)).live).toBe(true);
    h.clock.advance(1);
    expect((await getStream(stream.id)).live).toBe(false);
    await h.pushLadder(stream, { from: 2, to: 2 });
    expect((await getStream(stream.id)).live).toBe(true);
  });

  it('shows the DVR range in unix seconds', async () => {
    const stream = await h.createStream();
    const pushed = await h.pushLadder(stream, { from: 0, to: 5, startAt: h.clock.now() + 500 });
    expect((await getStream(stream.id)).dvr_range).toEqual({ start: Math.floor(pushed.start / 1000), end: Math.ceil(pushed.end / 1000) });
  });
});

describe('the live playlist (hls_url)', () => {
  it('serves the DVR window as master + media playlists, sliding with dvr_duration', async () => {
    const stream = await h.createStream({ name: 'Live', dvr_duration: 30 });
    const pushed = await h.pushLadder(stream, { from: 0, to: 11, startAt: h.clock.alignToSecond() });
    const master = await h.get(stream.hls_url);
    expect(master.statusCode).toBe(200);
    expect(master.headers['content-type']).toBe('application/vnd.apple.mpegurl');
    expect(lines(master.body).filter((l) => l.endsWith('.m3u8'))).toEqual(['media_1_240.m3u8', 'media_2_480.m3u8', 'media_3_720.m3u8']);
    expect(master.body).toMatch(/RESOLUTION=426x240/);

    const first = (await liveMedia(stream, 'media_2_480')).body;
    expect(first).not.toContain('#EXT-X-ENDLIST');
    expect(first).not.toContain('#EXT-X-PLAYLIST-TYPE');
    expect(chunkLines(first)).toHaveLength(12);
    expect(tagValue(first, '#EXT-X-PROGRAM-DATE-TIME')).toBe(new Date(pushed.start).toISOString());
    expect(await identify(stream.hls_url, first)).toEqual(ladder()[1].map((_, i) => `1/${i}`));
    const firstSeq = Number(tagValue(first, '#EXT-X-MEDIA-SEQUENCE'));

    // 20 s later the window (30 s) starts at chunk 2.
    h.clock.advance(20_000);
    const slid = (await liveMedia(stream, 'media_2_480')).body;
    expect(chunkLines(slid)).toEqual(chunkLines(first).slice(2));
    expect(Number(tagValue(slid, '#EXT-X-MEDIA-SEQUENCE'))).toBe(firstSeq + 2);
    expect(tagValue(slid, '#EXT-X-PROGRAM-DATE-TIME')).toBe(new Date(pushed.start + 2000).toISOString());
    expect((await getStream(stream.id)).dvr_range).toEqual({ start: pushed.start / 1000 + 2, end: pushed.end / 1000 });
    // Chunks that left the window are gone from the live URLs too.
    const outside = new URL(chunkLines(first)[0], stream.hls_url).href;
    const inside = new URL(chunkLines(slid)[0], stream.hls_url).href;
    expect((await h.get(inside)).statusCode).toBe(200);
    h.clock.advance(1000);
    await h.pushLadder(stream, { from: 0, to: 0 }); // new chunks make the DVR trim what left the window
    expect((await h.get(outside)).statusCode).toBe(404);
  });

  it('marks an encoder restart as a discontinuity, live and in a clip spanning it', async () => {
    const stream = await h.createStream({ name: 'Restarted' });
    const run1 = await h.pushLadder(stream, { from: 0, to: 5, startAt: h.clock.alignToSecond() });
    const run2 = await h.pushLadder(stream, { from: 0, to: 3 }); // media sequence back to 0
    expect(run2.start).toBe(run1.end);
    for (const rendition of ['media_1_240', 'media_3_720']) {
      const live = (await liveMedia(stream, rendition)).body;
      expect(chunkLines(live)).toHaveLength(10);
      const ls = lines(live);
      const disc = ls.indexOf('#EXT-X-DISCONTINUITY');
      expect(disc).toBeGreaterThan(0);
      expect(ls.filter((l) => l === '#EXT-X-DISCONTINUITY')).toHaveLength(1);
      // The break sits between the 6th and 7th chunk, and dates what follows.
      expect(chunkLines(ls.slice(0, disc).join('\n'))).toHaveLength(6);
      expect(ls[disc + 1]).toBe(`#EXT-X-PROGRAM-DATE-TIME:${new Date(run2.start).toISOString()}`);
      expect(tagValue(live, '#EXT-X-DISCONTINUITY-SEQUENCE')).toBe('0');
    }

    const cut = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: run1.end / 1000 - 2, duration: 4 });
    expect(cut.statusCode).toBe(200);
    const clip = cut.json();
    expect(clip.status).toBe('ready');
    for (const rendition of clip.renditions) {
      const media = (await h.get(clip.hls_master.replace('master', rendition))).body;
      const ls = lines(media);
      expect(chunkLines(media)).toHaveLength(4);
      expect(ls.filter((l) => l === '#EXT-X-DISCONTINUITY')).toHaveLength(1);
      expect(chunkLines(ls.slice(0, ls.indexOf('#EXT-X-DISCONTINUITY')).join('\n'))).toHaveLength(2);
      expect(ls.filter((l) => l.startsWith('#EXT-X-PROGRAM-DATE-TIME'))).toEqual([
        `#EXT-X-PROGRAM-DATE-TIME:${new Date(run1.end - 2000).toISOString()}`,
        `#EXT-X-PROGRAM-DATE-TIME:${new Date(run2.start).toISOString()}`,
      ]);
    }
    const low = (await h.get(clip.hls_master.replace('master', 'media_1_240'))).body;
    expect(await identify(clip.hls_master, low)).toEqual(['0/4', '0/5', '0/0', '0/1']);
  });
});
