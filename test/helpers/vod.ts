// Helpers of the VOD promotion tests: a vod_required clip of the fixture
// ladder, waiting on its record, the files of a VOD folder, and an ffmpeg
// decode that must finish without a single error line.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { StreamView } from '../../src/dvr/streams.js';
import { promotionJobId } from '../../src/vod/hook.js';
import { loadVideo, type VideoRecord } from '../../src/vod/records.js';
import { waitFor, type Harness } from './harness.js';

/** A stream with the whole fixture ladder pushed and every rendition probed. */
export async function ladderStream(h: Harness, name = 'VOD test stream'): Promise<{ stream: StreamView; start: number }> {
  const stream = await h.createStream({ name });
  const { start } = await h.pushLadder(stream, { from: 0, to: 11 });
  await waitFor(async () => {
    const view = (await h.api('GET', `/streaming/streams/${stream.id}`)).json() as StreamView;
    return view.renditions.length === 3 && view.renditions.every((r) => r.height);
  }, 'the probe of every rendition', 20_000);
  return { stream, start };
}

/** PUT clip_recording with vod_required; returns the clip's video_id. */
export async function vodClip(h: Harness, streamId: number, start: number, duration: number): Promise<number> {
  const res = await h.api('PUT', `/streaming/streams/${streamId}/clip_recording`, { start, duration, vod_required: true });
  if (res.statusCode !== 200) throw new Error(`clip: ${res.statusCode} ${res.body}`);
  const videoId = res.json().video_id;
  if (!Number.isInteger(videoId)) throw new Error(`clip without a video_id: ${res.body}`);
  return videoId as number;
}

/** Waits for the record to reach `status` (an unexpected `error` fails at once). */
export function waitVideo(h: Harness, videoId: number, status: 'ready' | 'error' = 'ready', timeoutMs = 60_000): Promise<VideoRecord> {
  return waitFor(async () => {
    const video = await loadVideo(h.ctx, videoId);
    if (status === 'ready' && video?.status === 'error') throw new Error(`promotion failed: ${video.error}`);
    return video?.status === status ? video : undefined;
  }, `VOD ${videoId} to be ${status}`, timeoutMs, 50);
}

export function vodDir(dataDir: string, videoId: number): string {
  return path.join(dataDir, 'vod', String(videoId));
}

/** Waits for the promotion job of a video to finish (the record says ready a moment before). */
export function waitJobDone(h: Harness, videoId: number, timeoutMs = 10_000) {
  return waitFor(async () => {
    const job = await h.service.queues.vodPromote.getJob(promotionJobId(videoId));
    return job?.finishedOn ? job : undefined;
  }, `the promotion job of VOD ${videoId} to finish`, timeoutMs, 50);
}

/** Every file of a VOD folder (relative path -> size and sha1), hidden ones included. */
export async function vodFiles(dataDir: string, videoId: number): Promise<Map<string, { size: number; mtimeMs: number; sha1: string }>> {
  const root = vodDir(dataDir, videoId);
  const out = new Map<string, { size: number; mtimeMs: number; sha1: string }>();
  let entries;
  try {
    entries = await readdir(root, { recursive: true, withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries.filter((x) => x.isFile())) {
    const full = path.join(e.parentPath, e.name);
    const s = await stat(full);
    out.set(path.relative(root, full), { size: s.size, mtimeMs: s.mtimeMs, sha1: createHash('sha1').update(await readFile(full)).digest('hex') });
  }
  return out;
}

/** The file names a complete VOD of these renditions has (chunks counted from the record). */
export function expectedVodFiles(video: VideoRecord): string[] {
  const names = ['master.m3u8', 'video.json'];
  for (const r of video.videos) {
    names.push(`${r.rendition}.m3u8`, `${r.rendition}.mp4`);
    for (let i = 1; i <= r.segments; i++) names.push(`${r.rendition}/${String(i).padStart(5, '0')}.ts`);
  }
  return names.sort();
}

/** Decodes everything of `input` (a file or URL); resolves to ffmpeg's error output, '' when clean. */
export function decodeErrors(input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', input, '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve(code === 0 ? stderr.trim() : `exit ${code}: ${stderr.trim()}`));
  });
}
