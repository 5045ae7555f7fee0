// One tile per chunk: the chunk's first picture, small, made in the
// background after the chunk enters the DVR, and stored as field `t` of the
// chunk's own hash. A field of that hash lives exactly as long as the chunk
// (the window, the clips that need it, the TTL backstop: see lib.lua), so the
// tile needs no lifetime of its own.
import type { Context } from '../context.js';
import { loadRenditions } from '../dvr/renditions.js';
import { BackgroundQueue } from './background.js';
import { blankTile, firstFrame } from './ffmpeg.js';

export const TILE_WIDTH = 160;
export const TILE_HEIGHT = 90;
export const TILE_FIELD = 't';
/** Tiles come from the smallest rendition at least this tall: sharp enough, cheapest to decode. */
const SOURCE_MIN_HEIGHT = TILE_HEIGHT * 2;
const PROBE_RETRIES = 5;
const PROBE_RETRY_MS = 1500;
const CHOICE_TTL_MS = 10_000;

// Only sets the tile if the chunk is still there: HSET on a deleted chunk
// would create a key without a TTL.
const STORE_TILE = `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], '${TILE_FIELD}', ARGV[1]) return 1 end return 0`;

/** The rendition a stream's tiles come from (its encoder playlist name). */
export function tileSource<R extends { playlist: string; height?: number }>(renditions: R[]): R | undefined {
  const sized = renditions.filter((r) => r.height);
  const tall = sized.filter((r) => r.height! >= SOURCE_MIN_HEIGHT).sort((a, b) => a.height! - b.height!);
  return tall[0] ?? sized.sort((a, b) => b.height! - a.height!)[0] ?? renditions[0];
}

let queue: BackgroundQueue | undefined;
const choice = new Map<string, { playlist: string; until: number }>();
let blank: Promise<Buffer> | undefined;

function tileQueue(ctx: Context): BackgroundQueue {
  queue ??= new BackgroundQueue(ctx.config.thumbnailConcurrency, 500, (err) => {
    // An ffmpeg ended by a signal (the shutdown, a signal to the process group) did not fail.
    if (/^ffmpeg SIG[A-Z]+:/.test((err as Error)?.message ?? '')) ctx.log.debug({ err: (err as Error).message }, 'thumbnail interrupted');
    else ctx.log.warn({ err }, 'making a thumbnail failed');
  });
  return queue;
}

/** Resolves once no tile is being made or waiting (tests, shutdown). */
export function tilesSettled(): Promise<void> {
  return queue?.settled() ?? Promise.resolve();
}

export function stopTiles(): void {
  queue?.clear();
}

/** A black tile for storyboard places whose tile is not there. */
export function blankTileJpeg(): Promise<Buffer> {
  blank ??= blankTile(TILE_WIDTH, TILE_HEIGHT).catch((err) => { blank = undefined; throw err; });
  return blank;
}

/** The playlist tiles come from, once every rendition of the stream is probed. */
export async function tilePlaylist(ctx: Context, streamId: number): Promise<{ playlist: string; settled: boolean } | null> {
  const cacheKey = `${ctx.keys.prefix}:${streamId}`;
  const cached = choice.get(cacheKey);
  if (cached && cached.until > Date.now()) return { playlist: cached.playlist, settled: true };
  const renditions = await loadRenditions(ctx, streamId);
  const source = tileSource(renditions);
  if (!source) return null;
  const settled = renditions.every((r) => r.height);
  if (settled) choice.set(cacheKey, { playlist: source.playlist, until: Date.now() + CHOICE_TTL_MS });
  return { playlist: source.playlist, settled };
}

/** Called for every chunk that entered the DVR; returns at once. */
export function scheduleTile(ctx: Context, streamId: number, playlist: string, chunkId: string): void {
  if (!ctx.config.thumbnails) return;
  const cached = choice.get(`${ctx.keys.prefix}:${streamId}`);
  // The common case costs nothing: a chunk of another rendition than the tiles' one.
  if (cached && cached.until > Date.now() && cached.playlist !== playlist) return;
  tileQueue(ctx).push(() => makeTile(ctx, streamId, playlist, chunkId, 0));
}

async function makeTile(ctx: Context, streamId: number, playlist: string, chunkId: string, attempt: number): Promise<void> {
  const source = await tilePlaylist(ctx, streamId);
  // Until the probe has told every rendition's height, which one is the
  // source is not known: ask again shortly.
  if (!source || (!source.settled && attempt < PROBE_RETRIES)) {
    if (attempt < PROBE_RETRIES) tileQueue(ctx).later(PROBE_RETRY_MS, () => makeTile(ctx, streamId, playlist, chunkId, attempt + 1));
    return;
  }
  if (source.playlist !== playlist) return;
  const key = ctx.keys.stream.chunk(streamId, chunkId);
  const [[, bytes], [, has]] = (await ctx.redis.pipeline().hgetBuffer(key, 'b').hexists(key, TILE_FIELD).exec()) as [[null, Buffer | null], [null, number]];
  if (!bytes || has) return;
  const tile = await firstFrame(bytes, { box: [TILE_WIDTH, TILE_HEIGHT] });
  await ctx.redis.eval(STORE_TILE, 1, key, tile);
}
