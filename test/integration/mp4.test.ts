// The MP4 of a clip as a player or a download manager sees it: real Redis,
// real ffmpeg, a ladder replayed into the push ingest.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClipView } from '../../src/clips/records.js';
import type { StreamView } from '../../src/dvr/streams.js';
import { topLevelBoxes } from '../helpers/fmp4.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';

const run = promisify(execFile);
let h: Harness;
let stream: StreamView;
let clip: ClipView;
let t0: number;
let master: Buffer;
let scratch: string;

interface Probe {
  format: { format_name: string; start_time: string; duration: string };
  streams: { codec_type: string; start_time: string; width?: number; height?: number }[];
}

async function probe(file: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file]);
  return JSON.parse(stdout) as Probe;
}


/** The path part of a playback URL, for inject(). */
function pathOf(url: string): string {
  return new URL(url).pathname;
}

function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  return h.app.inject({ method, url, headers });
}

async function cutClip(body: { start: number; duration: number }): Promise<ClipView> {
  const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, body);
  if (res.statusCode !== 200) throw new Error(`clip: ${res.statusCode} ${res.body}`);
  return res.json() as ClipView;
}

beforeAll(async () => {
  h = await startHarness();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'mp4-check-'));
  stream = await h.createStream({ name: 'mp4' });
  t0 = (await h.pushLadder(stream, { from: 0, to: 11 })).start;
  await waitFor(async () => {
    const view = (await h.api('GET', `/streaming/streams/${stream.id}`)).json() as StreamView;
    return view.renditions.length === 3 && view.renditions.every((r) => r.height);
  }, 'the probe of every rendition', 20_000);
  clip = await cutClip({ start: t0 / 1000 + 2, duration: 6 });
  expect(clip.status).toBe('ready');
});

afterAll(async () => {
  await h?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('MP4 of a ready clip', () => {
  it('is the highest rendition, stream-copied, moov before mdat, starting at zero, as long as the HLS clip', async () => {
    const res = await get(pathOf(clip.mp4_master));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('video/mp4');
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    master = res.rawPayload;
    expect(Number(res.headers['content-length'])).toBe(master.length);

    const boxes = topLevelBoxes(master);
    expect(boxes[0]).toBe('ftyp');
    expect(boxes.indexOf('moov')).toBeGreaterThan(-1);
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));

    const file = path.join(scratch, 'master-check.mp4');
    await writeFile(file, master);
    const info = await probe(file);
    expect(info.format.format_name).toContain('mp4');
    const video = info.streams.find((s) => s.codec_type === 'video')!;
    const audio = info.streams.find((s) => s.codec_type === 'audio')!;
    expect(video.height).toBe(720);
    expect(audio).toBeDefined();
    expect(Number(info.format.start_time)).toBe(0);
    // The earliest stream starts at 0; the other keeps its offset from the
    // source for sync, which is under one AAC frame (1024 / 48000 s).
    expect(Math.min(Number(video.start_time), Number(audio.start_time))).toBe(0);
    expect(Number(video.start_time)).toBeLessThan(1024 / 48000);
    expect(Number(audio.start_time)).toBeLessThan(1024 / 48000);

    const playlist = await get(pathOf(clip.hls_master).replace('master.m3u8', `${clip.renditions.at(-1)}.m3u8`));
    const hlsSeconds = [...playlist.body.matchAll(/#EXTINF:([\d.]+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(hlsSeconds).toBeGreaterThanOrEqual(6);
    expect(Math.abs(Number(info.format.duration) - hlsSeconds)).toBeLessThan(1);

    // Decodes end to end without a single complaint.
    const decoded = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
    expect(decoded.stderr).toBe('');
  });

  it('serves each rendition at its own URL', async () => {
    const res = await get(pathOf(clip.mp4_master).replace('master.mp4', `${clip.renditions[0]}.mp4`));
    expect(res.statusCode).toBe(200);
    const file = path.join(scratch, 'low-check.mp4');
    await writeFile(file, res.rawPayload);
    const info = await probe(file);
    expect(info.streams.find((s) => s.codec_type === 'video')!.height).toBe(240);
    expect(res.rawPayload.length).toBeLessThan(master.length);
  });

  it('answers HEAD with the headers of the file and no body', async () => {
    const res = await get(pathOf(clip.mp4_master), {}, 'HEAD');
    expect(res.statusCode).toBe(200);
    expect(Number(res.headers['content-length'])).toBe(master.length);
    expect(res.headers['content-type']).toBe('video/mp4');
    expect(res.rawPayload.length).toBe(0);
  });

  it('returns exactly the bytes of a single range', async () => {
    const url = pathOf(clip.mp4_master);
    const size = master.length;
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      ['bytes=1000-', 1000, size - 1],
      ['bytes=-500', size - 500, size - 1],
      ['bytes=12345-23456', 12345, 23456],
      [`bytes=${size - 10}-${size + 1000}`, size - 10, size - 1],
      [`bytes=-${size + 5}`, 0, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await get(url, { range });
      expect(res.statusCode, range).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
      expect(Number(res.headers['content-length'])).toBe(end - start + 1);
      expect(res.rawPayload.equals(master.subarray(start, end + 1)), range).toBe(true);
    }
  });

  it('answers 416 to a range past the end', async () => {
    for (const range of [`bytes=${master.length}-`, `bytes=${master.length + 10}-${master.length + 20}`, 'bytes=-0']) {
      const res = await get(pathOf(clip.mp4_master), { range });
      expect(res.statusCode, range).toBe(416);
      expect(res.headers['content-range']).toBe(`bytes */${master.length}`);
      expect(res.json()).toHaveProperty('message');
    }
  });

  it('ignores malformed and multi-range headers: 200 with the whole file', async () => {
    for (const range of ['bytes=0-1,5-9', 'bytes=5-2', 'items=0-10', 'bytes=abc', 'bytes=-']) {
      const res = await get(pathOf(clip.mp4_master), { range });
      expect(res.statusCode, range).toBe(200);
      expect(res.rawPayload.equals(master)).toBe(true);
    }
  });

  it('honours If-Range: a stale validator gets the whole file', async () => {
    const head = await get(pathOf(clip.mp4_master), {}, 'HEAD');
    const fresh = await get(pathOf(clip.mp4_master), { range: 'bytes=0-9', 'if-range': String(head.headers.etag) });
    expect(fresh.statusCode).toBe(206);
    const stale = await get(pathOf(clip.mp4_master), { range: 'bytes=0-9', 'if-range': '"old"' });
    expect(stale.statusCode).toBe(200);
  });

  it('adds Content-Disposition for ?filename=, and refuses unsafe names', async () => {
    const url = pathOf(clip.mp4_master);
    const ok = await get(`${url}?filename=${encodeURIComponent('my "best" goal.mp4')}`);
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-disposition']).toBe('attachment; filename="my best goal.mp4"');
    const bare = await get(`${url}?filename=highlights`, { range: 'bytes=0-9' });
    expect(bare.statusCode).toBe(206);
    expect(bare.headers['content-disposition']).toBe('attachment; filename="highlights.mp4"');
    const utf8 = await get(`${url}?filename=${encodeURIComponent('but été.mp4')}`);
    expect(utf8.headers['content-disposition']).toBe(`attachment; filename="but _t_.mp4"; filename*=UTF-8''but%20%C3%A9t%C3%A9.mp4`);
    for (const bad of ['../etc/passwd.mp4', 'a\\b.mp4', 'line\r\nSet-Cookie: x.mp4', 'nul\u0000.mp4', '']) {
      const res = await get(`${url}?filename=${encodeURIComponent(bad)}`);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.json().message).toMatch(/filename/);
      expect(res.headers['content-disposition']).toBeUndefined();
    }
    const twice = await get(`${url}?filename=a.mp4&filename=b.mp4`);
    expect(twice.statusCode).toBe(400);
  });
});

describe('MP4 lifecycle', () => {
  it('answers 425 with Retry-After while the clip is recording', async () => {
    const recording = await cutClip({ start: Math.floor(h.clock.now() / 1000), duration: 10 });
    expect(recording.status).toBe('recording');
    const res = await get(pathOf(recording.mp4_master));
    expect(res.statusCode).toBe(425);
    expect(res.json()).toEqual({ message: expect.stringMatching(/recording/) });
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(10);
    expect(retryAfter).toBeLessThanOrEqual(14);
  });

  it('answers 404 for an unknown clip, a rendition the clip lacks, or another company', async () => {
    const url = pathOf(clip.mp4_master);
    for (const wrong of [
      url.replace(clip.id, 'zzzzzzzzzzzzzzzz'),
      url.replace('master.mp4', 'media_9_2160.mp4'),
      url.replace(`/rec/${h.company.client_id}_`, `/rec/${h.company.client_id + 1000}_`),
    ]) {
      const res = await get(wrong);
      expect(res.statusCode, wrong).toBe(404);
      expect(res.json()).toHaveProperty('message');
    }
  });

  it('answers 404 once the clip is deleted, and drops its cached file', async () => {
    const doomed = await cutClip({ start: t0 / 1000 + 1, duration: 3 });
    expect((await get(pathOf(doomed.mp4_master))).statusCode).toBe(200);
    const cached = path.join(h.service.mp4.cache.store.root, String(stream.id), `${doomed.id}_${doomed.renditions.at(-1)}.mp4`);
    expect(existsSync(cached)).toBe(true);
    const del = await h.api('DELETE', `/streaming/streams/${stream.id}/clip_recording/${doomed.id}`);
    expect(del.statusCode).toBe(204);
    const res = await get(pathOf(doomed.mp4_master));
    expect(res.statusCode).toBe(404);
    // The 404 starts the file's removal without waiting for the disk: poll for it.
    await waitFor(() => !existsSync(cached), 'the cached MP4 of the deleted clip to be removed', 15_000);
    expect(existsSync(cached)).toBe(false);
  });
});
