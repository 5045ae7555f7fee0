// Serving a chunk means reading its bytes and the record that grants access
// to it (a clip, or the stream for live): one round trip, since both keys
// share the stream's hash slot. The bytes come from the process's chunk
// cache (chunk-cache.ts) when it has them; the grant, and whether Redis still
// holds the chunk, are read every time, so an expired or deleted clip, or a
// chunk the DVR let go of, stops serving at once.
import type { Context } from '../context.js';
import { chunkCacheOf } from './chunk-cache.js';

export async function readChunkWith(
  ctx: Context, streamId: number, chunkId: string, grantKey: string, fields: string[],
): Promise<{ grant: (string | null)[]; bytes: Buffer | null }> {
  const cache = chunkCacheOf(ctx);
  const key = `${streamId}/${chunkId}`;
  const chunkKey = ctx.keys.stream.chunk(streamId, chunkId);
  const cached = cache.get(key) ?? cache.inFlight(key);
  if (cached) {
    // Served exactly when Redis still holds the chunk (a chunk that left the
    // DVR window and no clip needs is gone): EXISTS costs no bytes.
    const [[, grant], [, exists]] = (await ctx.redis.pipeline().hmget(grantKey, ...fields).exists(chunkKey).exec()) as [
      [null, (string | null)[]], [null, number],
    ];
    if (exists !== 1) {
      cache.delete(key);
      return { grant, bytes: null };
    }
    return { grant, bytes: await cached };
  }
  const read = ctx.redis
    .pipeline()
    .hmget(grantKey, ...fields)
    .hgetBuffer(chunkKey, 'b')
    .exec() as Promise<[[null, (string | null)[]], [null, Buffer | null]]>;
  const bytesRead = read.then(([, [, bytes]]) => bytes);
  cache.track(key, bytesRead);
  const [[, grant], [, bytes]] = await read;
  if (bytes && bytes.length > 0) cache.set(key, bytes);
  return { grant, bytes };
}
