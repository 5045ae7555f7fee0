// Push ingest: the encoder PUTs chunks and playlists at its push URL. A chunk
// enters the DVR once both its bytes and a playlist listing it are here
// (ffmpeg may finish the playlist before the chunk it lists).
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import { metrics } from '../metrics.js';
import { streamEventsChanged, wasLive } from '../events/announce.js';
import { chunkMemberId, parseChunkRef } from './chunk-ref.js';
import { initsNotUploaded, refuseFmp4WithoutInit } from './init-segments.js';
import { parsePushedPlaylist, playlistName, type PushedPlaylist } from './pushed-playlist.js';
import { probeRendition } from './rendition-probe.js';
import { freeDeadChunks } from './retention.js';
import { loadStream, type StreamRecord } from './streams.js';
import { scheduleTile } from '../thumbs/tiles.js';
import { idsFound, runTimeline, waitingChunkIds, type CommitResult } from './timeline-calls.js';

const STREAM_KEY = /^[A-Za-z0-9_-]{16,64}$/;
/**
 * Only a media playlist's newest chunks are looked at (commit.lua keeps as
 * many listings waiting per rendition): an encoder uploads each chunk right
 * after recording it, so a long playlist's older chunks never get bytes.
 */
const NEWEST_LISTED = 256;

export async function streamForIngestKey(ctx: Context, key: string): Promise<StreamRecord | null> {
  if (!STREAM_KEY.test(key)) return null;
  const id = await ctx.redis.hget(ctx.keys.ingestKeys, key);
  return id ? loadStream(ctx, Number(id)) : null;
}

/** Per process: EXT-X-MAP uris already warned about, so a waiting init is logged once. */
const warnedInits = new Set<string>();

/** `kind`: 'fmp4' for an fMP4 media segment (it enters the DVR only with its init segment). */
export async function ingestChunk(ctx: Context, stream: StreamRecord, uri: string, bytes: Buffer, kind: 'ts' | 'fmp4' = 'ts'): Promise<void> {
  const k = ctx.keys.stream;
  // A counter keeps ids unique; the random tail keeps them unguessable, so
  // holding one chunk's URL tells nothing about another's.
  const [seq, listing] = await Promise.all([ctx.redis.incr(k.chunkSeq(stream.id)), ctx.redis.hget(k.listed(stream.id), uri)]);
  const chunkId = seq.toString(36) + randomBytes(4).readUInt32BE(0).toString(36).padStart(6, '0').slice(-6);
  // The rendition whose playlist listed this uri, if one did, and the init it names: their keys go with the call.
  const listed = listing ? (JSON.parse(listing) as { pl: string; map?: string }) : null;
  const init = listed?.map ? await ctx.redis.hget(k.initUris(stream.id), listed.map) : null;
  const committed = await runTimeline(ctx, stream.id, 'storeChunk', {
    playlists: listed ? [listed.pl] : [], chunkIds: [chunkId], initIds: init ? [init] : [],
    args: [uri, chunkId, bytes, kind],
  });
  metrics.ingestChunks.inc();
  metrics.ingestBytes.inc(bytes.length);
  ctx.log.debug({ stream_id: stream.id, uri, bytes: bytes.length, committed: committed.length }, 'chunk received');
  if (committed.length > 0) await afterCommit(ctx, stream.id, committed);
  if (committed.length > 0 && !wasLive(ctx, stream)) await streamEventsChanged(ctx, stream.id); // stream.live
}

/** Throws BadPlaylistError for text that is not a usable playlist. */
export async function ingestPlaylist(ctx: Context, stream: StreamRecord, file: string, text: string): Promise<PushedPlaylist> {
  const playlist = parsePushedPlaylist(text);
  metrics.ingestPlaylists.inc();
  const name = playlistName(file);
  if (playlist.kind === 'master') {
    const declared: Record<string, string> = {};
    for (const v of playlist.variants) {
      declared[v.uri] = JSON.stringify({
        declaredBandwidth: v.bandwidth, codecs: v.codecs, width: v.width, height: v.height, frameRate: v.frameRate,
      });
    }
    if (Object.keys(declared).length > 0) await ctx.redis.hset(ctx.keys.stream.declared(stream.id), declared);
    return playlist;
  }
  await refuseFmp4WithoutInit(ctx, stream.id, playlist);
  const segments = playlist.segments.slice(-NEWEST_LISTED);
  const body = JSON.stringify({ targetDuration: playlist.targetDuration, segments });
  // The bytes already here for the chunks it lists, and the inits they name, may enter now.
  const k = ctx.keys.stream;
  const maps = [...new Set(segments.flatMap((s) => (s.map ? [s.map] : [])))];
  const [chunkIds, initIds] = await Promise.all([
    segments.length > 0 ? ctx.redis.hmget(k.uploaded(stream.id), ...segments.map((s) => s.uri)) : [],
    maps.length > 0 ? ctx.redis.hmget(k.initUris(stream.id), ...maps) : [],
  ]);
  const committed = await runTimeline(ctx, stream.id, 'ingestPlaylist', {
    playlists: [name], chunkIds: idsFound(chunkIds), initIds: idsFound(initIds), args: [body],
  });
  if (committed.length > 0) await afterCommit(ctx, stream.id, committed);
  if (committed.length > 0 && !wasLive(ctx, stream)) await streamEventsChanged(ctx, stream.id); // stream.live
  for (const uri of await initsNotUploaded(ctx, stream.id, playlist)) {
    const key = `${ctx.keys.prefix}:${stream.id}:${uri}`;
    if (warnedInits.has(key)) continue;
    warnedInits.add(key);
    ctx.log.warn({ stream_id: stream.id, playlist: name, init: uri }, 'playlist names an EXT-X-MAP init segment never uploaded: its chunks wait for it and are not served');
  }
  return playlist;
}

/**
 * The cleaner's pass: chunks held back behind one whose bytes never came
 * enter the DVR once it is given up, even if the encoder has gone quiet.
 */
export async function advanceTimeline(ctx: Context, streamId: number): Promise<void> {
  const playlists = await ctx.redis.hkeys(ctx.keys.stream.playlists(streamId));
  if (playlists.length === 0) return;
  const chunkIds = await waitingChunkIds(ctx, streamId, playlists);
  const committed = await runTimeline(ctx, streamId, 'advanceTimeline', { playlists, chunkIds, initIds: [] });
  if (committed.length > 0) await afterCommit(ctx, streamId, committed);
}

async function afterCommit(ctx: Context, streamId: number, results: CommitResult[]): Promise<void> {
  for (const [playlist, member] of results) {
    if (member.startsWith('!')) {
      ctx.log.warn({ stream_id: streamId, playlist, uri: member.slice(1) }, 'fMP4 chunk listed without an EXT-X-MAP init segment: dropped, it cannot play');
      continue;
    }
    ctx.log.debug({ stream_id: streamId, playlist, member }, 'chunk entered the DVR');
    const chunkId = chunkMemberId(member);
    const { init } = parseChunkRef(member, 0);
    // Probing happens beside the request: the encoder must not wait for it.
    probeRendition(ctx, streamId, playlist, chunkId, init).catch((err) =>
      ctx.log.warn({ err, stream_id: streamId, playlist }, 'probing a chunk failed'),
    );
    // Its thumbnail tile, in the background at the lowest priority.
    scheduleTile(ctx, streamId, playlist, chunkId, init);
  }
  // A commit retires what left the window (lib.lua trim_index): their bytes go now.
  await freeDeadChunks(ctx, streamId);
}
