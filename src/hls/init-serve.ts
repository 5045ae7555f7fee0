// Serving fMP4 init segments (the URIs EXT-X-MAP names): to whoever may play
// the clip or the live stream they belong to. An init is stored once per
// stream and content (src/dvr/init-segments.ts).
import type { Context } from '../context.js';
import { INIT_ID } from '../dvr/fmp4.js';

export const clipInitUri = (clipId: string, init: string): string => `rec_${clipId}_init_${init}.mp4`;
export const liveInitUri = (init: string): string => `init_${init}.mp4`;

/** The init's bytes and the clip's expiration, if the clip is alive and this company's. */
export async function clipInit(
  ctx: Context, clientId: number, streamId: number, clipId: string, init: string,
): Promise<{ bytes: Buffer; expiration: number } | null> {
  if (!INIT_ID.test(init)) return null;
  const [[, grant], [, bytes]] = (await ctx.redis
    .pipeline()
    .hmget(ctx.keys.stream.clip(streamId, clipId), 'client_id', 'expiration', 'deleted')
    .getBuffer(ctx.keys.stream.init(streamId, init))
    .exec()) as [[null, (string | null)[]], [null, Buffer | null]];
  const [owner, expiration, deleted] = grant;
  const alive = Number(expiration) * 1000 > ctx.clock.now() && deleted !== '1';
  return owner === String(clientId) && alive && bytes ? { bytes, expiration: Number(expiration) } : null;
}

/** The init's bytes, if the owner and play key of the live URL are the stream's. */
export async function liveInit(ctx: Context, clientId: number, streamId: number, playKey: string, init: string): Promise<Buffer | null> {
  if (!INIT_ID.test(init)) return null;
  const [[, grant], [, bytes]] = (await ctx.redis
    .pipeline()
    .hmget(ctx.keys.stream.meta(streamId), 'client_id', 'play_key')
    .getBuffer(ctx.keys.stream.init(streamId, init))
    .exec()) as [[null, (string | null)[]], [null, Buffer | null]];
  return grant[0] === String(clientId) && grant[1] === playKey ? bytes : null;
}
