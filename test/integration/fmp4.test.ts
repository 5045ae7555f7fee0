// fMP4/CMAF push (SPEC 4.3): .m4s chunks with an EXT-X-MAP init segment, made
// by real ffmpeg and replayed through the push ingest. The live playlist,
// clips from the past and from now, their MP4 and a VOD all play in ffmpeg;
// an encoder restart with new parameters gives a discontinuity and a new
// EXT-X-MAP; an fMP4 chunk without its init is never served.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { BASE_URL, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { fmp4Playlist, fmp4Runs, pushFmp4, topLevelBoxes, type Fmp4Run } from '../helpers/fmp4.js';
import { put } from '../helpers/uneven.js';
import { decodeErrors, vodClip, waitJobDone, waitVideo } from '../helpers/vod.js';

const run = promisify(execFile);
let h: Harness;
let A: Fmp4Run;
let B: Fmp4Run;
let origin: string;
let scratch: string;
const logged: { msg?: string; [k: string]: unknown }[] = [];

const lines = (text: string) => text.split('\n');
const chunkLines = (text: string) => lines(text).filter((l) => l && !l.startsWith('#'));
const maps = (text: string) => lines(text).filter((l) => l.startsWith('#EXT-X-MAP:')).map((l) => /URI="([^"]+)"/.exec(l)![1]);
const local = (url: string) => url.replace(BASE_URL, origin);
const extinfSum = (text: string) => [...text.matchAll(/#EXTINF:([\d.]+)/g)].reduce((t, m) => t + Number(m[1]), 0);

beforeAll(async () => {
  const log = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  h = await startHarness({ log });
  ({ a: A, b: B } = await fmp4Runs());
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const address = h.app.server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  scratch = await mkdtemp(path.join(os.tmpdir(), 'fmp4-'));
}, 120_000);

afterAll(async () => {
  await h?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function view(stream: StreamView): Promise<StreamView> {
  return (await h.api('GET', `/streaming/streams/${stream.id}`)).json() as StreamView;
}

async function clip(stream: StreamView, body: Record<string, unknown>) {
  const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, body);
  expect(res.statusCode).toBe(200);
  return res.json() as { id: string; status: string; renditions: string[]; hls_master: string; mp4_master: string };
}

/** ffprobe's duration (s) of a URL or file, after ffmpeg decoded all of it with no error. */
async function playsToTheEnd(input: string): Promise<number> {
  expect(await decodeErrors(input)).toBe('');
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', input]);
  return Number(stdout.trim());
}

/** Every EXT-X-MAP of a media playlist is served (200, video/mp4) with bytes equal to one of `inits`. */
async function expectServedInits(playlistUrl: string, text: string, inits: Buffer[]): Promise<Buffer[]> {
  const served: Buffer[] = [];
  for (const uri of maps(text)) {
    const res = await h.get(new URL(uri, playlistUrl).href);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('video/mp4');
    expect(inits.some((b) => b.equals(res.rawPayload))).toBe(true);
    served.push(res.rawPayload);
  }
  return served;
}

describe('an fMP4 stream pushed over HTTP', () => {
  let stream: StreamView;
  let t0: number;

  beforeAll(async () => {
    stream = await h.createStream({ name: 'fMP4 push' });
    t0 = h.clock.alignToSecond();
    await pushFmp4(h, stream, A, 0, 5);
  }, 60_000);

  it('is probed through its init segment and served live with EXT-X-MAP', async () => {
    await waitFor(async () => (await view(stream)).renditions.every((r) => r.height) && (await view(stream)).renditions.length === 2,
      'the probe of both renditions', 30_000);
    const renditions = (await view(stream)).renditions;
    expect(renditions.map((r) => r.height).sort((x, y) => Number(x) - Number(y))).toEqual([90, 180]);
    expect(renditions.every((r) => /avc1\./.test(r.codecs ?? '') && /mp4a\./.test(r.codecs ?? ''))).toBe(true);

    // Each init outlives every chunk bound to it (docs/init-segments.md).
    for (const pl of ['media_0', 'media_1']) {
      const members = await h.ctx.redis.zrange(h.ctx.keys.stream.index(stream.id, pl), 0, -1);
      expect(members).toHaveLength(6);
      for (const member of members) {
        const [id, , , , , , init] = member.split('|');
        expect(init).toMatch(/^[0-9a-f]{16}$/);
        const chunkTtl = await h.ctx.redis.pttl(h.ctx.keys.stream.chunk(stream.id, id));
        expect(chunkTtl).toBeGreaterThan(120_000);
        expect(await h.ctx.redis.pttl(h.ctx.keys.stream.init(stream.id, init))).toBeGreaterThanOrEqual(chunkTtl - 1000);
      }
    }
    const master = (await h.get(stream.hls_url)).body;
    for (const uri of chunkLines(master)) {
      const url = new URL(uri, stream.hls_url).href;
      const media = (await h.get(url)).body;
      expect(media).toContain('#EXT-X-VERSION:7');
      expect(maps(media)).toHaveLength(1);
      expect(chunkLines(media)).toHaveLength(6);
      expect(chunkLines(media).every((c) => c.endsWith('.m4s'))).toBe(true);
      await expectServedInits(url, media, A.inits);
      // A live playlist never ends for ffmpeg: its chunks as they are now, decoded to the end.
      const [seconds] = await decodeParts(url, media);
      expect(seconds).toBeCloseTo(A.chunks[0].reduce((t, c) => t + c.durationMs, 0) / 1000, 0);
    }
  }, 90_000);

  it('a clip from the past is fMP4 HLS that plays to its end, and its MP4 is a stream copy', async () => {
    const c = await clip(stream, { start: t0 / 1000 + 2, duration: 5 });
    expect(c.status).toBe('ready');
    for (const rendition of c.renditions) {
      const url = c.hls_master.replace('master', rendition);
      const media = (await h.get(url)).body;
      expect(media).toContain('#EXT-X-VERSION:7');
      expect(maps(media)).toEqual([expect.stringMatching(/^rec_[^_]+_init_[0-9a-f]{16}\.mp4$/)]);
      // Chunks 1..3 (1.52 + 2.28 + 2 s) cover 2 s .. 7 s.
      expect(extinfSum(media)).toBeCloseTo(5.8, 3);
      const v = rendition.endsWith('_180') ? 0 : 1;
      expect((await expectServedInits(url, media, A.inits))[0].equals(A.inits[v])).toBe(true);
      expect(await playsToTheEnd(local(url))).toBeCloseTo(5.8, 0);
    }
    expect(await playsToTheEnd(local(c.hls_master))).toBeCloseTo(5.8, 0);

    const mp4 = await h.get(c.mp4_master);
    expect(mp4.statusCode).toBe(200);
    const boxes = topLevelBoxes(mp4.rawPayload);
    expect(boxes.indexOf('moov')).toBeGreaterThan(-1);
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));
    expect(boxes).not.toContain('moof'); // remuxed into a plain MP4, not the fragments as they came
    const file = path.join(scratch, 'past.mp4');
    await writeFile(file, mp4.rawPayload);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file]);
    const info = JSON.parse(stdout) as { format: { start_time: string }; streams: { codec_type: string; height?: number }[] };
    expect(info.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(info.streams.find((s) => s.codec_type === 'video')!.height).toBe(180);
    expect(Number(info.format.start_time)).toBe(0);
    expect(await playsToTheEnd(file)).toBeCloseTo(5.8, 0);
  }, 120_000);

  it('a clip from now records fMP4 chunks and plays to its end once ready; a VOD of it plays', async () => {
    const s = await h.createStream({ name: 'fMP4 from now' });
    h.clock.alignToSecond();
    await pushFmp4(h, s, A, 0, 1);
    const c = await clip(s, { duration: 3 }) as Awaited<ReturnType<typeof clip>> & { start: number };
    expect(c.status).toBe('recording');
    // Cut at whole seconds: the clip [floor(now), +3 s) starts inside chunk 1 (2 .. 3.52 s) and ends in chunk 3.
    expect(c.start * 1000 - (h.clock.now() - 3520)).toBe(3000);
    await pushFmp4(h, s, A, 2, 4);
    await waitFor(async () => (await h.api('GET', `/streaming/streams/${s.id}/clip_recording/${c.id}`)).json().status === 'ready',
      'the clip from now to be ready', 30_000);
    for (const rendition of c.renditions) {
      const media = (await h.get(c.hls_master.replace('master', rendition))).body;
      expect(media).toContain('#EXT-X-ENDLIST');
      expect(maps(media)).toHaveLength(1);
      // Chunks 1..3 (1.52 + 2.28 + 2 s) cover 3 s .. 6 s.
      expect(extinfSum(media)).toBeCloseTo(5.8, 3);
      expect(await playsToTheEnd(local(c.hls_master.replace('master', rendition)))).toBeCloseTo(5.8, 0);
    }
    const mp4 = await h.get(c.mp4_master);
    expect(mp4.statusCode).toBe(200);

    const videoId = await vodClip(h, s.id, Math.floor(h.clock.now() / 1000) - 6, 4);
    await waitVideo(h, videoId);
    // The job still releases the chunks' hold after the record says ready:
    // a later test's before-and-after snapshots must not catch that write.
    await waitJobDone(h, videoId);
    const video = (await h.api('GET', `/streaming/videos/${videoId}`)).json() as { hls_url: string; videos: { url?: string; mp4_url?: string }[] };
    const vodMaster = (await h.get(video.hls_url)).body;
    const vodMedia = (await h.get(new URL(chunkLines(vodMaster)[0], video.hls_url).href)).body;
    expect(vodMedia).toContain('#EXT-X-VERSION:7');
    expect(maps(vodMedia)).toHaveLength(1);
    await expectServedInits(new URL(chunkLines(vodMaster)[0], video.hls_url).href, vodMedia, A.inits);
    expect(await playsToTheEnd(local(video.hls_url))).toBeGreaterThan(3);
  }, 150_000);

  it('an encoder restarted with new parameters: EXT-X-DISCONTINUITY and a new EXT-X-MAP, live and in a clip that spans it', async () => {
    const s = await h.createStream({ name: 'fMP4 restart' });
    const start = h.clock.alignToSecond();
    await pushFmp4(h, s, A, 0, 5);
    await pushFmp4(h, s, B, 0, 2); // sequence back to 0, new chunks, new init segments under the same names
    const master = (await h.get(s.hls_url)).body;
    const url = new URL(chunkLines(master).find((l) => l.includes('media_2'))!, s.hls_url).href;
    const live = (await h.get(url)).body;
    expect(live.split('#EXT-X-DISCONTINUITY\n').length).toBe(2);
    expect(maps(live)).toHaveLength(2);
    const [before, after] = await expectServedInits(url, live, [A.inits[0], B.inits[0]]);
    expect(before.equals(A.inits[0])).toBe(true);
    expect(after.equals(B.inits[0])).toBe(true);
    // The second EXT-X-MAP comes right after the discontinuity.
    expect(lines(live)[lines(live).indexOf('#EXT-X-DISCONTINUITY') + 2]).toMatch(/^#EXT-X-MAP:/);

    const c = await clip(s, { start: start / 1000 + 8, duration: 6 });
    const media = (await h.get(c.hls_master.replace('master', c.renditions.at(-1)!))).body;
    expect(media).toContain('#EXT-X-DISCONTINUITY');
    expect(maps(media)).toHaveLength(2);
    const mediaUrl = c.hls_master.replace('master', c.renditions.at(-1)!);
    await expectServedInits(mediaUrl, media, [A.inits[0], B.inits[0]]);
    // ffmpeg 5.1's HLS reader keeps the first init's decoder set-up across an
    // EXT-X-MAP change (hls.js re-initialises): each side is decoded alone.
    const parts = await decodeParts(mediaUrl, media);
    expect(parts[0]).toBeCloseTo(4.2, 0); // a_4, a_5: 1.52 + 2.68 s
    expect(parts[1]).toBeCloseTo(2, 0);
    // One stream copy cannot hold both decoder set-ups: the MP4 is refused, clearly.
    const mp4 = await h.get(c.mp4_master);
    expect(mp4.statusCode).toBe(422);
    expect(mp4.json().message).toMatch(/init segment/);
    // Its VOD the same way: ready, its HLS with both EXT-X-MAPs, and no MP4 of a rendition spanning the change.
    const videoId = await vodClip(h, s.id, start / 1000 + 8, 6);
    await waitVideo(h, videoId);
    const video = (await h.api('GET', `/streaming/videos/${videoId}`)).json() as { hls_url: string };
    const vodMaster = (await h.get(video.hls_url)).body;
    const vodMediaUrl = new URL(chunkLines(vodMaster).at(-1)!, video.hls_url).href;
    expect(maps((await h.get(vodMediaUrl)).body)).toHaveLength(2);
    expect((await h.get(vodMediaUrl.replace(/\.m3u8$/, '.mp4'))).statusCode).toBe(404);
  }, 120_000);
});

describe('an fMP4 chunk without its init segment', () => {
  it('is refused with 400 when its playlist names no EXT-X-MAP, and nothing of that playlist is stored', async () => {
    const s = await h.createStream({ name: 'No map' });
    await put(h, s, A.chunks[0][0].file, A.chunks[0][0].bytes);
    const before = await h.snapshot();
    const res = await h.push(s, 'media_0.m3u8', fmp4Playlist(A, 0, 0, { map: null }));
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/EXT-X-MAP/);
    expect(await h.snapshot()).toEqual(before);
  });

  it('listed before its bytes with no EXT-X-MAP, it is dropped when it would enter the DVR, and said so in the log', async () => {
    const s = await h.createStream({ name: 'No map, playlist first' });
    h.clock.advance(2000);
    await put(h, s, 'media_0.m3u8', fmp4Playlist(A, 0, 0, { map: null }));
    await put(h, s, A.chunks[0][0].file, A.chunks[0][0].bytes);
    expect(await h.keys(`{s${s.id}}:i:*`)).toEqual([]);
    expect((await h.get(`${s.hls_url.replace('master.m3u8', '')}media_1_0.m3u8`)).statusCode).toBe(404);
    expect(logged.some((l) => /without an EXT-X-MAP/.test(String(l.msg)) && l.stream_id === s.id)).toBe(true);
  });

  it('named by EXT-X-MAP but never uploaded: its chunks wait and are never served, and the log says so', async () => {
    const s = await h.createStream({ name: 'Map never uploaded' });
    await pushFmp4(h, s, A, 0, 2, { uploadInit: false, renditions: [0] });
    expect(await h.keys(`{s${s.id}}:i:*`)).toEqual([]);
    const keys = await h.keys(`{s${s.id}}:c:*`);
    expect(keys.length).toBe(3); // bytes kept for a while (unlisted grace), never indexed
    expect(logged.some((l) => /never uploaded/.test(String(l.msg)) && l.init === 'init_0.mp4' && l.stream_id === s.id)).toBe(true);
    // The init arrives late: the waiting chunks enter, in order, with it.
    await put(h, s, 'init_0.mp4', A.inits[0]);
    await pushFmp4(h, s, A, 3, 3, { renditions: [0] });
    const index = await h.ctx.redis.zrange(h.ctx.keys.stream.index(s.id, 'media_0'), 0, -1);
    expect(index.length).toBe(4);
  });

  it('bytes that are neither MPEG-TS nor fMP4 are refused with 415', async () => {
    const s = await h.createStream({ name: 'Garbage' });
    const res = await h.push(s, 'x.m4s', Buffer.from('not a video at all, not even close'));
    expect(res.statusCode).toBe(415);
    expect(res.json().message).toMatch(/fMP4/);
  });
});

/** Decodes each discontinuity-separated part of a served media playlist alone; their durations (s). */
async function decodeParts(url: string, text: string): Promise<number[]> {
  const body = lines(text).filter((l) => !l.startsWith('#EXT-X-ENDLIST'));
  const header = body.slice(0, body.findIndex((l) => l.startsWith('#EXT-X-MAP') || l.startsWith('#EXTINF') || l.startsWith('#EXT-X-PROGRAM')));
  const parts: string[][] = [[]];
  for (const line of body.slice(header.length)) {
    if (line === '#EXT-X-DISCONTINUITY') parts.push([]);
    else if (line.startsWith('#EXT-X-MAP:')) parts.at(-1)!.push(line.replace(/URI="([^"]+)"/, (_, u) => `URI="${local(new URL(u, url).href)}"`));
    else if (line && !line.startsWith('#')) parts.at(-1)!.push(local(new URL(line, url).href));
    else parts.at(-1)!.push(line);
  }
  const seconds: number[] = [];
  for (const [i, part] of parts.entries()) {
    const file = path.join(scratch, `part-${i}.m3u8`);
    await writeFile(file, [...header, ...part, '#EXT-X-ENDLIST', ''].join('\n'));
    const args = ['-hide_banner', '-v', 'error', '-protocol_whitelist', 'file,http,tcp', '-i', file];
    const decoded = await run('ffmpeg', [...args, '-f', 'null', '-']);
    expect(decoded.stderr).toBe('');
    const { stdout } = await run('ffprobe', ['-v', 'error', '-protocol_whitelist', 'file,http,tcp', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
    seconds.push(Number(stdout.trim()));
  }
  return seconds;
}

