// The precise build as a BullMQ job: queued when a precise clip becomes ready
// (a ready-clip hook: at creation for a clip of the past, at finalization for
// a recording one), one job per clip (its id), retried with backoff like every
// job. Each failed attempt says why on the clip (`precise_error`); the
// keyframe clip plays on meanwhile.
import type { ReadyHook } from '../clips/ready-hooks.js';
import { loadHeldClip, setClipField } from '../clips/records.js';
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import { buildPrecise, type PreciseOutcome, type PreciseStats } from './build.js';

export const preciseJobId = (streamId: number, clipId: string) => `pre-${streamId}-${clipId}`;

export const queuePreciseWhenReady: ReadyHook = async (_ctx, queues, clip) => {
  if (!clip.precise || clip.preciseDone || clip.deleted) return;
  await queues.precise.add('precise', { streamId: clip.stream_id, clipId: clip.id }, { jobId: preciseJobId(clip.stream_id, clip.id) });
};

/**
 * One attempt. Once the precise version landed (or can never land) the
 * ready-clip hooks run again: the MP4 prebuild makes the frame-accurate file,
 * and a VOD promotion that waited for it is queued.
 */
export async function runPreciseJob(
  ctx: Context, queues: Queues, streamId: number, clipId: string, finalAttempt: boolean, stats?: PreciseStats,
): Promise<PreciseOutcome> {
  try {
    const { outcome, clip } = await buildPrecise(ctx, streamId, clipId, stats);
    if ((outcome === 'frame' || outcome === 'unsupported') && clip) await ctx.readyHooks.run(ctx, queues, clip);
    return outcome;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await setClipField(ctx, streamId, clipId, 'precise_error', `precise build failed${finalAttempt ? '' : ' (will retry)'}: ${message.slice(0, 400)}`)
      .catch(() => undefined);
    if (finalAttempt) {
      // Given up: whatever waited for the precise version (a VOD promotion) takes the keyframe one.
      await setClipField(ctx, streamId, clipId, 'pdone', '1').catch(() => undefined);
      const clip = await loadHeldClip(ctx, streamId, clipId);
      if (clip) await ctx.readyHooks.run(ctx, queues, clip).catch(() => undefined);
    }
    throw err;
  }
}
