// Thumbnails on real parts: tiles made by ffmpeg from pushed chunks, stored
// beside the chunks in Redis; posters and sprites decoded back with ffprobe.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { chunkMemberId } from '../../src/dvr/chunk-ref.js';
import { tilePlaylist, tilesSettled } from '../../src/thumbs/tiles.js';
import { fmp4Runs, pushFmp4 } from '../helpers/fmp4.js';
import { fixtureChunkBytes, ladder, startHarness, type Harness } from '../helpers/harness.js';

const run = promisify(execFile);
let h: Harness;
let dir: string;

beforeAll(async () => {
  h = await startHarness();
  dir = await mkdtemp(path.join(os.tmpdir(), 'thumbs-'));
}, 60_000);

afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** ffprobe's idea of a JPEG: codec and size. */
async function jpegInfo(bytes: Buffer): Promise<{ codec: string; width: number; height: number }> {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.jpg`);
  await writeFile(file, bytes);
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', file]);
  const [s] = JSON.parse(stdout).streams;
  return { codec: s.codec_name, width: s.width, height: s.height };
}

/** Pushes fixture chunks under odd declared durations (ms), as one encoder run. */
async function pushUneven(stream: StreamView, durations: number[], corrupt?: number): Promise<void> {
  const files = ladder();
  for (let i = 0; i < durations.length; i++) {
    h.clock.advance(durations[i]);
    for (const v of [0, 1, 2]) {
      const first = Math.max(0, i - 5);
      const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-TARGETDURATION:3', `#EXT-X-MEDIA-SEQUENCE:${first}`];
      for (let j = first; j <= i; j++) lines.push(`#EXTINF:${(durations[j] / 1000).toFixed(3)},`, files[v][j].file);
      // A chunk that is not video at all, in the rendition tiles come from.
      const bytes = v === 0 && i === corrupt ? Buffer.alloc(50_000, 0x47) : fixtureChunkBytes(v, i);
      expect((await h.push(stream, files[v][i].file, bytes)).statusCode).toBeLessThan(300);
      expect((await h.push(stream, `stream_${v}.m3u8`, lines.join('\n') + '\n')).statusCode).toBeLessThan(300);
    }
  }
}

function parseVtt(text: string): Array<{ start: number; end: number; url: string; x: number; y: number; w: number; h: number }> {
  const secs = (t: string) => { const [hh, mm, ss] = t.split(':'); return Number(hh) * 3600 + Number(mm) * 60 + Number(ss); };
  const cues = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\S+) --> (\S+)$/.exec(lines[i]);
    if (!m) continue;
    const t = /^(.+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(lines[i + 1])!;
    cues.push({ start: secs(m[1]), end: secs(m[2]), url: t[1], x: +t[2], y: +t[3], w: +t[4], h: +t[5] });
  }
  return cues;
}

type VttCue = ReturnType<typeof parseVtt>[number];

/** Every cue's #xywh lies inside its sprite, as ffprobe measures the sprite. */
async function expectInsideSprites(folder: string, cues: VttCue[]): Promise<void> {
  const sizes = new Map<string, { width: number; height: number }>();
  for (const cue of cues) {
    if (!sizes.has(cue.url)) {
      const sprite = await h.get(folder + cue.url);
      expect(sprite.statusCode).toBe(200);
      expect(sprite.headers['content-type']).toBe('image/jpeg');
      sizes.set(cue.url, await jpegInfo(sprite.rawPayload));
    }
    const size = sizes.get(cue.url)!;
    expect(cue.x + cue.w).toBeLessThanOrEqual(size.width);
    expect(cue.y + cue.h).toBeLessThanOrEqual(size.height);
  }
}

describe('thumbnails', () => {
  let stream: StreamView;
  const durations = [2000, 1300, 2000, 700, 1900, 2000, 1000, 2000];

  beforeAll(async () => {
    stream = await h.createStream({ name: 'Thumbs' });
    h.clock.set(h.clock.alignToSecond() - 20_000);
    await pushUneven(stream, durations);
    await tilesSettled();
  }, 60_000);

  it('a clip poster is a JPEG of the source size; ?width= scales it, never above the source', async () => {
    const start = Math.floor(h.clock.now() / 1000) - 10;
    const clip = (await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start, duration: 4 })).json();
    const poster = clip.hls_master.replace('_master.m3u8', '_poster.jpg');
    const full = await h.get(poster);
    expect(full.statusCode, full.body).toBe(200);
    expect(full.headers['content-type']).toBe('image/jpeg');
    expect(full.headers['access-control-allow-origin']).toBe('*');
    expect(await jpegInfo(full.rawPayload)).toEqual({ codec: 'mjpeg', width: 1280, height: 720 });
    expect(await jpegInfo((await h.get(`${poster}?width=320`)).rawPayload)).toEqual({ codec: 'mjpeg', width: 320, height: 180 });
    expect(await jpegInfo((await h.get(`${poster}?width=5000`)).rawPayload)).toMatchObject({ width: 1280 });
    const bad = await h.get(`${poster}?width=wide`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/width/);
  });

  it('a clip storyboard has one cue per chunk, in order, each #xywh inside its sprite', async () => {
    const start = Math.floor(h.clock.now() / 1000) - 12;
    const clip = (await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start, duration: 7 })).json();
    const media = (await h.get(clip.hls_master.replace('_master.m3u8', '_media_1_240.m3u8'))).body;
    const extinfs = [...media.matchAll(/#EXTINF:([0-9.]+),/g)].map((m) => Number(m[1]));
    expect(extinfs.length).toBeGreaterThanOrEqual(3);
    const vttUrl = clip.hls_master.replace('_master.m3u8', '_storyboard.vtt');
    const res = await h.get(vttUrl);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/vtt/);
    expect(res.body.startsWith('WEBVTT')).toBe(true);
    const cues = parseVtt(res.body);
    expect(cues.map((c) => +(c.end - c.start).toFixed(3))).toEqual(extinfs);
    let t = 0;
    for (const cue of cues) {
      expect(cue.start).toBeCloseTo(t, 3);
      t = cue.end;
    }
    await expectInsideSprites(vttUrl.slice(0, vttUrl.lastIndexOf('/') + 1), cues);
    // Distinct places: no two chunks share a tile.
    expect(new Set(cues.map((c) => `${c.url}#${c.x},${c.y}`)).size).toBe(cues.length);
  });

  it('the live window has a storyboard and the stream its newest tile as screenshot', async () => {
    const view = (await h.api('GET', `/streaming/streams/${stream.id}`)).json();
    expect(view.screenshot).toMatch(/\/live\/.+\/[0-9a-z]+\.jpg$/);
    expect(await jpegInfo((await h.get(view.screenshot)).rawPayload)).toEqual({ codec: 'mjpeg', width: 160, height: 90 });
    const folder = view.hls_url.replace(/master\.m3u8$/, '');
    const res = await h.get(`${folder}storyboard.vtt`);
    expect(res.statusCode).toBe(200);
    const cues = parseVtt(res.body);
    expect(cues.length).toBe(durations.length);
    expect(cues.map((c) => Math.round((c.end - c.start) * 1000))).toEqual(durations);
    await expectInsideSprites(folder, cues);
    // The play key is the secret: another key sees nothing.
    expect((await h.get(`${folder.replace(/\/[A-Za-z0-9_-]{16}\/$/, '/AAAAAAAAAAAAAAAA/')}storyboard.vtt`)).statusCode).toBe(404);
  });

  it('tiles go with their chunks', async () => {
    const other = await h.createStream({ name: 'Short-lived' });
    await pushUneven(other, [1000, 1000, 1000]);
    await tilesSettled();
    const view = (await h.api('GET', `/streaming/streams/${other.id}`)).json();
    const chunkKey = h.ctx.keys.stream.chunk(other.id, view.screenshot.split('/').pop().replace('.jpg', ''));
    expect(await h.ctx.redis.hexists(chunkKey, 't')).toBe(1);
    expect((await h.api('PUT', `/streaming/streams/${other.id}/dvr_cleanup`)).statusCode).toBeLessThan(300);
    expect(await h.ctx.redis.exists(chunkKey)).toBe(0);
    expect((await h.get(view.screenshot)).statusCode).toBe(404);
    const after = (await h.api('GET', `/streaming/streams/${other.id}`)).json();
    expect(after.screenshot).toBeNull();
    const vtt = await h.get(`${view.hls_url.replace(/master\.m3u8$/, '')}storyboard.vtt`);
    expect(parseVtt(vtt.body)).toEqual([]);
  });

  it('a chunk ffmpeg cannot read has no tile and the others still have theirs', async () => {
    const other = await h.createStream({ name: 'Broken chunk' });
    await pushUneven(other, [1000, 1000, 1000, 1000, 1000], 2);
    await tilesSettled();
    const view = (await h.api('GET', `/streaming/streams/${other.id}`)).json();
    const folder = view.hls_url.replace(/master\.m3u8$/, '');
    const cues = parseVtt((await h.get(`${folder}storyboard.vtt`)).body);
    // Five chunks, four tiles: the gap is where the broken chunk plays.
    expect(cues.map((c) => c.start)).toEqual([0, 1, 3, 4]);
    await expectInsideSprites(folder, cues);
  });

  it('404 for unknown, foreign, deleted and expired clips', async () => {
    const start = Math.floor(h.clock.now() / 1000) - 8;
    const clip = (await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start, duration: 3 })).json();
    const urls = ['_poster.jpg', '_storyboard.vtt'].map((f) => clip.hls_master.replace('_master.m3u8', f));
    for (const url of urls) expect((await h.get(url)).statusCode).toBe(200);
    for (const url of urls) {
      expect((await h.get(url.replace(clip.id, 'abcdefghijklmnop'))).statusCode).toBe(404);
      expect((await h.get(url.replace(`/rec/${h.company.client_id}_`, `/rec/${h.company.client_id + 1000}_`))).statusCode).toBe(404);
    }
    const sheet = parseVtt((await h.get(urls[1])).body)[0].url;
    const sheetUrl = urls[1].slice(0, urls[1].lastIndexOf('/') + 1) + sheet;
    expect((await h.get(sheetUrl)).statusCode).toBe(200);
    const now = h.clock.now();
    h.clock.set(clip.expiration * 1000 + 1000);
    try {
      for (const url of [...urls, sheetUrl]) expect((await h.get(url)).statusCode).toBe(404);
    } finally {
      h.clock.set(now);
    }
    expect((await h.api('DELETE', `/streaming/streams/${stream.id}/clip_recording/${clip.id}`)).statusCode).toBe(204);
    for (const url of [...urls, sheetUrl]) expect((await h.get(url)).statusCode).toBe(404);
  });

  it('a scheduled clip without chunks has no poster yet, and an empty storyboard', async () => {
    const start = Math.floor(h.clock.now() / 1000) + 30;
    const clip = (await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start, duration: 5 })).json();
    const poster = await h.get(clip.hls_master.replace('_master.m3u8', '_poster.jpg'));
    expect(poster.statusCode).toBe(425);
    const vtt = await h.get(clip.hls_master.replace('_master.m3u8', '_storyboard.vtt'));
    expect(vtt.statusCode).toBe(200);
    expect(parseVtt(vtt.body)).toEqual([]);
  });
});

describe('thumbnails of an fMP4 stream (EXT-X-MAP)', () => {
  let stream: StreamView;

  beforeAll(async () => {
    const { a } = await fmp4Runs();
    stream = await h.createStream({ name: 'fMP4 thumbs' });
    h.clock.set(h.clock.alignToSecond() - 30_000);
    await pushFmp4(h, stream, a, 0, 5);
    await tilesSettled();
  }, 60_000);

  it('every chunk of the tile rendition has its tile, decoded through its init segment; the screenshot is the newest', async () => {
    const source = await tilePlaylist(h.ctx, stream.id);
    expect(source?.settled).toBe(true);
    const members = await h.ctx.redis.zrange(h.ctx.keys.stream.index(stream.id, source!.playlist), 0, -1);
    expect(members.length).toBe(6);
    for (const member of members) {
      const tile = await h.ctx.redis.hgetBuffer(h.ctx.keys.stream.chunk(stream.id, chunkMemberId(member)), 't');
      expect(tile, `the tile of ${member}`).not.toBeNull();
      expect(await jpegInfo(tile!)).toEqual({ codec: 'mjpeg', width: 160, height: 90 });
    }
    const view = (await h.api('GET', `/streaming/streams/${stream.id}`)).json();
    expect(view.screenshot).toContain(`/${chunkMemberId(members.at(-1)!)}.jpg`);
    expect(await jpegInfo((await h.get(view.screenshot)).rawPayload)).toEqual({ codec: 'mjpeg', width: 160, height: 90 });
  });

  it('a clip poster is its first fMP4 chunk\'s first picture at the source size', async () => {
    const start = Math.floor(h.clock.now() / 1000) - 8;
    const made = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start, duration: 4 });
    expect(made.statusCode, made.body).toBe(200);
    const poster = await h.get(made.json().hls_master.replace('_master.m3u8', '_poster.jpg'));
    expect(poster.statusCode, poster.body).toBe(200);
    expect(await jpegInfo(poster.rawPayload)).toEqual({ codec: 'mjpeg', width: 320, height: 180 });
  });
});
