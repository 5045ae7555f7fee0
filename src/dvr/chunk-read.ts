// Serving a chunk means reading its bytes and the record that grants access
// to it (a clip, or the stream for live): one round trip, since both keys
// share the stream's hash slot. The bytes come from the process's chunk
// cache (chunk-cache.ts) when it has them; then a live chunk's grant and
// whether Redis still holds it are read every time (a chunk the DVR let go
// of stops serving at once), a clip's grant once per GRANT_MEMO_MS
// (grant-memo.ts; callers check its expiration on every request).
import type { Context } from '../context.js';
import { chunkCacheOf } from './chunk-cache.js';
import { grantMemoOf } from './grant-memo.js';

/**
 * `start`: the chunk's start (unix ms) as the ingest stored it, read in the
 * same round trip; null when it has none (a chunk stored before starts were
 * kept with it) or is gone.
 */
export async function readChunkWith(
  ctx: Context, streamId: number, chunkId: string, grantKey: string, fields: string[],
): Promise<{ grant: (string | null)[]; bytes: Buffer | null; start: number | null }> {
  const cache = chunkCacheOf(ctx);
  const key = `${streamId}/${chunkId}`;
  const chunkKey = ctx.keys.stream.chunk(streamId, chunkId);
  const cached = cache.get(key) ?? cache.inFlight(key);
  if (cached) {
    // A clip holds its chunks until it expires: while its grant stands, Redis
    // holds the chunk, and the grant is asked once per GRANT_MEMO_MS.
    const memo = grantMemoOf(ctx);
    const memoKey = `${grantKey}|${fields.join(',')}`;
    const isClip = grantKey !== ctx.keys.stream.meta(streamId);
    const known = isClip ? memo.get<(string | null)[]>(memoKey) : undefined;
    if (known) return { grant: known, bytes: await cached, start: null };
    // Live: served exactly when Redis still holds the chunk (a chunk that
    // left the DVR window is gone): EXISTS costs no bytes.
    const [[, grant], [, exists], [, start]] = (await ctx.redis.pipeline().hmget(grantKey, ...fields).exists(chunkKey).hget(chunkKey, 's').exec()) as [
      [null, (string | null)[]], [null, number], [null, string | null],
    ];
    if (exists !== 1) {
      cache.delete(key);
      return { grant, bytes: null, start: null };
    }
    if (isClip) memo.set(memoKey, grant);
    return { grant, bytes: await cached, start: startOf(start) };
  }
  const read = ctx.redis
    .pipeline()
    .hmget(grantKey, ...fields)
    .hgetBuffer(chunkKey, 'b')
    .hget(chunkKey, 's')
    .exec() as Promise<[[null, (string | null)[]], [null, Buffer | null], [null, string | null]]>;
  const bytesRead = read.then(([, [, bytes]]) => bytes);
  cache.track(key, bytesRead);
  const [[, grant], [, bytes], [, start]] = await read;
  if (bytes && bytes.length > 0) cache.set(key, bytes);
  return { grant, bytes, start: startOf(start) };
}

const startOf = (raw: string | null) => (raw === null || raw === '' ? null : Number(raw));
