// Storyboards of a clip and of a stream's live DVR window: which chunks have
// a tile, the WebVTT that places them, and the sprite sheets built from the
// stored tiles on request (cached: a sheet's URL names the tiles it holds).
import type { Context } from '../context.js';
import { loadClipChunks } from '../clips/chunks.js';
import { loadClip, type ClipRecord } from '../clips/records.js';
import { parseChunkRefs, type ChunkRef } from '../dvr/chunk-ref.js';
import { findStream, windowSeconds, type StreamRecord } from '../dvr/streams.js';
import { Lru } from '../util/lru.js';
import { composeSprite } from './ffmpeg.js';
import { SHEET_COLUMNS, SHEET_TILES, sheetIds, sheetOf, sheetVersion, storyboardVtt, type Cue } from './layout.js';
import { blankTileJpeg, TILE_FIELD, tilePlaylist, tileSource } from './tiles.js';

export interface Placed extends Cue {
  id: string;
}

export interface Storyboard {
  vtt: string;
  /** every chunk of the span has its tile: the text will not change */
  complete: boolean;
}

const sprites = new Lru<Buffer>(32 * 1024 * 1024, (b) => b.length);
const building = new Map<string, Promise<Buffer>>();

async function withTiles(ctx: Context, streamId: number, chunks: ChunkRef[]): Promise<boolean[]> {
  if (chunks.length === 0) return [];
  const pipe = ctx.redis.pipeline();
  for (const c of chunks) pipe.hexists(ctx.keys.stream.chunk(streamId, c.id), TILE_FIELD);
  const replies = (await pipe.exec()) ?? [];
  return replies.map(([, v]) => v === 1);
}

/** A clip's chunks of its tile rendition, placed by index on the clip's own timeline. */
async function clipPlaces(ctx: Context, clip: ClipRecord): Promise<{ placed: Placed[]; total: number }> {
  const source = tileSource(clip.renditions);
  if (!source) return { placed: [], total: 0 };
  const chunks = await loadClipChunks(ctx, clip, source.playlist);
  const has = await withTiles(ctx, clip.stream_id, chunks);
  const placed: Placed[] = [];
  let t = 0;
  chunks.forEach((c, i) => {
    const end = t + c.durationMs / 1000;
    if (has[i]) placed.push({ id: c.id, place: i, start: t, end });
    t = end;
  });
  return { placed, total: chunks.length };
}

/** The live window's chunks that have a tile, placed by running number, timed from the window's first chunk. */
async function livePlaces(ctx: Context, stream: StreamRecord): Promise<{ placed: Placed[]; origin: number | null }> {
  const source = await tilePlaylist(ctx, stream.id);
  if (!source) return { placed: [], origin: null };
  const from = ctx.clock.now() - windowSeconds(stream) * 1000;
  const chunks = parseChunkRefs(await ctx.redis.zrangebyscore(ctx.keys.stream.index(stream.id, source.playlist), from, '+inf', 'WITHSCORES'));
  const has = await withTiles(ctx, stream.id, chunks);
  const origin = chunks[0]?.start ?? null;
  const placed = chunks.flatMap((c, i) => has[i]
    ? [{ id: c.id, place: c.n, start: (c.start - origin!) / 1000, end: (c.start - origin! + c.durationMs) / 1000 }]
    : []);
  return { placed, origin };
}

function versions(placed: Placed[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const [sheet, ids] of sheetIds(placed)) out.set(sheet, sheetVersion(ids));
  return out;
}

export async function findClip(ctx: Context, clientId: number, streamId: number, clipId: string): Promise<ClipRecord | null> {
  const clip = await loadClip(ctx, streamId, clipId);
  return clip && clip.client_id === clientId && clip.status !== 'failed' ? clip : null;
}

export async function findLiveStream(ctx: Context, clientId: number, streamId: number, playKey: string): Promise<StreamRecord | null> {
  const stream = await findStream(ctx, clientId, streamId);
  return stream && stream.play_key === playKey ? stream : null;
}

export async function clipStoryboard(ctx: Context, clip: ClipRecord): Promise<Storyboard> {
  const { placed, total } = await clipPlaces(ctx, clip);
  const v = versions(placed);
  const vtt = storyboardVtt(placed, (sheet) => `rec_${clip.id}_storyboard_${sheet}.jpg?v=${v.get(sheet)}`);
  return { vtt, complete: clip.status === 'ready' && total > 0 && placed.length === total };
}

export async function liveStoryboard(ctx: Context, stream: StreamRecord): Promise<Storyboard> {
  const { placed, origin } = await livePlaces(ctx, stream);
  const v = versions(placed);
  const note = origin === null ? undefined : `time 0 is ${new Date(origin).toISOString()} (the window's first chunk)`;
  return { vtt: storyboardVtt(placed, (sheet) => `storyboard_${sheet}.jpg?v=${v.get(sheet)}`, note), complete: false };
}

/** One sheet; `current` tells whether `version` names what it holds now. Null: no tile on that sheet. */
async function sheet(ctx: Context, streamId: number, cacheKey: string, placed: Placed[], index: number, version?: string): Promise<{ jpeg: Buffer; current: boolean } | null> {
  const mine = placed.filter((p) => sheetOf(p.place) === index);
  if (mine.length === 0) return null;
  const now = versions(mine).get(index)!;
  const key = `${cacheKey}/${index}/${now}`;
  const cached = sprites.get(key);
  if (cached) return { jpeg: cached, current: version === now };
  let pending = building.get(key);
  if (!pending) {
    pending = buildSheet(ctx, streamId, mine, index).finally(() => building.delete(key));
    building.set(key, pending);
  }
  const jpeg = await pending;
  sprites.set(key, jpeg);
  return { jpeg, current: version === now };
}

async function buildSheet(ctx: Context, streamId: number, mine: Placed[], index: number): Promise<Buffer> {
  const pipe = ctx.redis.pipeline();
  for (const p of mine) pipe.hgetBuffer(ctx.keys.stream.chunk(streamId, p.id), TILE_FIELD);
  const tiles = ((await pipe.exec()) ?? []).map(([, v]) => v as Buffer | null);
  const last = Math.max(...mine.map((p) => p.place % SHEET_TILES));
  const slots: (Buffer | null)[] = new Array(last + 1).fill(null);
  mine.forEach((p, i) => (slots[p.place % SHEET_TILES] = tiles[i]));
  return composeSprite(slots, SHEET_COLUMNS, await blankTileJpeg());
}

export async function clipSheet(ctx: Context, clip: ClipRecord, index: number, version?: string) {
  const { placed } = await clipPlaces(ctx, clip);
  return sheet(ctx, clip.stream_id, `${clip.client_id}_${clip.stream_id}/${clip.id}`, placed, index, version);
}

export async function liveSheet(ctx: Context, stream: StreamRecord, index: number, version?: string) {
  const { placed } = await livePlaces(ctx, stream);
  return sheet(ctx, stream.id, `${stream.client_id}_${stream.id}/live`, placed, index, version);
}

/** The newest tile of the live window: its chunk id, or null. */
export async function newestTile(ctx: Context, stream: StreamRecord): Promise<string | null> {
  const source = await tilePlaylist(ctx, stream.id);
  if (!source) return null;
  const recent = parseChunkRefs(await ctx.redis.zrevrange(ctx.keys.stream.index(stream.id, source.playlist), 0, 4, 'WITHSCORES'));
  const has = await withTiles(ctx, stream.id, recent);
  const i = has.indexOf(true);
  return i >= 0 ? recent[i].id : null;
}

export async function liveTile(ctx: Context, streamId: number, chunkId: string): Promise<Buffer | null> {
  return ctx.redis.hgetBuffer(ctx.keys.stream.chunk(streamId, chunkId), TILE_FIELD);
}
