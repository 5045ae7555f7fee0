// A worker process killed (SIGKILL, for real) in the middle of a VOD
// promotion: BullMQ notices the lost lock, another worker process takes the
// job over, and the VOD ends complete, with every file once and no temp file.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVideo } from '../../src/vod/records.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { decodeErrors, expectedVodFiles, ladderStream, vodClip, vodFiles, waitJobDone, waitVideo } from '../helpers/vod.js';
import { exited, serveApiOnly, workerProcesses, type WorkerProcesses } from '../helpers/worker-process.js';

const LOCK_MS = 2000;

let h: Harness;
let workers: WorkerProcesses;

beforeAll(async () => {
  h = await startHarness({ env: { JOB_LOCK_MS: String(LOCK_MS) } });
  // This process only serves the API: the jobs are for the worker processes.
  await serveApiOnly(h);
  workers = workerProcesses(h, { JOB_LOCK_MS: String(LOCK_MS) });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
}, 60_000);

afterAll(async () => {
  await workers?.close();
  await h?.close();
});

describe('a worker killed during a VOD promotion', () => {
  it('is replaced by another worker that finishes the same VOD, once', async () => {
    const { stream, start } = await ladderStream(h, 'Crash test');
    const videoId = await vodClip(h, stream.id, Math.floor(start / 1000) + 1, 10);

    // Slow enough to be caught copying chunks (about 30 chunks, 4 at a time).
    const doomed = await workers.start({ VOD_STEP_DELAY_MS: '400' });
    const progressAtKill = await waitFor(async () => {
      const video = await loadVideo(h.ctx, videoId);
      return video && video.progress > 5 && video.progress < 50 ? video.progress : undefined;
    }, 'the first worker to be part-way', 30_000, 20);
    doomed.kill('SIGKILL');
    expect(await exited(doomed)).toBe('SIGKILL');

    const partial = await vodFiles(h.ctx.config.dataDir, videoId);
    const stalled = (await loadVideo(h.ctx, videoId))!;
    expect(stalled.status).toBe('pending');
    expect(stalled.progress).toBeGreaterThanOrEqual(progressAtKill);
    expect(stalled.progress).toBeLessThan(100);
    expect([...partial.keys()].filter((f) => f.endsWith('.ts')).length).toBeGreaterThan(0);
    expect([...partial.keys()].some((f) => f.endsWith('.mp4') || f === 'video.json')).toBe(false);

    const survivor = await workers.start({ VOD_STEP_DELAY_MS: '0' });
    const video = await waitVideo(h, videoId, 'ready', 30_000);
    expect(video.progress).toBe(100);

    // Every file once, nothing else: no temp file, no plan, no scratch output.
    const files = await vodFiles(h.ctx.config.dataDir, videoId);
    expect([...files.keys()].sort()).toEqual(expectedVodFiles(video));
    for (const [file, before] of partial) {
      if (file.endsWith('.ts')) expect(files.get(file)?.sha1, file).toBe(before.sha1);
    }
    expect(existsSync(path.join(h.ctx.config.dataDir, 'tmp', `vod-${videoId}`))).toBe(false);
    expect(await h.keys('video:*')).toEqual([`${h.prefix}:video:${videoId}`]);
    expect(Object.keys(await h.ctx.redis.hgetall(h.ctx.keys.renditionVideos)).sort()).toEqual(video.videos.map((v) => v.id).sort());

    const job = await waitJobDone(h, videoId);
    expect(job.returnvalue).toBe('ready');
    expect(job.stalledCounter).toBeGreaterThanOrEqual(1);

    const address = h.app.server.address();
    const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const base = `${origin}/vod/${videoId}/${video.secret}/`;
    expect(await decodeErrors(`${base}master.m3u8`)).toBe('');
    for (const v of video.videos) {
      expect(await decodeErrors(`${base}${v.rendition}.m3u8`)).toBe('');
      expect(await decodeErrors(`${base}${v.rendition}.mp4`)).toBe('');
    }

    survivor.kill('SIGTERM');
    expect(await exited(survivor)).toBe(0);
  }, 120_000);

  it('keeps a vod_required clip past its expiration until a worker has promoted it, and no longer', async () => {
    h.clock.alignToSecond(); // chunk boundaries on whole seconds, so the cut is exact
    const { stream, start } = await ladderStream(h, 'Late worker');
    const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, {
      start: Math.floor(start / 1000) + 1, duration: 4, vod_required: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    const clip = res.json() as { id: string; video_id: number; expiration: number; hls_master: string };
    const clipKey = h.ctx.keys.stream.clip(stream.id, clip.id);
    const held = (clip.expiration + h.ctx.config.vodHoldSeconds) * 1000;
    expect(await h.ctx.redis.pttl(clipKey)).toBeGreaterThan(held - Date.now() - 5000);

    // No worker runs yet, and the clip expires for viewers and producers.
    h.clock.set(clip.expiration * 1000 + 1000);
    expect((await h.get(clip.hls_master)).statusCode).toBe(404);
    expect((await h.api('GET', `/streaming/streams/${stream.id}/clip_recording/${clip.id}`)).statusCode).toBe(404);

    // A worker comes back: the VOD is made from the chunks the hold kept.
    const worker = await workers.start({});
    const video = await waitVideo(h, clip.video_id, 'ready', 30_000);
    expect(video.videos.map((v) => v.segments)).toEqual([4, 4, 4]); // [start + 1, start + 5) on 1 s chunks
    // Then the clip keeps its record and chunks only until its own expiration.
    const ttl = await h.ctx.redis.pttl(clipKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(clip.expiration * 1000 - Date.now() + 50); // Redis's clock against ours
    worker.kill('SIGTERM');
    expect(await exited(worker)).toBe(0);
  }, 60_000);
});
