// Promotion of a ready clip to a permanent VOD, as one idempotent job:
//
//   1. plan      the chunk lists, read from the clip once and saved (plan.ts)
//   2. record    still pending (progress 1), the real duration, segments and bandwidths
//   3. chunks    copied from Redis to {rendition}/00001.ts …   (progress 1-50)
//   4. playlists VOD media playlists and the master
//   5. mp4       one remux per rendition from the copied chunks (progress 50-99)
//   6. manifest  video.json, the record as a file; written last of the files
//   7. tidy      the plan, and any temp file a killed attempt left, removed
//   8. ready     the record says ready, progress 100
//
// Any attempt may die anywhere: the next one redoes only what is missing.
// If the record disappears (DELETE) the attempt stops and removes the files.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.js';
import { measureBandwidth } from '../hls/build.js';
import { vodLayout } from './layout.js';
import { readManifest, writeManifest } from './manifest.js';
import { loadOrMakePlan, planDurationMs, type VodPlan } from './plan.js';
import { releaseVodHold } from './hold.js';
import { ProgressMeter } from './progress.js';
import { loadVideo, newRenditionVideoId, updateVideo, type VideoRecord } from './records.js';
import { buildMp4s, copyChunks, renditionBytes, writePlaylists, type RemuxFn } from './steps.js';
import { isTempFile, type VodStorage } from './storage.js';
import { updateVideoAnnouncing } from '../events/announce.js';

export interface PromoteDeps {
  storage: VodStorage;
  remux: RemuxFn;
  signal?: AbortSignal;
  /** Besides the record's `progress`, e.g. the BullMQ job's. */
  onProgress?: (percent: number) => Promise<void> | void;
}

export type PromoteOutcome = 'ready' | 'already-ready' | 'deleted';

class VideoDeletedError extends Error {}

export async function promoteVideo(ctx: Context, videoId: number, deps: PromoteDeps): Promise<PromoteOutcome> {
  const workDir = path.join(ctx.config.dataDir, 'tmp', `vod-${videoId}`);
  const video = await loadVideo(ctx, videoId);
  try {
    if (!video) throw new VideoDeletedError(`video ${videoId} was deleted`);
    const finished = await readManifest(deps.storage, videoId);
    if (finished) {
      // The files are complete; an attempt that died after the manifest only
      // left the record to say so.
      await tidy(deps.storage, videoId, workDir);
      if (video.status !== 'ready') await markReady(ctx, finished);
      await releaseVodHold(ctx, video);
      await deps.onProgress?.(100);
      return 'already-ready';
    }
    const plan = await loadOrMakePlan(ctx, deps.storage, video);
    const promoted = recordFromPlan(video, plan);
    await mustUpdate(ctx, videoId, {
      status: 'pending', progress: 1, duration: promoted.duration, videos: promoted.videos, error: null,
    });
    await syncRenditionIds(ctx, video, promoted);
    ctx.log.info({ video_id: videoId, renditions: plan.renditions.length }, 'vod promotion started');

    const bytes = plan.renditions.reduce((n, r) => n + renditionBytes(r), 0);
    const meter = new ProgressMeter(2 * bytes, async (percent) => {
      await mustUpdate(ctx, videoId, { progress: percent });
      await deps.onProgress?.(percent);
    });
    const step = { ctx, storage: deps.storage, plan, meter, signal: deps.signal };
    await copyChunks(step);
    await writePlaylists(step);
    await buildMp4s(step, deps.remux, workDir);
    await meter.flush();

    // An attempt after one that got as far as the record keeps its time.
    const readyAt = video.ready_at ?? new Date(ctx.clock.now()).toISOString();
    const ready: VideoRecord = { ...promoted, status: 'ready', progress: 100, error: null, ready_at: readyAt };
    await writeManifest(deps.storage, ready);
    // Tidy first: once the record says ready, the folder holds exactly the VOD.
    await tidy(deps.storage, videoId, workDir);
    await markReady(ctx, ready);
    await releaseVodHold(ctx, video);
    await deps.onProgress?.(100);
    ctx.log.info({ video_id: videoId, duration_ms: ready.duration }, 'vod ready');
    return 'ready';
  } catch (err) {
    if (!(err instanceof VideoDeletedError)) throw err;
    await rm(workDir, { recursive: true, force: true });
    if (video) await releaseVodHold(ctx, video); // nothing left to promote
    // Deleted during this attempt: everything goes, the manifest it may have
    // written included. Missing from the start with a finished folder: that
    // is what a Redis that lost the record leaves, for reconcile to restore.
    if (!video && (await readManifest(deps.storage, videoId))) return 'deleted';
    await deps.storage.remove(vodLayout.folder(videoId));
    ctx.log.info({ video_id: videoId }, 'vod deleted before its promotion ended: files removed');
    return 'deleted';
  }
}

/** The record as the plan makes it: only renditions that have chunks, measured. */
function recordFromPlan(video: VideoRecord, plan: VodPlan): VideoRecord {
  const videos = plan.renditions.map((r) => {
    const known = video.videos.find((v) => v.playlist === r.playlist);
    return {
      // Ids were given at creation. One the record lacks (never expected) is
      // made now and saved with the record, so the next attempt keeps it.
      id: known?.id ?? newRenditionVideoId(),
      rendition: r.name,
      playlist: r.playlist,
      width: r.width ?? known?.width ?? 0,
      height: r.height ?? known?.height ?? 0,
      bandwidth: measureBandwidth(r.chunks).peak,
      segments: r.chunks.length,
    };
  });
  return { ...video, duration: planDurationMs(plan), videos };
}

/** Rendition video id -> video id, for the renditions the VOD really has. */
async function syncRenditionIds(ctx: Context, before: VideoRecord, after: VideoRecord): Promise<void> {
  const kept = new Set(after.videos.map((v) => v.id));
  const dropped = before.videos.filter((v) => !kept.has(v.id)).map((v) => v.id);
  if (dropped.length > 0) await ctx.redis.hdel(ctx.keys.renditionVideos, ...dropped);
  await ctx.redis.hset(ctx.keys.renditionVideos, Object.fromEntries(after.videos.map((v) => [v.id, String(after.id)])));
}

async function markReady(ctx: Context, ready: VideoRecord): Promise<void> {
  const { status, progress, duration, videos, ready_at } = ready;
  const fields = { status, progress, duration, videos, ready_at, error: null };
  if (!(await updateVideoAnnouncing(ctx, ready.id, fields, 'video.ready'))) throw new VideoDeletedError(`video ${ready.id} was deleted`);
}

async function mustUpdate(ctx: Context, videoId: number, fields: Partial<VideoRecord>): Promise<void> {
  if (!(await updateVideo(ctx, videoId, fields))) throw new VideoDeletedError(`video ${videoId} was deleted`);
}

/** Removes what only a running promotion needs, and what a killed one left. */
async function tidy(storage: VodStorage, videoId: number, workDir: string): Promise<void> {
  await storage.remove(vodLayout.plan(videoId));
  for (const file of await storage.list(vodLayout.folder(videoId))) {
    if (isTempFile(file)) await storage.remove(file);
  }
  await rm(workDir, { recursive: true, force: true });
}
