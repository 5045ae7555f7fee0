// A vod_required clip keeps its chunks and record past its expiration until
// its promotion is over (create_clip.lua, VOD_HOLD_SECONDS); this lets go.
import { releaseClip } from '../clips/release.js';
import { loadHeldClip } from '../clips/records.js';
import type { Context } from '../context.js';
import type { VideoRecord } from './records.js';

export async function releaseVodHold(ctx: Context, video: Pick<VideoRecord, 'stream_id' | 'clip_id'>): Promise<void> {
  const clip = await loadHeldClip(ctx, video.stream_id, video.clip_id);
  if (clip) await releaseClip(ctx, clip.stream_id, clip.id, 'hold', clip.expiration * 1000);
}
