// The ingest timeline under messy input (SPEC 4.4): uploads that finish out
// of order, playlists sent again, encoder restarts, epoch_us sequence numbers,
// lying TARGETDURATIONs and huge listings, on chunks of uneven lengths.
// Timeouts are generous: the machine running the tests may be shared.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChunkRefs, type ChunkRef } from '../../src/dvr/chunk-ref.js';
import { advanceTimeline } from '../../src/dvr/ingest.js';
import type { StreamView } from '../../src/dvr/streams.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import type { LadderChunk } from '../helpers/hls-ladder.js';
import { pushInOrder, put, unevenLadder, unevenPlaylist } from '../helpers/uneven.js';

const run = promisify(execFile);
let h: Harness;
let L: LadderChunk[][];

beforeAll(async () => {
  h = await startHarness();
  L = await unevenLadder();
}, 120_000);
afterAll(async () => {
  await h?.close();
});

const lines = (text: string) => text.split('\n');
const chunkLines = (text: string) => lines(text).filter((l) => l.endsWith('.ts'));
const tagValue = (text: string, tag: string) => lines(text).find((l) => l.startsWith(`${tag}:`))?.slice(tag.length + 1);
const count = (text: string, line: string) => lines(text).filter((l) => l === line).length;
/** Cumulative start (ms from the first chunk) of chunks 0..n of the uneven ladder. */
const offset = (i: number) => L[0].slice(0, i).reduce((t, c) => t + c.durationMs, 0);

/** The live media playlists of both renditions, once the probe has named them: [u_0 (180p), u_1 (90p)]. */
async function livePlaylists(stream: StreamView): Promise<[string, string]> {
  await waitFor(async () => {
    const view = (await h.api('GET', `/streaming/streams/${stream.id}`)).json() as StreamView;
    return view.renditions.length === 2 && view.renditions.every((r) => r.height);
  }, 'both renditions probed', 60_000);
  const get = async (name: string) => (await h.get(stream.hls_url.replace('master', name))).body;
  return [await get('media_2_180'), await get('media_1_90')];
}

/** Which uneven chunk ("rendition/index") each chunk of a playlist served under `base` is. */
async function identify(base: string, playlist: string): Promise<string[]> {
  const names: string[] = [];
  for (const uri of chunkLines(playlist)) {
    const bytes = (await h.get(new URL(uri, base).href)).rawPayload;
    const found = L.flatMap((chunks, v) => chunks.map((c, i) => ({ v, i, c }))).find(({ c }) => c.bytes.equals(bytes));
    names.push(found ? `${found.v}/${found.i}` : '?');
  }
  return names;
}

/** The window index of one rendition, in index order. */
async function indexOf(stream: StreamView, pl: string): Promise<ChunkRef[]> {
  return parseChunkRefs(await h.ctx.redis.zrange(h.ctx.keys.stream.index(stream.id, pl), 0, -1, 'WITHSCORES'));
}

/**
 * Decodes a playlist's chunks end to end, as one transport stream in playlist
 * order: the video timestamps (s) of every frame in stream order, after checking ffmpeg
 * decodes it with no error.
 */
async function decodedTimes(base: string, playlist: string): Promise<number[]> {
  const parts = await Promise.all(chunkLines(playlist).map(async (uri) => (await h.get(new URL(uri, base).href)).rawPayload));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'timeline-'));
  try {
    const file = path.join(dir, 'all.ts');
    await writeFile(file, Buffer.concat(parts));
    const decoded = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
    expect(decoded.stderr).toBe('');
    const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file]);
    return (stdout.match(/\d+\.\d+/g) ?? []).map(Number);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Frames follow one another every 40 ms (25 fps): no chunk is missing, doubled or out of place. */
function expectContinuous(times: number[], seconds: number): void {
  for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeCloseTo(0.04, 3);
  expect(times.length).toBe(Math.round(seconds * 25));
}

describe('chunks out of order', () => {
  it('a chunk that finishes uploading after its successor still takes its own place, live and in a clip', async () => {
    const stream = await h.createStream({ name: 'Reordered' });
    const t0 = h.clock.alignToSecond();
    await pushInOrder(h, stream, L, 0, 2);
    // Chunk 3 is listed before its bytes come; chunk 4's upload then
    // finishes before chunk 3's, in both renditions.
    h.clock.advance(L[0][3].durationMs);
    for (const v of [0, 1]) await put(h, stream, `u_${v}.m3u8`, unevenPlaylist(L, v, 3));
    h.clock.advance(L[0][4].durationMs);
    for (const v of [0, 1]) {
      await put(h, stream, L[v][4].file, L[v][4].bytes);
      await put(h, stream, `u_${v}.m3u8`, unevenPlaylist(L, v, 4));
    }
    for (const v of [0, 1]) await put(h, stream, L[v][3].file, L[v][3].bytes);
    await pushInOrder(h, stream, L, 5, 7);

    const [high, low] = await livePlaylists(stream);
    expect(await identify(stream.hls_url, high)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `0/${i}`));
    expect(await identify(stream.hls_url, low)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `1/${i}`));
    for (const text of [high, low]) {
      expect(lines(text).filter((l) => l.startsWith('#EXTINF:'))).toEqual(L[0].slice(0, 8).map((c) => `#EXTINF:${(c.durationMs / 1000).toFixed(3)},`));
      expect(count(text, '#EXT-X-DISCONTINUITY')).toBe(0);
    }
    // Start times follow the sequence, from the first chunk's, alike in both
    // renditions; the running numbers (media sequence) are contiguous.
    for (const pl of ['u_0', 'u_1']) {
      const index = await indexOf(stream, pl);
      expect(index.map((c) => c.start - t0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map(offset));
      expect(index.map((c) => c.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    }

    // A clip over the reordered region plays its chunks in order.
    const cut = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: Math.floor((t0 + offset(2)) / 1000), duration: 6 });
    expect(cut.statusCode).toBe(200);
    const clip = cut.json() as { hls_master: string; renditions: string[]; status: string };
    expect(clip.status).toBe('ready');
    for (const rendition of clip.renditions) {
      const media = (await h.get(clip.hls_master.replace('master', rendition))).body;
      const v = rendition === 'media_2_180' ? 0 : 1;
      const names = await identify(clip.hls_master, media);
      expect(names).toEqual(names.map((_, k) => `${v}/${Number(names[0].split('/')[1]) + k}`));
      expect(names).toContain(`${v}/3`);
      expect(names).toContain(`${v}/4`);
      const seconds = names.reduce((t, name) => t + L[v][Number(name.split('/')[1])].durationMs / 1000, 0);
      expectContinuous(await decodedTimes(clip.hls_master, media), seconds);
    }
  }, 180_000);

  it('any order of nearby requests, both renditions overlapping, gives the same timeline', async () => {
    for (const seed of [1, 2, 3]) {
      const stream = await h.createStream({ name: `Shuffled ${seed}` });
      const t0 = h.clock.alignToSecond();
      // Every request of chunk i (its bytes, its playlist, per rendition) is
      // due when chunk i ends, and arrives up to two chunks late.
      let state = seed;
      const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const requests: { at: number; file: string; body: Buffer | string }[] = [];
      for (let i = 0; i <= 7; i++) {
        for (const v of [0, 1]) {
          requests.push({ at: t0 + offset(i + 1) + random() * 4000, file: L[v][i].file, body: L[v][i].bytes });
          requests.push({ at: t0 + offset(i + 1) + random() * 4000, file: `u_${v}.m3u8`, body: unevenPlaylist(L, v, i) });
        }
      }
      requests.sort((a, b) => a.at - b.at);
      for (let k = 0; k < requests.length; k += 2) {
        // Two at a time, as concurrent uploads.
        h.clock.set(Math.round(requests[k].at));
        await Promise.all(requests.slice(k, k + 2).map((r) => put(h, stream, r.file, r.body)));
      }
      const [high, low] = await livePlaylists(stream);
      expect(await identify(stream.hls_url, high), `seed ${seed}`).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `0/${i}`));
      expect(await identify(stream.hls_url, low), `seed ${seed}`).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `1/${i}`));
      expect(count(high, '#EXT-X-DISCONTINUITY') + count(low, '#EXT-X-DISCONTINUITY')).toBe(0);
      const [a, b] = [await indexOf(stream, 'u_0'), await indexOf(stream, 'u_1')];
      expect(a.map((c) => c.start)).toEqual(b.map((c) => c.start));
      // Consecutive, each right after the one before.
      expect(a.map((c) => c.start - a[0].start)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map(offset));
    }
  }, 180_000);

  it('a chunk whose bytes never come holds back its successors a few durations, then is given up for good', async () => {
    const stream = await h.createStream({ name: 'Lost chunk' });
    h.clock.alignToSecond();
    await pushInOrder(h, stream, L, 0, 2);
    h.clock.advance(L[0][3].durationMs);
    for (const v of [0, 1]) await put(h, stream, `u_${v}.m3u8`, unevenPlaylist(L, v, 3)); // chunk 3's bytes never come
    for (const i of [4, 5]) {
      h.clock.advance(L[0][i].durationMs);
      for (const v of [0, 1]) {
        await put(h, stream, L[v][i].file, L[v][i].bytes);
        await put(h, stream, `u_${v}.m3u8`, unevenPlaylist(L, v, i));
      }
    }
    const [held] = await livePlaylists(stream);
    expect(await identify(stream.hls_url, held)).toEqual(['0/0', '0/1', '0/2']);
    // Six seconds at least (three of its durations) after chunk 4 was ready,
    // the cleaner lets the others in.
    h.clock.advance(6000);
    await advanceTimeline(h.ctx, stream.id);
    const [high, low] = await livePlaylists(stream);
    expect(await identify(stream.hls_url, high)).toEqual(['0/0', '0/1', '0/2', '0/4', '0/5']);
    expect(await identify(stream.hls_url, low)).toEqual(['1/0', '1/1', '1/2', '1/4', '1/5']);
    // Chunk 4 keeps its own time, one chunk after chunk 2's end, and says so.
    const dated = lines(high).filter((l) => l.startsWith('#EXT-X-PROGRAM-DATE-TIME:'));
    expect(dated).toHaveLength(2);
    const [index4] = (await indexOf(stream, 'u_0')).slice(3);
    expect(dated[1]).toBe(`#EXT-X-PROGRAM-DATE-TIME:${new Date(index4.start).toISOString()}`);
    expect(index4.start - (await indexOf(stream, 'u_0'))[0].start).toBe(offset(4));
    // Its bytes arriving now change nothing: no chunk is slipped in between.
    for (const v of [0, 1]) await put(h, stream, L[v][3].file, L[v][3].bytes);
    await pushInOrder(h, stream, L, 6, 6);
    const [after] = await livePlaylists(stream);
    expect(await identify(stream.hls_url, after)).toEqual(['0/0', '0/1', '0/2', '0/4', '0/5', '0/6']);
    const index = await indexOf(stream, 'u_0');
    expect(index.map((c) => c.n)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(index.every((c, k) => k === 0 || c.start > index[k - 1].start)).toBe(true);
  }, 180_000);
});

describe('playlists sent again, and restarts', () => {
  it('a stale or retried media playlist is no restart; a real restart is a discontinuity in every rendition alike', async () => {
    const stream = await h.createStream({ name: 'Resent' });
    h.clock.alignToSecond();
    await pushInOrder(h, stream, L, 0, 4);
    // A late duplicate of an old playlist and a retry of the current one, in
    // one rendition only.
    await put(h, stream, 'u_0.m3u8', unevenPlaylist(L, 0, 1));
    await put(h, stream, 'u_0.m3u8', unevenPlaylist(L, 0, 4));
    await put(h, stream, 'u_0.m3u8', unevenPlaylist(L, 0, 2));
    await pushInOrder(h, stream, L, 5, 6);
    let [high, low] = await livePlaylists(stream);
    for (const [v, text] of [[0, high], [1, low]] as const) {
      expect(count(text, '#EXT-X-DISCONTINUITY')).toBe(0);
      expect(tagValue(text, '#EXT-X-DISCONTINUITY-SEQUENCE')).toBe('0');
      expect(await identify(stream.hls_url, text)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `${v}/${i}`));
    }

    // The encoder restarts: the same chunk names, the sequence back at 0.
    const restartAt = h.clock.now();
    await pushInOrder(h, stream, L, 0, 2);
    // A playlist of the new run sent again, and one of the run before the
    // restart arriving late (its sequence numbers are ahead of the new run's).
    await put(h, stream, 'u_1.m3u8', unevenPlaylist(L, 1, 0));
    await put(h, stream, 'u_0.m3u8', unevenPlaylist(L, 0, 6));
    await pushInOrder(h, stream, L, 3, 3);
    [high, low] = await livePlaylists(stream);
    for (const [v, text] of [[0, high], [1, low]] as const) {
      expect(count(text, '#EXT-X-DISCONTINUITY')).toBe(1);
      expect(tagValue(text, '#EXT-X-DISCONTINUITY-SEQUENCE')).toBe('0');
      const ls = lines(text);
      const disc = ls.indexOf('#EXT-X-DISCONTINUITY');
      expect(chunkLines(ls.slice(0, disc).join('\n'))).toHaveLength(7);
      expect(ls[disc + 1]).toBe(`#EXT-X-PROGRAM-DATE-TIME:${new Date(restartAt).toISOString()}`);
      expect(await identify(stream.hls_url, text)).toEqual([0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3].map((i) => `${v}/${i}`));
    }
    const [a, b] = [await indexOf(stream, 'u_0'), await indexOf(stream, 'u_1')];
    expect(a.map((c) => [c.start, c.discSeq])).toEqual(b.map((c) => [c.start, c.discSeq]));
    // Nothing of the old run is left waiting to claim the new run's chunks.
    expect(await h.ctx.redis.hlen(h.ctx.keys.stream.listed(stream.id))).toBe(0);
    // A retried upload of the newest chunk and of its one-chunk playlist is no restart either.
    await put(h, stream, L[0][3].file, L[0][3].bytes);
    await put(h, stream, 'u_0.m3u8', unevenPlaylist(L, 0, 3, { listSize: 1 }));
    await pushInOrder(h, stream, L, 4, 4);
    [high] = await livePlaylists(stream);
    expect(count(high, '#EXT-X-DISCONTINUITY')).toBe(1);
    expect(await identify(stream.hls_url, high)).toEqual([0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4].map((i) => `0/${i}`));
  }, 180_000);

  it('a restart after a short run is seen even when its first playlist arrives before its chunk', async () => {
    const stream = await h.createStream({ name: 'Short run' });
    h.clock.alignToSecond();
    await pushInOrder(h, stream, L, 0, 1);
    const restartAt = h.clock.now();
    // The new run: chunk 0's playlist first (nothing new to tell yet), then
    // its bytes; chunk 1's playlist is as far as the old run had gone.
    h.clock.advance(L[0][0].durationMs);
    for (const v of [0, 1]) await put(h, stream, `u_${v}.m3u8`, unevenPlaylist(L, v, 0));
    for (const v of [0, 1]) await put(h, stream, L[v][0].file, L[v][0].bytes);
    h.clock.advance(L[0][1].durationMs);
    for (const v of [0, 1]) {
      await put(h, stream, L[v][1].file, L[v][1].bytes);
      await put(h, stream, `u_${v}.m3u8`, unevenPlaylist(L, v, 1));
    }
    await pushInOrder(h, stream, L, 2, 2);
    const [high, low] = await livePlaylists(stream);
    for (const [v, text] of [[0, high], [1, low]] as const) {
      expect(await identify(stream.hls_url, text)).toEqual([0, 1, 0, 1, 2].map((i) => `${v}/${i}`));
      expect(count(text, '#EXT-X-DISCONTINUITY')).toBe(1);
      const ls = lines(text);
      expect(ls[ls.indexOf('#EXT-X-DISCONTINUITY') + 1]).toBe(`#EXT-X-PROGRAM-DATE-TIME:${new Date(restartAt).toISOString()}`);
    }
  }, 180_000);

  it('a rendition that starts after a restart lines up with the others: same epoch, same discontinuity sequence', async () => {
    const stream = await h.createStream({ name: 'Late rendition' });
    h.clock.alignToSecond();
    await pushInOrder(h, stream, L, 0, 3, { renditions: [0] });
    await pushInOrder(h, stream, L, 0, 1, { renditions: [0] }); // restart
    // Now both; the new rendition's playlists list only what it uploaded.
    await pushInOrder(h, stream, L, 2, 3, { listSize: 1 });
    const [high, low] = await livePlaylists(stream);
    expect(count(high, '#EXT-X-DISCONTINUITY')).toBe(1);
    expect(tagValue(high, '#EXT-X-DISCONTINUITY-SEQUENCE')).toBe('0');
    expect(await identify(stream.hls_url, low)).toEqual(['1/2', '1/3']);
    expect(count(low, '#EXT-X-DISCONTINUITY')).toBe(0);
    expect(tagValue(low, '#EXT-X-DISCONTINUITY-SEQUENCE')).toBe('1');
    const [a, b] = [await indexOf(stream, 'u_0'), await indexOf(stream, 'u_1')];
    expect(b.map((c) => [c.start, c.discSeq])).toEqual(a.slice(-2).map((c) => [c.start, c.discSeq]));
  }, 180_000);
});

describe('discontinuities the encoder marks', () => {
  it('a rendition that starts at a marked discontinuity counts it as the others did', async () => {
    const stream = await h.createStream({ name: 'Marked' });
    h.clock.alignToSecond();
    const mark = (text: string, file: string) => text.replace(`#EXTINF:${L[0][2].extinf},\n${file}`, `#EXT-X-DISCONTINUITY\n#EXTINF:${L[0][2].extinf},\n${file}`);
    for (let i = 0; i <= 3; i++) {
      h.clock.advance(L[0][i].durationMs);
      await put(h, stream, L[0][i].file, L[0][i].bytes);
      await put(h, stream, 'u_0.m3u8', mark(unevenPlaylist(L, 0, i), L[0][2].file));
      if (i >= 2) {
        // The other rendition starts with chunk 2, the marked one.
        await put(h, stream, L[1][i].file, L[1][i].bytes);
        await put(h, stream, 'u_1.m3u8', mark(unevenPlaylist(L, 1, i, { listSize: i - 1 }), L[1][2].file));
      }
    }
    const [high, low] = await livePlaylists(stream);
    expect(count(high, '#EXT-X-DISCONTINUITY')).toBe(1);
    expect(tagValue(high, '#EXT-X-DISCONTINUITY-SEQUENCE')).toBe('0');
    expect(await identify(stream.hls_url, low)).toEqual(['1/2', '1/3']);
    expect(tagValue(low, '#EXT-X-DISCONTINUITY-SEQUENCE')).toBe('1');
    const [a, b] = [await indexOf(stream, 'u_0'), await indexOf(stream, 'u_1')];
    expect(b.map((c) => [c.start, c.discSeq])).toEqual(a.slice(2).map((c) => [c.start, c.discSeq]));
  }, 180_000);
});

describe('sequence numbers', () => {
  it('stay exact up to 2^53: ffmpeg -hls_start_number_source epoch_us', async () => {
    const stream = await h.createStream({ name: 'epoch_us' });
    h.clock.alignToSecond();
    const firstSeq = 1_764_583_200_123_456; // a unix time in microseconds: 16 digits
    await pushInOrder(h, stream, L, 0, 6, { firstSeq });
    const [high, low] = await livePlaylists(stream);
    for (const [v, text] of [[0, high], [1, low]] as const) {
      expect(count(text, '#EXT-X-DISCONTINUITY')).toBe(0);
      expect(await identify(stream.hls_url, text)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `${v}/${i}`));
    }
    const state = JSON.parse((await h.ctx.redis.hget(h.ctx.keys.stream.playlists(stream.id), 'u_0'))!);
    expect(state.lastSeq).toBe(String(firstSeq + 6));
    expect(await h.ctx.redis.hlen(h.ctx.keys.stream.listed(stream.id))).toBe(0);

    // The encoder restarts a minute later: numbers jump ahead by 60,000,000.
    const restartAt = h.clock.now();
    await pushInOrder(h, stream, L, 0, 1, { firstSeq: firstSeq + 60_000_000, name: (v, i) => `r_${v}_${i}.ts` });
    const [high2, low2] = await livePlaylists(stream);
    for (const [v, text] of [[0, high2], [1, low2]] as const) {
      expect(count(text, '#EXT-X-DISCONTINUITY')).toBe(1);
      expect(lines(text)[lines(text).indexOf('#EXT-X-DISCONTINUITY') + 1]).toBe(`#EXT-X-PROGRAM-DATE-TIME:${new Date(restartAt).toISOString()}`);
      expect(await identify(stream.hls_url, text)).toEqual([0, 1, 2, 3, 4, 5, 6, 0, 1].map((i) => `${v}/${i}`));
    }

    const k = h.ctx.keys.stream;
    const timeline = () => Promise.all([h.ctx.redis.hgetall(k.playlists(stream.id)), h.ctx.redis.hgetall(k.listed(stream.id)),
      h.ctx.redis.zrange(k.index(stream.id, 'u_0'), 0, -1, 'WITHSCORES')]);
    const before = await timeline();
    const tooBig = unevenPlaylist(L, 0, 0).replace(/MEDIA-SEQUENCE:\d+/, 'MEDIA-SEQUENCE:9007199254740993');
    const res = await h.push(stream, 'u_0.m3u8', tooBig);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/MEDIA-SEQUENCE/);
    expect(await timeline()).toEqual(before);
  }, 180_000);
});

describe('what the encoder claims', () => {
  it('a pushed EXT-X-TARGETDURATION counts only as far as the chunks bear it out', async () => {
    const stream = await h.createStream({ name: 'Boasting' });
    h.clock.alignToSecond();
    await pushInOrder(h, stream, L, 0, 5, { targetDuration: 100000 });
    const [high, low] = await livePlaylists(stream);
    const longest = Math.max(...L[0].slice(0, 6).map((c) => c.durationMs)) / 1000; // 2.6 s
    for (const text of [high, low]) {
      const target = Number(tagValue(text, '#EXT-X-TARGETDURATION'));
      expect(target).toBeGreaterThanOrEqual(Math.round(longest));
      expect(target).toBeLessThanOrEqual(Math.ceil(longest));
      for (const l of lines(text).filter((x) => x.startsWith('#EXTINF:'))) {
        expect(Math.round(Number(l.slice(8, -1)))).toBeLessThanOrEqual(target);
      }
    }
    expect(tagValue(high, '#EXT-X-TARGETDURATION')).toBe(tagValue(low, '#EXT-X-TARGETDURATION'));
  }, 180_000);

  it('a playlist listing 20,000 chunks keeps only a bounded number of listings waiting', async () => {
    const stream = await h.createStream({ name: 'Long listing' });
    h.clock.alignToSecond();
    const huge = (from: number) => ['#EXTM3U', '#EXT-X-TARGETDURATION:2', `#EXT-X-MEDIA-SEQUENCE:${from}`,
      ...Array.from({ length: 20_000 }, (_, i) => `#EXTINF:2.000,\nx${from + i}.ts`)].join('\n') + '\n';
    for (const from of [0, 20_000]) {
      h.clock.advance(2000);
      await put(h, stream, 'u_0.m3u8', huge(from));
      expect(await h.ctx.redis.hlen(h.ctx.keys.stream.listed(stream.id))).toBeLessThanOrEqual(256);
    }
    const listedAt = h.clock.now();
    // The newest listing still commits when its bytes come, once the older
    // ones, whose bytes never come, are given up.
    await put(h, stream, 'x39999.ts', L[0][0].bytes);
    expect(await indexOf(stream, 'u_0')).toHaveLength(0);
    h.clock.advance(6000);
    await advanceTimeline(h.ctx, stream.id);
    const index = await indexOf(stream, 'u_0');
    expect(index).toHaveLength(1);
    expect(index[0].start).toBeGreaterThanOrEqual(listedAt - 2000);
    expect(await h.ctx.redis.hlen(h.ctx.keys.stream.listed(stream.id))).toBe(0);
  }, 180_000);
});

describe('a real encoder', () => {
  it('ffmpeg pushing live over HTTP with epoch_us numbers and uneven chunks: one timeline, no discontinuity', async () => {
    const live = await startHarness();
    // The service's clock follows the real one while ffmpeg pushes in real time.
    const tick = setInterval(() => live.clock.set(Math.max(live.clock.now(), Date.now())), 20);
    try {
      const stream = await live.createStream({ name: 'ffmpeg epoch_us' });
      await live.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (live.app.server.address() as { port: number }).port;
      const push = `http://127.0.0.1:${port}${new URL(stream.push_url_hls).pathname}`;
      await run('ffmpeg', [
        '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25',
        '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6.2',
        '-filter_complex', '[0:v]split=2[a][b];[b]scale=160:90[b2]', '-map', '[a]', '-map', '1:a', '-map', '[b2]', '-map', '1:a',
        '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '1000', '-sc_threshold', '0',
        '-force_key_frames', '0,1.52,3.8,5.8', '-c:a', 'aac', '-b:a', '48k',
        '-f', 'hls', '-method', 'PUT', '-http_persistent', '0', '-hls_time', '1', '-hls_list_size', '6',
        '-hls_start_number_source', 'epoch_us', '-master_pl_name', 'master.m3u8', '-var_stream_map', 'v:0,a:0 v:1,a:1',
        '-hls_segment_filename', `${push}s_%v_%d.ts`, `${push}s_%v.m3u8`,
      ], { timeout: 60_000 });
      const view = await waitFor(async () => {
        const v = (await live.api('GET', `/streaming/streams/${stream.id}`)).json() as StreamView;
        return v.renditions.length === 2 && v.renditions.every((r) => r.height) && v;
      }, 'both renditions probed', 60_000);
      const texts = await Promise.all(view.renditions.map(async (r) => (await live.get(stream.hls_url.replace('master', r.name))).body));
      for (const text of texts) {
        const extinf = lines(text).filter((l) => l.startsWith('#EXTINF:')).map((l) => Number(l.slice(8, -1)));
        expect(extinf).toEqual([1.52, 2.28, 2, 0.4]);
        expect(count(text, '#EXT-X-DISCONTINUITY')).toBe(0);
        expect(tagValue(text, '#EXT-X-DISCONTINUITY-SEQUENCE')).toBe('0');
        const parts = await Promise.all(chunkLines(text).map(async (uri) => (await live.get(new URL(uri, stream.hls_url).href)).rawPayload));
        const dir = await mkdtemp(path.join(os.tmpdir(), 'timeline-'));
        try {
          await writeFile(path.join(dir, 'all.ts'), Buffer.concat(parts));
          const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', path.join(dir, 'all.ts')]);
          expectContinuous((stdout.match(/\d+\.\d+/g) ?? []).map(Number), 6.2);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
      // Chunks of both renditions start at the same times, in a row.
      const playlists = await live.ctx.redis.hkeys(live.ctx.keys.stream.playlists(stream.id));
      const [a, b] = await Promise.all(playlists.map(async (pl) =>
        parseChunkRefs(await live.ctx.redis.zrange(live.ctx.keys.stream.index(stream.id, pl), 0, -1, 'WITHSCORES'))));
      expect(a.map((c) => c.start)).toEqual(b.map((c) => c.start));
      expect(a.every((c, k) => k === 0 || c.start === a[k - 1].start + a[k - 1].durationMs)).toBe(true);
      const state = JSON.parse((await live.ctx.redis.hget(live.ctx.keys.stream.playlists(stream.id), playlists[0]))!);
      expect(state.lastSeq).toMatch(/^\d{16}$/);
    } finally {
      clearInterval(tick);
      await live.close();
    }
  }, 180_000);
});
