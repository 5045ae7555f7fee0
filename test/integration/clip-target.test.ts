// EXT-X-TARGETDURATION of clips (RFC 8216 4.3.3.1, SPEC 6.1): never below any
// EXTINF rounded, never changing from recording to ready. Chunks made here by
// ffmpeg with uneven lengths (2, 2, 3.4, 7, 1.2, 2.6, 2, 2 s), cut on
// keyframes, pushed as a live encoder pushes them.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';

const run = promisify(execFile);
const DURATIONS = [2, 2, 3.4, 7, 1.2, 2.6, 2, 2];
let h: Harness;
let dir: string;
const chunks: Buffer[] = [];

beforeAll(async () => {
  h = await startHarness({ env: { FINALIZE_GRACE_SECONDS: '20' } });
  dir = await mkdtemp(path.join(os.tmpdir(), 'dvr-uneven-'));
  const cuts: number[] = [];
  DURATIONS.reduce((t, d) => (cuts.push(Number((t + d).toFixed(1))), t + d), 0);
  const total = cuts.pop()!;
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(total), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-force_key_frames', cuts.join(','), '-g', '1000', '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '64k',
    '-f', 'segment', '-segment_times', cuts.join(','), '-segment_format', 'mpegts', path.join(dir, 'u%02d.ts'),
  ]);
  for (let i = 0; i < DURATIONS.length; i++) chunks.push(await readFile(path.join(dir, `u${String(i).padStart(2, '0')}.ts`)));
}, 60_000);
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface ClipJson { id: string; status: string; renditions: string[]; hls_master: string }
const clipsUrl = (stream: StreamView) => `/streaming/streams/${stream.id}/clip_recording`;

/** Pushes chunk i as ffmpeg would: the clock moves by its duration, then the chunk, then the playlist listing it. */
async function pushChunk(stream: StreamView, i: number): Promise<void> {
  h.clock.advance(DURATIONS[i] * 1000);
  const first = Math.max(0, i - 5);
  const listed = DURATIONS.slice(first, i + 1);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${Math.ceil(Math.max(...listed))}`, `#EXT-X-MEDIA-SEQUENCE:${first}`];
  listed.forEach((d, j) => lines.push(`#EXTINF:${d.toFixed(6)},`, `u${String(first + j).padStart(2, '0')}.ts`));
  expect((await h.push(stream, `u${String(i).padStart(2, '0')}.ts`, chunks[i])).statusCode).toBeLessThan(300);
  expect((await h.push(stream, 'stream_0.m3u8', lines.join('\n') + '\n')).statusCode).toBeLessThan(300);
}

const targetOf = (text: string) => Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)![1]);
const extinfs = (text: string) => [...text.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));

function expectValid(text: string): void {
  for (const d of extinfs(text)) expect(Math.round(d), text).toBeLessThanOrEqual(targetOf(text));
}

async function mediaOf(stream: StreamView, clip: ClipJson): Promise<string> {
  // The rendition's name waits for its probe (media_1_180).
  const name = await waitFor(async () => {
    const view = (await h.api('GET', `${clipsUrl(stream)}/${clip.id}`)).json() as ClipJson;
    const master = (await h.get(clip.hls_master)).body;
    return /rec_[a-z0-9]+_(media_1_\d+)\.m3u8/.exec(master)?.[1] ?? view.renditions[0];
  }, 'the clip\'s rendition', 10_000, 100);
  const res = await h.get(clip.hls_master.replace('master', name));
  expect(res.statusCode).toBe(200);
  return res.body;
}

const waitReady = (stream: StreamView, clip: ClipJson) => waitFor(async () => {
  const now = (await h.api('GET', `${clipsUrl(stream)}/${clip.id}`)).json() as ClipJson;
  return now.status === 'ready' && now;
}, 'the clip to be ready', 10_000, 100);

describe('a clip\'s EXT-X-TARGETDURATION', () => {
  it('scheduled before the first chunk: covers 2 s and longer chunks while recording, and stays the same when ready', async () => {
    const stream = await h.createStream({ name: 'Uneven, scheduled' });
    const t0 = h.clock.alignToSecond();
    h.clock.set(t0);
    const clip = (await h.api('PUT', clipsUrl(stream), { start: t0 / 1000 + 2, duration: 6 })).json() as ClipJson;
    expect(clip.status).toBe('recording');
    await pushChunk(stream, 0);
    await pushChunk(stream, 1);
    const recording = await mediaOf(stream, clip);
    expect(recording).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(extinfs(recording)).toEqual([2]);
    expectValid(recording);
    await pushChunk(stream, 2);
    await pushChunk(stream, 3);
    const ready = await waitReady(stream, clip);
    const final = await mediaOf(stream, ready);
    expect(final).toContain('#EXT-X-ENDLIST');
    expect(extinfs(final)).toEqual([2, 3.4, 7]);
    expectValid(final);
    expect(targetOf(final)).toBe(targetOf(recording));
  });

  it('cut while recording 2 s chunks: never changes, and a chunk longer than it ends the clip instead', async () => {
    const stream = await h.createStream({ name: 'Uneven, from now' });
    h.clock.set(h.clock.alignToSecond());
    await pushChunk(stream, 0);
    await pushChunk(stream, 1);
    const clip = (await h.api('PUT', clipsUrl(stream), { duration: 8 })).json() as ClipJson;
    expect(clip.status).toBe('recording');
    await pushChunk(stream, 2); // 3.4 s
    const recording = await mediaOf(stream, clip);
    expect(extinfs(recording)).toEqual([3.4]);
    expectValid(recording);
    await pushChunk(stream, 3); // 7 s: longer than the clip's target
    const growing = await mediaOf(stream, clip);
    expectValid(growing);
    expect(targetOf(growing)).toBe(targetOf(recording));
    await pushChunk(stream, 4);
    const ready = await waitReady(stream, clip);
    const final = await mediaOf(stream, ready);
    expect(final).toContain('#EXT-X-ENDLIST');
    expectValid(final);
    expect(targetOf(final)).toBe(targetOf(recording));
    expect(extinfs(final)).toEqual([3.4]);
  });
});
