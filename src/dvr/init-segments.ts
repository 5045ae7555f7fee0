// fMP4 init segments (EXT-X-MAP). Each is stored once per content (its id is
// its hash), so an encoder re-sending the same init costs nothing and one
// restarted with new parameters gets a new init; the uri it was uploaded
// under maps to the latest. A chunk binds to its init when it enters the
// index (commit.lua records the init id in its member), which also keeps the
// init alive as long as that chunk's backstop TTL (docs/retention.md).
import type { Context } from '../context.js';
import { BadPlaylistError, type PushedPlaylist } from './pushed-playlist.js';
import { initId } from './fmp4.js';

/** An init no chunk has bound to yet lives this long (as unlisted chunk bytes do). */
const UNBOUND_INIT_MS = 120_000;
/** The uri map outlives the last chunk that bound through it by this (commit.lua refreshes it). */
const URI_MAP_MS = 3_600_000;

/** A 400, as any unusable playlist. */
export class MissingInitError extends BadPlaylistError {}

export async function storeInit(ctx: Context, streamId: number, uri: string, bytes: Buffer): Promise<string> {
  const id = initId(bytes);
  const k = ctx.keys.stream;
  await ctx.redis
    .multi()
    // NX: the same init again keeps the TTL its chunks gave it.
    .set(k.init(streamId, id), bytes, 'PX', UNBOUND_INIT_MS, 'NX')
    .hset(k.initUris(streamId), uri, id)
    .pexpire(k.initUris(streamId), URI_MAP_MS)
    .exec();
  return id;
}

/**
 * A media playlist whose chunks are fMP4 but that names no EXT-X-MAP cannot
 * be played: refused (MissingInitError) before anything of it is stored.
 * Only chunks whose bytes are already here can be told; one that arrives
 * after is dropped when it would enter the index (commit.lua).
 */
export async function refuseFmp4WithoutInit(ctx: Context, streamId: number, playlist: PushedPlaylist): Promise<void> {
  if (playlist.kind !== 'media') return;
  // TS chunks need no init: a TS stream pays nothing here.
  const suspects = playlist.segments.filter((s) => !s.map && !s.uri.endsWith('.ts')).slice(-8);
  if (suspects.length === 0) return;
  const ids = await ctx.redis.hmget(ctx.keys.stream.uploaded(streamId), ...suspects.map((s) => s.uri));
  for (let i = 0; i < suspects.length; i++) {
    const id = ids[i];
    if (id && (await ctx.redis.hget(ctx.keys.stream.chunk(streamId, id), 'f')) === 'fmp4') {
      throw new MissingInitError(
        `chunk ${suspects[i].uri} is fMP4 but the playlist names no EXT-X-MAP init segment: write #EXT-X-MAP:URI="init.mp4" and upload that init`,
      );
    }
  }
}

/** EXT-X-MAP URIs a playlist names whose init was never uploaded (its chunks wait for it). */
export async function initsNotUploaded(ctx: Context, streamId: number, playlist: PushedPlaylist): Promise<string[]> {
  if (playlist.kind !== 'media') return [];
  const uris = [...new Set(playlist.segments.map((s) => s.map).filter((m): m is string => m !== undefined))];
  if (uris.length === 0) return [];
  const ids = await ctx.redis.hmget(ctx.keys.stream.initUris(streamId), ...uris);
  return uris.filter((_, i) => ids[i] === null);
}

export async function readInit(ctx: Context, streamId: number, id: string): Promise<Buffer | null> {
  return ctx.redis.getBuffer(ctx.keys.stream.init(streamId, id));
}
