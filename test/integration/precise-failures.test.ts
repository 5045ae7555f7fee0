// Precise clips (SPEC 14) when the precise version cannot be made: an edge
// re-encode whose ffmpeg fails (FFMPEG_PATH names a wrapper that exits 1 on an
// encode while a flag file exists, and runs the real ffmpeg otherwise: stream
// copies, such as the MP4 remux of a VOD, still work), and streams whose
// codec has no matching encoder here (audio only; MPEG-2 video). In every case
// the keyframe clip plays on, `precise_error` says why, the job ends (retried
// like any job, never forever) and a vod_required promotion that waited for
// the build proceeds with the keyframe version.
// Real Redis, real ffmpeg, the service's own BullMQ workers.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { preciseJobId } from '../../src/precise/job.js';
import { promotionJobId } from '../../src/vod/hook.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { GOP2_CHUNK_MS, gop2Ladder, gop2StreamAt } from '../helpers/gop2.js';
import { put } from '../helpers/uneven.js';
import { decodeErrors, vodDir, waitVideo } from '../helpers/vod.js';

const run = promisify(execFile);
let h: Harness;
let L: Buffer[][];
let work: string;
/** While this file exists the edge re-encode's ffmpeg exits 1. */
let brokenFlag: string;
const savedFfmpegPath = process.env.FFMPEG_PATH;

beforeAll(async () => {
  h = await startHarness();
  L = await gop2Ladder();
  work = await mkdtemp(path.join(os.tmpdir(), 'precise-failures-'));
  brokenFlag = path.join(work, 'ffmpeg-broken');
  const wrapper = path.join(work, 'ffmpeg');
  await writeFile(wrapper, [
    '#!/bin/sh',
    // Only an encode (libx264, the edge re-encode) fails: "$*" holds every argument.
    `if [ -e '${brokenFlag}' ]; then case "$*" in *libx264*) echo '[error] Unknown encoder (edge re-encode unavailable)' >&2; exit 1;; esac; fi`,
    'exec ffmpeg "$@"',
    '',
  ].join('\n'));
  await chmod(wrapper, 0o755);
  // Read at each call by the edge re-encode (src/precise/encode.ts) and the MP4 remux (src/mp4/remux.ts).
  process.env.FFMPEG_PATH = wrapper;
}, 120_000);
afterAll(async () => {
  if (savedFfmpegPath === undefined) delete process.env.FFMPEG_PATH;
  else process.env.FFMPEG_PATH = savedFfmpegPath;
  await h?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

interface ClipView {
  id: string; hls_master: string; renditions: string[]; status: string; video_id: number | null;
  precise: boolean; accuracy: string; cut_start: number | null; cut_end: number | null; precise_error: string | null;
}

const getClip = async (streamId: number, clipId: string) =>
  (await h.api('GET', `/streaming/streams/${streamId}/clip_recording/${clipId}`)).json() as ClipView;

const preciseJob = (streamId: number, clipId: string) => h.service.queues.precise.getJob(preciseJobId(streamId, clipId));

/** Waits for the clip's precise job to be over: completed, or failed with no attempt left. */
function preciseJobOver(streamId: number, clipId: string, timeoutMs: number): Promise<Job> {
  return waitFor(async () => {
    const job = await preciseJob(streamId, clipId);
    if (!job) return undefined;
    if (await job.isCompleted()) return job;
    if ((await job.isFailed()) && job.attemptsMade >= (job.opts.attempts ?? 1)) return job;
    return undefined;
  }, `the precise job of clip ${clipId} to be over`, timeoutMs, 100);
}

/** The rendition's media playlist and every chunk of it, each fetched (200 asserted), written to a directory. */
async function dumpHls(clip: ClipView, rendition: string): Promise<{ file: string; chunks: Buffer[] }> {
  const media = await h.get(clip.hls_master.replace('master', rendition));
  expect(media.statusCode).toBe(200);
  const dir = await mkdtemp(path.join(work, `${clip.id}-${rendition}-`));
  const chunks: Buffer[] = [];
  for (const uri of media.body.split('\n').filter((l) => l.endsWith('.ts'))) {
    const res = await h.get(new URL(uri, clip.hls_master).href);
    expect(res.statusCode).toBe(200);
    chunks.push(res.rawPayload);
    await writeFile(path.join(dir, uri), res.rawPayload);
  }
  const file = path.join(dir, 'media.m3u8');
  await writeFile(file, media.body);
  return { file, chunks };
}

/** The chunks of a VOD rendition, in playlist order, as stored. */
async function vodChunks(videoId: number, rendition: string, segments: number): Promise<Buffer[]> {
  const dir = vodDir(h.ctx.config.dataDir, videoId);
  return Promise.all(Array.from({ length: segments }, (_, i) =>
    readFile(path.join(dir, rendition, `${String(i + 1).padStart(5, '0')}.ts`))));
}

const gop2Stream = (offsetMs: number) => gop2StreamAt(h, 'precise failures', offsetMs);

/** Renditions are listed by rising height: the clip's rendition r is gop2 rendition 2 - r. */
const gop2Index = (r: number) => 2 - r;

/**
 * One rendition made by ffmpeg from `codecArgs` (2 s chunks, 8 s), pushed as a
 * live encoder would from a whole second on; returns that second (unix ms).
 */
async function singleRenditionStream(name: string, inputArgs: string[], codecArgs: string[]): Promise<{ stream: StreamView; t0: number; chunks: Buffer[] }> {
  const dir = await mkdtemp(path.join(work, `${name}-`));
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', ...inputArgs, '-t', '8', ...codecArgs,
    '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-hls_segment_filename', path.join(dir, `${name}_%02d.ts`), path.join(dir, `${name}.m3u8`),
  ]);
  const lines = (await readFile(path.join(dir, `${name}.m3u8`), 'utf8')).split('\n');
  const made: Array<{ file: string; extinf: string; bytes: Buffer }> = [];
  for (const [i, line] of lines.entries()) {
    const m = /^#EXTINF:([0-9.]+),/.exec(line);
    if (m) made.push({ file: lines[i + 1].trim(), extinf: m[1], bytes: await readFile(path.join(dir, lines[i + 1].trim())) });
  }
  const stream = (await h.api('POST', '/streaming/streams', { name })).json() as StreamView;
  const t0 = Math.ceil(h.clock.now() / 1000) * 1000 + 1000;
  h.clock.set(t0);
  for (const [i, chunk] of made.entries()) {
    h.clock.advance(Math.round(Number(chunk.extinf) * 1000));
    await put(h, stream, chunk.file, chunk.bytes);
    const playlist = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0',
      ...made.slice(0, i + 1).flatMap((c) => [`#EXTINF:${c.extinf},`, c.file])].join('\n') + '\n';
    await put(h, stream, `${name}.m3u8`, playlist);
  }
  await waitFor(async () => {
    const view = (await h.api('GET', `/streaming/streams/${stream.id}`)).json() as StreamView;
    return view.renditions.length === 1 && view.renditions[0].codecs;
  }, `the ${name} rendition probed`, 30_000);
  return { stream, t0, chunks: made.map((c) => c.bytes) };
}

describe('a precise build whose edge re-encode fails', () => {
  it('keeps the keyframe clip playing, says why, retries, and once ffmpeg works again lands the precise version', async () => {
    await writeFile(brokenFlag, '');
    const { stream, s } = await gop2Stream(600);
    const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: s / 1000, duration: 5, precise: true });
    expect(res.statusCode).toBe(200);
    const clip = res.json() as ClipView;
    // The first attempt fails: the reason is on the clip, with a retry to come.
    const failed = await waitFor(async () => {
      const view = await getClip(stream.id, clip.id);
      return view.precise_error ? view : undefined;
    }, 'the first failed attempt', 60_000, 50);
    expect(failed.precise_error).toMatch(/^precise build failed \(will retry\): ffmpeg exited 1: \[error\] Unknown encoder/);
    expect(failed.accuracy).toBe('keyframe');
    // Meanwhile the keyframe clip plays: every chunk the DVR's own.
    for (const [r, rendition] of failed.renditions.entries()) {
      const hls = await dumpHls(failed, rendition);
      expect(hls.chunks.length).toBe(3);
      hls.chunks.forEach((bytes, k) => expect(bytes.equals(L[gop2Index(r)][1 + k])).toBe(true));
    }
    // ffmpeg works again: a retry (BullMQ backoff) builds it.
    await rm(brokenFlag);
    const frame = await waitFor(async () => {
      const view = await getClip(stream.id, clip.id);
      return view.accuracy === 'frame' ? view : undefined;
    }, 'the retried precise build', 90_000, 100);
    expect(frame.precise_error).toBeNull();
    expect(frame.cut_start).toBe(s);
    const job = await preciseJobOver(stream.id, clip.id, 10_000);
    expect(job.returnvalue).toBe('frame');
    expect(job.attemptsMade).toBeGreaterThanOrEqual(2);
    const first = await dumpHls(frame, frame.renditions[0]);
    expect(first.chunks[0].equals(L[gop2Index(0)][1])).toBe(false);
  }, 180_000);

  it('after the final attempt stays keyframe-aligned with the reason, and the waiting VOD promotion takes the keyframe version', async () => {
    await writeFile(brokenFlag, '');
    try {
      const { stream, s } = await gop2Stream(500);
      const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: s / 1000, duration: 5, precise: true, vod_required: true });
      expect(res.statusCode).toBe(200);
      const clip = res.json() as ClipView;
      expect(clip.video_id).not.toBeNull();
      const messages = new Set<string>();
      const job = await waitFor(async () => {
        const view = await getClip(stream.id, clip.id);
        if (view.precise_error) messages.add(view.precise_error);
        const j = await preciseJob(stream.id, clip.id);
        return j && (await j.isFailed()) && j.attemptsMade >= (j.opts.attempts ?? 1) ? j : undefined;
      }, 'every attempt of the precise job', 60_000, 50);
      // Retried like any job (attempts with backoff), each attempt saying why.
      expect(job.opts.attempts).toBeGreaterThan(1);
      expect(job.attemptsMade).toBe(job.opts.attempts);
      expect(job.failedReason).toContain('ffmpeg exited 1');
      expect([...messages].some((m) => m.startsWith('precise build failed (will retry): ffmpeg exited 1'))).toBe(true);
      const after = await getClip(stream.id, clip.id);
      expect(after.accuracy).toBe('keyframe');
      expect(after.precise_error).toMatch(/^precise build failed: ffmpeg exited 1: \[error\] Unknown encoder/);

      // The keyframe clip plays: the DVR's chunks, decoding cleanly.
      for (const [r, rendition] of after.renditions.entries()) {
        const hls = await dumpHls(after, rendition);
        expect(hls.chunks.length).toBe(3);
        hls.chunks.forEach((bytes, k) => expect(bytes.equals(L[gop2Index(r)][1 + k])).toBe(true));
        expect(await decodeErrors(hls.file)).toBe('');
      }

      // The promotion waited for the build to give up, then took the keyframe version.
      const video = await waitVideo(h, clip.video_id!, 'ready', 60_000);
      const promotion = await h.service.queues.vodPromote.getJob(promotionJobId(clip.video_id!));
      expect(promotion!.timestamp).toBeGreaterThanOrEqual(job.processedOn!);
      expect(video.duration).toBe(3 * GOP2_CHUNK_MS);
      for (const [r, v] of video.videos.entries()) {
        expect(v.rendition).toBe(after.renditions[r]);
        const chunks = await vodChunks(video.id, v.rendition, v.segments);
        expect(chunks.length).toBe(3);
        chunks.forEach((bytes, k) => expect(bytes.equals(L[gop2Index(r)][1 + k])).toBe(true));
      }
    } finally {
      await rm(brokenFlag, { force: true });
    }
  }, 180_000);
});

describe('precise on a codec that cannot be re-encoded here', () => {
  const cases = [
    {
      name: 'audio',
      what: 'an audio-only stream (AAC)',
      input: ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      codec: ['-c:a', 'aac', '-b:a', '64k'],
      reason: 'kept keyframe-aligned: the chunk has no video stream',
    },
    {
      name: 'mpeg2',
      what: 'MPEG-2 video',
      input: ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      codec: ['-c:v', 'mpeg2video', '-g', '50', '-b:v', '300k', '-c:a', 'aac', '-b:a', '64k'],
      reason: 'kept keyframe-aligned: video codec mpeg2video has no matching encoder here',
    },
  ];
  for (const c of cases) {
    it(`${c.what}: created keyframe-aligned, plays, the reason on the clip, the job done once, the VOD made`, async () => {
      const { stream, t0, chunks } = await singleRenditionStream(c.name, c.input, c.codec);
      // Starts and ends inside chunks 1 and 3: both edges would need a re-encode.
      const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: (t0 + 3000) / 1000, duration: 4, precise: true, vod_required: true });
      expect(res.statusCode).toBe(200);
      const clip = res.json() as ClipView;
      expect(clip).toMatchObject({ status: 'ready', precise: true, accuracy: 'keyframe' });
      const job = await preciseJobOver(stream.id, clip.id, 60_000);
      // Done at its first attempt, not failed: retrying would not help.
      expect(job.returnvalue).toBe('unsupported');
      expect(job.failedReason).toBeFalsy();
      expect(job.attemptsMade).toBeLessThanOrEqual(1);
      const after = await getClip(stream.id, clip.id);
      expect(after.accuracy).toBe('keyframe');
      expect(after.precise_error).toContain(c.reason);
      const hls = await dumpHls(after, after.renditions[0]);
      expect(hls.chunks.length).toBe(3);
      hls.chunks.forEach((bytes, k) => expect(bytes.equals(chunks[1 + k])).toBe(true));
      expect(await decodeErrors(hls.file)).toBe('');
      // The promotion that waited for the build proceeds with the keyframe chunks.
      const video = await waitVideo(h, clip.video_id!, 'ready', 60_000);
      const stored = await vodChunks(video.id, video.videos[0].rendition, video.videos[0].segments);
      expect(stored.length).toBe(3);
      stored.forEach((bytes, k) => expect(bytes.equals(chunks[1 + k])).toBe(true));
      // Still one attempt a while later: nothing is retried.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await preciseJob(stream.id, clip.id))!.attemptsMade).toBe(job.attemptsMade);
    }, 120_000);
  }
});
