// Ends what a clip keeps (release_clip.lua): 'hold' shortens a VOD
// promotion's hold to the clip's expiration once the promotion is over;
// 'delete' is the user's DELETE; 'discard' takes back a clip whose creation
// failed half-way. The archived chunks it covered are then
// looked at again in bounded batches (sweepStream), so the call stays cheap
// whatever the clip's length or the number of clips on the stream.
import type { Context } from '../context.js';
import { freeDeadChunks, streamPlaylists, sweepStream } from '../dvr/retention.js';
import { runKeyed } from '../redis/scripts.js';
import { releaseClipKeys } from '../redis/script-keys.js';

export type ReleaseOutcome = 'kept' | 'hidden' | 'released' | 'gone';

export async function releaseClip(
  ctx: Context, streamId: number, clipId: string, mode: 'delete' | 'discard' | 'hold', keepUntil = 0,
): Promise<ReleaseOutcome> {
  const playlists = await streamPlaylists(ctx, streamId);
  const outcome = await runKeyed<ReleaseOutcome>(ctx.redis, 'releaseClip', releaseClipKeys(ctx.keys.stream, streamId, clipId, playlists), [
    clipId, ctx.clock.now(), keepUntil, mode, JSON.stringify(playlists),
  ]);
  // What only this clip kept is freed now, not at the cleaner's next pass.
  if (outcome === 'released') await sweepStream(ctx, streamId, playlists);
  else await freeDeadChunks(ctx, streamId);
  return outcome;
}
