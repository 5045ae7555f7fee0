// Shortens how long a clip keeps its record and chunks (release_clip.lua):
// to `keepUntil` (unix ms) once a VOD promotion no longer holds them, or to
// now (0) when the clip is deleted.
import type { Context } from '../context.js';
import { runScript } from '../redis/scripts.js';

export async function releaseClip(ctx: Context, streamId: number, clipId: string, keepUntil: number): Promise<void> {
  await runScript(ctx.redis, 'releaseClip', ctx.keys.stream.tag(streamId), [clipId, ctx.clock.now(), keepUntil]);
}
