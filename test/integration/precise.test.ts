// Precise clips (SPEC 14) on real ffmpeg output with a 2 s GOP: the clip is
// served keyframe-aligned at once, then its edge chunks are re-encoded in the
// background and swapped in behind the same URLs. Checked with ffprobe on the
// served HLS and MP4: first and last frame, audio against video, spans of all
// renditions, clean decoding, and the middle chunks untouched.
// Timeouts are generous: the machine running the tests may be shared.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { FRAME_MS, GOP2_CHUNK_MS, gop2Ladder, gop2StreamAt } from '../helpers/gop2.js';
import { vodDir, waitVideo } from '../helpers/vod.js';

const run = promisify(execFile);
let h: Harness;
let L: Buffer[][];
let work: string;

beforeAll(async () => {
  h = await startHarness();
  L = await gop2Ladder();
  work = await mkdtemp(path.join(os.tmpdir(), 'precise-test-'));
}, 120_000);
afterAll(async () => {
  await h?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

interface ClipView {
  id: string; hls_master: string; mp4_master: string; renditions: string[]; status: string; video_id: number | null;
  precise: boolean; accuracy: string; cut_start: number | null; cut_end: number | null; real_duration: number | null; precise_error: string | null;
}

interface Packet { pts: number; end: number }

/** Packets (pts, pts + duration, seconds) of one stream type of a local file, in presentation order. */
async function packets(file: string, type: 'v' | 'a'): Promise<Packet[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', `${type}:0`, '-show_entries', 'packet=pts_time,duration_time', '-of', 'json', file], { maxBuffer: 64 << 20 });
  const list = (JSON.parse(stdout).packets as Array<{ pts_time: string; duration_time?: string }>)
    .map((p) => ({ pts: Number(p.pts_time), end: Number(p.pts_time) + Number(p.duration_time ?? 0) }));
  return list.sort((a, b) => a.pts - b.pts);
}

/** ffmpeg's complaints while decoding the whole file (empty: clean). */
async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-v', 'error', ...(file.endsWith('.m3u8') ? ['-allowed_extensions', 'ALL'] : []), '-i', file, '-f', 'null', '-'], { maxBuffer: 16 << 20 })
    .catch((err: { stderr?: string }) => ({ stderr: `failed: ${err.stderr ?? err}` }));
  return stderr.trim();
}

/** Writes a rendition's media playlist and its chunks to a directory; returns the playlist path and the chunk bytes. */
async function dumpHls(clip: ClipView, rendition: string, tag: string): Promise<{ file: string; text: string; chunks: Buffer[] }> {
  const text = (await h.get(clip.hls_master.replace('master', rendition))).body;
  const dir = await mkdtemp(path.join(work, `${tag}-`));
  const chunks: Buffer[] = [];
  for (const uri of text.split('\n').filter((l) => l.endsWith('.ts'))) {
    const res = await h.get(new URL(uri, clip.hls_master).href);
    expect(res.statusCode).toBe(200);
    chunks.push(res.rawPayload);
    await writeFile(path.join(dir, uri), res.rawPayload);
  }
  const file = path.join(dir, 'media.m3u8');
  await writeFile(file, text);
  return { file, text, chunks };
}

async function firstVideoPts(bytes: Buffer): Promise<number> {
  const file = path.join(work, `probe-${Math.random().toString(36).slice(2)}.ts`);
  await writeFile(file, bytes);
  return (await packets(file, 'v'))[0].pts;
}

/** First audio pts minus first video pts of a chunk, seconds. */
async function avOffset(bytes: Buffer): Promise<number> {
  const file = path.join(work, `av-${Math.random().toString(36).slice(2)}.ts`);
  await writeFile(file, bytes);
  return (await packets(file, 'a'))[0].pts - (await packets(file, 'v'))[0].pts;
}

/** End of the last audio packet minus end of the last video frame of a chunk, seconds. */
async function avEndOffset(bytes: Buffer): Promise<number> {
  const file = path.join(work, `av-${Math.random().toString(36).slice(2)}.ts`);
  await writeFile(file, bytes);
  const a = await packets(file, 'a');
  const v = await packets(file, 'v');
  return a[a.length - 1].end - (v[v.length - 1].pts + FRAME_MS / 1000);
}

async function newStream(): Promise<StreamView> {
  return (await h.api('POST', '/streaming/streams', { name: 'precise' })).json() as StreamView;
}

const streamWithStartAt = (offsetMs: number) => gop2StreamAt(h, 'precise', offsetMs);

async function cutPrecise(
  stream: StreamView, startMs: number, duration: number, extra: Record<string, unknown> = {},
): Promise<{ keyframe: ClipView; frame: ClipView }> {
  const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: startMs / 1000, duration, precise: true, ...extra });
  expect(res.statusCode).toBe(200);
  const keyframe = res.json() as ClipView;
  expect(keyframe).toMatchObject({ precise: true, accuracy: 'keyframe', status: 'ready' });
  const frame = await waitFor(async () => {
    const view = (await h.api('GET', `/streaming/streams/${stream.id}/clip_recording/${keyframe.id}`)).json() as ClipView;
    return view.accuracy === 'frame' ? view : undefined;
  }, 'the precise build', 120_000, 200);
  return { keyframe, frame };
}

const ceilFrame = (ms: number) => Math.ceil(ms / FRAME_MS - 1e-9) * FRAME_MS;

/**
 * Checks every rendition of a precise clip cut at [s, s + duration) against
 * the fixture: chunk `headIndex` holds the start, `tailIndex` the end.
 */
async function expectFrameAccurate(clip: ClipView, t0: number, s: number, durationS: number, opts: { headIndex: number; tailIndex: number }) {
  const we = s + durationS * 1000;
  const headStart = t0 + opts.headIndex * GOP2_CHUNK_MS;
  const tailStart = t0 + opts.tailIndex * GOP2_CHUNK_MS;
  const cutStart = headStart + ceilFrame(s - headStart);
  const cutEnd = tailStart + ceilFrame(we - tailStart);
  expect(clip.cut_start).toBe(cutStart);
  expect(clip.cut_end).toBe(cutEnd);
  expect(clip.real_duration).toBeCloseTo((cutEnd - cutStart) / 1000, 3);
  expect(clip.precise_error).toBeNull();
  const spans: number[] = [];
  for (const [r, rendition] of clip.renditions.entries()) {
    const v = 2 - r; // renditions are ordered by rising height: media_1_90 is fixture rendition 2
    const hls = await dumpHls(clip, rendition, `${clip.id}-${rendition}`);
    expect(await decodeErrors(hls.file)).toBe('');
    const video = await packets(hls.file, 'v');
    const audio = await packets(hls.file, 'a');
    const chunkCount = opts.tailIndex - opts.headIndex + 1;
    expect(hls.chunks.length).toBe(chunkCount);
    // First frame: the first at or after start; last: the last before the end (±1 frame).
    const headPts = await firstVideoPts(L[v][opts.headIndex]);
    const tailPts = await firstVideoPts(L[v][opts.tailIndex]);
    expect(Math.abs((video[0].pts - headPts) * 1000 - (cutStart - headStart))).toBeLessThanOrEqual(FRAME_MS + 1);
    const lastWanted = (cutEnd - tailStart - FRAME_MS) / 1000 + tailPts;
    expect(Math.abs(video[video.length - 1].pts - lastWanted) * 1000).toBeLessThanOrEqual(FRAME_MS + 1);
    // Audio starts and ends with the video (a first chunk kept as the DVR's has the source's own lead of audio).
    const headOffset = cutStart === headStart ? await avOffset(L[v][opts.headIndex]) : 0;
    expect(Math.abs(audio[0].pts - video[0].pts - headOffset) * 1000).toBeLessThanOrEqual(25);
    const tailOffset = cutEnd === tailStart + GOP2_CHUNK_MS ? await avEndOffset(L[v][opts.tailIndex]) : 0;
    expect(Math.abs(audio[audio.length - 1].end - (video[video.length - 1].pts + FRAME_MS / 1000) - tailOffset) * 1000).toBeLessThanOrEqual(25);
    spans.push(video.length);
    // Middle chunks are the DVR's, byte for byte.
    for (let k = 1; k < chunkCount - 1; k++) expect(hls.chunks[k].equals(L[v][opts.headIndex + k])).toBe(true);
    // Start on a keyframe: the first chunk is the DVR's too; end on a boundary: the last.
    if (cutStart === headStart) expect(hls.chunks[0].equals(L[v][opts.headIndex])).toBe(true);
    else expect(hls.chunks[0].equals(L[v][opts.headIndex])).toBe(false);
    // No discontinuity is needed: timestamps continue the DVR's.
    expect(hls.text).not.toContain('#EXT-X-DISCONTINUITY\n');
  }
  // Every rendition covers the same span: the same number of 40 ms frames.
  expect(new Set(spans).size).toBe(1);
  expect(spans[0]).toBe(Math.round((cutEnd - cutStart) / FRAME_MS));
}

describe('precise clips', () => {
  for (const offsetMs of [500, 1000, 1480]) {
    it(`cut ${offsetMs} ms into a GOP: frame-accurate in every rendition, middle untouched`, async () => {
      const { stream, s, t0 } = await streamWithStartAt(offsetMs);
      const { keyframe, frame } = await cutPrecise(stream, s, 5);
      // Served at once, keyframe-aligned, from the GOP that holds the start.
      const before = (await h.get(keyframe.hls_master.replace('master', keyframe.renditions[0]))).body;
      expect(before).toContain('#EXTINF:2.000,');
      const end = s + 5000;
      const tailIndex = Math.floor((end - 1 - t0) / GOP2_CHUNK_MS);
      await expectFrameAccurate(frame, t0, s, 5, { headIndex: 1, tailIndex });
      // A player that loaded the old playlist keeps playing: its chunk URLs still answer.
      for (const uri of before.split('\n').filter((l) => l.endsWith('.ts'))) {
        expect((await h.get(new URL(uri, keyframe.hls_master).href)).statusCode).toBe(200);
      }
    }, 300_000);
  }

  it('a start on a keyframe keeps the first chunk as it is; start and end in one GOP make one chunk', async () => {
    const { stream, s, t0 } = await streamWithStartAt(0);
    const { frame } = await cutPrecise(stream, s, 5);
    await expectFrameAccurate(frame, t0, s, 5, { headIndex: 1, tailIndex: 3 });

    const one = await streamWithStartAt(400);
    const single = await cutPrecise(one.stream, one.s, 1);
    await expectFrameAccurate(single.frame, one.t0, one.s, 1, { headIndex: 1, tailIndex: 1 });
  }, 400_000);

  it('the MP4 is rebuilt from the precise chunks and decodes cleanly', async () => {
    const { stream, s } = await streamWithStartAt(760);
    const before = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: s / 1000, duration: 3, precise: true });
    const early = before.json() as ClipView;
    // An MP4 asked for before the swap is the keyframe one...
    const kf = await h.get(early.mp4_master);
    expect(kf.statusCode).toBe(200);
    const frame = await waitFor(async () => {
      const view = (await h.api('GET', `/streaming/streams/${stream.id}/clip_recording/${early.id}`)).json() as ClipView;
      return view.accuracy === 'frame' ? view : undefined;
    }, 'the precise build', 120_000, 200);
    // ...and the one after it the precise one.
    const res = await h.get(frame.mp4_master);
    expect(res.statusCode).toBe(200);
    const file = path.join(work, `${frame.id}.mp4`);
    await writeFile(file, res.rawPayload);
    expect(await decodeErrors(file)).toBe('');
    const video = await packets(file, 'v');
    const audio = await packets(file, 'a');
    expect(video.length).toBe(Math.round((frame.cut_end! - frame.cut_start!) / FRAME_MS));
    expect(Math.abs(audio[0].pts - video[0].pts) * 1000).toBeLessThanOrEqual(25);
    expect(Math.abs(audio[audio.length - 1].end - video[video.length - 1].end) * 1000).toBeLessThanOrEqual(25);
    // The file lasts the precise span (no empty lead before its first sample): one frame, plus the audio's tolerance.
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
    expect(Math.abs(Number(stdout) * 1000 - (frame.cut_end! - frame.cut_start!))).toBeLessThanOrEqual(FRAME_MS + 25);
    const kfFile = path.join(work, `${frame.id}-kf.mp4`);
    await writeFile(kfFile, kf.rawPayload);
    expect((await packets(kfFile, 'v')).length).toBeGreaterThan(video.length);
  }, 300_000);

  it('a vod_required precise clip is promoted once precise: the VOD holds the precise edges and lasts cut_end - cut_start', async () => {
    const { stream, s, t0 } = await streamWithStartAt(500);
    const { keyframe, frame } = await cutPrecise(stream, s, 5, { vod_required: true });
    expect(keyframe.video_id).not.toBeNull();
    const video = await waitVideo(h, keyframe.video_id!, 'ready', 120_000);
    const span = frame.cut_end! - frame.cut_start!;
    const tailIndex = Math.floor((s + 5000 - 1 - t0) / GOP2_CHUNK_MS);
    expect(Math.abs(video.duration - span)).toBeLessThanOrEqual(FRAME_MS);
    expect(video.videos.map((v) => v.rendition)).toEqual(frame.renditions);
    const folder = vodDir(h.ctx.config.dataDir, video.id);
    for (const [r, v] of video.videos.entries()) {
      const fixture = L[2 - r];
      // HLS: the chunks the precise clip serves, edges and middle, byte for byte.
      const served = await dumpHls(frame, v.rendition, `${frame.id}-vod-${v.rendition}`);
      const stored = await Promise.all(Array.from({ length: v.segments }, (_, i) =>
        readFile(path.join(folder, v.rendition, `${String(i + 1).padStart(5, '0')}.ts`))));
      expect(stored.length).toBe(served.chunks.length);
      stored.forEach((bytes, k) => expect(bytes.equals(served.chunks[k])).toBe(true));
      expect(stored[0].equals(fixture[1])).toBe(false);
      expect(stored[stored.length - 1].equals(fixture[tailIndex])).toBe(false);
      expect(await decodeErrors(path.join(folder, `${v.rendition}.m3u8`))).toBe('');
      // MP4: the precise span, to the frame, audio within its tolerance.
      const mp4 = path.join(folder, `${v.rendition}.mp4`);
      expect(await decodeErrors(mp4)).toBe('');
      const frames = await packets(mp4, 'v');
      expect(frames.length).toBe(Math.round(span / FRAME_MS));
      expect(Math.abs((frames[frames.length - 1].pts + FRAME_MS / 1000 - frames[0].pts) * 1000 - span)).toBeLessThanOrEqual(FRAME_MS);
      const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', mp4]);
      expect(Math.abs(Number(stdout) * 1000 - span)).toBeLessThanOrEqual(FRAME_MS + 25);
    }
  }, 300_000);

  it('precise that is not a boolean is refused with a 400 naming it, and nothing is made', async () => {
    const stream = await newStream();
    for (const precise of ['yes', 1, null, {}]) {
      const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { duration: 5, precise });
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain('precise');
    }
    expect((await h.api('GET', `/streaming/streams/${stream.id}/clip_recording`)).json()).toEqual([]);
  }, 60_000);
});
