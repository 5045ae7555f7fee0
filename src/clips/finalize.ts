// Ends a clip's recording: once every rendition holds a chunk reaching the
// end of the asked window, or the stream has been silent for the grace
// period, the clip becomes ready (VOD playlists) and takes no more chunks.
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import { metrics } from '../metrics.js';
import { loadStream } from '../dvr/streams.js';
import { runScript } from '../redis/scripts.js';
import { failVideo } from '../vod/videos.js';
import { loadClipChunks } from './chunks.js';
import { loadClip, type ClipRecord, type ClipStatus } from './records.js';

export type FinalizeOutcome = ClipStatus | 'gone';

/** One finalize job per clip: its id makes a second add a no-op. */
export async function scheduleFinalize(queues: Queues, streamId: number, clipId: string, delayMs: number): Promise<void> {
  await queues.finalize.add('finalize', { streamId, clipId }, { jobId: `fin-${streamId}-${clipId}`, delay: Math.max(0, delayMs) });
}

export async function finalizeClip(ctx: Context, queues: Queues, streamId: number, clipId: string): Promise<FinalizeOutcome> {
  const clip = await loadClip(ctx, streamId, clipId);
  if (!clip) return 'gone';
  if (clip.status !== 'recording') return clip.status;
  const now = ctx.clock.now();
  const perRendition = await Promise.all(clip.renditions.map((r) => loadClipChunks(ctx, clip, r.playlist)));
  const complete = perRendition.every((refs) => refs.length > 0 && refs[refs.length - 1].start + refs[refs.length - 1].durationMs >= clip.we);
  if (!complete) {
    if (now < clip.we) return 'recording';
    const stream = await loadStream(ctx, streamId);
    const lastChunk = Math.max(stream?.last_chunk_at ?? 0, clip.we);
    if (stream && now - lastChunk < ctx.config.finalizeGraceSeconds * 1000) return 'recording';
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
  if (kept.length !== clip.renditions.length && kept.length > 0) bounds.renditions = JSON.stringify(kept);
  await runScript(ctx.redis, 'finalizeClip', ctx.keys.stream.tag(streamId), [clipId, status, JSON.stringify(bounds)]);
  metrics.clipsFinalized.inc({ status });
  ctx.log.info({ clip_id: clipId, stream_id: streamId, status, renditions: kept.length }, 'clip finalized');
  if (status === 'ready') {
    const ready = await loadClip(ctx, streamId, clipId);
    if (ready) await clipReadyHooks.run(ctx, queues, ready);
  } else if (clip.video_id !== null) {
    await failVideo(ctx, clip.video_id, 'the clip received no media: there is nothing to promote');
  }
  return status;
}

type ReadyHook = (ctx: Context, queues: Queues, clip: ClipRecord) => Promise<void>;

/** What happens once a clip is ready (MP4 prebuild, VOD promotion) registers here. */
export const clipReadyHooks = {
  hooks: [] as ReadyHook[],
  add(hook: ReadyHook) {
    this.hooks.push(hook);
  },
  async run(ctx: Context, queues: Queues, clip: ClipRecord) {
    for (const hook of this.hooks) await hook(ctx, queues, clip);
  },
};
