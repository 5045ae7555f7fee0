// What a promotion copies: the clip's renditions and their chunk lists, read
// from Redis once and saved next to the VOD. A retried promotion works from
// the saved plan, so every attempt copies exactly the same chunks to the same
// names, and an attempt that finds every chunk already copied finishes even
// after the clip itself has expired.
import type { Context } from '../context.js';
import type { ChunkRef } from '../dvr/chunk-ref.js';
import { loadClipChunks } from '../clips/chunks.js';
import { loadHeldClip, type ClipRendition } from '../clips/records.js';
import { vodLayout } from './layout.js';
import type { VideoRecord } from './records.js';
import { readStored, type VodStorage } from './storage.js';

export interface PlannedRendition extends ClipRendition {
  chunks: ChunkRef[];
}

export interface VodPlan {
  videoId: number;
  streamId: number;
  clipId: string;
  /** EXT-X-TARGETDURATION of every media playlist, seconds. */
  tdur: number;
  renditions: PlannedRendition[];
}

/** A promotion that can never succeed: retrying would not help. */
export class PermanentVodError extends Error {}

export async function loadOrMakePlan(ctx: Context, storage: VodStorage, video: VideoRecord): Promise<VodPlan> {
  const saved = await readStored(storage, vodLayout.plan(video.id));
  if (saved) return JSON.parse(saved.toString('utf8')) as VodPlan;
  const plan = await planFromClip(ctx, video);
  await storage.put(vodLayout.plan(video.id), JSON.stringify(plan));
  return plan;
}

async function planFromClip(ctx: Context, video: VideoRecord): Promise<VodPlan> {
  const clip = await loadHeldClip(ctx, video.stream_id, video.clip_id);
  if (!clip) throw new PermanentVodError('the clip expired or was deleted before its promotion: its chunks are gone');
  if (clip.status === 'failed') throw new PermanentVodError('the clip failed: it received no media');
  // Only ready clips are queued; a recording one here is a race worth a retry.
  if (clip.status !== 'ready') throw new Error(`clip ${clip.id} is still ${clip.status}`);
  const renditions = await Promise.all(
    clip.renditions.map(async (r): Promise<PlannedRendition> => ({
      name: r.name,
      playlist: r.playlist,
      width: r.width,
      height: r.height,
      frameRate: r.frameRate,
      codecs: r.codecs,
      chunks: await loadClipChunks(ctx, clip, r.playlist),
    })),
  );
  const kept = renditions.filter((r) => r.chunks.length > 0);
  if (kept.length === 0) throw new PermanentVodError('the clip holds no chunk: it expired before its promotion');
  return { videoId: video.id, streamId: clip.stream_id, clipId: clip.id, tdur: clip.tdur, renditions: kept };
}

/** Media duration: the longest rendition (they all cover the same span). */
export function planDurationMs(plan: VodPlan): number {
  return Math.max(0, ...plan.renditions.map((r) => r.chunks.reduce((ms, c) => ms + c.durationMs, 0)));
}
