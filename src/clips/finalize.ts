// Ends a clip's recording: once every rendition has moved past the end of
// the asked window, or that end is a grace period behind us, the clip
// becomes ready (VOD playlists) and takes no more chunks.
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import { metrics } from '../metrics.js';
import type { ChunkRef } from '../dvr/chunk-ref.js';
import { runKeyed } from '../redis/scripts.js';
import { finalizeClipKeys } from '../redis/script-keys.js';
import { failVideo } from '../vod/videos.js';
import { streamEventsChanged } from '../events/announce.js';
import { loadClipChunks } from './chunks.js';
import { releaseClip } from './release.js';
import { isKnown, loadHeldClip, resolveRenditions, type ClipRecord, type ClipStatus } from './records.js';
import { loadRenditions } from '../dvr/renditions.js';

export type FinalizeOutcome = ClipStatus | 'gone';

const finalizeJobId = (streamId: number, clipId: string) => `fin-${streamId}-${clipId}`;

/** One finalize job per clip: its id makes a second add a no-op. */
export async function scheduleFinalize(queues: Queues, streamId: number, clipId: string, delayMs: number): Promise<void> {
  await queues.finalize.add('finalize', { streamId, clipId }, { jobId: finalizeJobId(streamId, clipId), delay: Math.max(0, delayMs) });
}

/** The cleaner's safety net: a clip overdue for finalization gets its job (back). */
export async function rescheduleFinalize(queues: Queues, streamId: number, clipId: string): Promise<void> {
  const job = await queues.finalize.getJob(finalizeJobId(streamId, clipId));
  // A job that used up its attempts would block a new add with the same id.
  if (job && (await job.isFailed())) await job.retry();
  else if (!job) await scheduleFinalize(queues, streamId, clipId, 0);
}

export async function finalizeClip(ctx: Context, queues: Queues, streamId: number, clipId: string): Promise<FinalizeOutcome> {
  // Held, expired or not: a VOD promotion may still need this clip finalized.
  let clip = await loadHeldClip(ctx, streamId, clipId);
  if (!clip) return 'gone';
  if (clip.status === 'ready') {
    // Run again after a failed attempt: the hooks (promotion, prebuild) are
    // idempotent, and a hook that failed the first time must not be lost.
    await ctx.readyHooks.run(ctx, queues, clip);
    return 'ready';
  }
  if (clip.status !== 'recording') return clip.status;
  // An open clip (scheduled before its stream's first chunk) settles its
  // renditions here, once: it waits while one of the stream's is not known yet.
  const open = clip.renditions.length === 0;
  const unknownLeft = open && (await loadRenditions(ctx, streamId)).some((r) => !isKnown(r));
  if (open) clip = await resolveRenditions(ctx, clip);
  const now = ctx.clock.now();
  const perRendition = await Promise.all(clip.renditions.map((r) => loadClipChunks(ctx, clip!, r.playlist)));
  if (unknownLeft || !(await everyRenditionPassed(ctx, clip, perRendition))) {
    // A rendition that stopped (a dead rung, a gap, the encoder gone) must
    // not hold the clip back: past the grace period it closes with what it has.
    // Long chunks arrive long after the window's end: wait two of them at least.
    const grace = Math.max(ctx.config.finalizeGraceSeconds * 1000, 2 * clip.tdur * 1000);
    if (now < clip.we + grace) return 'recording';
  }
  // Renditions that delivered nothing for this window are left out; a clip
  // with nothing at all has failed.
  const bounds: Record<string, number | string> = {};
  const kept = clip.renditions.filter((r, i) => {
    const refs = perRendition[i];
    if (refs.length === 0) return false;
    bounds[`cs:${r.playlist}`] = refs[0].start;
    bounds[`ce:${r.playlist}`] = refs[refs.length - 1].start;
    return true;
  });
  const status: ClipStatus = kept.length > 0 ? 'ready' : 'failed';
  if ((open || kept.length !== clip.renditions.length) && kept.length > 0) bounds.renditions = JSON.stringify(kept);
  await runKeyed(ctx.redis, 'finalizeClip', finalizeClipKeys(ctx.keys.stream, streamId, clipId), [clipId, status, JSON.stringify(bounds)]);
  await streamEventsChanged(ctx, streamId);
  metrics.clipsFinalized.inc({ status });
  ctx.log.info({ clip_id: clipId, stream_id: streamId, status, renditions: kept.length }, 'clip finalized');
  if (status === 'ready') {
    const ready = await loadHeldClip(ctx, streamId, clipId);
    if (ready) await ctx.readyHooks.run(ctx, queues, ready);
  } else if (clip.video_id !== null) {
    await failVideo(ctx, clip.video_id, 'the clip received no media: there is nothing to promote');
    await releaseClip(ctx, streamId, clipId, 'hold', clip.expiration * 1000); // nothing left to hold for
  }
  return status;
}

/** Whether each rendition's stream has moved past the end of the clip's window. */
async function everyRenditionPassed(ctx: Context, clip: ClipRecord, perRendition: ChunkRef[][]): Promise<boolean> {
  if (clip.renditions.length === 0) return false;
  const latest = await Promise.all(
    clip.renditions.map((r) => ctx.redis.zrange(ctx.keys.stream.index(clip.stream_id, r.playlist), -1, -1, 'WITHSCORES')),
  );
  return perRendition.every((refs, i) => {
    const last = refs.at(-1);
    if (last && last.start + last.durationMs >= clip.we) return true;
    const newest = latest[i];
    return newest.length === 2 && Number(newest[1]) >= clip.we;
  });
}
