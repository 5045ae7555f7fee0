// Videos recorded before the per-stream index (`keys.streamVideos`, read by
// GET /streaming/videos?stream_id=) existed get their entries once, when a
// worker starts. Idempotent (ZADD), so two workers racing through it is fine;
// the marker makes later starts skip it.
import type { Context } from '../context.js';

const MIGRATION = 'stream-videos-index';
const BATCH = 500;

/** Adds every stored video to its stream's index, once per store; returns how many were looked at. */
export async function indexVideosByStream(ctx: Context): Promise<number> {
  const marker = ctx.keys.migrated(MIGRATION);
  if ((await ctx.redis.exists(marker)) === 1) return 0;
  const companies = Number((await ctx.redis.get(ctx.keys.companySeq)) ?? 0);
  let seen = 0;
  for (let clientId = 1; clientId <= companies; clientId++) {
    const entries = await ctx.redis.zrange(ctx.keys.companyVideos(clientId), 0, -1, 'WITHSCORES');
    for (let i = 0; i < entries.length; i += 2 * BATCH) {
      const batch = entries.slice(i, i + 2 * BATCH);
      const ids = batch.filter((_, j) => j % 2 === 0);
      const streams = await Promise.all(ids.map((id) => ctx.redis.hget(ctx.keys.video(Number(id)), 'stream_id')));
      await Promise.all(ids.map((id, j) => {
        const streamId = Number(streams[j]);
        return Number.isSafeInteger(streamId) && streamId > 0
          ? ctx.redis.zadd(ctx.keys.streamVideos(clientId, streamId), batch[2 * j + 1], id)
          : null;
      }));
      seen += ids.length;
    }
  }
  await ctx.redis.set(marker, new Date(ctx.clock.now()).toISOString());
  if (seen > 0) ctx.log.info({ videos: seen }, 'videos indexed by stream');
  return seen;
}
