// A clip's poster: the first picture of its highest rendition, at the asked
// width (never above the source's). Decoded from the clip's first chunk on
// the first request for a width, then kept in memory until the clip expires.
import type { Context } from '../context.js';
import { loadClipChunks } from '../clips/chunks.js';
import type { ClipRecord } from '../clips/records.js';
import { readInit } from '../dvr/init-segments.js';
import { Lru } from '../util/lru.js';
import { firstFrame } from './ffmpeg.js';

const posters = new Lru<Buffer>(32 * 1024 * 1024, (b) => b.length);
const building = new Map<string, Promise<Buffer | null>>();

export const MIN_POSTER_WIDTH = 16;

/** Null: the clip has no chunk yet (a scheduled clip). */
export async function clipPoster(ctx: Context, clip: ClipRecord, askedWidth?: number): Promise<Buffer | null> {
  // Renditions are listed by rising bandwidth: the last is the highest.
  const source = clip.renditions[clip.renditions.length - 1];
  if (!source) return null;
  const sourceWidth = source.width ?? Infinity;
  // Even widths: 4:2:0 pictures cannot be odd-sized.
  const width = askedWidth && askedWidth < sourceWidth ? Math.max(MIN_POSTER_WIDTH, askedWidth - (askedWidth % 2)) : undefined;
  const key = `${clip.client_id}_${clip.stream_id}/${clip.id}/${width ?? 'source'}`;
  const cached = posters.get(key);
  if (cached) return cached;
  let pending = building.get(key);
  if (!pending) {
    pending = (async () => {
      const [first] = await loadClipChunks(ctx, clip, source.playlist);
      if (!first) return null;
      const [bytes, init] = await Promise.all([
        ctx.redis.hgetBuffer(ctx.keys.stream.chunk(clip.stream_id, first.id), 'b'),
        first.init ? readInit(ctx, clip.stream_id, first.init) : undefined,
      ]);
      if (!bytes || init === null) return null;
      // A viewer waits for it: request priority, not the background's.
      const jpeg = await firstFrame({ bytes, init }, { width }, { nice: false });
      posters.set(key, jpeg);
      return jpeg;
    })().finally(() => building.delete(key));
    building.set(key, pending);
  }
  return pending;
}
