// Ends a clip's recording: once every rendition holds a chunk reaching the
// end of the asked window, or the stream has been silent for the grace
// period, the clip becomes ready (VOD playlists) and takes no more chunks.
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import { parseChunkRefs } from '../dvr/chunk-ref.js';
import { loadStream } from '../dvr/streams.js';
import { runScript } from '../redis/scripts.js';
import { loadClip, type ClipStatus } from './records.js';

export type FinalizeOutcome = ClipStatus | 'gone';

export async function finalizeClip(
  ctx: Context, queues: Queues, streamId: number, clipId: string, opts: { force?: boolean } = {},
): Promise<FinalizeOutcome> {
  const clip = await loadClip(ctx, streamId, clipId);
  if (!clip) return 'gone';
  if (clip.status !== 'recording' && !opts.force) return clip.status;
  const now = ctx.clock.now();
  const k = ctx.keys.stream;
  const perRendition = await Promise.all(
    clip.renditions.map(async (r) => parseChunkRefs(await ctx.redis.zrange(k.clipChunks(streamId, clipId, r.playlist), 0, -1, 'WITHSCORES'))),
  );
  const complete = perRendition.every((refs) => refs.length > 0 && refs[refs.length - 1].start + refs[refs.length - 1].durationMs >= clip.we);
  if (!complete && !opts.force) {
    if (now < clip.we) return 'recording';
    const stream = await loadStream(ctx, streamId);
    const lastChunk = Math.max(stream?.last_chunk_at ?? 0, clip.we);
    if (stream && now - lastChunk < ctx.config.finalizeGraceSeconds * 1000) return 'recording';
  }
  // Renditions that delivered nothing for this window are left out; a clip
  // with nothing at all has failed.
  const kept = clip.renditions.filter((_, i) => perRendition[i].length > 0);
  const longest = Math.max(0, ...perRendition.flat().map((c) => Math.round(c.durationMs / 1000)));
  const tdur = Math.max(clip.tdur, longest, 1);
  const status: ClipStatus = kept.length > 0 ? 'ready' : 'failed';
  if (kept.length !== clip.renditions.length && kept.length > 0) {
    await ctx.redis.hset(k.clip(streamId, clipId), 'renditions', JSON.stringify(kept));
  }
  await runScript(ctx.redis, 'finalizeClip', k.tag(streamId), [clipId, status, tdur]);
  ctx.log.info({ clip_id: clipId, stream_id: streamId, status, renditions: kept.length }, 'clip finalized');
  if (status === 'ready') await clipReadyHooks.run(ctx, queues, { ...clip, renditions: kept, status, tdur });
  return status;
}

type ReadyHook = (ctx: Context, queues: Queues, clip: import('./records.js').ClipRecord) => Promise<void>;

/** What happens once a clip is ready (MP4 prebuild, VOD promotion) registers here. */
export const clipReadyHooks = {
  hooks: [] as ReadyHook[],
  add(hook: ReadyHook) {
    this.hooks.push(hook);
  },
  async run(ctx: Context, queues: Queues, clip: import('./records.js').ClipRecord) {
    for (const hook of this.hooks) await hook(ctx, queues, clip);
  },
};
