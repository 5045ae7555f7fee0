// Serving a chunk means reading its bytes and the record that grants access
// to it (a clip, or the stream for live): one round trip, since both keys
// share the stream's hash slot.
import type { Context } from '../context.js';

export async function readChunkWith(
  ctx: Context, streamId: number, chunkId: string, grantKey: string, fields: string[],
): Promise<{ grant: (string | null)[]; bytes: Buffer | null }> {
  const [[, grant], [, bytes]] = (await ctx.redis
    .pipeline()
    .hmget(grantKey, ...fields)
    .hgetBuffer(ctx.keys.stream.chunk(streamId, chunkId), 'b')
    .exec()) as [[null, (string | null)[]], [null, Buffer | null]];
  return { grant, bytes };
}
