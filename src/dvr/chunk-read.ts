// Serving a chunk means reading its bytes and the record that grants access
// to it (a clip, or the stream for live): one round trip, since both keys
// share the stream's hash slot. The bytes come from the process's chunk
// cache (chunk-cache.ts) when it has them; the grant is read every time, so
// an expired or deleted clip stops serving at once.
import type { Context } from '../context.js';
import { chunkCacheOf } from './chunk-cache.js';

export async function readChunkWith(
  ctx: Context, streamId: number, chunkId: string, grantKey: string, fields: string[],
): Promise<{ grant: (string | null)[]; bytes: Buffer | null }> {
  const cache = chunkCacheOf(ctx);
  const key = `${streamId}/${chunkId}`;
  const cached = cache.get(key);
  if (cached) return { grant: await ctx.redis.hmget(grantKey, ...fields), bytes: cached };
  const pending = cache.inFlight(key);
  if (pending) {
    const [grant, bytes] = await Promise.all([ctx.redis.hmget(grantKey, ...fields), pending]);
    return { grant, bytes };
  }
  const read = ctx.redis
    .pipeline()
    .hmget(grantKey, ...fields)
    .hgetBuffer(ctx.keys.stream.chunk(streamId, chunkId), 'b')
    .exec() as Promise<[[null, (string | null)[]], [null, Buffer | null]]>;
  const bytesRead = read.then(([, [, bytes]]) => bytes);
  cache.track(key, bytesRead);
  const [[, grant], [, bytes]] = await read;
  if (bytes && bytes.length > 0) cache.set(key, bytes);
  return { grant, bytes };
}
