// One tile per chunk: the chunk's first picture, small, made in the
// background after the chunk enters the DVR, and stored as field `t` of the
// chunk's own hash. A field of that hash lives exactly as long as the chunk
// (the window, the clips that need it, the TTL backstop: see lib.lua), so the
// tile needs no lifetime of its own.
import type { Context } from '../context.js';
import { loadRenditions } from '../dvr/renditions.js';
import { backgroundQueueOf, type BackgroundQueue } from '../util/background.js';
import { readInit } from '../dvr/init-segments.js';
import { blankTile, firstFrames, type ChunkInput } from './ffmpeg.js';

export const TILE_WIDTH = 160;
export const TILE_HEIGHT = 90;
export const TILE_FIELD = 't';
/** Tiles come from the smallest rendition at least this tall: sharp enough, cheapest to decode. */
const SOURCE_MIN_HEIGHT = TILE_HEIGHT * 2;
const PROBE_RETRIES = 5;
const PROBE_RETRY_MS = 1500;
const CHOICE_TTL_MS = 10_000;
/** Tiles made by one ffmpeg at most, and how long the first of them waits for company. */
const BATCH = 16;
const BATCH_WAIT_MS = 3000;
const BACKLOG = 500;
/** How runFfmpeg words an ffmpeg ended by a signal. */
const INTERRUPTED = /^ffmpeg SIG[A-Z]+:/;

// Only sets the tile if the chunk is still there: HSET on a deleted chunk
// would create a key without a TTL.
const STORE_TILE = `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], '${TILE_FIELD}', ARGV[1]) return 1 end return 0`;

/** The rendition a stream's tiles come from (its encoder playlist name). */
export function tileSource<R extends { playlist: string; height?: number }>(renditions: R[]): R | undefined {
  const sized = renditions.filter((r) => r.height);
  const tall = sized.filter((r) => r.height! >= SOURCE_MIN_HEIGHT).sort((a, b) => a.height! - b.height!);
  return tall[0] ?? sized.sort((a, b) => b.height! - a.height!)[0] ?? renditions[0];
}

/** The service background queues tiles went to, so tilesSettled() can wait on them. */
const queues = new Set<BackgroundQueue>();
let delayed = 0;
let batchSeq = 0;
/** `init`: the id of an fMP4 chunk's init segment, which ffmpeg reads before it. */
interface TileJob { ctx: Context; streamId: number; key: string; init?: string }
/** Chunks whose tile is due, waiting to share an ffmpeg. */
const due: TileJob[] = [];
let batchTimer: NodeJS.Timeout | null = null;

/** Makes the due tiles now (a full batch), or after the wait (company may come). */
function runDue(ctx: Context, now: boolean): void {
  if (batchTimer) clearTimeout(batchTimer);
  batchTimer = null;
  if (now) {
    submit(ctx, `tiles:${++batchSeq}`, makeDueTiles);
    return;
  }
  batchTimer = setTimeout(() => {
    batchTimer = null;
    submit(ctx, `tiles:${++batchSeq}`, makeDueTiles);
  }, BATCH_WAIT_MS);
  batchTimer.unref();
}
const choice = new Map<string, { playlist: string; until: number }>();
let blank: Promise<Buffer> | undefined;

/**
 * Tiles share the service's background queue (below requests and ingest,
 * bounded with the MP4 prebuilds by BACKGROUND_CONCURRENCY).
 */
function submit(ctx: Context, key: string, task: () => Promise<void>): void {
  // The same queue as src/mp4/prebuild.ts's backgroundOf (one per service,
  // whoever asks first makes it); not imported from there: an import cycle.
  const queue = backgroundQueueOf(ctx, {
    concurrency: ctx.config.backgroundConcurrency,
    onError: (task, err) => ctx.log.warn({ task, err: (err as Error).message }, 'background task failed'),
    onDrop: (task) => ctx.log.info({ task }, 'background queue full: task dropped'),
  });
  queues.add(queue);
  // Behind every clip's MP4: nobody waits on a tile in particular.
  queue.submit(key, async () => {
    try {
      await task();
    } catch (err) {
      // An ffmpeg ended by a signal (the shutdown, a signal to the process group) did not fail.
      if (INTERRUPTED.test((err as Error)?.message ?? '')) ctx.log.debug({ err: (err as Error).message }, 'thumbnail interrupted');
      else ctx.log.warn({ err }, 'making a thumbnail failed');
    }
  }, 'idle');
}

/** Makes the tiles that are due now, without waiting for company, and resolves once none is left (tests, shutdown). */
export async function tilesSettled(): Promise<void> {
  for (;;) {
    if (due.length > 0) runDue(due[0].ctx, true);
    await Promise.all([...queues].map((q) => q.idle()));
    if (due.length === 0 && delayed === 0 && [...queues].every((q) => q.pending === 0 && q.active === 0)) return;
    if (delayed > 0) await new Promise((r) => setTimeout(r, 100));
  }
}

export function stopTiles(): void {
  due.length = 0;
  if (batchTimer) clearTimeout(batchTimer);
  batchTimer = null;
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

/** Called for every chunk that entered the DVR (with its init's id if it is fMP4); returns at once. */
export function scheduleTile(ctx: Context, streamId: number, playlist: string, chunkId: string, init?: string): void {
  if (!ctx.config.thumbnails) return;
  const cached = choice.get(`${ctx.keys.prefix}:${streamId}`);
  // The common case costs nothing: a chunk of another rendition than the tiles' one.
  if (cached && cached.until > Date.now() && cached.playlist !== playlist) return;
  submit(ctx, `tile:${ctx.keys.prefix}:${streamId}:${chunkId}`, () => makeTile(ctx, streamId, playlist, chunkId, init, 0));
}

async function makeTile(ctx: Context, streamId: number, playlist: string, chunkId: string, init: string | undefined, attempt: number): Promise<void> {
  const source = await tilePlaylist(ctx, streamId);
  // Until the probe has told every rendition's height, which one is the
  // source is not known: ask again shortly.
  if (!source || (!source.settled && attempt < PROBE_RETRIES)) {
    if (attempt < PROBE_RETRIES) {
      delayed += 1;
      setTimeout(() => {
        delayed -= 1;
        submit(ctx, `tile:${ctx.keys.prefix}:${streamId}:${chunkId}:${attempt + 1}`, () => makeTile(ctx, streamId, playlist, chunkId, init, attempt + 1));
      }, PROBE_RETRY_MS).unref();
    }
    return;
  }
  if (source.playlist !== playlist) return;
  due.push({ ctx, streamId, key: ctx.keys.stream.chunk(streamId, chunkId), init });
  // Bounded: when ingest outruns the tiles, the oldest go without one.
  if (due.length > BACKLOG) due.shift();
  if (due.length >= BATCH) runDue(ctx, true);
  else if (!batchTimer) runDue(ctx, false);
}

async function makeDueTiles(): Promise<void> {
  const batch = due.splice(0, BATCH);
  if (batch.length === 0) return;
  const chunks: Array<{ job: TileJob } & ChunkInput> = [];
  // A stream's chunks share a few inits: each is read once per batch.
  const inits = new Map<string, Promise<Buffer | null>>();
  for (const job of batch) {
    const [[, bytes], [, has]] = (await job.ctx.redis.pipeline().hgetBuffer(job.key, 'b').hexists(job.key, TILE_FIELD).exec()) as [[null, Buffer | null], [null, number]];
    if (!bytes || has) continue;
    if (!job.init) {
      chunks.push({ job, bytes });
      continue;
    }
    const initKey = `${job.ctx.keys.prefix}:${job.streamId}/${job.init}`;
    if (!inits.has(initKey)) inits.set(initKey, readInit(job.ctx, job.streamId, job.init));
    const init = await inits.get(initKey)!;
    if (init) chunks.push({ job, bytes, init });
  }
  if (chunks.length === 0) return;
  let tiles: Buffer[];
  try {
    tiles = await firstFrames(chunks, [TILE_WIDTH, TILE_HEIGHT]);
  } catch (err) {
    // Killed (shutdown) or a single chunk: nothing to retry.
    if (chunks.length === 1 || INTERRUPTED.test((err as Error).message)) throw err;
    // One bad chunk fails the whole ffmpeg: the others are made one by one.
    for (const c of chunks) {
      const one = await firstFrames([c], [TILE_WIDTH, TILE_HEIGHT]).catch(() => null);
      if (one) await storeTile(c.job, one[0]);
    }
    return;
  }
  await Promise.all(chunks.map((c, i) => storeTile(c.job, tiles[i])));
  if (due.length > 0 && !batchTimer) runDue(batch[0].ctx, due.length >= BATCH);
}

function storeTile(job: TileJob, tile: Buffer): Promise<unknown> {
  return job.ctx.redis.eval(STORE_TILE, 1, job.key, tile);
}
