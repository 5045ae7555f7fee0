// The TypeScript side of retention (docs/retention.md): runs the bounded
// Lua batches until their work is done, and unlinks the bytes of chunks the
// scripts declared dead. No call here holds Redis for long: each script call
// looks at most RETENTION_BATCH chunks, and Redis serves others in between.
import type { Context } from '../context.js';
import { runKeyed } from '../redis/scripts.js';
import { dropDvrKeys, sweepKeys, trimWindowKeys } from '../redis/script-keys.js';

/** Chunks one sweep call looks at: a few milliseconds of Redis time (npm run bench:lua). */
export const RETENTION_BATCH = 128;
/** A 4 h window of 1 s chunks in 8 renditions is 115,200 chunks: 300 batches. A bound, not a target. */
const MAX_BATCHES = 2000;
const UNLINK_BATCH = 256;

/** Every rendition the stream ever had: their fields in rseq outlive a stream deletion. */
export async function streamPlaylists(ctx: Context, streamId: number): Promise<string[]> {
  return ctx.redis.hkeys(ctx.keys.stream.renditionSeq(streamId));
}

/** Unlinks the bytes of chunks no window, clip or hold needs any more. */
export async function freeDeadChunks(ctx: Context, streamId: number): Promise<number> {
  const dead = ctx.keys.stream.dead(streamId);
  let freed = 0;
  for (;;) {
    const ids = await ctx.redis.spop(dead, UNLINK_BATCH);
    if (ids.length === 0) return freed;
    // UNLINK frees the bytes off Redis's main thread.
    await ctx.redis.unlink(...ids.map((id) => ctx.keys.stream.chunk(streamId, id)));
    freed += ids.length;
    if (ids.length < UNLINK_BATCH) return freed;
  }
}

/**
 * Runs sweep_retention.lua until it reports nothing left: ended holds,
 * rechecks of released clips' ranges, a dropped DVR, chunks out of the
 * window. Returns how many chunks it retired.
 */
export async function sweepStream(ctx: Context, streamId: number, playlists?: string[]): Promise<number> {
  const pls = playlists ?? (await streamPlaylists(ctx, streamId));
  const keys = sweepKeys(ctx.keys.stream, streamId, pls);
  let retired = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const [more, n] = await runKeyed<[number, number]>(ctx.redis, 'sweepRetention', keys, [
      ctx.clock.now(), JSON.stringify(pls), RETENTION_BATCH,
    ]);
    retired += n;
    if (more === 0) break;
  }
  await freeDeadChunks(ctx, streamId);
  return retired;
}

/** Empties the DVR (and with `deleteStream` its bookkeeping); clips keep what they cover. */
export async function dropDvr(ctx: Context, streamId: number, deleteStream: boolean): Promise<void> {
  const playlists = await streamPlaylists(ctx, streamId);
  // A drop still being retired finishes first, so the new one is a rename.
  await sweepStream(ctx, streamId, playlists);
  await runKeyed(ctx.redis, 'dropDvr', dropDvrKeys(ctx.keys.stream, streamId, playlists), [
    deleteStream ? '1' : '0', JSON.stringify(playlists),
  ]);
  await sweepStream(ctx, streamId, playlists);
}

/** Uploads no playlist ever listed are forgotten once their bytes expired. */
async function forgetUploads(ctx: Context, streamId: number): Promise<void> {
  const uploaded = ctx.keys.stream.uploaded(streamId);
  const entries = Object.entries(await ctx.redis.hgetall(uploaded));
  if (entries.length === 0) return;
  const exists = await Promise.all(entries.map(([, id]) => ctx.redis.exists(ctx.keys.stream.chunk(streamId, id))));
  for (const [i, [uri, id]] of entries.entries()) {
    if (exists[i] === 0) await runKeyed(ctx.redis, 'forgetUpload', [uploaded, ctx.keys.stream.chunk(streamId, id)], [uri, id]);
  }
}

/** The cleaner's pass over one stream; -1 when a deleted stream has nothing left to look after. */
export async function cleanStream(ctx: Context, streamId: number): Promise<number> {
  const playlists = await streamPlaylists(ctx, streamId);
  const retired = await sweepStream(ctx, streamId, playlists);
  await forgetUploads(ctx, streamId);
  const now = ctx.clock.now();
  let state = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    // Clips whose expiration has come, a batch at a time: the script announces and removes them.
    const expiring = await ctx.redis.zrangebyscore(ctx.keys.stream.clips(streamId), '-inf', now, 'LIMIT', 0, RETENTION_BATCH);
    state = await runKeyed<number>(ctx.redis, 'trimWindow', trimWindowKeys(ctx.keys.stream, streamId, playlists, expiring), [
      now, JSON.stringify(playlists), JSON.stringify(expiring),
    ]);
    if (expiring.length < RETENTION_BATCH) break;
  }
  return state < 0 ? -1 : retired;
}
